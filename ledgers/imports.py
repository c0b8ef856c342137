"""Import kinds of the ledgers: 返校报到 lists and 学籍变动 (status changes).

Students are found among those the importer may see (`Student.objects.visible_to`), so a row
about a child outside the importer's scope is rejected as `student_unknown`, never written.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from kongchuo.calendar.models import SchoolYear
from kongchuo.calendar.schoolyear import Term, school_year_of, term_of, year_label
from kongchuo.imports import parsers
from kongchuo.imports.base import Field, ImportContext, ImportKind, ImportPlan, RowStream
from kongchuo.imports.bulk import batch_size_for, fetch_in, history_create, update_batch_size
from kongchuo.imports.cells import Text, quoted
from ledgers.models import ReturnReport
from students.imports import ID_FIELD, STAFF, SchoolIndex, term_option
from students.models import StatusChange, Student
from students.services import StatusChangeRequest, student_changes_apply_bulk
from students.transfers import transfers_out_record_bulk

NAME = Field("name", ("姓名", "学生姓名"), parsers.text(max_length=40))


def known_students(rows: RowStream, ctx: ImportContext, *fields: str) -> list[tuple[Any, tuple]]:
    """The file's rows (duplicates left out), each with (pk, id_number, *fields) of its student;
    a row naming no student the importer may see (the operator: any) is rejected."""
    items = rows.unique()
    visible = Student.objects.all() if ctx.user is None else Student.objects.visible_to(ctx.user)
    values = visible.values_list("pk", "id_number", *fields)
    found = {v[1]: v for v in fetch_in(values, "id_number", [r.id_number for r in items])}
    for r in items:
        if r.id_number not in found:
            ctx.reject(r.row, "id_number", "student_unknown")
    return [(r, found[r.id_number]) for r in items if r.id_number in found]


REPORTED = {**dict.fromkeys(("已报到", "报到", "已返校", "返校", "是", "√", "Y", "YES", "1", "正常报到"), True),
            **dict.fromkeys(("未报到", "未返校", "否", "×", "N", "NO", "0"), False)}


class ReturnsImport(ImportKind):
    slug = "returns"
    label = _("返校报到名单")
    description = _("学期初返校报到名单：按学生和学期记录返校报到（学期可指定，否则按报到日期确定）。")
    fields = (
        NAME,
        ID_FIELD,
        Field("reported", ("报到状态", "是否报到", "报到情况", "返校状态"), parsers.choice(REPORTED, default=True),
              memo=True, note="已报到/未报到（空白视为已报到；未报到的行不记录）"),
        Field("reported_on", ("报到日期", "报到时间", "返校日期"), parsers.date(), memo=True,
              note="未指定学期时按报到日期确定学期"),
        Field("note", ("备注",), parsers.text(max_length=200)),
    )
    key = ("id_number",)
    roles = STAFF
    options = ("term",)
    counts = {"matched": _("匹配到学生")}
    order = 30
    icon = "bi-check2-square"

    def prepare(self, ctx: ImportContext) -> None:
        # Without --term, each row's term is its 报到日期's.
        ctx.state["term"] = term_option(ctx)

    def check_row(self, row: Any, ctx: ImportContext) -> bool:
        term: Term | None = ctx.state["term"]
        if not row.reported:
            return True
        if term is None and row.reported_on is None:
            ctx.reject(row.row, "reported_on", "required_missing",
                       hint=Text(gettext_noop("未指定学期时须填写报到日期")))
            return False
        if term is not None and row.reported_on is not None and term_of(row.reported_on) != term:
            ctx.warn(row.row, "reported_on", "date_outside_term",
                     Text(gettext_noop("报到日期不在%(term)s内"), term=str(term.label)))
        return True

    def plan(self, rows: RowStream, ctx: ImportContext) -> ImportPlan:
        term: Term | None = ctx.state["term"]
        wanted: dict[tuple[int, str], tuple[Any, dt.date]] = {}  # (student, term) → (row, day)
        skipped = 0
        for r, (student_id, *_rest) in known_students(rows, ctx):
            if not r.reported:
                skipped += 1
                continue
            row_term = term or term_of(r.reported_on)
            day = r.reported_on or (ctx.today if term_of(ctx.today) == row_term else row_term.start)
            wanted[student_id, row_term.code] = (r, day)
        stored = ReturnReport.objects.filter(term__in={code for _pk, code in wanted})
        existing = {(x.student_id, x.term): x for x in fetch_in(stored, "student_id", [pk for pk, _c in wanted])}
        creates, updates, unchanged = [], [], 0
        for (student_id, code), (r, day) in wanted.items():
            report = existing.get((student_id, code))
            note = r.note or ""
            if report is None:
                creates.append(ReturnReport(student_id=student_id, term=code, reported_on=day, note=note,
                                            source="import", created_by=ctx.user))
            elif report.reported_on != day or (note and report.note != note):
                report.reported_on, report.note = day, note or report.note
                report.version += 1
                updates.append(report)
            else:
                unchanged += 1
        return ImportPlan(created=len(creates), updated=len(updates), unchanged=unchanged,
                          skipped=skipped, extra={"matched": len(wanted) + skipped},
                          payload=(creates, updates))

    def apply(self, plan: ImportPlan, ctx: ImportContext) -> None:
        creates, updates = plan.payload
        now = timezone.now()
        for report in creates:
            report.created_at = report.updated_at = now
        for report in updates:
            report.updated_at = now
        ReturnReport.objects.bulk_create(creates, batch_size=batch_size_for(10))
        history_create(ReturnReport, creates, user=ctx.user, reason="import", update=False, when=now)
        ReturnReport.objects.bulk_update(updates, ["reported_on", "note", "version", "updated_at"],
                                         batch_size=update_batch_size(4))
        history_create(ReturnReport, updates, user=ctx.user, reason="import", update=True, when=now)


CHANGE_KINDS = {
    "转出": StatusChange.Kind.TRANSFER_OUT, "转学": StatusChange.Kind.TRANSFER_OUT,
    "转入": StatusChange.Kind.TRANSFER_IN, "休学": StatusChange.Kind.SUSPEND,
    "复学": StatusChange.Kind.RESUME, "请假": StatusChange.Kind.LEAVE,
    "死亡": StatusChange.Kind.DEATH, "出国": StatusChange.Kind.ABROAD,
    "出国（境）": StatusChange.Kind.ABROAD, "出境": StatusChange.Kind.ABROAD,
    "中职就读": StatusChange.Kind.VOCATIONAL, "中职": StatusChange.Kind.VOCATIONAL,
    "外县就读": StatusChange.Kind.OUT_OF_COUNTY,
    # The 留级 list for the year-end rollover (students/rollover.py): the child stays in the grade.
    "留级": StatusChange.Kind.REPEAT, "重读": StatusChange.Kind.REPEAT,
}
REPEATERS = (Student.Status.ENROLLED, Student.Status.HOME_TEACHING)


class StatusChangesImport(ImportKind):
    slug = "status_changes"
    label = _("学籍变动")
    description = _("学籍变动台账：转出、转入、休学、复学、请假、死亡、出国、中职就读、留级，按变动日期记入学籍变动历史；"
                    "转出到本县学校记为待接收的转学（转学中），由接收学校确认。")
    fields = (
        NAME,
        ID_FIELD,
        Field("kind", ("变动类型", "异动类型", "变动类别"), parsers.choice(CHANGE_KINDS, required=True),
              required=True, memo=True, note="转出、转入、休学、复学、请假、死亡、出国、中职就读、留级（学年结转时不升级）"),
        Field("effective_date", ("变动日期", "异动日期", "生效日期"), parsers.date(required=True), required=True,
              memo=True),
        Field("end_date", ("截止日期", "结束日期", "休学截止日期"), parsers.date(), memo=True,
              note="休学、请假的截止日期"),
        Field("to_school", ("去向学校", "转入学校", "去向学校名称"), parsers.text(max_length=80), memo=True,
              note="转出：本县学校名称（或标识码）则转入该校；其他学校视为外县就读"),
        Field("to_county", ("去向县区", "转入县区", "去向地区"), parsers.text(max_length=60), memo=True),
        Field("reason", ("原因", "变动原因", "异动原因"), parsers.text(max_length=200)),
        Field("approved_by", ("审批人",), parsers.text(max_length=40)),
    )
    key = ("id_number", "kind", "effective_date")
    roles = STAFF
    computed = ("destination",)  # the county's school a 转出 goes to (a move within the county)
    order = 40
    icon = "bi-arrow-left-right"

    def prepare(self, ctx: ImportContext) -> None:
        ctx.state["schools"] = SchoolIndex.load()
        ctx.state["county"] = parsers.norm_key(settings.KONGCHUO_COUNTY_NAME)
        ctx.state["closed_years"] = set(SchoolYear.objects.filter(closed_at__isnull=False)
                                        .values_list("year", flat=True))

    def check_row(self, row: Any, ctx: ImportContext) -> bool:
        closed = ctx.state["closed_years"]
        if row.end_date is not None and row.end_date < row.effective_date:
            ctx.reject(row.row, "end_date", "value_invalid", hint=Text(gettext_noop("截止日期早于变动日期")))
            return False
        if row.kind in (StatusChange.Kind.SUSPEND, StatusChange.Kind.LEAVE) and row.end_date is None:
            ctx.warn(row.row, "end_date", "end_date_missing", Text(gettext_noop("未填写截止日期")))
        if row.kind == StatusChange.Kind.REPEAT and (year := school_year_of(row.effective_date)) in closed:
            ctx.reject(row.row, "effective_date", "value_invalid",
                       hint=Text(gettext_noop("%(year)s已结转，留级名单须在结转前登记"), year=year_label(year)))
            return False
        if row.kind != StatusChange.Kind.TRANSFER_OUT:
            return True
        if not row.to_school and not row.to_county:
            ctx.reject(row.row, "to_school", "required_missing", hint=Text(gettext_noop("转出须填写去向学校或去向县区")))
            return False
        code = row.to_school if row.to_school and row.to_school.isdigit() else ""
        school, _warning = ctx.state["schools"].resolve(code, "" if code else (row.to_school or ""))
        in_county = not row.to_county or ctx.state["county"] in parsers.norm_key(row.to_county)
        if school is None and in_county and row.to_school:
            ctx.reject(row.row, "to_school", "school_unknown", hint=quoted(row.to_school, len(row.to_school)))
            return False
        row.destination = school
        return True

    def plan(self, rows: RowStream, ctx: ImportContext) -> ImportPlan:
        known = known_students(rows, ctx, "status", "school_id")
        stored = StatusChange.objects.values_list("student_id", "kind", "effective_date")
        on_file = set(fetch_in(stored, "student_id", [hit[0] for _r, hit in known]))
        changes: list[StatusChangeRequest] = []
        moves: list[StatusChangeRequest] = []
        unchanged = 0
        for r, (pk, _id, status, school_id) in known:
            if r.kind == StatusChange.Kind.REPEAT and status not in REPEATERS:
                ctx.reject(r.row, "kind", "value_invalid", hint=Text(gettext_noop("只有在读或送教上门的学生可以留级")))
                continue
            # A 转出 to a school of the county is recorded as a pending transfer (转学中) that the
            # receiving side confirms: its history row is the 转学申请 of that day.
            move = r.destination is not None
            if (pk, StatusChange.Kind.TRANSFER_REQUEST if move else r.kind, r.effective_date) in on_file:
                unchanged += 1
                continue
            if move and status == Student.Status.TRANSFERRING:
                ctx.reject(r.row, "id_number", "value_invalid", hint=Text(gettext_noop("该生已有待确认的转学")))
                continue
            if move and school_id == r.destination.pk:
                ctx.reject(r.row, "to_school", "value_invalid", hint=Text(gettext_noop("该生已在去向学校")))
                continue
            (moves if move else changes).append(StatusChangeRequest(
                student_id=pk, kind=r.kind, effective_date=r.effective_date, end_date=r.end_date,
                to_school=r.destination, to_school_name="" if move else (r.to_school or ""),
                to_county=r.to_county or "", reason=r.reason or "", approved_by=r.approved_by or ""))
        return ImportPlan(created=len(changes) + len(moves), unchanged=unchanged,
                          extra={"moved": len(moves)}, payload=(changes, moves))

    def apply(self, plan: ImportPlan, ctx: ImportContext) -> None:
        changes, moves = plan.payload
        student_changes_apply_bulk(changes=changes, user=ctx.user, source="import")
        transfers_out_record_bulk(user=ctx.user, changes=moves)
