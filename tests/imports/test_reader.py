"""The reader process (kongchuo/imports/reader.py), the only place a workbook is parsed: what it
reads and checks is what the importing process would, it is always reaped, a sheet bomb kills
it and not the importing process, it has no database and a capped address space, and its
messages are read as data only."""

from __future__ import annotations

import io
import os
import pickle
import resource
import signal

import pytest
from django.db import connection

from kongchuo.imports import reader as reader_module
from kongchuo.imports.base import get_kind
from kongchuo.imports.pipeline import import_run
from kongchuo.imports.reader import ReaderCrashed
from kongchuo.models import Job
from students.models import Student
from tests.imports.conftest import ROSTER_HEADER, csv_twin, new_id, roster_row, write_xlsx


@pytest.fixture
def forks(monkeypatch):
    """The list receives each reader's pid."""
    pids: list[int] = []
    real = reader_module._Child.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        pids.append(self.pid)

    monkeypatch.setattr(reader_module._Child, "__init__", spy)
    return pids


def _reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def _rows(county, n=3):
    return [roster_row(i, county.a_primary, id_number=new_id(i), name="王小明") for i in range(1, n + 1)]


def _same(a, b) -> bool:
    ignored = {"seconds": 0, "checksum": ""}
    return a.as_json(limit=None) | ignored == b.as_json(limit=None) | ignored


@pytest.mark.django_db
def test_a_workbook_is_read_by_a_reader_process_with_the_same_outcome(county, files, forks):
    """The same rows as a CSV are read and checked in the importing process."""
    rows = _rows(county, 4) + [roster_row(9, county.a_primary, id_number="12345")]  # one bad row
    path = files.roster("r.xlsx", rows)
    in_process = import_run(kind="roster", path=csv_twin(path), dry_run=True)
    forks.clear()  # the twin was read by a reader
    by_reader = import_run(kind="roster", path=path, dry_run=True)
    assert len(forks) == 1 and _reaped(forks[0])
    assert _same(by_reader, in_process)
    assert (by_reader.created, by_reader.rejected, by_reader.errors[0].code) == (4, 1, "id_format")
    written = import_run(kind="roster", path=files.roster("ok.xlsx", _rows(county, 4)))
    assert (written.written, written.created) == (True, 4)
    assert len(forks) == 2 and _reaped(forks[1])
    assert Student.objects.filter(id_number__in=[new_id(i) for i in range(1, 5)]).count() == 4


@pytest.mark.django_db
def test_a_reader_sending_blocks_reports_what_one_process_reports(county, files, forks, monkeypatch):
    """Blocks of 2 rows: errors, warnings, duplicates within a block and across blocks, blank
    rows and the footer all come out as the importing process alone would report them, in the
    same order."""
    monkeypatch.setattr(reader_module, "BATCH", 2)
    rows = [roster_row(i, county.a_primary, id_number=new_id(i), name=f"王{i}") for i in range(1, 15)]
    rows[3][9] = new_id(1)  # row 4 repeats row 1 (another block, another reader)
    rows[4][9] = new_id(2)  # row 5 repeats row 2
    rows[9][9] = new_id(10)  # rows 10 and 11 repeat each other …
    rows[10][9] = new_id(10)
    rows[12][9] = new_id(1)  # … and row 13 row 1 once more
    rows[6][3] = "十年级"  # a cell error
    rows[7][8] = "护照"  # a warning (id type)
    rows.insert(8, None)  # a blank row
    path = files.roster("r.xlsx", rows, footer=["合计", "", "", "", "", "14人"])
    alone = import_run(kind="roster", path=csv_twin(path), dry_run=True)
    forks.clear()
    by_readers = import_run(kind="roster", path=path, dry_run=True)
    assert _same(by_readers, alone)
    assert {"duplicate_in_file", "grade_unknown"} <= {e.code for e in alone.errors}
    assert len([e for e in alone.errors if e.code == "duplicate_in_file"]) == 7
    assert alone.warnings and alone.rows == 14
    assert len(forks) == 1 and _reaped(forks[0])


@pytest.mark.django_db
def test_a_refusal_of_the_reader_is_the_import_s(county, files, forks, monkeypatch):
    """What the reader refuses (here the row cap as calamine measured the sheet) refuses the
    import: reported, the reader reaped, nothing written."""
    from kongchuo.imports.cells import TabularError

    def refuse(*args, **kwargs):
        raise TabularError("too_many_rows", limit=10)

    monkeypatch.setattr(reader_module, "open_sheet", refuse)  # runs in the child only
    r = import_run(kind="roster", path=files.roster("r.xlsx", _rows(county)))
    assert r.file_error[0] == "too_many_rows" and r.exit_code == 2
    assert len(forks) == 1 and _reaped(forks[0])
    assert not Student.objects.filter(id_number=new_id(1)).exists()


