"""The roster's fast paths give exactly what the plain ones give: pinyin initials a character
at a time, and (PostgreSQL) the bulk load into a near-empty table that rebuilds the indexes."""

from __future__ import annotations

import itertools

import pytest
from django.db import IntegrityError, connection, transaction

from kongchuo.imports.runner import import_run
from students.imports import InitialsCache, _CharLetters
from students.models import StatusChange, Student
from students.pinyin import SURNAME_INITIALS, name_initials
from tests.factories import StudentFactory
from tests.imports.conftest import new_id, roster_row

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚华玉萍红长乐重朝行单解仇区朴查盖尉覃翟缪"


def test_initials_a_character_at_a_time_match_name_initials():
    names = [s + g for s in SURNAMES + "".join(SURNAME_INITIALS) for g in GIVEN]
    names += [s + a + b for s, a, b in itertools.islice(itertools.product(SURNAMES, GIVEN, GIVEN), 20000)]
    # phrases inside a name, the polyphonic surnames, non-Chinese characters, blanks, long names
    names += ["重庆", "长江", "朝阳", "李长安", "王重阳", "曾", "单", "万俟小明", "欧阳娜娜", "单于",
              "阿依古丽·买买提", "张 三", " 王五 ", "Tom", "王〇", "", "   ", "王" * 30, "李a明", "乐乐"]
    cache = InitialsCache()
    mismatched = [(n, cache(n), name_initials(n)) for n in names if cache(n) != (name_initials(n) or "-")]
    assert mismatched == []


def test_names_with_a_phrase_or_foreign_characters_go_to_pypinyin():
    letters = _CharLetters()
    assert letters.initials("王明") == "wm"
    assert letters.initials("曾明") == "zm"  # the surname rule of students.pinyin
    assert letters.initials("重庆") is None  # a phrase: pypinyin reads it as a word
    assert letters.initials("阿依·买") is None
    assert letters.initials("") is None


# --------------------------------------------------------------------------- PostgreSQL bulk load
# On SQLite the same imports run the generic path and the same outcomes are asserted; the
# schema checks read sqlite_master there.

PG = connection.vendor == "postgresql"


def _schema() -> list[tuple]:
    """Indexes, constraints and column defaults of the students table and its history table
    (a bulk load drops, alters and rebuilds them)."""
    out: list[tuple] = []
    for table in ("students_student", "students_historicalstudent"):
        with connection.cursor() as cur:
            if not PG:
                cur.execute("SELECT name, sql FROM sqlite_master WHERE tbl_name = %s ORDER BY 1", [table])
                out += cur.fetchall()
                continue
            cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [table])
            out += cur.fetchall()
            cur.execute("SELECT conname, pg_get_constraintdef(oid), condeferrable, condeferred"
                        " FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY 1", [table])
            out += cur.fetchall()
            cur.execute("SELECT column_name, column_default FROM information_schema.columns"
                        " WHERE table_name = %s ORDER BY 1", [table])
            out += cur.fetchall()
    return out


@pytest.fixture
def bulk(monkeypatch):
    """Every roster import on PostgreSQL takes the bulk path (the county's students included);
    the list receives what each _bulk_begin of the students table returned (a direct load
    drops the history table's indexes too)."""
    import students.roster_pg as pg

    monkeypatch.setattr(pg, "BULK_MIN_ROWS", 1)
    monkeypatch.setattr(pg, "BULK_MAX_EXISTING", 10_000)
    if PG:  # a first import starts from a committed county: no deferred checks pending on
        with connection.cursor() as cur:  # the schools (the fixture's rows are, in this test)
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute("SET CONSTRAINTS ALL DEFERRED")
    calls: list = []
    real = pg._bulk_begin
    def spy(created, table=None):
        dropped = real(created, table)
        if table is None:
            calls.append(dropped)
        return dropped

    monkeypatch.setattr(pg, "_bulk_begin", spy)
    return calls


