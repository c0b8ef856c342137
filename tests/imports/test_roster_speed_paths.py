"""The roster's write paths: pinyin initials a character at a time give what pypinyin gives,
PostgreSQL's staging + merge and SQLite's ORM write the same outcomes, and the county's first
roster into an empty table goes through the same path, in-process or by the reader."""

from __future__ import annotations

import itertools

import pytest
from django.db import IntegrityError, connection, transaction

from kongchuo.imports.pipeline import import_run
from students.imports import InitialsCache
from students.models import StatusChange, Student
from students.pinyin import SURNAME_INITIALS, _initials_by_character, name_initials, pypinyin_initials  # noqa: PLC2701
from tests.factories import StudentFactory
from tests.imports.conftest import csv_twin, new_id, roster_row

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚华玉萍红长乐重朝行单解仇区朴查盖尉覃翟缪"


def test_initials_a_character_at_a_time_match_name_initials():
    names = [s + g for s in SURNAMES + "".join(SURNAME_INITIALS) for g in GIVEN]
    names += [s + a + b for s, a, b in itertools.islice(itertools.product(SURNAMES, GIVEN, GIVEN), 20000)]
    # phrases inside a name, the polyphonic surnames, non-Chinese characters, blanks, long names
    names += ["重庆", "长江", "朝阳", "李长安", "王重阳", "曾", "单", "万俟小明", "欧阳娜娜", "单于",
              "阿依古丽·买买提", "张 三", " 王五 ", "Tom", "王〇", "", "   ", "王" * 30, "李a明", "乐乐"]
    cache = InitialsCache()
    mismatched = [(n, cache(n), pypinyin_initials(n)) for n in names if cache(n) != (pypinyin_initials(n) or "-")]
    assert mismatched == []
    assert [n for n in names if name_initials(n) != pypinyin_initials(n)] == []


def test_names_with_a_phrase_or_foreign_characters_go_to_pypinyin():
    assert _initials_by_character("王明") == "wm"
    assert _initials_by_character("曾明") == "zm"  # the surname rule of students.pinyin
    assert _initials_by_character("重庆") is None  # a phrase: pypinyin reads it as a word
    assert _initials_by_character("阿依·买") is None
    assert name_initials("") == ""


# --------------------------------------------------------------------------- the write paths
# PostgreSQL stages the rows and merges in SQL, SQLite writes through the ORM: the same outcomes
# are asserted on both. The schema checks read sqlite_master on SQLite.

PG = connection.vendor == "postgresql"


def _schema() -> list[tuple]:
    """Indexes, constraints and column defaults of the students table and its history table
    (no import may alter them)."""
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


def _boom(*args, **kwargs):
    raise RuntimeError("disk full")


def _fail_after_the_rows(monkeypatch) -> None:
    """A failure once the rows went in: SQLite's history write, PostgreSQL's 转出 rows (the
    merge's last step)."""
    import students.imports.roster as si

    monkeypatch.setattr(si, "history_insert_select", _boom)
    monkeypatch.setattr(StatusChange.objects, "bulk_create", _boom)


@pytest.mark.django_db
def test_a_roster_writes_new_moved_and_history_and_leaves_the_schema_alone(county, files):
    before = _schema()
    n_before = Student.objects.count()
    moved = county.s_b  # at 乙镇西湖小学: the roster puts the child at 甲镇东岗小学
    rows = [roster_row(i, county.a_primary, id_number=new_id(i), name="王小明") for i in range(1, 6)]
    rows.append(roster_row(6, county.a_primary, id_number=moved.id_number, name=moved.name,
                           birth=moved.birth_date, sex="男" if moved.sex == "M" else "女"))
    r = import_run(kind="roster", path=files.roster("r.xlsx", rows), user=county.county_user)
    assert (r.exit_code, r.created, r.updated, r.extra["moved"]) == (0, 5, 1, 1)
    assert Student.objects.count() == n_before + 5
    s = Student.objects.get(id_number=new_id(1))
    assert (s.school, s.name_initials, s.status) == (county.a_primary, "wxm", "enrolled")
    assert s.history.get(history_type="+").history_user == county.county_user
    moved.refresh_from_db()
    assert moved.school == county.a_primary
    assert StatusChange.objects.filter(student=moved, kind="transfer_out").count() == 1
    assert _schema() == before
    with pytest.raises(IntegrityError), transaction.atomic():  # the unique constraint holds
        StudentFactory(id_number=new_id(1), school=county.a_primary)
    again = import_run(kind="roster", path=files.roster("r.xlsx", rows))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 6)


@pytest.mark.django_db
def test_a_failed_roster_write_leaves_tables_as_they_were(county, files, monkeypatch):
    before, n_before = _schema(), Student.objects.count()
    _fail_after_the_rows(monkeypatch)
    rows = [roster_row(i, county.a_primary, id_number=new_id(i)) for i in range(1, 4)]
    with pytest.raises(RuntimeError):
        import_run(kind="roster", path=files.roster("r.xlsx", rows))
    assert Student.objects.count() == n_before
    assert not Student.objects.filter(id_number=new_id(1)).exists()
    assert _schema() == before


