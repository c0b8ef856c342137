"""Issue 15 finding 6: the row cap is enforced from the sheet XML stream, before any parser sees
the sheet, and per role (a school's file is a few thousand rows). The timing and memory of the
real 300 MB bomb are measured in bench/bench_sheet_bomb.py, not asserted here."""

from __future__ import annotations

import pytest

from kongchuo.imports import filesafety, tabular
from kongchuo.imports import reader as reader_module
from kongchuo.imports.cells import TabularError
from kongchuo.imports.filesafety import sheet_row_guard
from kongchuo.imports.pipeline import import_max_rows, import_run
from students.models import Student
from tests.imports.conftest import new_id, roster_row
from tests.workbook_files import sheet_only_xlsx

pytestmark = pytest.mark.django_db


def _rows(county, n):
    return [roster_row(i, county.a_primary, id_number=new_id(i), name="王小明") for i in range(1, n + 1)]


@pytest.fixture
def caps(settings):
    settings.KONGCHUO_IMPORT_MAX_ROWS = 30
    settings.KONGCHUO_IMPORT_MAX_ROWS_TOWNSHIP = 20
    settings.KONGCHUO_IMPORT_MAX_ROWS_SCHOOL = 5
    return settings


def test_caps_follow_the_role(county, caps):
    assert import_max_rows(None) == 30 and import_max_rows(county.county_user) == 30
    assert import_max_rows(county.township_a) == 20 and import_max_rows(county.gov_a) == 20
    assert import_max_rows(county.school_a) == 5


def test_a_school_file_over_the_school_cap_is_refused(county, files, caps):
    path = files.roster("r.xlsx", _rows(county, 6))
    r = import_run(kind="roster", path=path, user=county.school_a, dry_run=True)
    assert r.file_error[0] == "too_many_rows" and r.exit_code == 2
    assert "行数超过上限 5 行" in str(r.file_error[1])
    assert not Student.objects.filter(id_number=new_id(1)).exists()
    # The same file is within a township's cap and the county's.
    for user in (county.township_a, county.county_user):
        assert import_run(kind="roster", path=path, user=user, dry_run=True).file_error is None


def test_the_rows_are_counted_before_any_parse_or_reader(county, files, caps, monkeypatch):
    """The count refuses the file before calamine or a reader process start."""

    def never(*args, **kwargs):
        raise AssertionError("the sheet reached a parser before its rows were counted")

    monkeypatch.setattr(tabular, "CalamineWorkbook", never)
    monkeypatch.setattr(reader_module.os, "fork", never)
    r = import_run(kind="roster", path=files.roster("r.xlsx", _rows(county, 40)), dry_run=True)
    assert r.file_error[0] == "too_many_rows"


@pytest.mark.parametrize("row", [b'<row r="{n}"><c><v>1</v></c></row>', b"<row><c><v>1</v></c></row>",
                                 b"<x:row><x:c><x:v>1</x:v></x:c></x:row>"])
def test_every_way_of_writing_a_row_is_counted(tmp_path, row):
    body = b"".join(row.replace(b"{n}", str(n).encode()) for n in range(1, 41))
    path = sheet_only_xlsx(tmp_path / "s.xlsx", b"<worksheet><sheetData>" + body + b"</sheetData></worksheet>")
    assert 40 <= sheet_row_guard(path, "xlsx", max_rows=100) <= 80  # a bare <row> counts twice
    with pytest.raises(TabularError) as exc:
        sheet_row_guard(path, "xlsx", max_rows=39)
    assert exc.value.code == "too_many_rows"


def test_rows_split_across_chunks_are_counted_once():
    counter = filesafety._RowCounter(10**9, 10**12)
    data = b'<row r="1"><c r="A1"><v>1</v></c></row>' * 500
    for size in (1, 2, 3, 5, 4096):
        counter = filesafety._RowCounter(10**9, 10**12)
        for i in range(0, len(data), size):
            counter.feed(data[i:i + size])
        assert counter.rows == 500, size


def test_a_sheet_of_few_enormous_rows_meets_the_byte_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(filesafety, "_MIN_SHEET_BYTES", 256 * 1024)
    big = b"<row><c><is><t>" + b"x" * 200_000 + b"</t></is></c></row>"
    path = sheet_only_xlsx(tmp_path / "s.xlsx", b"<worksheet><sheetData>" + big * 3 + b"</sheetData></worksheet>")
    with pytest.raises(TabularError) as exc:
        sheet_row_guard(path, "xlsx", max_rows=10)
    assert exc.value.code == "too_many_rows"
    assert "MB" in exc.value.message("zh") and exc.value.message("zh").startswith("行数超过上限")
    assert sheet_row_guard(path, "xlsx", max_rows=1000) >= 3  # the budget grows with the cap
