"""The roster import on PostgreSQL: COPY into a staging table, diff and merge in SQL.

Why a second path: a county roster is 200,000 rows. Building 200,000 model instances for
bulk_create/bulk_update (and as many history instances) costs more than reading the file.
Here each valid row is turned into its COPY line where it is checked (in the reader process
for a big workbook: text crosses to this process, not pickled rows), and the lines stream
into a TEMP table with COPY while the file is still being read, and three
statements do the rest: a count, an UPDATE … FROM and an INSERT … SELECT, each with a
data-modifying CTE that writes the simple_history rows in the same statement. The merge rules
are declared once (students.imports.roster_merge.ROSTER_MERGE, kongchuo.imports.merge) and the same tests run on both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from kongchuo.imports.base import ImportContext, ImportPlan, RowStream
from kongchuo.imports.bulk import chunked, pg_copy_lines
from kongchuo.imports.cells import Text
from kongchuo.imports.merge import changed_sql
from students.imports import InitialsCache, initials_for
from students.imports.roster_merge import (
    ACTIVE,
    ROSTER_MERGE,
    STATUS_NOT_ENROLLED,
    RosterAsk,
    roster_columns,
    roster_is_intake,
    roster_missing_collect,
)
from students.models import School, StatusChange, Student
from students.services import status_after, status_change_build

STAGE = "_kc_roster_stage"
STAGE_COLUMNS = (
    ("row", "integer"), ("id_number", "varchar(18)"), ("school_id", "bigint"),
    ("grade", "smallint"), ("class_name", "varchar(20)"), ("name", "varchar(40)"),
    ("sex", "varchar(1)"), ("birth_date", "date"), ("student_number", "varchar(30)"),
    ("hukou_address", "varchar(120)"), ("hukou_township_id", "bigint"),
    ("address", "varchar(120)"), ("guardian_name", "varchar(40)"),
    ("guardian_phone", "varchar(20)"), ("disability_category", "varchar(20)"),
    ("entry_month", "date"), ("is_poor", "boolean"), ("is_dibao", "boolean"),
    ("is_tekun", "boolean"), ("is_left_behind", "boolean"), ("is_migrant", "boolean"),
)


@dataclass
class PgPayload:
    cols: list[str]
    moves: list[tuple[int, int]] = field(default_factory=list)  # (student id, new school id)
    inline_initials: bool = False  # the stage's `initials` column holds every row's initials
    named: list[tuple[int, str]] = field(default_factory=list)  # else (row, name) of the new and
    # renamed children, whose initials apply computes
    asks: list = field(default_factory=list)  # students.imports.roster_merge.RosterAsk: rows naming children
    # of schools outside the importer's scope (removed from the stage, asked for in apply)


def _changed(cols: list[str]) -> str:
    return changed_sql(ROSTER_MERGE, cols)


_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_TABS = len(STAGE_COLUMNS) - 1
# The stage is copied with NULL '' (a blank cell is NULL: it keeps the stored value), so a
# plain line holds no backslash at all and one scan tells whether it needs escaping.
COPY_OPTIONS = "(FORMAT text, NULL '')"


COPY_BOOL = {None: "", True: "t", False: "f"}  # a flag as COPY text (blank: NULL, kept)


def stage_line_encoder(initials=None) -> Callable[[Any], str]:
    """The function turning one valid row into its COPY line, in STAGE_COLUMNS order (then the
    initials, if `initials` computes them). It runs where the rows are checked (in the reader
    process for a big workbook), so what crosses to this process is text ready for COPY, not
    pickled rows. Formatted by hand (a county roster is 200,000 rows); a line with a tab,
    newline or backslash inside a value is rebuilt with escapes."""
    tabs = _TABS + (initials is not None)
    flag = COPY_BOOL

    def encode(r) -> str:
        line = (f"{r.row}\t{r.id_number}\t{r.school_id}\t{r.grade}\t{r.class_name or ''}\t"
                f"{r.name}\t{r.sex}\t{r.birth_date}\t{r.student_number or ''}\t"
                f"{r.hukou_address or ''}\t{r.hukou_township_id or ''}\t{r.address or ''}\t"
                f"{r.guardian_name or ''}\t{r.guardian_phone or ''}\t{r.disability_category or ''}\t"
                f"{r.entry_month or ''}\t{flag[r.is_poor]}\t{flag[r.is_dibao]}\t{flag[r.is_tekun]}\t"
                f"{flag[r.is_left_behind]}\t{flag[r.is_migrant]}\n")
        if initials is not None:
            line = f"{line[:-1]}\t{initials(r.name)}\n"
        if "\\" in line or "\r" in line or line.count("\t") != tabs or line.count("\n") != 1:
            line = _escaped_line(r, initials)
        return line

    return encode


def _escaped_line(r, initials=None) -> str:
    values = []
    for name, _type in STAGE_COLUMNS:
        v = getattr(r, name)
        if v is None or v == "":
            values.append("")
        elif isinstance(v, bool):
            values.append(COPY_BOOL[v])
        else:
            values.append(str(v).translate(_ESC))
    if initials is not None:
        values.append(initials(r.name).translate(_ESC))
    return "\t".join(values) + "\n"


# Below this many stored students (a first import) the initials of every row go into the
# stage as it is written; above it, only those of new and renamed children are computed, from
# the stage, after the diff (a re-import of a county renames a few children, not 200,000).
INLINE_INITIALS_BELOW = 10_000


def roster_prepare_pg(ctx: ImportContext) -> None:
    """Before the file is read: whether the stage carries every row's initials, and the
    encoder the check stage applies to each valid row (ImportContext.row_encoder):
    the plan receives COPY text, wherever the rows were checked."""
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM (SELECT 1 FROM students_student LIMIT %s) x",
                    [INLINE_INITIALS_BELOW])
        inline = cur.fetchone()[0] < INLINE_INITIALS_BELOW
    ctx.state["inline_initials"] = inline
    ctx.row_encoder = stage_line_encoder(initials_for(ctx) if inline else None)


def roster_plan_pg(rows: RowStream, ctx: ImportContext) -> ImportPlan:
    """`rows` yields COPY text (roster_prepare_pg's encoder): one row or a block of rows per
    item, straight into the stage."""
    cols = roster_columns(ctx)
    plan = ImportPlan(payload=PgPayload(cols, inline_initials=ctx.state["inline_initials"]))
    plan.cleanup = _drop_stage
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {STAGE}")
        cur.execute(f"CREATE TEMP TABLE {STAGE} ("
                    + ", ".join(f'"{c}" {t}' for c, t in STAGE_COLUMNS) + ", initials varchar(20))")
    copy_cols = [c for c, _t in STAGE_COLUMNS]
    if plan.payload.inline_initials:
        copy_cols.append("initials")
    pg_copy_lines(STAGE, copy_cols, iter(rows), options=COPY_OPTIONS)
    active = [str(s) for s in ACTIVE]
    with connection.cursor() as cur:
        if rows.duplicates:
            for batch in chunked(sorted(k[0] for k in rows.duplicates)):
                cur.execute(f"DELETE FROM {STAGE} WHERE id_number = ANY(%s)", [batch])
        # Statistics, not an index: every join with the stage is a hash join over all of it.
        cur.execute(f"ANALYZE {STAGE} (id_number, school_id)")
        if ctx.state.get("inside") is not None:
            plan.payload.asks = _outside_rows(cur, ctx)
        # One pass over the stage joined to the students: the counts, the moves, the rows of
        # children not at school, and the schools the file covers (each a hash join of it all).
        not_active = "t.school_id = s.school_id AND NOT (t.status = ANY(%s))"
        named = "t.id IS NULL OR t.name IS DISTINCT FROM s.name"
        cur.execute(
            f"SELECT count(*) FILTER (WHERE t.id IS NULL),"
            f" count(*) FILTER (WHERE t.id IS NOT NULL AND {_changed(cols)}), count(*),"
            f" array_agg(ARRAY[t.id, s.school_id] ORDER BY t.id) FILTER (WHERE t.school_id <> s.school_id),"
            f" array_agg(s.row ORDER BY s.row) FILTER (WHERE {not_active}),"
            f" array_agg(t.status ORDER BY s.row) FILTER (WHERE {not_active}),"
            f" array_agg(DISTINCT s.school_id),"
            + (" NULL, NULL" if plan.payload.inline_initials else
               f" array_agg(s.row ORDER BY s.row) FILTER (WHERE {named}),"
               f" array_agg(s.name ORDER BY s.row) FILTER (WHERE {named})")
            + f" FROM {STAGE} s LEFT JOIN students_student t ON t.id_number = s.id_number", [active, active])
        created, updated, total, moves, status_rows, statuses, schools, named_rows, names = cur.fetchone()
        plan.payload.named = list(zip(named_rows or [], names or [], strict=True))
        asked = len(plan.payload.asks)  # counted as new children, as an unknown ID would be
        created, total = created + asked, total + asked
        plan.payload.moves = [(pk, school_id) for pk, school_id in moves or []]
        for row, status in zip(status_rows or [], statuses or [], strict=True):
            ctx.warn(row, "id_number", "status_not_enrolled",
                     Text(STATUS_NOT_ENROLLED, status=Student.Status(status).label))
        # the schools of rows that left the stage as asks are covered too (as on SQLite)
        covered = sorted(set(schools or []) | {a.school_id for a in plan.payload.asks})
        cur.execute(
            f"SELECT t.id, t.school_id, t.id_number, t.name, sc.name, t.grade FROM students_student t"
            f" JOIN students_school sc ON sc.id = t.school_id"
            f" WHERE t.school_id = ANY(%s)"
            f" AND t.status = ANY(%s)"
            f" AND NOT EXISTS (SELECT 1 FROM {STAGE} s WHERE s.id_number = t.id_number)"
            f" ORDER BY t.school_id, t.grade, t.class_name, t.id", [covered, active])
        missing, sample = roster_missing_collect(cur.fetchall(), covered, rows, ctx)
    plan.created, plan.updated = created, updated
    plan.unchanged = total - created - updated
    plan.extra = {"moved": len(plan.payload.moves), "missing": missing, "missing_sample": sample}
    return plan


def _outside_rows(cur, ctx: ImportContext) -> list:
    """The staged rows naming existing children of schools outside the importer's scope (but
    a primary graduate's grade-7 intake: students.imports.roster_merge.roster_is_intake), as RosterAsks;
    they leave the stage, so nothing of them is written or counted as a move or an update.
    Not run for the county (its scope is every school)."""
    cur.execute(f"SELECT s.row, t.id, s.school_id, s.grade, s.class_name, s.id_number, s.name,"
                f" t.status, t.grade, t.name FROM {STAGE} s JOIN students_student t"
                f" ON t.id_number = s.id_number WHERE NOT (t.school_id = ANY(%s)) ORDER BY s.row",
                [sorted(ctx.state["inside"])])
    asks, ids = [], []
    for row, pk, school_id, grade, class_name, id_number, name, status, old_grade, old_name in cur.fetchall():
        r = SimpleNamespace(grade=grade, school_id=school_id, name=name)
        if roster_is_intake(status, old_grade, old_name, r, ctx):
            continue
        asks.append(RosterAsk(row, pk, school_id, grade, class_name or ""))
        ids.append(id_number)
    for batch in chunked(ids):
        cur.execute(f"DELETE FROM {STAGE} WHERE id_number = ANY(%s)", [batch])
    return asks


def _drop_stage() -> None:
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {STAGE}")


def _history_columns() -> list[str]:
    hist = Student.history.model  # type: ignore[attr-defined]
    return [f.column for f in hist._meta.concrete_fields if not f.name.startswith("history_")]


INITIALS = "_kc_roster_initials"


def _initials_stage(named: list[tuple[int, str]]) -> None:
    """Pinyin initials of the new and renamed children, into a second TEMP table the merge
    joins: the initials are written with the rows themselves, not by a second UPDATE."""
    initials = InitialsCache()
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {INITIALS}")
        cur.execute(f"CREATE TEMP TABLE {INITIALS} (row integer, initials varchar(20))")
    pg_copy_lines(INITIALS, ["row", "initials"], (f"{row}\t{initials(name)}\n" for row, name in named))


def roster_apply_pg(plan: ImportPlan, ctx: ImportContext) -> None:
    payload: PgPayload = plan.payload
    cols = payload.cols
    now = timezone.now()
    user_id = getattr(ctx.user, "pk", None)
    moves = _moves(payload.moves, ctx)
    if payload.inline_initials:
        stage, initials = f"{STAGE} s", "s.initials"
    else:
        _initials_stage(payload.named)
        stage, initials = f"{STAGE} s LEFT JOIN {INITIALS} i ON i.row = s.row", "i.initials"
    hist_cols = _history_columns()
    hist_list = ", ".join(f'"{c}"' for c in hist_cols)
    hist_select = ", ".join(f'x."{c}"' for c in hist_cols)
    history_tail = ("history_date, history_type, history_user_id, history_change_reason")
    sets = ", ".join(f'"{c}" = {ROSTER_MERGE[c].sql()}' for c in cols)
    # The moved child's status follows the one rule for 转出 to a school of the county
    # (status_after only asks whether there is a destination school).
    moved_status = status_after(StatusChange.Kind.TRANSFER_OUT, to_school=True)  # type: ignore[arg-type]
    with connection.cursor() as cur:
        # Each statement's RETURNING rows feed the history INSERT through a CTE, held in memory
        # up to work_mem: the default spills a county's rows to temp files.
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute(
            f"WITH x AS (UPDATE students_student t SET {sets},"
            f" status = CASE WHEN t.school_id <> s.school_id THEN %s ELSE t.status END,"
            f" name_initials = CASE WHEN t.name IS DISTINCT FROM s.name THEN COALESCE({initials}, '')"
            f" ELSE t.name_initials END,"
            f" version = t.version + 1, updated_at = %s"
            f" FROM {stage} WHERE t.id_number = s.id_number AND {_changed(cols)} RETURNING t.*)"
            f" INSERT INTO students_historicalstudent ({hist_list}, {history_tail})"
            f" SELECT {hist_select}, %s, '~', %s, 'import' FROM x",
            [moved_status, now, now, user_id])
        insert_cols = [c for c, _t in STAGE_COLUMNS if c != "row"]
        values = ", ".join(ROSTER_MERGE[c].new_sql() if c in ROSTER_MERGE else f's."{c}"'
                           for c in insert_cols)
        cur.execute(
            "WITH x AS (INSERT INTO students_student ("
            + ", ".join(f'"{c}"' for c in insert_cols)
            + ", name_initials, status, is_monitored, disability_grade, created_at, updated_at, version)"
            f" SELECT {values}, COALESCE({initials}, ''), %s, false, '', %s, %s, 1 FROM {stage}"
            f" WHERE NOT EXISTS (SELECT 1 FROM students_student t WHERE t.id_number = s.id_number)"
            # in the order of the (school, grade, class) indexes: their pages are written one
            # after the other, not at random
            f" ORDER BY s.school_id, s.grade, s.class_name"
            f" RETURNING *)"
            f" INSERT INTO students_historicalstudent ({hist_list}, {history_tail})"
            f" SELECT {hist_select}, %s, '+', %s, 'import' FROM x",
            [str(Student.Status.ENROLLED), now, now, now, user_id])
        cur.execute(f"DROP TABLE IF EXISTS {INITIALS}")
    StatusChange.objects.bulk_create(moves, batch_size=1000, ignore_conflicts=True)


def _moves(pairs: list[tuple[int, int]], ctx: ImportContext) -> list[StatusChange]:
    """The 转出 history rows of the moved children, built by the shared rule."""
    if not pairs:
        return []
    schools = {s.pk: s for s in School.objects.only("id", "name", "code", "township_id")}
    target = dict(pairs)
    out = []
    for batch in chunked(sorted(target)):
        for student in Student.objects.filter(pk__in=batch).only("id", "status", "school_id"):
            change, _fields = status_change_build(
                student=student, kind=StatusChange.Kind.TRANSFER_OUT, effective_date=ctx.today,
                to_school=schools[target[student.pk]], user=ctx.user, source="import",
                reason=_("学籍名册导入"))
            out.append(change)
    return out
