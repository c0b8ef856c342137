"""校历调整 (county users): the school year's holidays and make-up days, kept without the admin."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from kongchuo.access.scoping import Role, require_role
from kongchuo.calendar.models import CalendarDay
from kongchuo.calendar.schoolyear import current_school_year, school_year_of, year_end, year_label, year_start
from kongchuo.calendar.services import CalendarError, calendar_day_delete, calendar_days_set
from kongchuo.portal.forms import style_fields


class CalendarDayForm(forms.Form):
    KINDS = [("holiday", gettext_lazy("放假（工作日不上课）")), ("makeup", gettext_lazy("调休上课（周末上课）"))]

    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=KINDS, initial="holiday")
    first = forms.DateField(label=gettext_lazy("日期（起）"),
                            error_messages={"required": gettext_lazy("请填写日期"),
                                            "invalid": gettext_lazy("日期格式应为 YYYY-MM-DD")})
    last = forms.DateField(label=gettext_lazy("至（可不填）"), required=False,
                           error_messages={"invalid": gettext_lazy("日期格式应为 YYYY-MM-DD")})
    note = forms.CharField(label=gettext_lazy("说明"), max_length=60, required=False,
                           help_text=gettext_lazy("如：国庆节、春节、清明节调休"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)


def _year_param(request) -> int:
    current = current_school_year()
    try:
        year = int(request.GET.get("year") or current)
    except ValueError:
        raise Http404 from None
    if not current - 5 <= year <= current + 1:
        raise Http404
    return year


@login_required
@require_http_methods(["GET", "POST"])
def school_calendar(request):
    require_role(request.user, Role.COUNTY)
    year = _year_param(request)
    form = CalendarDayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            rows = calendar_days_set(first=d["first"], last=d["last"], school_day=d["kind"] == "makeup",
                                     note=d["note"], user=request.user, request=request)
        except CalendarError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("已登记 %(n)s 天") % {"n": len(rows)})
            return redirect(f"{reverse('school_calendar')}?year={school_year_of(d['first'])}")
    current = current_school_year()
    names = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]
    days = [(row, names[row.date.weekday()])
            for row in CalendarDay.objects.filter(date__range=(year_start(year), year_end(year)))]
    return render(request, "kongchuo/school_calendar.html", {
        "form": form, "days": days, "year": year, "year_label": year_label(year),
        "years": [(y, year_label(y)) for y in range(current + 1, current - 3, -1)],
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def school_calendar_delete(request, day: str):
    require_role(request.user, Role.COUNTY)
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        raise Http404 from None
    if not calendar_day_delete(day=date, user=request.user, request=request):
        raise Http404
    messages.success(request, _("已删除 %(day)s 的校历调整") % {"day": date.isoformat()})
    return redirect(f"{reverse('school_calendar')}?year={school_year_of(date)}")
