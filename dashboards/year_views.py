"""The county's school-year pages: term opening days (学年学期) and the year-end rollover
(学年结转: preview per township / school / grade, then confirm). County users only."""

from __future__ import annotations

import tempfile
from collections import OrderedDict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dashboards.forms import RolloverForm, TermDatesForm
from dashboards.review import (
    COMPARED,
    FIGURE,
    SHOWN,
    closed_years,
    fmt,
    review_data,
    review_sheets,
    township_choices,
    visible_township,
)
from dashboards.yearclose import JOB_KIND, year_close_job_create
from kongchuo.access.audit import audit_record
from kongchuo.access.params import query_int
from kongchuo.access.scoping import Role, require_role
from kongchuo.calendar.models import SchoolYear
from kongchuo.calendar.schoolyear import (
    current_school_year,
    graduation_day,
    school_year_of,
    term_opens,
    today,
    year_label,
    year_terms,
)
from kongchuo.calendar.services import school_year_terms_set
from kongchuo.models import Job
from kongchuo.portal.xlsxout import write_official_workbook
from students.models import Student
from students.rollover import GRADE_NAMES, rollover_preview


def _year_rows(years: list[int]) -> list[dict]:
    records = {r.year: r for r in SchoolYear.objects.filter(year__in=years).select_related("closed_by")}
    rows = []
    for year in years:
        autumn, spring = year_terms(year)
        record = records.get(year)
        rows.append({
            "year": year, "label": year_label(year), "record": record,
            "autumn": autumn, "spring": spring,
            "autumn_opens": term_opens(autumn), "spring_opens": term_opens(spring),
            "form": TermDatesForm(initial={
                "year": year, "autumn_opens": record.autumn_opens if record else None,
                "spring_opens": record.spring_opens if record else None}, prefix=f"y{year}"),
        })
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def terms(request):
    """Each school year around the current one: its terms' opening days (editable) and
    whether it has been rolled over."""
    require_role(request.user, Role.COUNTY)
    current = current_school_year()
    years = [current + 1, current, current - 1, current - 2]
    if request.method == "POST":
        year = int(request.POST.get("year") or 0)
        if year not in years:
            messages.error(request, _("只能设置前后几个学年的开学日期"))
            return redirect("dashboards:terms")
        form = TermDatesForm(request.POST, prefix=f"y{year}")
        if form.is_valid():
            try:
                school_year_terms_set(year=year, autumn_opens=form.cleaned_data["autumn_opens"],
                                      spring_opens=form.cleaned_data["spring_opens"],
                                      user=request.user, request=request)
            except ValueError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("%(year)s开学日期已保存") % {"year": year_label(year)})
        else:
            messages.error(request, _("日期格式不正确"))
        return redirect("dashboards:terms")
    return render(request, "dashboards/years/terms.html", {
        "rows": _year_rows(years), "current": current,
        "current_label": year_label(current),
    })


def default_year(day) -> int:
    """The year the rollover page offers: the calendar's, from its graduation day (July and
    August), else the one before; the next one once that is closed."""
    calendar = school_year_of(day)
    year = calendar if day >= graduation_day(calendar) else calendar - 1
    closed = SchoolYear.objects.filter(year=year, closed_at__isnull=False).exists()
    if closed and graduation_day(year + 1) <= day:
        return year + 1
    return year


def _by_township(rows) -> list[dict]:
    """Preview rows grouped by township, then school, with subtotals."""
    towns: OrderedDict[str, dict] = OrderedDict()
    keys = ("promoted", "graduated_primary", "graduated_junior", "repeated", "held_back", "total")
    statuses = dict(Student.Status.choices)
    for row in rows:
        town = towns.setdefault(row.township, {"name": row.township, "schools": OrderedDict(),
                                               **dict.fromkeys(keys, 0)})
        school = town["schools"].setdefault(row.school_id, {
            "id": row.school_id, "name": row.school, "kind": row.kind,
            "junior_school": row.junior_school, "grades": [], **dict.fromkeys(keys, 0)})
        school["grades"].append({
            "grade": GRADE_NAMES[row.grade], "to": GRADE_NAMES.get(row.grade + 1, ""),
            "promoted": row.promoted, "graduated_primary": row.graduated_primary,
            "graduated_junior": row.graduated_junior, "repeated": row.repeated,
            "held": [(str(statuses.get(k, k)), n) for k, n in sorted(row.held.items())],
            "held_back": row.held_back, "total": row.total,
        })
        for key in keys:
            value = getattr(row, key)
            school[key] += value
            town[key] += value
    return [{**t, "schools": list(t["schools"].values())} for t in towns.values()]