@pytest.mark.django_db
def test_bulk_load_writes_what_the_ordinary_path_writes(county, files, bulk):
    before = _schema()
    n_before = Student.objects.count()
    moved = county.s_b  # at 乙镇西湖小学: the roster puts the child at 甲镇东岗小学
    rows = [roster_row(i, county.a_primary, id_number=new_id(i), name="王小明") for i in range(1, 6)]
    rows.append(roster_row(6, county.a_primary, id_number=moved.id_number, name=moved.name,
                           birth=moved.birth_date, sex="男" if moved.sex == "M" else "女"))
    r = import_run(kind="roster", path=files.roster("r.xlsx", rows), user=county.county_user)
    assert [d is not None for d in bulk] == ([True] if PG else [])  # indexes dropped and rebuilt
    assert (r.exit_code, r.created, r.updated, r.extra["moved"]) == (0, 5, 1, 1)
    assert Student.objects.count() == n_before + 5
    s = Student.objects.get(id_number=new_id(1))
    assert (s.school, s.name_initials, s.status) == (county.a_primary, "wxm", "enrolled")
    assert s.history.get(history_type="+").history_user == county.county_user
    moved.refresh_from_db()
    assert moved.school == county.a_primary
    assert StatusChange.objects.filter(student=moved, kind="transfer_out").count() == 1
    assert _schema() == before  # same indexes, same constraints, still deferred
    with pytest.raises(IntegrityError), transaction.atomic():  # the rebuilt unique constraint
        StudentFactory(id_number=new_id(1), school=county.a_primary)
    again = import_run(kind="roster", path=files.roster("r.xlsx", rows))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 6)


@pytest.mark.django_db
def test_a_failed_bulk_load_leaves_tables_and_indexes_as_they_were(county, files, bulk, monkeypatch):
    """A failure after the indexes were dropped (PostgreSQL) or during the write (SQLite)."""
    import students.imports as si
    import students.roster_pg as pg

    before, n_before = _schema(), Student.objects.count()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pg, "_bulk_end", boom)
    monkeypatch.setattr(si, "history_insert_select", boom)
    rows = [roster_row(i, county.a_primary, id_number=new_id(i)) for i in range(1, 4)]
    with pytest.raises(RuntimeError):
        import_run(kind="roster", path=files.roster("r.xlsx", rows))
    assert [d is not None for d in bulk] == ([True] if PG else [])
    assert Student.objects.count() == n_before
    assert not Student.objects.filter(id_number=new_id(1)).exists()
    assert _schema() == before


@pytest.mark.django_db
def test_a_busy_table_takes_the_ordinary_path(county, files, bulk, monkeypatch):
    """Another session holding a lock on the students (PostgreSQL): no wait past the lock
    timeout, no DDL, the import goes through the ordinary path."""
    import students.roster_pg as pg

    monkeypatch.setattr(pg, "BULK_LOCK_TIMEOUT", "200ms")
    before = _schema()
    rows = [roster_row(i, county.a_primary, id_number=new_id(i)) for i in range(1, 4)]
    other = None
    if PG:
        import psycopg2

        db = connection.settings_dict
        other = psycopg2.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"],
                                 port=db["PORT"] or 5432, password=db["PASSWORD"] or None)
    try:
        if other is not None:
            with other.cursor() as cur:  # a reader in the middle of a long transaction
                cur.execute("SELECT count(*) FROM students_student")
        r = import_run(kind="roster", path=files.roster("r.xlsx", rows))
    finally:
        if other is not None:
            other.rollback()
            other.close()
    assert bulk == ([None] if PG else [])
    assert (r.exit_code, r.created) == (0, 3)
    assert _schema() == before


@pytest.mark.django_db
@pytest.mark.parametrize("inline", [True, False])
def test_initials_of_new_and_renamed_children_either_way(county, files, monkeypatch, inline):
    """PostgreSQL computes the initials while staging (a near-empty table) or after the diff
    for the new and renamed children only; SQLite with the rows. Same initials every way."""
    import students.roster_pg as pg

    monkeypatch.setattr(pg, "INLINE_INITIALS_BELOW", 10**9 if inline else 0)
    renamed = county.s_a
    rows = [roster_row(1, county.a_primary, id_number=new_id(1), name="曾小明"),
            roster_row(2, renamed.school, id_number=renamed.id_number, name="欧阳娜娜",
                       birth=renamed.birth_date, sex="男" if renamed.sex == "M" else "女")]
    kept = Student.objects.exclude(pk=renamed.pk).values_list("pk", "name_initials")
    before = dict(kept)
    r = import_run(kind="roster", path=files.roster("r.xlsx", rows))
    assert (r.exit_code, r.created, r.updated) == (0, 1, 1)
    assert Student.objects.get(id_number=new_id(1)).name_initials == "zxm"
    renamed.refresh_from_db()
    assert (renamed.name, renamed.name_initials) == ("欧阳娜娜", name_initials("欧阳娜娜"))
    assert dict(kept.exclude(id_number=new_id(1))) == before  # the others keep theirs


