"""Worklists of the 学籍 side: the children missing from a term's roster (per school, with the
official-layout xlsx). Scoped like everything else (RosterGap.objects.visible_to)."""

from __future__ import annotations

import os
import tempfile

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST, require_safe

from kongchuo.access.audit import audit_record
from kongchuo.access.idnumbers import mask_id
from kongchuo.access.params import query_int
from kongchuo.access.scoping import Role, require_role, scope_of
from kongchuo.calendar.schoolyear import Term, parse_term, term_of, today
from kongchuo.portal.xlsxout import LedgerColumn, write_official_ledger
from students.models import RosterGap, School
from students.selectors import roster_unexplained

STAFF = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
COLUMNS = [LedgerColumn("学校", "school", 24), LedgerColumn("姓名", "name", 10),
           LedgerColumn("身份证件号", "id_number", 21, kind="text"), LedgerColumn("年级", "grade", 6),
           LedgerColumn("班级", "class_name", 8), LedgerColumn("监护人", "guardian", 10),
           LedgerColumn("名册导入日期", "found_on", 12, kind="date"),
           LedgerColumn("核查情况（转出、毕业、休学、在校等）", "note", 30)]


def _term(request) -> Term:
    raw = request.GET.get("term") or ""
    try:
        return parse_term(raw)
    except ValueError:
        return term_of(today())


def _gaps(request, term: Term):
    qs = RosterGap.objects.visible_to(request.user).filter(term=term.code)
    school = query_int(request.GET, "school")
    if school:
        qs = qs.filter(school_id=school)
    return (roster_unexplained(qs, today())
            .select_related("school", "student")
            .order_by("school__township__code", "school__code", "student__grade",
                      "student__class_name", "student__name", "pk"))


@login_required
@require_safe
def roster_gaps(request):
    """名册缺失: this term's children missing from their school's roster, still unexplained."""
    require_role(request.user, *STAFF)
    term = _term(request)
    qs = _gaps(request, term)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    terms, t = [], term_of(today())
    for _i in range(4):
        terms.append(t)
        t = t.previous()
    schools = (School.objects.visible_to(request.user).order_by("township__code", "code")
               if scope_of(request.user).role != Role.SCHOOL else None)
    return render(request, "students/roster_gaps.html", {
        "page": page, "term": term, "terms": terms, "schools": schools,
        "school_param": request.GET.get("school", ""), "return_start": term.start})


@login_required
@require_POST
def roster_gaps_export(request):
    """The worklist in the official layout (IDs masked), audited as every export is: a POST
    (the page's form, CSRF-checked) with the page's filters in the query string."""
    require_role(request.user, *STAFF)
    term = _term(request)
    user = request.user
    rows = [{"school": g.school.name, "name": g.student.name, "id_number": mask_id(g.student.id_number),
             "grade": g.student.grade, "class_name": g.student.class_name,
             "guardian": g.student.guardian_name, "found_on": g.found_on, "note": ""}
            for g in _gaps(request, term).iterator(chunk_size=2000)]
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        write_official_ledger(path, title=f"{term.label}学籍名册缺失学生核查表", unit=user.scope_label,
                              fill_date=today(), columns=COLUMNS, rows=rows,
                              footer=(f"填表人：{user.get_full_name() or user.username}", "审核人：", "（盖章）"))
        fh = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    finally:
        os.unlink(path)
    audit_record(action="export", request=request, object_type="worklist", object_id="roster_gaps",
                 detail={"term": term.code, "rows": len(rows), "school": request.GET.get("school", "")})
    return FileResponse(fh, as_attachment=True, filename=f"名册缺失学生_{term.code}_{today():%Y%m%d}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
