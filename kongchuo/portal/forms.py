"""Form helpers every app's pages share (the look of the portal's forms)."""

from __future__ import annotations

from django import forms


def style_fields(form: forms.BaseForm) -> None:
    """Bootstrap classes and native date inputs on every field."""
    for field in form.fields.values():
        w = field.widget
        if isinstance(field, forms.DateField):
            field.widget = w = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        if isinstance(w, forms.HiddenInput):
            continue
        if isinstance(w, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
            w.attrs["class"] = "form-check-input"
        elif isinstance(w, forms.Select):
            w.attrs["class"] = "form-select"
        else:
            w.attrs["class"] = "form-control"
        if isinstance(w, forms.Textarea):
            w.attrs["rows"] = 3