# --------------------------------------------------------------------------- the direct load
# The county's first roster into an empty students table (PostgreSQL): the plan copies the
# rows straight into students_student inside the write's transaction.


def _rows_as_written() -> list[tuple]:
    skip = {"id", "created_at", "updated_at"}
    cols = [f.attname for f in Student._meta.concrete_fields if f.attname not in skip]
    students = sorted(Student.objects.values_list(*cols))
    hist_cols = [c for c in cols if c != "name_initials"] + [
        "history_type", "history_user_id", "history_change_reason"]
    history = sorted(Student.history.filter(history_type="+").values_list(*hist_cols))
    return [*students, *history]


def _no_students() -> None:
    """An empty students table, as before the county's first roster (the deletes' deferred
    checks run now: DDL refuses a table with pending trigger events)."""
    Student.objects.all().delete()
    Student.history.all().delete()
    if PG:
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute("SET CONSTRAINTS ALL DEFERRED")


def _direct_spy(monkeypatch) -> list:
    import students.roster_pg as pg

    taken: list = []
    real = pg._direct_apply
    monkeypatch.setattr(pg, "_direct_apply", lambda payload, ctx: taken.append(1) or real(payload, ctx))
    return taken


def _direct_rows(county) -> list[list]:
    rows = [roster_row(i, county.a_primary, id_number=new_id(i), name="王小明") for i in range(1, 6)]
    rows.append(roster_row(6, county.a_primary, id_number=new_id(6), name="李\\四", **{
        "现住址": "甲镇\\n张庄", "入学年月": "", "户口所在地": "", "残疾人类型": "视力残疾",
        "是否建档立卡贫困户": "是", "是否低保": ""}))
    rows.append(roster_row(7, county.a_primary, id_number=new_id(7), name="张三", **{"班级": ""}))
    return rows