def _sparse_xlsx(tmp_path, far: bytes):
    """A roster header and one data row whose first cell is rewritten to `far`."""
    import re
    import zipfile

    src = write_xlsx(tmp_path / "src.xlsx", [roster_row(1, None, id_number=new_id(1))], title=None,
                     info=None, header=ROSTER_HEADER)
    dst = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data, n = re.subn(rb'<c r="A2"[^>]*>.*?</c>', far, data)
                assert n == 1
            zout.writestr(info, data)
    return dst


SPARSE_CELLS = {  # calamine allocates the dense rectangle from A1 to the far cell
    "upper_case": b'<c r="ZZ400000"><v>2</v></c>', "lower_case": b'<c r="xfd1048576"><v>2</v></c>',
    "mixed_case": b'<c r="Xfd9999"><v>2</v></c>',
    "duplicated_r": b'<c r="A2" r="ZZ400000"><v>2</v></c>',  # calamine takes the last duplicate
    "r_not_first": b'<c s="0" r="ZZ400000"><v>2</v></c>', "prefixed": b'<x:c r="ZZ400000"><x:v>2</x:v></x:c>',
    "long_row_number": b'<c r="A123456789"><v>2</v></c>',
}


@pytest.mark.django_db
@pytest.mark.parametrize("far", SPARSE_CELLS.values(), ids=SPARSE_CELLS.keys())
def test_a_sparse_sheet_bomb_is_refused_and_the_reader_reaped(county, forks, tmp_path, far):
    """A 5 KB xlsx whose dense rectangle is gigabytes: the reader dies on its memory cap, the
    importing process neither parses it (the autouse spy) nor grows, nothing is written."""
    path = _sparse_xlsx(tmp_path, far)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = import_run(kind="roster", path=path)
    assert r.file_error[0] == "file_unsafe" and r.exit_code == 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KB
    assert len(forks) == 1 and _reaped(forks[0])
    assert not Student.objects.filter(id_number=new_id(1)).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("far", [(1000, 65000), (65535, 255)])
def test_a_sparse_xls_bomb_is_refused_and_the_reader_reaped(county, forks, tmp_path, far):
    """BIFF columns are 16-bit: calamine would ask for 2 GB for the first, 512 MB for the second."""
    from tests.kongchuo.test_filesafety import build_xls

    path = tmp_path / "bomb.xls"
    path.write_bytes(build_xls({(0, 0): "姓名", (0, 1): "身份证件号", (1, 0): "张三", far: 2.0}))
    r = import_run(kind="roster", path=path)
    assert r.file_error[0] == "file_unsafe"
    assert len(forks) == 1 and _reaped(forks[0])


@pytest.mark.django_db
def test_a_reader_killed_by_a_signal_is_reported_as_an_unsafe_file(county, files, forks, monkeypatch):
    """What the address-space cap does to calamine (Rust aborts on a failed allocation)."""
    def abort(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGABRT)

    monkeypatch.setattr(reader_module, "open_sheet", abort)  # runs in the child only
    r = import_run(kind="roster", path=files.roster("r.xlsx", _rows(county)))
    assert r.file_error[0] == "file_unsafe"
    assert len(forks) == 1 and _reaped(forks[0])


@pytest.mark.django_db
def test_a_bug_in_the_reader_fails_the_import_and_its_job(county, files, forks, monkeypatch):
    from kongchuo.imports.runner import import_job_create, import_job_run

    kind = get_kind("roster")

    def broken(row, ctx):
        raise ValueError("bug in a check")

    monkeypatch.setattr(kind, "check_row", broken)
    job = import_job_create(kind="roster", user=county.county_user,
                            source=files.roster("r.xlsx", _rows(county)), filename="r.xlsx")
    with pytest.raises(ReaderCrashed, match="bug in a check"):
        import_job_run(job, write=True)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert not Student.objects.filter(id_number=new_id(1)).exists()
    assert all(_reaped(pid) for pid in forks)


@pytest.mark.django_db
def test_the_reader_has_no_database_and_leaves_the_session_alone(county, files, forks, monkeypatch):
    kind = get_kind("roster")
    real = kind.check_row

    def querying(row, ctx):
        Student.objects.exists()
        return real(row, ctx)

    monkeypatch.setattr(kind, "check_row", querying)
    with pytest.raises(ReaderCrashed, match="no database access"):
        import_run(kind="roster", path=files.roster("r.xlsx", _rows(county)))
    with connection.cursor() as cur:  # the importing process's session survived the child
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    assert Student.objects.filter(school=county.a_primary).exists()


@pytest.mark.django_db
def test_the_reader_address_space_is_capped(county, files, forks, monkeypatch, settings):
    settings.KONGCHUO_IMPORT_READER_MEMORY_MB = 64
    kind = get_kind("roster")
    real = kind.check_row

    def greedy(row, ctx):
        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        assert soft != resource.RLIM_INFINITY
        bytearray(256 * 1024 * 1024)  # beyond the cap: MemoryError
        return real(row, ctx)

    monkeypatch.setattr(kind, "check_row", greedy)
    with pytest.raises(ReaderCrashed, match="MemoryError"):
        import_run(kind="roster", path=files.roster("r.xlsx", _rows(county)))
    assert resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY  # ours untouched


