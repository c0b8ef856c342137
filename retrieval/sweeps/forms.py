from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kongchuo.schoolyear import today
from retrieval.sweeps import all_sweeps
from retrieval.sweeps.base import DIRECT
from students.models import Township


class SweepRunForm(forms.Form):
    """The "run now" form of the sweep page (county users)."""

    sweep = forms.ChoiceField(label=_("排查"))
    as_of = forms.DateField(label=_("基准日期"), widget=forms.DateInput(attrs={"type": "date"}))
    township = forms.ChoiceField(label=_("范围"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sweep"].choices = [(s.name, s.label) for s in all_sweeps()]
        self.fields["township"].choices = [
            ("", _("全县")),
            *[(t.code, t.name) for t in Township.objects.order_by("code")],
            (DIRECT, _("县直学校及县级")),
        ]
        self.fields["as_of"].initial = today()
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-select form-select-sm"
                                          if isinstance(field, forms.ChoiceField)
                                          else "form-control form-control-sm")