@pytest.mark.django_db
def test_a_first_roster_into_an_empty_table_writes_what_the_staging_path_writes(county, files, bulk,
                                                                               monkeypatch):
    import students.roster_pg as pg

    _no_students()
    before = _schema()
    rows = _direct_rows(county)
    rows.append(roster_row(8, county.a_primary, id_number=new_id(1), name="重复"))  # both rejected
    path = files.roster("r.xlsx", rows)
    wanted = pg.direct_load_wanted
    direct = [False]
    monkeypatch.setattr(pg, "direct_load_wanted", lambda ctx: direct[0] and wanted(ctx))
    taken = _direct_spy(monkeypatch)
    with transaction.atomic():  # the staging path, rolled back
        staged = import_run(kind="roster", path=path, user=county.county_user, skip_invalid=True)
        expected = _rows_as_written()
        transaction.set_rollback(True)
    assert taken == [] and not Student.objects.exists()
    direct[0] = True
    r = import_run(kind="roster", path=path, user=county.county_user, skip_invalid=True)
    assert (taken, PG) == ([1], True) or (taken, PG) == ([], False)
    assert (r.exit_code, r.created, r.updated, r.rejected) == (staged.exit_code, 6, 0, 2)
    assert (r.extra["moved"], r.extra["missing"]) == (0, 0)
    assert len(expected) == 12
    assert _rows_as_written() == expected
    s = Student.objects.get(id_number=new_id(6))
    assert (s.name, s.address, s.entry_month, s.class_name) == ("李\\四", "甲镇\\n张庄", None, "1班")
    assert s.history.get().history_user == county.county_user
    assert _schema() == before
    with pytest.raises(IntegrityError), transaction.atomic():  # the rebuilt unique constraint
        StudentFactory(id_number=new_id(2), school=county.a_primary)


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["rejected", "dry_run", "failed"])
def test_a_direct_load_that_is_not_written_leaves_nothing(county, files, bulk, monkeypatch, how):
    import students.roster_pg as pg

    _no_students()
    before = _schema()
    rows = _direct_rows(county)
    if how == "rejected":
        rows.append(roster_row(8, county.a_primary, id_number="12345"))
    if how == "failed":  # after the rows went in: PostgreSQL's rebuild, SQLite's history write
        import students.imports as si

        def boom(*args, **kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr(pg, "_bulk_end", boom)
        monkeypatch.setattr(si, "history_insert_select", boom)
    path = files.roster("r.xlsx", rows)
    if how == "failed":
        with pytest.raises(RuntimeError):
            import_run(kind="roster", path=path)
    else:
        r = import_run(kind="roster", path=path, dry_run=how == "dry_run")
        assert (r.written, r.created) == (False, 7)
    assert not Student.objects.exists()
    assert not Student.history.filter(history_type="+").exists()
    assert _schema() == before


@pytest.mark.django_db
def test_a_direct_load_run_as_a_job_with_progress(county, files, bulk, monkeypatch):
    """The worker's path: a Job, its progress reported while the plan runs in the transaction."""
    from kongchuo.imports.runner import import_job_create, import_job_run

    _no_students()
    taken = _direct_spy(monkeypatch)
    job = import_job_create(kind="roster", user=county.county_user,
                            source=files.roster("r.xlsx", _direct_rows(county)), filename="r.xlsx")
    r = import_job_run(job, write=True, progress=True)
    assert taken == ([1] if PG else [])
    assert (r.written, r.created, Student.objects.count(), Student.history.count()) == (True, 7, 7, 7)
    job.refresh_from_db()
    assert (job.status, job.progress, job.result["written"]) == ("succeeded", 100, True)
    assert Student.history.filter(history_user=county.county_user).count() == 7


def _reader_spy(monkeypatch) -> tuple[list, list]:
    """Every workbook read by a reader process; (whether each reader sent the rows as the
    direct load's text, the batches of blocks the plan copied)."""
    import students.roster_pg as pg
    from kongchuo.imports import reader as reader_module

    readers: list = []
    real_header = reader_module.ChildReader.header

    def header(self):
        got = real_header(self)
        readers.append((self.lines, 1 + len(self.others)))
        return got

    copied: list = []
    real_copy = pg.pg_copy_blocks

    def copy(table, columns, blocks, **kwargs):
        blocks = list(blocks)
        copied.append(len(blocks))
        return real_copy(table, columns, iter(blocks), **kwargs)

    monkeypatch.setattr(reader_module.ChildReader, "header", header)
    monkeypatch.setattr(pg, "pg_copy_blocks", copy)
    return readers, copied


@pytest.mark.django_db
def test_the_reader_sends_the_first_roster_as_the_direct_loads_text(county, files, bulk, monkeypatch,
                                                                      settings):
    """PostgreSQL: the reader process formats the county's first roster as the direct load's
    COPY lines (blocks of BATCH rows, at least DIRECT_BATCH rows per COPY); the students and
    their history are what the importing process writes from rows."""
    import students.roster_pg as pg
    from kongchuo.imports import reader as reader_module

    settings.KONGCHUO_IMPORT_READER_MIN_BYTES = 0
    monkeypatch.setattr(reader_module, "BATCH", 2)
    monkeypatch.setattr(pg, "DIRECT_BATCH", 3)
    _no_students()
    rows = _direct_rows(county)
    rows.insert(2, roster_row(9, county.a_primary, id_number="12345"))  # a block with one row left
    rows.append(roster_row(8, county.a_primary, id_number=new_id(1), name="重复"))  # both rejected
    path = files.roster("r.xlsx", rows)
    readers, copied = _reader_spy(monkeypatch)
    taken = _direct_spy(monkeypatch)
    settings.KONGCHUO_IMPORT_READER_MIN_BYTES = -1
    with transaction.atomic():  # the same load from rows, in-process, rolled back
        alone = import_run(kind="roster", path=path, user=county.county_user, skip_invalid=True)
        expected = _rows_as_written()
        transaction.set_rollback(True)
    assert copied == ([1, 0] if PG else [])  # in-process: one block of 7 rows, then none
    copied.clear()
    settings.KONGCHUO_IMPORT_READER_MIN_BYTES = 0
    r = import_run(kind="roster", path=path, user=county.county_user, skip_invalid=True)
    assert readers == [(PG, 2 if PG else 1)]  # a second reader for the text (automatic)
    assert copied == ([2, 2, 1] if PG else [])  # blocks of 2, 1 (a rejected row), 2, 2, 1 rows
    assert taken == ([1, 1] if PG else [])
    assert r.as_json(limit=None) | {"seconds": 0, "job_id": 0} == alone.as_json(limit=None) | {"seconds": 0, "job_id": 0}
    assert (r.created, r.rejected) == (6, 3)
    assert _rows_as_written() == expected


@pytest.mark.django_db
def test_text_that_does_not_hold_its_rows_fails_the_import(county, files, bulk, monkeypatch, settings):
    """A block of text must hold one line per row it says it holds: a reader that sends more
    (a bug, or a reader gone wrong on a hostile file) fails the import, and nothing is written."""
    import students.roster_pg as pg
    from kongchuo.imports.reader import ReaderCrashed

    settings.KONGCHUO_IMPORT_READER_MIN_BYTES = 0
    _no_students()
    real = pg._reader_text
    monkeypatch.setattr(pg, "_reader_text", lambda rows, ctx: real(rows, ctx) + real(rows[:1], ctx))
    path = files.roster("r.xlsx", _direct_rows(county))
    if PG:
        with pytest.raises(ReaderCrashed, match="lines for"):
            import_run(kind="roster", path=path)
        assert not Student.objects.exists() and not Student.history.exists()
    else:  # SQLite: no direct load, so no text: the reader sends rows
        r = import_run(kind="roster", path=path)
        assert (r.written, r.created) == (True, 7)


@pytest.mark.django_db
def test_a_roster_sent_as_text_is_read_again_when_the_plan_wants_rows(county, files, bulk, monkeypatch,
                                                                       settings):
    """The reader formatted the direct load's text, but the plan cannot have the direct load
    after all (the table filled or its lock was busy): the file is read again, as rows,
    and imported by the staging path as if the text had never been."""
    import students.roster_pg as pg

    settings.KONGCHUO_IMPORT_READER_MIN_BYTES = 0
    _no_students()
    path = files.roster("r.xlsx", _direct_rows(county))
    readers, copied = _reader_spy(monkeypatch)
    taken = _direct_spy(monkeypatch)
    monkeypatch.setattr(pg, "direct_load_wanted", lambda ctx: False)
    r = import_run(kind="roster", path=path, user=county.county_user)
    assert readers == ([(True, 1), (False, 1)] if PG else [(False, 1)])
    assert (copied, taken) == ([], [])
    assert (r.written, r.created, r.rejected, r.rows) == (True, 7, 0, 7)
    assert (Student.objects.count(), Student.history.filter(history_type="+").count()) == (7, 7)


@pytest.mark.django_db(transaction=True)
def test_progress_of_a_plan_inside_the_transaction_is_seen_before_it_commits():
    """A direct load's Celery job writes its progress through a connection of its own (the
    job's heartbeat): the import's transaction is open for the whole parse, and the page
    polling the Job must see it."""
    import time

    from django.db import connections

    from kongchuo.jobs import JobRun
    from kongchuo.models import Job

    job = Job.objects.create(kind="import:roster", progress=1)
    run = JobRun(job.pk)
    run.start()
    watcher = connections.create_connection("default")

    def seen() -> tuple:
        with watcher.cursor() as cur:
            cur.execute(f"SELECT progress, (SELECT count(*) FROM {Job._meta.db_table}) FROM"
                        f" {Job._meta.db_table} WHERE id = %s", [job.pk])
            return cur.fetchone()

    def progress_seen(pct: int) -> tuple:
        deadline = time.monotonic() + 10
        while (now := seen())[0] != pct and time.monotonic() < deadline:
            time.sleep(0.1)
        return now
    try:
        if PG:  # the only database with a direct load (SQLite: one writer at a time)
            with transaction.atomic():
                Job.objects.create(kind="import:roster", message="uncommitted")
                run.progress(40)
                during = progress_seen(40)
                transaction.set_rollback(True)
        else:
            run.progress(40)
            during = progress_seen(40)
        after = seen()
    finally:
        run.close()
        watcher.close()
    assert during == (40, 1)  # the job created in the open transaction is not seen yet
    assert after == (40, 1)  # the progress stays: it was not rolled back with the import