def test_messages_are_read_as_data_only():
    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    class Ours:  # a function of the portal's own, called with arguments the message chose
        def __reduce__(self):
            from kongchuo.security.services import export_files_purge

            return (export_files_purge, ())

    def load(obj):
        return reader_module._Unpickler(io.BytesIO(pickle.dumps(obj))).load()

    for hostile in (Evil(), Ours()):
        with pytest.raises(pickle.UnpicklingError):
            load(hostile)
    import datetime as dt

    from kongchuo.imports.base import Issue
    from kongchuo.imports.cells import code_text
    from students.models import School

    value = ("rows", [(4, "张三", dt.date(2015, 6, 1), None, True, School.Kind.PRIMARY)],
             [Issue(4, "年级", "grade_unknown", code_text("grade_unknown", "“十年级”"))], [], 1)
    assert load(value) == value


def test_the_generated_row_parser_returns_what_the_parsers_return():
    """checks._row_parser with memoized parsers: cell for cell it gives what calling each
    parser gives, errors included (1, 1.0 and True stay apart)."""
    import datetime as dt

    from kongchuo.imports.cells import CellError
    from kongchuo.imports.checks import _identity, _none, _row_parser
    from kongchuo.imports.parsers import memoize
    from students.imports.roster import RosterImport

    specs = []
    for c, f in enumerate(RosterImport.fields):
        if f.key == "id_type":
            specs.append((-1, _none, f.label))  # a column the file lacks
            continue
        parse = f.parse or _identity
        specs.append((c, memoize(parse) if f.memo else parse, f.label))
    generated = _row_parser(specs)

    def plain(values):
        return [parse(values[c]) for c, parse, _label in specs]

    good = ["2134100001", "甲镇东岗小学", "三年级", "1班", "王小明", "男", dt.date(2015, 6, 1), "居民身份证",
            new_id(1), "G1", "甲镇", "甲镇1号", "李四", "13800000000", "是", "否", 0, "", 1, True, "2021-09"]
    variants = [
        {}, {2: 3}, {2: 3.0}, {2: True}, {2: "初二"}, {2: "十年级"}, {4: "王小明 "}, {4: "Ｗａｎｇ"},
        {4: ""}, {4: "'王五"}, {4: "王" * 41}, {14: 1.0}, {14: True}, {14: "√"}, {14: "也许"},
        {6: "2015/6/1"}, {6: 20150601}, {6: "2015-02-30"}, {20: 201909}, {20: "2019年9月"},
        {8: "34152220150601" + "123X"}, {8: 341522201506011234}, {3: "\u3000一班"}, {10: "甲镇\t张庄"},
    ]
    for change in variants:
        values = list(good)
        for c, v in change.items():
            values[c] = v
        for _twice in range(2):  # the second time through the memo caches
            try:
                expected = plain(values)
            except CellError as exc:
                with pytest.raises(CellError) as got:
                    generated(values)
                assert (got.value.code, str(got.value)) == (exc.code, str(exc)), change
            else:
                assert generated(values) == expected, change
                assert [type(v) for v in generated(values)] == [type(v) for v in expected], change


def test_the_cap_follows_the_size_of_the_workbook(files, settings, tmp_path):
    """A small file cannot buy its reader gigabytes; a county roster gets twice what calamine
    needed for it; the setting bounds both."""
    import zipfile

    small = files.xlsx("s.xlsx", [["姓名"], ["张三"]])
    with zipfile.ZipFile(small) as zf:
        size = sum(i.file_size for i in zf.infolist())
    assert reader_module.memory_cap(small, "xlsx") == 256 * 1024 * 1024 + 4 * size
    settings.KONGCHUO_IMPORT_READER_MEMORY_MB = 100
    assert reader_module.memory_cap(small, "xlsx") == 100 * 1024 * 1024
    settings.KONGCHUO_IMPORT_READER_MEMORY_MB = 0
    assert reader_module.memory_cap(small, "xlsx") == 0


@pytest.mark.django_db
def test_no_process_to_be_had_fails_the_import(county, files, monkeypatch):
    """No fork, no reading: a workbook is never parsed in the importing process instead."""
    from kongchuo.imports.runner import import_job_create, import_job_run

    before = len(os.listdir("/proc/self/fd"))

    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(reader_module.os, "fork", no_fork)
    job = import_job_create(kind="roster", user=county.county_user,
                            source=files.roster("r.xlsx", _rows(county)), filename="r.xlsx")
    with pytest.raises(BlockingIOError):
        import_job_run(job, write=True)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "BlockingIOError" in job.message
    assert not Student.objects.filter(id_number=new_id(1)).exists()
    assert len(os.listdir("/proc/self/fd")) == before  # its pipes closed
