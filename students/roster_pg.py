"""The roster import on PostgreSQL: COPY into a staging table, diff and merge in SQL.

Why a second path: a county roster is 200,000 rows. Building 200,000 model instances for
bulk_create/bulk_update (and as many history instances) costs more than reading the file.
Here the validated rows stream into a TEMP table with COPY while they are parsed (psycopg2
pulls the generator, so Python parsing and the server's inserting overlap), and three
statements do the rest: a count, an UPDATE … FROM and an INSERT … SELECT, each with a
data-modifying CTE that writes the simple_history rows in the same statement. The merge rules
are those of the generic path (students.imports.ROSTER_MERGE) and the same tests run on both.

The county's first roster into an empty table skips the stage: the rows go straight into
students_student by COPY while they are parsed (the direct load, at the end of this module).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kongchuo.imports.base import ImportContext, ImportPlan, LineFormat, RowStream
from kongchuo.imports.bulk import chunked, pg_copy_blocks, pg_copy_lines
from students.models import StatusChange, Student
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
TEXT_DEFAULTS = {"class_name", "student_number", "hukou_address", "address", "guardian_name",
                 "guardian_phone", "disability_category"}


@dataclass
class PgPayload:
    cols: list[str]
    moves: list[tuple[int, int]] = field(default_factory=list)  # (student id, new school id)
    inline_initials: bool = False  # the stage's `initials` column holds every row's initials
    direct: _Dropped | None = None  # the rows were copied straight into students_student (bulk)
    direct_history: _Dropped | None = None  # … and the history table's indexes were dropped too
    now: Any = None  # their created_at and updated_at, and their history rows' history_date
    asks: list = field(default_factory=list)  # students.imports.RosterAsk: rows naming children
    # of schools outside the importer's scope (removed from the stage, asked for in apply)


def _merge_expr(col: str) -> str:
    from students.imports import ROSTER_MERGE

    rule = ROSTER_MERGE[col]
    if rule == "keep":  # a blank cell (NULL in the stage) keeps what is stored
        return f'COALESCE(s."{col}", t."{col}")'
    if rule == "or":
        return f'(t."{col}" OR COALESCE(s."{col}", false))'
    return f's."{col}"'


def _changed(cols: list[str]) -> str:
    old = ", ".join(f't."{c}"' for c in cols)
    new = ", ".join(_merge_expr(c) for c in cols)
    return f"ROW({old}) IS DISTINCT FROM ROW({new})"


_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_TABS = len(STAGE_COLUMNS) - 1
# The stage is copied with NULL '' (a blank cell is NULL: it keeps the stored value), so a
# plain line holds no backslash at all and one scan tells whether it needs escaping.
COPY_OPTIONS = "(FORMAT text, NULL '')"


_B = {None: "", True: "t", False: "f"}


def _b(value: bool | None) -> str:
    return _B[value]


def _stage_lines(rows: RowStream, initials=None):
    """One COPY line per valid row, in STAGE_COLUMNS order (then the initials, if
    `initials` computes them), formatted by hand (this runs 200,000 times for a county
    roster); a line with a tab, newline or backslash inside a value is rebuilt with escapes."""
    tabs = _TABS + (initials is not None)
    b = _B
    for r in rows:
        line = (f"{r.row}\t{r.id_number}\t{r.school_id}\t{r.grade}\t{r.class_name or ''}\t"
                f"{r.name}\t{r.sex}\t{r.birth_date}\t{r.student_number or ''}\t"
                f"{r.hukou_address or ''}\t{r.hukou_township_id or ''}\t{r.address or ''}\t"
                f"{r.guardian_name or ''}\t{r.guardian_phone or ''}\t{r.disability_category or ''}\t"
                f"{r.entry_month or ''}\t{b[r.is_poor]}\t{b[r.is_dibao]}\t{b[r.is_tekun]}\t"
                f"{b[r.is_left_behind]}\t{b[r.is_migrant]}\n")
        if initials is not None:
            line = f"{line[:-1]}\t{initials(r.name)}\n"
        if "\\" in line or "\r" in line or line.count("\t") != tabs or line.count("\n") != 1:
            line = _escaped_line(r, initials)
        yield line


def _escaped_line(r, initials=None) -> str:
    values = []
    for name, _type in STAGE_COLUMNS:
        v = getattr(r, name)
        if v is None or v == "":
            values.append("")
        elif isinstance(v, bool):
            values.append(_b(v))
        else:
            values.append(str(v).translate(_ESC))
    if initials is not None:
        values.append(initials(r.name).translate(_ESC))
    return "\t".join(values) + "\n"


# Below this many stored students (a first import) the initials of every row go into the
# stage as it is written; above it, only those of new and renamed children are computed, from
# the stage, after the diff (a re-import of a county renames a few children, not 200,000).
INLINE_INITIALS_BELOW = 10_000


def roster_plan_pg(rows: RowStream, ctx: ImportContext) -> ImportPlan:
    from students.imports import ACTIVE, roster_columns, roster_missing_collect

    cols = roster_columns(ctx)
    if ctx.in_transaction:
        direct = _direct_plan(rows, ctx, cols)
        if direct is not None:
            return direct
    rows.require_rows()  # the rows came as the direct load's text: read them again
    plan = ImportPlan(payload=PgPayload(cols))
    plan.cleanup = _drop_stage
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {STAGE}")
        cur.execute(f"CREATE TEMP TABLE {STAGE} ("
                    + ", ".join(f'"{c}" {t}' for c, t in STAGE_COLUMNS) + ", initials varchar(20))")
        cur.execute("SELECT count(*) FROM (SELECT 1 FROM students_student LIMIT %s) x",
                    [INLINE_INITIALS_BELOW])
        plan.payload.inline_initials = cur.fetchone()[0] < INLINE_INITIALS_BELOW
    copy_cols = [c for c, _t in STAGE_COLUMNS]
    if plan.payload.inline_initials:
        from students.imports import initials_for

        lines = _stage_lines(rows, initials_for(ctx))
        copy_cols.append("initials")
    else:
        lines = _stage_lines(rows)
    pg_copy_lines(STAGE, copy_cols, lines, options=COPY_OPTIONS)
    active = [str(s) for s in ACTIVE]
    with connection.cursor() as cur:
        if rows.duplicates:
            for batch in chunked(sorted(k[0] for k in rows.duplicates)):
                cur.execute(f"DELETE FROM {STAGE} WHERE id_number = ANY(%s)", [batch])
        # Statistics, not an index: every join with the stage is a hash join over all of it.
        cur.execute(f"ANALYZE {STAGE} (id_number, school_id)")
        if ctx.state.get("inside") is not None:
            plan.payload.asks = _outside_rows(cur, ctx)
        cur.execute(
            f"SELECT count(*) FILTER (WHERE t.id IS NULL),"
            f" count(*) FILTER (WHERE t.id IS NOT NULL AND {_changed(cols)}),"
            f" count(*) FROM {STAGE} s LEFT JOIN students_student t ON t.id_number = s.id_number")
        created, updated, total = cur.fetchone()
        asked = len(plan.payload.asks)  # counted as new children, as an unknown ID would be
        created, total = created + asked, total + asked
        cur.execute(f"SELECT t.id, s.school_id FROM {STAGE} s JOIN students_student t"
                    f" ON t.id_number = s.id_number WHERE t.school_id <> s.school_id ORDER BY t.id")
        plan.payload.moves = list(cur.fetchall())
        cur.execute(f"SELECT s.row, t.status FROM {STAGE} s JOIN students_student t"
                    f" ON t.id_number = s.id_number WHERE t.school_id = s.school_id"
                    f" AND NOT (t.status = ANY(%s))", [active])
        for row, status in cur.fetchall():
            label = Student.Status(status).label
            ctx.warn(row, "id_number", "status_not_enrolled",
                     f"该生当前状态为“{label}”，名册中仍在籍，请核实", f"the student's status is {status}")
        cur.execute(f"SELECT DISTINCT school_id FROM {STAGE} ORDER BY school_id")
        # the schools of rows that left the stage as asks are covered too (as on SQLite)
        covered = sorted({pk for (pk,) in cur.fetchall()} | {a.school_id for a in plan.payload.asks})
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
    a primary graduate's grade-7 intake: students.imports.roster_is_intake), as RosterAsks;
    they leave the stage, so nothing of them is written or counted as a move or an update.
    Not run for the county (its scope is every school)."""
    from types import SimpleNamespace

    from students.imports import RosterAsk, roster_is_intake

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


