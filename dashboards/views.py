from __future__ import annotations

import os
import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_tables2 import RequestConfig

from dashboards.forms import IntakeUploadForm
from dashboards.metrics import HELP, METRICS, metric_rows
from dashboards.models import CohortIntake
from dashboards.params import SEASONS, parse_params, year_choices
from dashboards.services import TEMPLATE_HEADERS, IntakeImportError, cohort_intakes_import
from dashboards.tables import (
    export_headers,
    export_text_columns,
    export_values,
    listing_rows,
    table_for,
)
from kongchuo.access.audit import audit_record
from kongchuo.access.params import query_int
from kongchuo.access.scoping import Role, require_role
from kongchuo.calendar.schoolyear import period_label, today
from kongchuo.portal.menu import menu_section
from kongchuo.portal.xlsxout import write_official_table
from retrieval.models import Alert
from students.models import School, Township

STAFF = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
EXPORT_MAX_ROWS = 300_000


def _filter_summary(p, user) -> list[str]:
    """The filters of a list, in words, for its heading and its export's title row."""
    parts = [dict(year_choices(p.current_year)).get(p.year, str(p.year))]
    if p.season:
        parts.append(str(dict(SEASONS)[p.season]))
    if p.month:
        parts.append(period_label(p.month))
    if p.direct:
        parts.append(_("县直学校"))
    elif p.township:
        name = Township.objects.visible_to(user).filter(pk=p.township).values_list("name", flat=True).first()
        parts.append(name or "—")
    if p.school:
        name = School.objects.visible_to(user).filter(pk=p.school).values_list("name", flat=True).first()
        parts.append(name or "—")
    if p.kind:
        parts.append(str(dict(School.Kind.choices).get(p.kind, p.kind)))
    return parts


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def drilldown(request, metric: str):
    """The rows behind one figure: same scope, same filters, same condition as the number.
    POST (the page's 导出 Excel form, CSRF-checked) exports those rows, audited; a GET only reads."""
    require_role(request.user, *STAFF)
    menu_section(request, "home")  # a figure of the home page, listed
    the_metric = METRICS.get(metric)
    if the_metric is None:
        raise Http404
    params = parse_params(request.GET, kinds=set(School.Kind.values))
    rows = listing_rows(the_metric.source, metric_rows(the_metric, request.user, params))
    if request.method == "POST":
        return _export(request, the_metric, params, rows)
    table = table_for(the_metric.source, rows)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    total_people = None
    if the_metric.source == "intake":
        total_people = metric_rows(the_metric, request.user, params).aggregate(n=Sum("grade1_count"))["n"] or 0
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "dashboards/drilldown.html", {
        "metric": the_metric, "help": HELP.get(the_metric.key, ""), "table": table, "summary": _filter_summary(params, request.user),
        "export_query": query.urlencode(), "params": params, "total_people": total_people,
        "home_query": params.query(rule=None, status=None, month=None, run=None),
        "rule_label": Alert.Rule(params.rule).label if params.rule in Alert.Rule.values else params.rule,
        "status_label": Alert.Status(params.status).label if params.status in Alert.Status.values else params.status,
    })


def _export(request, the_metric, params, rows) -> FileResponse:
    count = rows.count()
    if count > EXPORT_MAX_ROWS:
        messages.error(request, _("导出行数超过上限，请缩小筛选范围"))
        return redirect(request.path + "?" + params.query())
    title = f"{the_metric.label}（{'，'.join(_filter_summary(params, request.user))}）"
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        write_official_table(
            path, title=f"{title[:-1]}，{_('数据截至')}{params.as_of:%Y-%m-%d}）",
            unit=request.user.scope_label, fill_date=today(), headers=export_headers(the_metric.source),
            rows=(export_values(the_metric.source, r) for r in rows.iterator(chunk_size=2000)),
            sheet_name=str(the_metric.label), text_columns=export_text_columns(the_metric.source))
        fh = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    finally:
        os.unlink(path)
    audit_record(action="dashboard_export", request=request,
                 detail={"metric": the_metric.key, "filters": params.query(), "rows": count, "title": title[:150]})
    filename = f"{the_metric.label}_{today():%Y%m%d}.xlsx"
    return FileResponse(fh, as_attachment=True, filename=filename,
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@login_required
@require_http_methods(["GET", "POST"])
def cohorts(request):
    """Grade-1 intake counts per school and year; county users import them from a sheet."""
    scope = require_role(request.user, *STAFF)
    can_import = scope.role == Role.COUNTY
    form = IntakeUploadForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST":
        if not can_import:
            raise PermissionDenied
        if form.is_valid():
            upload = form.cleaned_data["file"]
            fd, path = tempfile.mkstemp(suffix=os.path.splitext(upload.name)[1][:8])
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in upload.chunks():
                        out.write(chunk)
                result = cohort_intakes_import(user=request.user, path=path, filename=upload.name,
                                               request=request)
            except IntakeImportError as exc:
                form.add_error("file", str(exc))
            finally:
                os.unlink(path)
            if result is not None and result.ok:
                messages.success(request, _("已导入：新增 %(c)d 条，更新 %(u)d 条") % {
                    "c": result.created, "u": result.updated})
                return redirect("dashboards:cohorts")
    years = list(CohortIntake.objects.visible_to(request.user).order_by("-year")
                 .values("year").annotate(n=Sum("grade1_count")).values_list("year", "n"))
    year = query_int(request.GET, "year")
    intakes = (CohortIntake.objects.visible_to(request.user)
               .select_related("school", "school__township").order_by("-year", "school__code"))
    if year:
        intakes = intakes.filter(year=year)
    table = table_for("intake", intakes)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(request, "dashboards/cohorts.html", {
        "form": form, "can_import": can_import, "result": result, "table": table,
        "years": years, "year": str(year or ""),
    })


@login_required
def cohort_template(request):
    require_role(request.user, Role.COUNTY)
    from kongchuo.portal.xlsxout import write_simple_table

    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        example = [today().year - 8, "", "", 0, 0, 0, 0, 0, ""]
        write_simple_table(path, TEMPLATE_HEADERS, [example], sheet_name="入学队列",
                           text_columns=[1])
        fh = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    finally:
        os.unlink(path)
    return FileResponse(fh, as_attachment=True, filename="入学队列人数导入模板.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
