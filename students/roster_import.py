"""The roster (学籍) import kind: its columns, merge rules, row rule, scope rule, and the plan
and write on SQLite (the ORM). PostgreSQL plans and writes in SQL (students/roster_pg.py) from
the same merge rules; students/import_kinds.py picks the path by database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from kongchuo.access.idnumbers import mask_id
from kongchuo.calendar.schoolyear import Term, parse_term, term_of
from kongchuo.imports import parsers
from kongchuo.imports.base import (
    Field,
    ImportContext,
    ImportPlan,
    ImportRefused,
    RowStream,
)
from kongchuo.imports.bulk import (
    IN_CHUNK,
    history_insert_select,
    insert_rows,
    update_batch_size,
)
from kongchuo.imports.cells import TabularError, Text
from kongchuo.imports.merge import KEEP_IF_BLANK, NEVER_CLEAR, OVERWRITE, merge_rules
from students.imports import (
    ACTIVE,
    ID_LABELS,
    MISSING_SAMPLE,
    RESIDENT_ID_TYPES,
    InitialsCache,
    SchoolIndex,
    check_identity,
    school_in_scope,
    school_unknown_hint,
)
from students.models import School, StatusChange, Student
from students.services import status_change_build

ROSTER_FIELDS = (
    Field("school_code", ("学校标识码", "学校代码", "学校识别码"), parsers.code(10), memo=True, text=True,
          note="10位数字；与学校名称至少填一项"),
    Field("school_name", ("学校名称", "学校", "所在学校"), parsers.text(max_length=80), memo=True),
    Field("grade", ("年级",), parsers.grade(required=True), required=True, memo=True,
          note="一年级…九年级、初一/初二/初三、七年级或 1–9"),
    Field("class_name", ("班级", "班级名称", "班号"), parsers.text(max_length=20), memo=True),
    Field("name", ("姓名", "学生姓名"), parsers.text(required=True, max_length=40), required=True),
    Field("sex", ("性别",), parsers.sex(), memo=True, note="男/女；空白时按身份证件号"),
    Field("birth_date", ("出生日期", "出生年月日"), parsers.date(), memo=True,
          note="2012-05-06、2012/5/6、20120506、2012年5月6日 均可；空白时按身份证件号"),
    Field("id_type", ("身份证件类型", "证件类型"), parsers.text(max_length=20), memo=True),
    Field("id_number", ID_LABELS, parsers.id_number(), required=True, text=True,
          note="18位，请将该列设置为文本格式"),
    Field("student_number", ("全国学籍号", "学籍号", "学籍辅号", "全国学籍号码"), parsers.text(max_length=30),
          text=True),
    Field("hukou_address", ("户口所在地", "户籍所在地", "户籍地址", "户口所在地址"), parsers.text(max_length=120)),
    Field("address", ("现住址", "家庭住址", "居住地址", "现居住地址"), parsers.text(max_length=120)),
    Field("guardian_name", ("监护人姓名", "监护人", "家长姓名"), parsers.text(max_length=40)),
    Field("guardian_phone", ("监护人联系电话", "监护人电话", "联系电话", "家长电话", "家长联系电话"),
          parsers.text(max_length=20), text=True),
    Field("is_poor", ("是否建档立卡贫困户", "是否建档立卡", "建档立卡", "是否建档立卡户", "是否脱贫家庭"),
          parsers.boolean(), memo=True, note="是/否、√/×、Y/N、1/0 或空白（否）"),
    Field("is_dibao", ("是否低保", "低保", "是否低保户"), parsers.boolean(), memo=True),
    Field("is_tekun", ("是否特困供养", "特困供养", "是否特困"), parsers.boolean(), memo=True),
    Field("disability_category", ("残疾人类型", "残疾类型", "残疾类别"), parsers.text(max_length=20), memo=True),
    Field("is_left_behind", ("是否留守儿童", "留守儿童"), parsers.boolean(), memo=True),
    Field("is_migrant", ("是否进城务工人员随迁子女", "随迁子女", "是否随迁子女"), parsers.boolean(), memo=True),
    Field("entry_month", ("入学年月", "入学时间", "入学日期"), parsers.year_month(), memo=True,
          note="2019-09、201909 或 2019年9月"),
)

# Stored columns the roster writes. "keep": a blank cell keeps what is stored; "or": support
# flags are only ever set by a roster (the support lists are their authority); "set": the file
# decides. School, grade, name, sex and birth date are always set.
# How a roster's cell meets the stored student, per column: both write paths (the ORM here,
# the SQL merge of students/roster_pg.py) derive from this one declaration.
ROSTER_MERGE = merge_rules(Student, {
    "school_id": OVERWRITE, "grade": OVERWRITE, "name": OVERWRITE, "sex": OVERWRITE,
    "birth_date": OVERWRITE, "class_name": KEEP_IF_BLANK, "student_number": KEEP_IF_BLANK,
    "hukou_address": KEEP_IF_BLANK, "hukou_township_id": KEEP_IF_BLANK, "address": KEEP_IF_BLANK,
    "guardian_name": KEEP_IF_BLANK, "guardian_phone": KEEP_IF_BLANK,
    "disability_category": KEEP_IF_BLANK, "entry_month": KEEP_IF_BLANK,
    "is_poor": NEVER_CLEAR, "is_dibao": NEVER_CLEAR, "is_tekun": NEVER_CLEAR,
    "is_left_behind": OVERWRITE, "is_migrant": OVERWRITE,
})
ROSTER_SOURCE = {"school_id": "school_code", "hukou_township_id": "hukou_address"}
# The warning on a row whose child the database holds as not at school (both write paths).
STATUS_NOT_ENROLLED = gettext_noop("该生当前状态为“%(status)s”，名册中仍在籍，请核实")


def roster_columns(ctx: ImportContext) -> list[str]:
    """The stored columns this file speaks for (a column the file lacks is left alone)."""
    cols = []
    for col in ROSTER_MERGE:
        source = ROSTER_SOURCE.get(col, col)
        if col in ("school_id", "sex", "birth_date") or source in ctx.present:
            cols.append(col)
    return cols


def roster_term(ctx: ImportContext) -> Term:
    """The term the roster is for (--term, else the term of the import's date)."""
    raw = ctx.options.get("term")
    if not raw:
        return term_of(ctx.today)
    try:
        return parse_term(str(raw))
    except ValueError as exc:
        raise ImportRefused("option_invalid", Text(gettext_noop("学期格式应为 2024-spring 或 2024-autumn：%(value)s"),
                                                   value=raw)) from exc


def roster_prepare_common(ctx: ImportContext) -> None:
    """What the roster's check needs on either database (the kind's prepare adds PostgreSQL's)."""
    ctx.state["term"] = roster_term(ctx)
    index = SchoolIndex.load()
    ctx.state["schools"] = index
    ctx.state["school_hits"] = {}
    names = sorted(index.townships.values(), key=lambda t: -len(t.name))
    ctx.state["hukou_re"] = re.compile("|".join(re.escape(t.name) for t in names)) if names else None
    ctx.state["town_by_name"] = {t.name: t.pk for t in names}
    ctx.state["hukou_cache"] = {}
    # The schools whose children this import may update (None: the county's, every school);
    # an existing child of any other school named in the file is asked for, never written
    # (roster_asks_apply), unless the row is a primary graduate's grade-7 intake.
    schools = index.by_code.values()
    ctx.state["inside"] = None if ctx.is_county else {s.pk for s in schools if school_in_scope(s, ctx)}
    ctx.state["grade7"] = {s.pk for s in schools if s.kind in School.TEACHES_GRADE_7}


def initials_for(ctx: ImportContext) -> InitialsCache:
    """The import's one InitialsCache (each name's initials are computed once per import)."""
    cache = ctx.state.get("initials")
    if cache is None:
        cache = ctx.state["initials"] = InitialsCache()
    return cache


def roster_check(row: Any, ctx: ImportContext) -> bool:
    """School (by code, else name; in the importer's scope), birth date and sex against the ID,
    户籍 township from 户口所在地. Runs once per row of a county roster: lookups are cached."""
    state = ctx.state
    key = (row.school_code or "", row.school_name or "")
    hit = state["school_hits"].get(key)
    if hit is None:
        hit = state["school_hits"][key] = _school_hit(key, ctx)
    school_id, column, code, hint = hit
    if school_id is None:
        ctx.reject(row.row, column, code, hint=hint or "")
        return False
    if hint:
        ctx.warn(row.row, column, "school_matched", hint)
    row.school_id = school_id
    ok = check_identity(row, ctx)
    id_type = row.id_type
    if id_type and id_type not in RESIDENT_ID_TYPES and parsers.norm_key(id_type) not in RESIDENT_ID_TYPES:
        ctx.warn(row.row, "id_type", "id_type",
                 Text(gettext_noop("证件类型为“%(id_type)s”，已按居民身份证件号校验"), id_type=id_type))
    address = row.hukou_address
    if address:
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


def _school_hit(key: tuple[str, str], ctx: ImportContext) -> tuple:
    """(school id or None, column, code, hint) for a (学校标识码, 学校名称) pair: the school
    and a warning (or None), or the error to report."""
    code, name = key
    column = "school_code" if code else "school_name"
    school, warning = ctx.state["schools"].resolve(code, name)
    if school is None:
        if not code and not name:
            return None, column, "required_missing", None
        return None, column, "school_unknown", school_unknown_hint(code or name, ctx)
    if not school_in_scope(school, ctx):
        return None, column, "school_unknown", school_unknown_hint(code or name, ctx)
    return school.pk, column, "", warning


@dataclass
class RosterPayload:
    """What the generic (SQLite) path writes: the new rows and, per changed student id, the
    file row and the changed columns. Model instances are built per chunk in apply, so a
    county roster never holds 200,000 Student and 200,000 history instances at once."""

    cols: list[str]
    new_rows: list[Any]
    changed: dict[int, tuple[Any, dict[str, Any]]]
    asks: list[RosterAsk] = field(default_factory=list)


@dataclass(frozen=True)
class RosterAsk:
    """A row naming an existing child of a school outside the importer's scope: counted in
    the preview exactly as a new child (no oracle), written as a 转入申请 that the child's
    school confirms (students.transfers.transfers_in_request_bulk), never as a move."""

    row: int
    student_id: int
    school_id: int  # the receiving school (the row's, in the importer's scope)
    grade: int
    class_name: str


def roster_is_intake(status: str, grade: int, name: str, r: Any, ctx: ImportContext) -> bool:
    """A primary graduate's September intake: a child 毕业 from grade 6 (小学毕业: enrolled
    nowhere since the rollover) may be enrolled by any school of the county teaching grade 7,
    into grade 7, when the file names the child as the record does. Never an enrolled child."""
    return (status == Student.Status.GRADUATED and grade == 6 and r.grade == 7
            and r.school_id in ctx.state["grade7"] and name == r.name)


APPLY_CHUNK = 2000


def roster_header_check(ctx: ImportContext) -> None:
    if not {"school_code", "school_name"} & ctx.present:
        raise TabularError("header_missing", labels="学校标识码、学校名称")


def roster_plan_orm(rows: RowStream, ctx: ImportContext) -> ImportPlan:
    """The roster's plan on SQLite: the stored rows of each chunk, diffed in Python."""
    items = list(rows)
    if rows.duplicates:
        items = [r for r in items if not rows.is_duplicate(r)]
    cols = roster_columns(ctx)
    only = ["id", "id_number", "status", "school_id", *cols]
    inside = ctx.state.get("inside")
    at_grade, at_name = 4 + cols.index("grade"), 4 + cols.index("name")
    new_rows: list[Any] = []
    changed: dict[int, tuple[Any, dict[str, Any]]] = {}
    asks: list[RosterAsk] = []
    unchanged = moved = 0
    for chunk in _chunks(items, IN_CHUNK):  # the stored rows of one chunk at a time
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
                _warn_status(ctx, r.row, old[2])
            if diff:
                changed[old[0]] = (r, diff)
            else:
                unchanged += 1
    missing, sample = roster_missing(items, rows, ctx)
    return ImportPlan(created=len(new_rows) + len(asks), updated=len(changed), unchanged=unchanged,
                      extra={"moved": moved, "missing": missing, "missing_sample": sample},
                      payload=RosterPayload(cols, new_rows, changed, asks))


def _warn_status(ctx: ImportContext, row: int, status: str) -> None:
    ctx.warn(row, "id_number", "status_not_enrolled", Text(STATUS_NOT_ENROLLED, status=Student.Status(status).label))


def _chunks(values: list, size: int = APPLY_CHUNK):
    for i in range(0, len(values), size):
        yield values[i:i + size]


def roster_missing(items: list[Any], rows: RowStream, ctx: ImportContext) -> tuple[int, list[dict]]:
    """Students at school in the schools this file covers who are not in the file (kept in
    ctx.state for the term's roster gaps: roster_gaps_record)."""
    covered = sorted({r.school_id for r in items})
    qs = (Student.objects.filter(school_id__in=covered, status__in=ACTIVE)
          .order_by("school_id", "grade", "class_name", "id")
          .values_list("id", "school_id", "id_number", "name", "school__name", "grade"))
    return roster_missing_collect(qs.iterator(chunk_size=5000), covered, rows, ctx)


def roster_missing_collect(found, covered: list[int], rows: RowStream, ctx: ImportContext
                           ) -> tuple[int, list[dict]]:
    """Count and sample the (id, school id, ID number, name, school name, grade) rows of
    `found` whose ID number is not in the file; remember them for roster_gaps_record."""
    in_file = {k[0] for k in rows.keys_seen}
    count, sample, missing = 0, [], []
    for pk, school_id, id_number, name, school, grade in found:
        if id_number in in_file:
            continue
        count += 1
        missing.append((pk, school_id))
        if len(sample) < MISSING_SAMPLE:
            sample.append({"name": name, "id_number": mask_id(id_number), "school": school,
                           "grade": grade})
    ctx.state["roster_gaps"] = (covered, missing, in_file)
    return count, sample


def roster_gaps_record(ctx: ImportContext) -> None:
    """The term's roster gaps (RosterGap), written with the import: the first roster of the term
    for a school lists its children missing from it; every roster of the term strikes off the
    children it contains (a school may send its roster in parts). Set-based: a few queries
    per import, chunked."""
    from kongchuo.imports.bulk import chunked
    from students.models import RosterGap, TermRoster

    covered, missing, in_file = ctx.state.get("roster_gaps") or ([], [], set())
    if not covered:
        return
    term = ctx.state["term"].code
    known = set(TermRoster.objects.filter(term=term, school_id__in=covered)
                .values_list("school_id", flat=True))
    first = [pk for pk in covered if pk not in known]
    TermRoster.objects.bulk_create([TermRoster(term=term, school_id=pk, first_job=ctx.job)
                                    for pk in first], ignore_conflicts=True)
    listed = [RosterGap(term=term, school_id=school_id, student_id=pk, job=ctx.job,
                        found_on=ctx.today) for pk, school_id in missing if school_id in set(first)]
    RosterGap.objects.bulk_create(listed, batch_size=1000, ignore_conflicts=True)
    if known:
        gaps = RosterGap.objects.filter(term=term, school_id__in=sorted(known)).values_list(
            "pk", "student__id_number")
        struck = [pk for pk, id_number in gaps if id_number in in_file]
        for batch in chunked(struck):
            RosterGap.objects.filter(pk__in=batch).delete()


def roster_apply_with(plan: ImportPlan, ctx: ImportContext,
                      write: Callable[[ImportPlan, ImportContext], None]) -> None:
    """Write the plan with the database's `write` (roster_apply_orm or the SQL merge), then
    ask for the children of schools outside the scope and record the roster gaps."""
    asks = plan.payload.asks
    plan.created -= len(asks)  # the preview counted them as new children (no oracle)
    write(plan, ctx)
    roster_asks_apply(plan, asks, ctx)
    roster_gaps_record(ctx)


def roster_asks_apply(plan: ImportPlan, asks: list[RosterAsk], ctx: ImportContext) -> None:
    """The rows naming children of schools outside the importer's scope become 转入申请 to
    the child's school (which confirms): counted as `transfers` (and `skipped`: the child's
    record is not written). A child who cannot be asked for (a transfer pending, deceased, a
    transfer step today) is only skipped, with a warning."""
    plan.extra["transfers"] = 0
    if not asks:
        return
    from students.transfers import transfers_in_request_bulk

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


def roster_apply_orm(plan: ImportPlan, ctx: ImportContext) -> None:
    p: RosterPayload = plan.payload
    now = timezone.now()
    initials = initials_for(ctx)
    for chunk in _chunks(p.new_rows):
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
    for chunk in _chunks(sorted(p.changed)):
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