def _initials_stage() -> None:
    """Pinyin initials of the new and renamed children, into a second TEMP table the merge
    joins: the initials are written with the rows themselves, not by a second UPDATE."""
    from students.imports import InitialsCache

    initials = InitialsCache()
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {INITIALS}")
        cur.execute(f"CREATE TEMP TABLE {INITIALS} (row integer, initials varchar(20))")
        cur.execute(f"SELECT s.row, s.name FROM {STAGE} s LEFT JOIN students_student t"
                    f" ON t.id_number = s.id_number WHERE t.id IS NULL OR t.name IS DISTINCT FROM s.name")
        pairs = cur.fetchall()
    pg_copy_lines(INITIALS, ["row", "initials"], (f"{row}\t{initials(name)}\n" for row, name in pairs))


# The bulk load: a roster that creates at least BULK_MIN_ROWS students in a table holding at
# most BULK_MAX_EXISTING times as many (the county's first import) drops the secondary indexes
# and the foreign keys of students_student, inserts, and builds them again, all inside the
# import's transaction. Building an index over 200,000 rows sorts once; maintaining it takes
# 200,000 random insertions, and a foreign key added afterwards is checked by one join instead
# of a trigger per row (measured on the first county roster: 11.7 s of database CPU → 3.4 s).
# The students table, and the schools and townships its keys point to, stay locked (ACCESS
# EXCLUSIVE) until the import commits, so this is kept to a near-empty table; a busy table
# (a lock not granted within BULK_LOCK_TIMEOUT) takes the ordinary path.
BULK_MIN_ROWS = 20_000
BULK_MAX_EXISTING = 2
BULK_LOCK_TIMEOUT = "5s"