@login_required
@require_http_methods(["GET", "POST"])
def rollover(request):
    """学年结转: the preview of a year's rollover and its confirmation (or, for a closed year,
    what it did and its revert). The work runs as a background job."""
    require_role(request.user, Role.COUNTY)
    day = today()
    if request.method == "POST":
        form = RolloverForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            year = form.cleaned_data.get("year") or default_year(day)
            return redirect(f"{reverse('dashboards:rollover')}?year={year}")
        year, action = form.cleaned_data["year"], form.cleaned_data["action"]
        job = year_close_job_create(year=year, action=action, user=request.user)
        return redirect(f"{reverse('dashboards:rollover')}?year={year}&job={job.pk}")
    year = query_int(request.GET, "year") or default_year(day)
    year = min(max(year, day.year - 12), day.year + 1)
    preview = rollover_preview(year, today=day)
    record = SchoolYear.objects.filter(year=year).select_related("closed_by").first()
    job = None
    job_id = query_int(request.GET, "job")
    if job_id:
        job = Job.objects.filter(pk=job_id, kind=JOB_KIND, created_by=request.user).first()
    counts = [(key, label, tone, getattr(preview.result, key)) for key, label, tone in (
        ("students", _("在籍学生"), ""), ("promoted", _("升级"), "text-primary"),
        ("graduated_primary", _("小学毕业"), ""), ("graduated_junior", _("初中毕业"), ""),
        ("held_back", _("不升级"), "text-warning-emphasis"),
        ("repeated", _("留级"), "text-warning-emphasis"))]
    return render(request, "dashboards/years/rollover.html", {
        "year": year, "label": year_label(year), "preview": preview, "record": record,
        "result": preview.result, "counts": counts, "towns": _by_township(preview.rows), "job": job,
        "graduation_day": graduation_day(year), "next_label": year_label(year + 1),
        "form": RolloverForm(initial={"year": year, "action": "close"}),
        "revert_form": RolloverForm(initial={"year": year, "action": "reopen"}),
        "years": [(y, year_label(y)) for y in range(current_school_year(day), current_school_year(day) - 4, -1)],
    })


@login_required
@require_safe
def rollover_job(request, pk: int):
    """The state of a rollover job (polled by the page while it runs)."""
    require_role(request.user, Role.COUNTY)
    job = get_object_or_404(Job, pk=pk, kind=JOB_KIND, created_by=request.user)
    return render(request, "dashboards/years/_rollover_job.html", {"job": job})


# ----------------------------------------------------------------------------- 回头看 / 年度考核


def _review_context(request):
    years = closed_years()
    if not years:
        return None, years
    year = query_int(request.GET, "year")
    if year not in years:
        year = years[0]
    township_id = query_int(request.GET, "township") or 0
    township = visible_township(request.user, township_id)
    review = review_data(year=year, township=township, today=today())
    return {"review": review, "year": year, "years": [(y, year_label(y)) for y in years],
            "townships": township_choices(year), "township": township}, years


@login_required
@require_safe
def review(request):
    """The year-end review (回头看 / 年度考核) of a closed school year: printable (A4) page."""
    scope = require_role(request.user, Role.COUNTY, Role.TOWNSHIP)
    ctx, _years = _review_context(request)
    if ctx is None:
        return render(request, "dashboards/years/review.html", {"empty": True})
    review = ctx["review"]
    headers = [(str(FIGURE[k].label), k in COMPARED) for k in SHOWN]

    def cells(row):
        out = []
        for key in SHOWN:
            kind = FIGURE[key].kind
            out.append((fmt(row.this.get(key), kind),
                        fmt(row.last.get(key), kind) if row.last and key in COMPARED else None,
                        key in COMPARED))
        return out

    def opens(row):
        return [row.open.get(key, 0) for key, _label in review.open_items]

    rows = [{"row": r, "cells": cells(r), "open": opens(r)} for r in review.rows]
    return render(request, "dashboards/years/review.html", {
        **ctx, "headers": headers, "rows": rows,
        "total": {"row": review.total, "cells": cells(review.total), "open": opens(review.total)},
        "is_county": scope.role == Role.COUNTY, "fill_date": today(),
        "query": request.GET.urlencode(),
    })


@login_required
@require_POST
def review_xlsx(request):
    """The same review as an xlsx in the official layout (three sheets), audited: a POST (the
    page's 导出Excel button, CSRF-checked) with the page's choices in the query string."""
    require_role(request.user, Role.COUNTY, Role.TOWNSHIP)
    ctx, _years = _review_context(request)
    if ctx is None:
        raise Http404
    review = ctx["review"]
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - handed to FileResponse, which closes it
    write_official_workbook(handle, review_sheets(review, fill_date=today()))
    handle.seek(0)
    audit_record(action="export", request=request, object_type="review",
                 object_id=f"{review.year}:{review.total.unit}",
                 detail={"report": "year_review", "year": review.year, "unit": review.total.unit,
                         "rows": len(review.details)})
    name = f"{review.year}-{review.year + 1}学年控辍保学年度考核-{review.total.label}.xlsx"
    return FileResponse(handle, as_attachment=True, filename=name)
