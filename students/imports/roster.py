"""Import kind `roster` (学籍): the students of the schools a file names, by ID number.

Its merge rules (students/imports/roster_merge.py) are written by the ORM on SQLite (here) and
by SQL on PostgreSQL (students/imports/roster_pg.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from kongchuo.access.scoping import scope_covers_school
from kongchuo.calendar.schoolyear import term_of
from kongchuo.imports import parsers
from kongchuo.imports.base import Field, ImportContext, ImportKind, ImportPlan, RowStream
from kongchuo.imports.bulk import chunked, history_insert_select, insert_rows, is_postgres, update_batch_size
from kongchuo.imports.cells import TabularError, Text
from students.imports import (
    ID_FIELD,
    STAFF,
    SchoolIndex,
    check_identity,
    flag_field,
    initials_for,
    row_school,
    term_option,
    text_field,
)
from students.imports.roster_merge import (
    ACTIVE,
    ROSTER_MERGE,
    STATUS_NOT_ENROLLED,
    RosterAsk,
    roster_columns,
    roster_is_intake,
    roster_missing_collect,
)
from students.imports.roster_pg import roster_apply_pg, roster_plan_pg, roster_prepare_pg
from students.models import RosterGap, School, StatusChange, Student, TermRoster
from students.services import status_change_build
from students.transfers import transfers_in_request_bulk

RESIDENT_ID_TYPES = {"", "居民身份证", "身份证", "中华人民共和国居民身份证", "居民身份证号",
                     "公民身份证", "身份证号"}
APPLY_CHUNK = 2000


@dataclass
class RosterPayload:
    """What the ORM path writes: the new rows and, per changed student id, the file row and
    the changed columns. Model instances are built per chunk in apply, so a county roster
    never holds 200,000 Student and 200,000 history instances at once."""

    cols: list[str]
    new_rows: list[Any]
    changed: dict[int, tuple[Any, dict[str, Any]]]
    asks: list[RosterAsk] = field(default_factory=list)


class RosterImport(ImportKind):
    slug = "roster"
    label = _("学生学籍名册")
    description = _("学籍系统导出的学生名册：按身份证件号新增或更新学生；管辖范围内其他学校的学生将转入，"
                    "管辖范围以外学校的学生生成转学申请、由该校确认，"
                    "名册所含学校中未出现在文件里的学生会列出（不会删除），该学期首次导入时列入名册缺失名单。")
    fields = (
        Field("school_code", ("学校标识码", "学校代码", "学校识别码"), parsers.code(10), memo=True, text=True,
              note="10位数字；与学校名称至少填一项"),
        text_field("school_name", ("学校名称", "学校", "所在学校"), 80, memo=True),
        Field("grade", ("年级",), parsers.grade(required=True), required=True, memo=True,
              note="一年级…九年级、初一/初二/初三、七年级或 1–9"),
        text_field("class_name", ("班级", "班级名称", "班号"), 20, memo=True),
        text_field("name", ("姓名", "学生姓名"), 40, required=True),
        Field("sex", ("性别",), parsers.sex(), memo=True, note="男/女；空白时按身份证件号"),
        Field("birth_date", ("出生日期", "出生年月日"), parsers.date(), memo=True,
              note="2012-05-06、2012/5/6、20120506、2012年5月6日 均可；空白时按身份证件号"),
        text_field("id_type", ("身份证件类型", "证件类型"), 20, memo=True),
        replace(ID_FIELD, note="18位，请将该列设置为文本格式"),
        text_field("student_number", ("全国学籍号", "学籍号", "学籍辅号", "全国学籍号码"), 30, text=True),
        text_field("hukou_address", ("户口所在地", "户籍所在地", "户籍地址", "户口所在地址"), 120),
        text_field("address", ("现住址", "家庭住址", "居住地址", "现居住地址"), 120),
        text_field("guardian_name", ("监护人姓名", "监护人", "家长姓名"), 40),
        text_field("guardian_phone", ("监护人联系电话", "监护人电话", "联系电话", "家长电话", "家长联系电话"),
                   20, text=True),
        flag_field("is_poor",
                   ("是否建档立卡贫困户", "是否建档立卡", "建档立卡", "是否建档立卡户", "是否脱贫家庭"),
                   note="是/否、√/×、Y/N、1/0 或空白（否）"),
        flag_field("is_dibao", ("是否低保", "低保", "是否低保户")),
        flag_field("is_tekun", ("是否特困供养", "特困供养", "是否特困")),
        text_field("disability_category", ("残疾人类型", "残疾类型", "残疾类别"), 20, memo=True),
        flag_field("is_left_behind", ("是否留守儿童", "留守儿童")),
        flag_field("is_migrant", ("是否进城务工人员随迁子女", "随迁子女", "是否随迁子女")),
        Field("entry_month", ("入学年月", "入学时间", "入学日期"), parsers.year_month(), memo=True,
              note="2019-09、201909 或 2019年9月"),
    )
    key = ("id_number",)
    # A row's school must be in the importer's scope; an existing child of a school outside it
    # is asked for (a 转入申请 its school confirms), never written, unless the row is a primary
    # graduate's grade-7 intake.
    roles = STAFF
    options = ("term",)
    computed = ("school_id", "hukou_township_id")
    counts = {"moved": _("转入（从本县其他学校）"), "missing": _("名册中缺少"),
              "transfers": _("转学申请（待对方学校确认）")}
    counts_after_write = ("transfers",)
    order = 20
    icon = "bi-people"

    def prepare(self, ctx: ImportContext) -> None:
        ctx.state["term"] = term_option(ctx) or term_of(ctx.today)
        index = ctx.state["schools"] = SchoolIndex.load()
        towns = sorted(index.townships.values(), key=lambda t: -len(t.name))
        ctx.state["hukou_re"] = re.compile("|".join(re.escape(t.name) for t in towns)) if towns else None
        ctx.state["town_by_name"] = {t.name: t.pk for t in towns}
        ctx.state["hukou_cache"] = {}
        schools = index.by_code.values()  # "inside": the schools whose children it may update
        inside = {s.pk for s in schools if scope_covers_school(ctx.scope, s)}
        ctx.state["inside"] = None if ctx.is_county else inside
        ctx.state["grade7"] = {s.pk for s in schools if s.kind in School.TEACHES_GRADE_7}
        if is_postgres():  # the stage's row encoder is set before the file is read
            roster_prepare_pg(ctx)

    def check_row(self, row: Any, ctx: ImportContext) -> bool:
        """School (by code, else name; in the importer's scope), birth date and sex against the
        ID, 户籍 township from 户口所在地. Runs once per row of a county roster: lookups are cached."""
        row.school_id = row_school(row, ctx, row.school_code, row.school_name)
        if row.school_id is None:
            return False
        ok = check_identity(row, ctx)
        id_type = row.id_type
        if id_type and id_type not in RESIDENT_ID_TYPES and parsers.norm_key(id_type) not in RESIDENT_ID_TYPES:
            ctx.warn(row.row, "id_type", "id_type",
                     Text(gettext_noop("证件类型为“%(id_type)s”，已按居民身份证件号校验"), id_type=id_type))
        address = row.hukou_address
        if address:
            state = ctx.state
            cache = state["hukou_cache"]
            town = cache.get(address, 0)
            if town == 0:
                pattern = state["hukou_re"]
                m = pattern.search(address) if pattern else None
                town = state["town_by_name"][m.group(0)] if m else None
                if len(cache) < 50_000:
                    cache[address] = town
            row.hukou_township_id = town
        return ok

    def plan(self, rows: RowStream, ctx: ImportContext) -> ImportPlan:
        if not {"school_code", "school_name"} & ctx.present:
            raise TabularError("header_missing", labels="学校标识码、学校名称")
        return roster_plan_pg(rows, ctx) if is_postgres() else self.plan_orm(rows, ctx)

    def apply(self, plan: ImportPlan, ctx: ImportContext) -> None:
        """Write the plan, then ask for the children of schools outside the scope and record the
        term's roster gaps."""
        asks = plan.payload.asks
        plan.created -= len(asks)  # the preview counted them as new children (no oracle)
        if is_postgres():
            roster_apply_pg(plan, ctx)
        else:
            self.apply_orm(plan, ctx)
        self.ask(plan, asks, ctx)
        self.record_gaps(ctx)

    def plan_orm(self, rows: RowStream, ctx: ImportContext) -> ImportPlan:
        """The plan on SQLite: the stored rows of each chunk, diffed in Python."""
        items = rows.unique()
        cols = roster_columns(ctx)
        only = ["id", "id_number", "status", "school_id", *cols]
        inside = ctx.state["inside"]
        at_grade, at_name = 4 + cols.index("grade"), 4 + cols.index("name")
        new_rows: list[Any] = []
        changed: dict[int, tuple[Any, dict[str, Any]]] = {}
        asks: list[RosterAsk] = []
        unchanged = moved = 0
        for chunk in chunked(items):  # the stored rows of one chunk at a time
            existing = {v[1]: v for v in Student.objects.filter(
                id_number__in=[r.id_number for r in chunk]).values_list(*only)}
            for r in chunk:
                old = existing.get(r.id_number)
                if old is None:
                    new_rows.append(r)
                    continue
                if inside is not None and old[3] not in inside and not roster_is_intake(
                        old[2], old[at_grade], old[at_name], r, ctx):
                    asks.append(RosterAsk(r.row, old[0], r.school_id, r.grade, r.class_name or ""))
                    continue
                diff = {}
                for i, c in enumerate(cols, start=4):
                    value = ROSTER_MERGE[c].value(old[i], getattr(r, c))
                    if value != old[i]:
                        diff[c] = value
                is_move = "school_id" in diff
                moved += is_move
                if not is_move and old[2] not in ACTIVE:
                    ctx.warn(r.row, "id_number", "status_not_enrolled",
                             Text(STATUS_NOT_ENROLLED, status=Student.Status(old[2]).label))
                if diff:
                    changed[old[0]] = (r, diff)
                else:
                    unchanged += 1
        covered = sorted({r.school_id for r in items})
        missing, sample = roster_missing_collect(
            Student.objects.filter(school_id__in=covered, status__in=ACTIVE)
            .order_by("school_id", "grade", "class_name", "id")
            .values_list("id", "school_id", "id_number", "name", "school__name", "grade")
            .iterator(chunk_size=5000), covered, rows, ctx)
        return ImportPlan(created=len(new_rows) + len(asks), updated=len(changed), unchanged=unchanged,
                          extra={"moved": moved, "missing": missing, "missing_sample": sample},
                          payload=RosterPayload(cols, new_rows, changed, asks))

    def apply_orm(self, plan: ImportPlan, ctx: ImportContext) -> None:
        p: RosterPayload = plan.payload
        now = timezone.now()
        initials = initials_for(ctx)
        for chunk in chunked(p.new_rows, APPLY_CHUNK):
            students = []
            for r in chunk:
                values = {c: ROSTER_MERGE[c].new_value(getattr(r, c)) for c in p.cols}
                students.append(Student(id_number=r.id_number, status=Student.Status.ENROLLED,
                                        name_initials=initials(r.name),
                                        created_at=now, updated_at=now, **values))
            insert_rows(Student, students)
            history_insert_select(Student, key="id_number", values=[s.id_number for s in students],
                                  user=ctx.user, reason="import", history_type="+", when=now)
        schools = {s.pk: s for s in ctx.state["schools"].by_code.values()}
        fields: set[str] = {"version", "updated_at"}
        for chunk in chunked(sorted(p.changed), APPLY_CHUNK):
            students, moves = [], []
            for student in Student.objects.filter(pk__in=chunk).order_by("pk"):
                r, diff = p.changed[student.pk]
                if "school_id" in diff:  # a move within the county: the status rules of 转出
                    change, moved_fields = status_change_build(
                        student=student, kind=StatusChange.Kind.TRANSFER_OUT, effective_date=ctx.today,
                        to_school=schools[diff["school_id"]], user=ctx.user, source="import",
                        reason=str(_("学籍名册导入")))
                    moves.append(change)
                    fields.update(moved_fields)
                for c, value in diff.items():
                    setattr(student, c, value)
                    fields.add(c.removesuffix("_id"))
                if "name" in diff:
                    student.name_initials = initials(student.name)
                    fields.add("name_initials")
                student.version += 1
                student.updated_at = now
                students.append(student)
            Student.objects.bulk_update(students, sorted(fields), batch_size=update_batch_size(len(fields)))
            history_insert_select(Student, key="id", values=[s.pk for s in students], user=ctx.user,
                                  reason="import", history_type="~", when=now)
            StatusChange.objects.bulk_create(moves, batch_size=1000, ignore_conflicts=True)

    def ask(self, plan: ImportPlan, asks: list[RosterAsk], ctx: ImportContext) -> None:
        """The rows naming children of schools outside the importer's scope become 转入申请 to
        the child's school (which confirms): counted as `transfers` (and `skipped`: the child's
        record is not written). A child who cannot be asked for (a transfer pending, deceased,
        a transfer step today) is only skipped, with a warning."""
        plan.extra["transfers"] = 0
        if not asks:
            return
        schools = {s.pk: s for s in School.objects.filter(pk__in={a.school_id for a in asks})}
        made, refused = transfers_in_request_bulk(
            user=ctx.user, reason=str(_("学籍名册导入：该生学籍在本县其他学校")),
            asks=[(a.student_id, schools[a.school_id], a.grade, a.class_name) for a in asks])
        plan.skipped += len(asks)
        plan.extra["transfers"] = len(made)
        for a in asks:
            if a.student_id in refused:
                ctx.warn(a.row, "id_number", "transfer_not_requested",
                         Text(gettext_noop("未导入：该生学籍在本县其他学校，且已有待确认的转学或当前不能转学，请联系该校")))

    def record_gaps(self, ctx: ImportContext) -> None:
        """The term's roster gaps (RosterGap): the first roster of the term for a school lists
        its children missing from it; every roster of the term strikes off the children it
        contains (a school may send its roster in parts)."""
        covered, missing, in_file = ctx.state.get("roster_gaps") or ([], [], set())
        if not covered:
            return
        term = ctx.state["term"].code
        known = set(TermRoster.objects.filter(term=term, school_id__in=covered)
                    .values_list("school_id", flat=True))
        first = {pk for pk in covered if pk not in known}
        TermRoster.objects.bulk_create([TermRoster(term=term, school_id=pk, first_job=ctx.job)
                                        for pk in sorted(first)], ignore_conflicts=True)
        listed = [RosterGap(term=term, school_id=school_id, student_id=pk, job=ctx.job,
                            found_on=ctx.today) for pk, school_id in missing if school_id in first]
        RosterGap.objects.bulk_create(listed, batch_size=1000, ignore_conflicts=True)
        if known:
            gaps = RosterGap.objects.filter(term=term, school_id__in=sorted(known)).values_list(
                "pk", "student__id_number")
            struck = [pk for pk, id_number in gaps if id_number in in_file]
            for batch in chunked(struck):
                RosterGap.objects.filter(pk__in=batch).delete()