@dataclass
class _Dropped:
    table: str = ""
    indexes: list[tuple[str, str]] = field(default_factory=list)  # (name, CREATE INDEX …)
    constraints: list[tuple[str, str]] = field(default_factory=list)  # (name, definition): unique
    foreign_keys: list[tuple[str, str]] = field(default_factory=list)  # (name, definition)


def _bulk_begin(created: int, table: str | None = None) -> _Dropped | None:
    """Drop the secondary indexes and foreign keys of `table` (students_student) for a bulk
    load, or None (the ordinary path)."""
    if created < BULK_MIN_ROWS:
        return None
    table = table or Student._meta.db_table
    cap = created * BULK_MAX_EXISTING
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) x", [cap + 1])
        if cur.fetchone()[0] > cap:
            return None
        cur.execute("SELECT current_setting('lock_timeout')")
        before = cur.fetchone()[0]
        sid = transaction.savepoint()
        try:
            cur.execute("SELECT set_config('lock_timeout', %s, true)", [BULK_LOCK_TIMEOUT])
            cur.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            dropped = _Dropped(table)
            cur.execute("SELECT conname, pg_get_constraintdef(oid), condeferrable FROM pg_constraint"
                        " WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname", [table])
            fks = cur.fetchall()
            deferrable = [name for name, _d, can_defer in fks if can_defer]
            if deferrable:  # DDL refuses a table with deferred checks pending: run them now
                cur.execute(f"SET CONSTRAINTS {_names(deferrable)} IMMEDIATE")
            for name, definition, _can_defer in fks:
                cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                dropped.foreign_keys.append((name, definition))
            cur.execute(
                "SELECT ic.relname, pg_get_indexdef(i.indexrelid), c.conname, pg_get_constraintdef(c.oid)"
                " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
                " LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid"
                " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary ORDER BY ic.relname", [table])
            for index, ddl, constraint, definition in cur.fetchall():
                if constraint:
                    cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
                    dropped.constraints.append((constraint, definition))
                else:
                    cur.execute(f'DROP INDEX "{index}"')
                    dropped.indexes.append((index, ddl))
        except DatabaseError:
            transaction.savepoint_rollback(sid)  # busy (lock timeout, deadlock) or a dependent object
            dropped = None
        else:
            transaction.savepoint_commit(sid)
        cur.execute("SELECT set_config('lock_timeout', %s, true)", [before])
    return dropped


