from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import today
from retrieval.sweeps import all_sweeps
from retrieval.sweeps.base import DIRECT
from retrieval.sweeps.schedule import Shape
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


class SweepScheduleForm(forms.Form):
    """One sweep's beat schedule in the calendar's terms (排查计划): which months, then every day,
    some weekdays or some days of the month, at a time. Errors in Chinese (English catalog)."""

    FREQUENCIES = [("daily", _("每日")), ("weekly", _("每周")), ("monthly", _("每月"))]
    WEEKDAY_NAMES = {1: _("周一"), 2: _("周二"), 3: _("周三"), 4: _("周四"), 5: _("周五"),
                     6: _("周六"), 0: _("周日")}

    enabled = forms.BooleanField(label=_("启用（按计划自动运行）"), required=False)
    months = forms.TypedMultipleChoiceField(
        label=_("月份"), coerce=int, widget=forms.CheckboxSelectMultiple,
        choices=[(m, _("%(m)s月") % {"m": m}) for m in range(1, 13)],
        error_messages={"required": _("请至少选择一个月份")})
    frequency = forms.ChoiceField(label=_("频率"), choices=FREQUENCIES, widget=forms.RadioSelect)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("星期"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        choices=list(WEEKDAY_NAMES.items()))
    days = forms.CharField(label=_("每月日期"), required=False, max_length=40,
                           help_text=_("1至28之间，多个用逗号分隔，如 3 或 1,15"))
    time = forms.TimeField(label=_("运行时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                           error_messages={"required": _("请填写运行时间"),
                                           "invalid": _("时间格式应为 时:分，如 01:30")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].widget.attrs["inputmode"] = "numeric"
        for name in ("days", "time"):
            self.fields[name].widget.attrs["class"] = "form-control form-control-sm"
        for name in ("enabled", "months", "frequency", "weekdays"):
            self.fields[name].widget.attrs["class"] = "form-check-input"

    def clean_days(self) -> tuple[int, ...]:
        text = (self.cleaned_data.get("days") or "").replace("，", ",").replace("、", ",")
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not all(p.isdigit() and 1 <= int(p) <= 28 for p in parts):
            raise forms.ValidationError(_("每月日期应为1至28之间的整数，多个用逗号分隔"))
        return tuple(sorted({int(p) for p in parts}))

    def clean(self):
        data = super().clean()
        frequency = data.get("frequency")
        if frequency == "weekly" and not data.get("weekdays"):
            self.add_error("weekdays", _("每周运行时请至少选择一天"))
        if frequency == "monthly" and not data.get("days") and "days" not in self.errors:
            self.add_error("days", _("每月运行时请填写日期"))
        return data

    def shape(self) -> Shape:
        d = self.cleaned_data
        return Shape(months=tuple(d["months"]), frequency=d["frequency"],
                     weekdays=tuple(d.get("weekdays") or ()) if d["frequency"] == "weekly" else (),
                     days=(d.get("days") or ()) if d["frequency"] == "monthly" else (), time=d["time"])

    @classmethod
    def initial_for(cls, task, shape) -> dict:
        return {"enabled": task.enabled, "months": list(shape.months), "frequency": shape.frequency,
                "weekdays": list(shape.weekdays), "days": ",".join(map(str, shape.days)),
                "time": shape.time}