@pytest.mark.django_db
@pytest.mark.parametrize("inline", [True, False])
def test_initials_of_new_and_renamed_children_either_way(county, files, monkeypatch, inline):
    """PostgreSQL computes the initials while staging (a near-empty table) or after the diff
    for the new and renamed children only; SQLite with the rows. Same initials every way."""
    import students.imports.roster_pg as pg

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


# --------------------------------------------------------------------------- the first load
# The county's first roster into an empty students table goes through the same path.


def _rows_as_written() -> list[tuple]:
    skip = {"id", "created_at", "updated_at"}
    cols = [f.attname for f in Student._meta.concrete_fields if f.attname not in skip]
    students = sorted(Student.objects.values_list(*cols))
    hist_cols = [c for c in cols if c != "name_initials"] + [
        "history_type", "history_user_id", "history_change_reason"]
    history = sorted(Student.history.filter(history_type="+").values_list(*hist_cols))
    return [*students, *history]


def _no_students() -> None:
    """An empty students table, as before the county's first roster."""
    Student.objects.all().delete()
    Student.history.all().delete()


def _first_rows(county) -> list[list]:
    rows = [roster_row(i, county.a_primary, id_number=new_id(i), name="王小明") for i in range(1, 6)]
    rows.append(roster_row(6, county.a_primary, id_number=new_id(6), name="李\\四", **{
        "现住址": "甲镇\\n张庄", "入学年月": "", "户口所在地": "", "残疾人类型": "视力残疾",
        "是否建档立卡贫困户": "是", "是否低保": ""}))
    rows.append(roster_row(7, county.a_primary, id_number=new_id(7), name="张三", **{"班级": ""}))
    return rows


@pytest.mark.django_db
def test_a_first_roster_into_an_empty_table_by_the_reader_writes_what_in_process_writes(
        county, files):
    _no_students()
    before = _schema()
    rows = _first_rows(county)
    rows.insert(2, roster_row(9, county.a_primary, id_number="12345"))  # rejected
    rows.append(roster_row(8, county.a_primary, id_number=new_id(1), name="重复"))  # both rejected
    path = files.roster("r.xlsx", rows)
    with transaction.atomic():  # the same rows as a CSV, read in-process; rolled back
        alone = import_run(kind="roster", path=csv_twin(path), user=county.county_user, skip_invalid=True)
        expected = _rows_as_written()
        transaction.set_rollback(True)
    assert not Student.objects.exists()
    r = import_run(kind="roster", path=path, user=county.county_user, skip_invalid=True)
    ignored = {"seconds": 0, "checksum": ""}
    assert r.as_json(limit=None) | ignored == alone.as_json(limit=None) | ignored
    assert (r.exit_code, r.created, r.updated, r.rejected) == (0, 6, 0, 3)
    assert (r.extra["moved"], r.extra["missing"]) == (0, 0)
    assert len(expected) == 12
    assert _rows_as_written() == expected
    s = Student.objects.get(id_number=new_id(6))
    assert (s.name, s.address, s.entry_month, s.class_name) == ("李\\四", "甲镇\\n张庄", None, "1班")
    assert s.history.get().history_user == county.county_user
    assert _schema() == before
    with pytest.raises(IntegrityError), transaction.atomic():
        StudentFactory(id_number=new_id(2), school=county.a_primary)


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["rejected", "dry_run", "failed"])
def test_a_first_roster_that_is_not_written_leaves_nothing(county, files, monkeypatch, how):
    _no_students()
    before = _schema()
    rows = _first_rows(county)
    if how == "rejected":
        rows.append(roster_row(8, county.a_primary, id_number="12345"))
    if how == "failed":
        _fail_after_the_rows(monkeypatch)
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
def test_a_first_roster_run_as_a_job_with_progress(county, files):
    """The worker's path: a Job, its progress reported while the rows are checked."""
    from kongchuo.imports.runner import import_job_create, import_job_run

    _no_students()
    job = import_job_create(kind="roster", user=county.county_user,
                            source=files.roster("r.xlsx", _first_rows(county)), filename="r.xlsx")
    r = import_job_run(job, write=True, progress=True)
    assert (r.written, r.created, Student.objects.count(), Student.history.count()) == (True, 7, 7, 7)
    job.refresh_from_db()
    assert (job.status, job.progress, job.result["written"]) == ("succeeded", 100, True)
    assert Student.history.filter(history_user=county.county_user).count() == 7


@pytest.mark.django_db(transaction=True)
def test_progress_of_a_plan_inside_the_transaction_is_seen_before_it_commits():
    """An import's Celery job writes its progress through a connection of its own (the job's
    heartbeat): progress reported inside an open transaction is seen by the page polling the
    Job, and is not rolled back with it."""
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
        if PG:  # SQLite: one writer at a time
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