def _names(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _bulk_end(dropped: _Dropped) -> None:
    """Build the indexes and the constraints again exactly as they were (same names, same
    definitions; a foreign key added to a full table checks every row in one join)."""
    table = dropped.table
    with connection.cursor() as cur:
        for constraint, definition in dropped.constraints:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {definition}')
        for _index, ddl in dropped.indexes:
            cur.execute(ddl)
        for name, definition in dropped.foreign_keys:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def roster_apply_pg(plan: ImportPlan, ctx: ImportContext) -> None:
    payload: PgPayload = plan.payload
    if payload.direct is not None:
        return _direct_apply(payload, ctx)
    cols = payload.cols
    now = timezone.now()
    user_id = getattr(ctx.user, "pk", None)
    moves = _moves(payload.moves, ctx)
    if payload.inline_initials:
        stage, initials = f"{STAGE} s", "s.initials"
    else:
        _initials_stage()
        stage, initials = f"{STAGE} s LEFT JOIN {INITIALS} i ON i.row = s.row", "i.initials"
    dropped = _bulk_begin(plan.created)
    hist_cols = _history_columns()
    hist_list = ", ".join(f'"{c}"' for c in hist_cols)
    hist_select = ", ".join(f'x."{c}"' for c in hist_cols)
    history_tail = ("history_date, history_type, history_user_id, history_change_reason")
    sets = ", ".join(f'"{c}" = {_merge_expr(c)}' for c in cols)
    # The moved child's status follows the one rule for 转出 to a school of the county
    # (status_after only asks whether there is a destination school).
    moved_status = status_after(StatusChange.Kind.TRANSFER_OUT, to_school=True)  # type: ignore[arg-type]
    with connection.cursor() as cur:
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
        values = ", ".join(
            f"COALESCE(s.\"{c}\", '')" if c in TEXT_DEFAULTS
            else f'COALESCE(s."{c}", false)' if c.startswith("is_") else f's."{c}"'
            for c in insert_cols)
        cur.execute(
            "WITH x AS (INSERT INTO students_student ("
            + ", ".join(f'"{c}"' for c in insert_cols)
            + ", name_initials, status, is_monitored, disability_grade, created_at, updated_at, version)"
            f" SELECT {values}, COALESCE({initials}, ''), %s, false, '', %s, %s, 1 FROM {stage}"
            f" WHERE NOT EXISTS (SELECT 1 FROM students_student t WHERE t.id_number = s.id_number)"
            f" RETURNING *)"
            f" INSERT INTO students_historicalstudent ({hist_list}, {history_tail})"
            f" SELECT {hist_select}, %s, '+', %s, 'import' FROM x",
            [str(Student.Status.ENROLLED), now, now, now, user_id])
        cur.execute(f"DROP TABLE IF EXISTS {INITIALS}")
    if dropped is not None:
        _bulk_end(dropped)
    StatusChange.objects.bulk_create(moves, batch_size=1000, ignore_conflicts=True)


def _moves(pairs: list[tuple[int, int]], ctx: ImportContext) -> list[StatusChange]:
    """The 转出 history rows of the moved children, built by the shared rule."""
    from students.models import School

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



# ----------------------------------------------------------------------------- direct bulk load
# The county's first roster (an empty students table, a sheet of at least BULK_MIN_ROWS rows,
# an import that writes): the runner runs the plan inside the write's transaction, and the
# plan takes the bulk load's lock, drops the indexes and keys (of the history table too, when
# it is as near-empty), and COPYs the rows straight into students_student while they are parsed
# — the server inserts on the second core while Python parses, instead of a staging table and
# an INSERT … SELECT after the parse. Every DIRECT_BATCH rows, one INSERT … SELECT writes their
# history rows, so the history is written during the parse too (a per-row trigger cost the
# server 2.1 s more for 200,000 rows). The columns every new row shares (status, created_at, …)
# are not sent: they are the columns' defaults for the length of the COPY. The apply only
# rebuilds the indexes and keys. Anything but a write (errors, a dry run, an exception) rolls
# the transaction back, DDL included: nothing is left.

DIRECT_BATCH = 20_000  # rows per COPY; their history rows follow in one INSERT … SELECT
DIRECT_COLUMNS = [c for c, _t in STAGE_COLUMNS if c != "row"] + ["name_initials"]
_DIRECT_TABS = len(DIRECT_COLUMNS) - 1


def direct_load_wanted(ctx: ImportContext) -> bool:
    """Whether the runner should plan this roster inside its transaction (a direct load)."""
    return (ctx.rows_hint or 0) >= BULK_MIN_ROWS and _direct_load_possible(ctx)


def _direct_load_possible(ctx: ImportContext) -> bool:
    """A written import into an empty students table (the sheet's size aside)."""
    return ctx.writing and not Student.objects.exists()


def direct_lines_format(ctx: ImportContext) -> LineFormat | None:
    """Before the reader process is forked: a roster that will be written into an empty
    students table comes from the reader as its direct-load COPY text, when the sheet has
    BULK_MIN_ROWS rows (direct_load_wanted then holds, unless the table fills meanwhile or its
    lock is not granted: the runner then reads the file again, as rows). The reader formats the
    lines where the rows are: the county's 200,000 rows never become Python objects here."""
    if not _direct_load_possible(ctx):
        return None
    from students.imports import roster_warm_up

    return LineFormat(min_rows=BULK_MIN_ROWS, text=_reader_text, warm_up=roster_warm_up)


def _reader_text(rows: list, ctx: ImportContext) -> str:
    """One block's direct-load text, with the import's initials and dates caches."""
    from students.imports import initials_for

    return _direct_text(rows, initials_for(ctx), ctx.state.setdefault("direct_dates", {None: _NULL}))


DIRECT_BLOCK = 5000  # rows per block of text, in-process (the reader's blocks are its own)


def _direct_blocks(rows: RowStream, ctx: ImportContext) -> Iterator[tuple[bytes, int]]:
    """The direct load's text of the rows read in this process, as the reader sends it."""
    for chunk in chunked(rows, DIRECT_BLOCK):
        yield _reader_text(chunk, ctx).encode(), len(chunk)


def _direct_text(rows: list, initials, dates: dict[Any, str]) -> str:
    """One COPY line (text format, NULL \\N) per valid row, in DIRECT_COLUMNS order: the row
    exactly as the INSERT … SELECT from the stage would write it (blank text columns '',
    blank flags false); the columns every new row shares are the defaults of the COPY. The
    dates' text is kept per date (`dates`: a county has a few thousand birthdays). A plain
    line holds no backslash but its NULL markers, no CR, _DIRECT_TABS tabs and one newline:
    the block is counted once, and only a block that breaks the count has its lines checked
    one by one and rebuilt with escapes (a county roster: 0.75 → 0.5 s)."""
    b, null = _FLAG, _NULL
    out = []
    nulls = 0
    for r in rows:
        birth = dates.get(r.birth_date)
        if birth is None:
            birth = dates[r.birth_date] = str(r.birth_date)
        entry = dates.get(r.entry_month)
        if entry is None:
            entry = dates[r.entry_month] = str(r.entry_month)
        township = r.hukou_township_id
        out.append(f"{r.id_number}\t{r.school_id}\t{r.grade}\t{r.class_name or ''}\t"
                   f"{r.name}\t{r.sex}\t{birth}\t{r.student_number or ''}\t"
                   f"{r.hukou_address or ''}\t{null if township is None else township}\t{r.address or ''}\t"
                   f"{r.guardian_name or ''}\t{r.guardian_phone or ''}\t{r.disability_category or ''}\t"
                   f"{entry}\t{b[r.is_poor]}\t{b[r.is_dibao]}\t{b[r.is_tekun]}\t"
                   f"{b[r.is_left_behind]}\t{b[r.is_migrant]}\t{initials(r.name)}\n")
        nulls += (birth is null) + (township is None) + (entry is null)
    text = "".join(out)
    if not _plain(text, len(out), nulls):
        text = "".join([line if _plain(line, 1, _nulls(r)) else _direct_escaped(r, initials)
                        for line, r in zip(out, rows, strict=True)])
    return text


def _nulls(r) -> int:
    """The NULL markers of a row's direct-load line (the loop above counts them inline)."""
    return (r.birth_date is None) + (r.hukou_township_id is None) + (r.entry_month is None)


def _plain(text: str, lines: int, nulls: int) -> bool:
    """Whether `lines` direct-load lines holding `nulls` NULL markers need no escape: a value
    can only add a backslash, CR, tab or newline, so equal counts mean every line is plain."""
    return (text.count("\\") == nulls and "\r" not in text
            and text.count("\t") == _DIRECT_TABS * lines and text.count("\n") == lines)


_FLAG = {None: "f", True: "t", False: "f"}


_NULL = "\\N"


def _direct_escaped(r, initials) -> str:
    values = []
    for name, _type in STAGE_COLUMNS[1:]:
        v = getattr(r, name)
        if name.startswith("is_"):
            values.append(_FLAG[v])
        elif v is None or v == "":
            values.append("" if name in TEXT_DEFAULTS else _NULL)
        else:
            values.append(str(v).translate(_ESC))
    values.append(initials(r.name).translate(_ESC))
    return "\t".join(values) + "\n"


def _direct_plan(rows: RowStream, ctx: ImportContext, cols: list[str]) -> ImportPlan | None:
    table = Student._meta.db_table
    dropped = _bulk_begin(ctx.rows_hint or 0)
    if dropped is None:  # busy: the staging path
        return None
    with connection.cursor() as cur:
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
        if cur.fetchone()[0]:  # filled since the runner looked: build back, stage as usual
            _bulk_end(dropped)
            return None
    now = timezone.now()
    history_table = Student.history.model._meta.db_table  # type: ignore[attr-defined]
    dropped_history = _bulk_begin(ctx.rows_hint or 0, history_table)
    shared = {"status": str(Student.Status.ENROLLED), "is_monitored": False, "disability_grade": "",
              "created_at": now, "updated_at": now, "version": 1}
    hist_list = ", ".join(f'"{c}"' for c in _history_columns())
    user_id = getattr(ctx.user, "pk", None)
    # The table was empty and is locked: every row above the last batch's highest id is new.
    history = (f"WITH h AS (INSERT INTO {history_table} ({hist_list}, history_date,"
               f" history_type, history_user_id, history_change_reason)"
               f" SELECT {hist_list}, created_at, '+', %s, 'import' FROM {table} WHERE id > %s"
               f" RETURNING id) SELECT max(id) FROM h")
    # The text formatted by the reader process (direct_lines_format), or here.
    blocks = _Batches(rows.blocks if rows.blocks is not None else _direct_blocks(rows, ctx))
    last_id = created = 0
    with _column_defaults(table, shared), connection.cursor() as cur:
        while True:
            copied = pg_copy_blocks(table, DIRECT_COLUMNS, blocks.next_batch())
            created += copied
            if copied:
                cur.execute(history, [user_id, last_id])
                last_id = cur.fetchone()[0]
            if copied < DIRECT_BATCH:
                break
    with connection.cursor() as cur:
        if rows.duplicates:  # both rows of a duplicated ID are rejected
            for batch in chunked(sorted(k[0] for k in rows.duplicates)):
                cur.execute(f"WITH d AS (DELETE FROM {table} WHERE id_number = ANY(%s) RETURNING id),"
                            f" h AS (DELETE FROM students_historicalstudent h USING d WHERE h.id = d.id"
                            f" AND h.history_type = '+' AND h.history_date = %s)"
                            f" SELECT count(*) FROM d", [batch, now])
                created -= cur.fetchone()[0]
            # The deletes queued the deferred checks of the keys pointing at the students;
            # run them now (nothing points at rows this transaction created): the indexes are
            # rebuilt by DDL, which refuses a table with pending trigger events.
            cur.execute("SELECT conname FROM pg_constraint WHERE confrelid = %s::regclass"
                        " AND condeferrable AND condeferred ORDER BY conname", [table])
            referencing = [name for (name,) in cur.fetchall()]
            if referencing:
                cur.execute(f"SET CONSTRAINTS {_names(referencing)} IMMEDIATE")
                cur.execute(f"SET CONSTRAINTS {_names(referencing)} DEFERRED")
    with connection.cursor() as cur:  # every child of the table is of this file: none missing
        cur.execute(f"SELECT DISTINCT school_id FROM {table} ORDER BY school_id")
        ctx.state["roster_gaps"] = ([pk for (pk,) in cur.fetchall()], [], set())
    plan = ImportPlan(payload=PgPayload(cols, direct=dropped, direct_history=dropped_history, now=now))
    plan.created, plan.updated, plan.unchanged = created, 0, 0
    plan.extra = {"moved": 0, "missing": 0, "missing_sample": []}
    return plan


class _Batches:
    """The reader's blocks ((text, rows) each) in COPY batches of at least DIRECT_BATCH rows."""

    def __init__(self, blocks) -> None:
        self.blocks = iter(blocks)

    def next_batch(self):
        rows = 0
        while rows < DIRECT_BATCH:
            block = next(self.blocks, None)
            if block is None:
                return
            data, count = block
            rows += count
            yield data


def _direct_apply(payload: PgPayload, ctx: ImportContext) -> None:
    """The rows and their history rows are in (the plan's COPY): build the indexes and keys."""
    _bulk_end(payload.direct)  # type: ignore[arg-type]
    if payload.direct_history is not None:
        _bulk_end(payload.direct_history)


@contextmanager
def _column_defaults(table: str, values: dict[str, Any]):
    """Give `table`'s columns these defaults for the block (its ACCESS EXCLUSIVE lock is held),
    then put back exactly what was there (Django models keep no database defaults)."""
    with connection.cursor() as cur:
        cur.execute("SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a"
                    " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
                    " WHERE a.attrelid = %s::regclass AND a.attname = ANY(%s)", [table, list(values)])
        before = dict(cur.fetchall())
        cur.execute(f"ALTER TABLE {table} " + ", ".join(f'ALTER COLUMN "{c}" SET DEFAULT %s' for c in values),
                    list(values.values()))
    yield
    with connection.cursor() as cur:
        cur.execute(f"ALTER TABLE {table} " + ", ".join(
            f'ALTER COLUMN "{c}" SET DEFAULT {before[c]}' if before.get(c) else f'ALTER COLUMN "{c}" DROP DEFAULT'
            for c in values))
