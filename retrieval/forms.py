"""The parts every sub-domain's forms share: styled widgets, versioned edits, proof files, and
the list filters' look. Forms parse input; the rules live in each sub-domain's services."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import today
from kongchuo.portal.formchoices import blank_required_choices
from kongchuo.portal.uploads import PHOTO_OR_PDF_ACCEPT

EVIDENCE_ACCEPT = PHOTO_OR_PDF_ACCEPT  # retrieval.evidence.services.evidence_sniff keeps JPG, PNG and PDF


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class EvidenceField(forms.FileField):
    """Zero or more proof files (JPG, PNG, PDF); the content is checked by the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": EVIDENCE_ACCEPT}))
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("证明材料"))
        kwargs.setdefault("help_text", _("JPG、PNG 或 PDF，单个不超过 %(mb)s MB，最多 5 个")
                          % {"mb": settings.KONGCHUO_ATTACHMENT_MAX_BYTES // (1024 * 1024)})
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        files = [d for d in data if d] if isinstance(data, list | tuple) else ([data] if data else [])
        if not files and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return [single(d, initial) for d in files]


class StyledForm(forms.Form):
    """Bootstrap classes on every widget; element ids prefixed per form (`id_prefix`) because
    several forms with a `note` field share the case page."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        if self.id_prefix:
            kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            w = f.widget
            if isinstance(w, forms.HiddenInput):
                continue
            if isinstance(w, forms.Select):
                w.attrs.setdefault("class", "form-select form-select-sm")
            elif isinstance(w, forms.CheckboxInput | forms.RadioSelect):
                continue
            else:
                w.attrs.setdefault("class", "form-control form-control-sm")
            if isinstance(w, forms.Textarea):
                w.attrs["rows"] = 3
        blank_required_choices(self)


class VersionedForm(StyledForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


def date_not_future(value: dt.date | None) -> dt.date | None:
    if value and value > today():
        raise forms.ValidationError(_("日期不能晚于今天"))
    return value


# --------------------------------------------------------------------------- list filters


def style_filterset(filterset) -> None:
    for f in filterset.form.fields.values():
        css = ("form-select form-select-sm" if isinstance(f.widget, forms.Select)
               else "form-control form-control-sm")
        f.widget.attrs["class"] = css


def search_name_or_id(queryset, name, value):
    value = (value or "").strip()
    if not value:
        return queryset
    if value.isdigit() or value[-1:].upper() == "X":
        if len(value) <= 4:
            return queryset.filter(**{f"{name}__endswith": value.upper()})
        return queryset.filter(**{name: value.upper()})
    return queryset.filter(name__contains=value)
