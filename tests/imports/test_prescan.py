"""The xlsx pre-scan measures the cell rectangle calamine would allocate before calamine sees
the file, whatever the case of the cell references (calamine reads r="xfd9" as column XFD)."""

from __future__ import annotations

import zipfile

import pytest
import xlsxwriter

from kongchuo.imports import tabular


def _rewritten(tmp_path, *replacements: tuple[bytes, bytes]):
    src, dst = tmp_path / "src.xlsx", tmp_path / "file.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("Sheet1")
    ws.write_string(0, 0, "姓名")
    ws.write_string(1, 1, "张三")
    wb.close()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                for old, new in replacements:
                    assert old in data
                    data = data.replace(old, new)
            zout.writestr(info, data)
    return dst


@pytest.fixture
def no_calamine(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("calamine opened a file the pre-scan should have refused")

    monkeypatch.setattr(tabular.CalamineWorkbook, "from_path", refuse)


@pytest.mark.parametrize("ref", [b'r="xfd1000"', b'r="XFD1000"', b'r="Xfd1000"'])
def test_a_far_cell_is_refused_before_calamine_in_any_letter_case(tmp_path, no_calamine, ref):
    # 1,000 rows × 16,384 columns = 16.4 million cells (the cap is 12 million)
    path = _rewritten(tmp_path, (b'r="B2"', ref), (b'<row r="2"', b'<row r="1000"'))
    with pytest.raises(tabular.TabularError) as exc:
        tabular.read_rows(path, "xlsx")
    assert exc.value.code == "file_unsafe"


def test_lower_case_references_within_the_limits_are_read(tmp_path):
    path = _rewritten(tmp_path, (b'r="A1"', b'r="a1"'), (b'r="B2"', b'r="zz20"'),
                      (b'<row r="2"', b'<row r="20"'))
    rows = list(tabular.read_rows(path, "xlsx"))
    assert rows[0] == (1, ["姓名"] + [""] * 701)
    assert rows[-1][0] == 20 and rows[-1][1][701] == "张三"
