"""Hostile uploads: kongchuo.imports.filesafety sniffs by content and bounds inflation before
anything parses; what passes reaches calamine only in the reader process, under its memory cap
(sparse xlsx and xls). Workbooks are built here, as in test_tabular.
"""

from __future__ import annotations

import io
import re
import struct
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from kongchuo.imports import filesafety, tabular
from kongchuo.imports.cells import (
    CellError,
    TabularError,
    parse_id,
)
from kongchuo.imports.filesafety import sniff_upload
from kongchuo.imports.reader import read_rows
from tests.kongchuo.test_tabular import VALID_ID, records, rewrite_zip, save, sheet_file
from tests.workbook_files import sheet_only_xlsx, watch_calamine_here

# --------------------------------------------------------------------------- xlsx safety


def test_under_declared_dimension_reads_every_row(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for i in range(1, 61):
        ws.append([f"行{i}", i])
    src = save(wb, tmp_path / "src.xlsx")

    def shrink(name, data):
        if name == "xl/worksheets/sheet1.xml":
            data, n = re.subn(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B2"', data)
            assert n == 1
        return data

    path = rewrite_zip(src, tmp_path / "dim.xlsx", shrink)
    rows = list(read_rows(path))
    assert len(rows) == 60 and rows[-1] == (60, ["行60", 60.0])


@pytest.fixture
def parsed_here(monkeypatch):
    """The workbooks calamine opened in this process (a reader process's are not seen)."""
    return watch_calamine_here(monkeypatch)


def test_sparse_sheet_is_refused_by_the_readers_memory_cap(tmp_path, parsed_here):
    """A1 + ZZ200000: 5 KB on disk, 4.5 GB dense in calamine (a Rust OOM abort, not an error),
    in the reader process: this one survives and never parsed it."""
    wb = openpyxl.Workbook()
    wb.active["A1"] = 1
    wb.active["ZZ200000"] = 2
    path = save(wb, tmp_path / "sparse.xlsx")
    with pytest.raises(TabularError) as exc:
        read_rows(path)
    assert exc.value.code == "file_unsafe"
    assert parsed_here == []


def test_row_cap_from_real_cells_not_dimension(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "姓名"
    wb.active["A5000"] = "张三"
    path = save(wb, tmp_path / "far.xlsx")
    with pytest.raises(TabularError) as exc:
        read_rows(path, max_rows=1000)
    assert exc.value.code == "too_many_rows"
    assert len(list(read_rows(path, max_rows=5000))) == 5000


def test_styled_empty_cells_do_not_count(tmp_path):
    """Borders drawn far below the data write <c r=".." s="1"/>: no value, no rejection."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证件号"])
    ws.append(["张三", VALID_ID])
    for col in "AB":
        ws[f"{col}3000"].border = openpyxl.styles.Border(left=openpyxl.styles.Side(style="thin"))
    path = save(wb, tmp_path / "styled.xlsx")
    assert len(list(read_rows(path, max_rows=100))) == 2


def _strip_cell_refs(name, data):
    if name == "xl/worksheets/sheet1.xml":
        return re.sub(rb'(<c) r="[A-Z]+\d+"', rb"\1", data)
    return data


def test_cells_without_r_attribute_are_read_where_they_stand(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证件号"])
    ws.append(["张三", VALID_ID])
    src = save(wb, tmp_path / "src.xlsx")
    path = rewrite_zip(src, tmp_path / "implicit.xlsx", _strip_cell_refs)
    assert list(read_rows(path)) == [(1, ["姓名", "身份证件号"]), (2, ["张三", VALID_ID])]

    wide = openpyxl.Workbook()
    wide.active.append(list(range(200)))  # 200 implicit cells in row 1 ...
    wide.active["A400"] = 1  # ... and one row far below
    src = save(wide, tmp_path / "wide_src.xlsx")
    rows = list(read_rows(rewrite_zip(src, tmp_path / "wide.xlsx", _strip_cell_refs)))
    assert rows[0] == (1, [float(i) for i in range(200)]) and rows[-1] == (400, [1.0] + [""] * 199)


def test_lower_case_references_are_read_where_they_stand(tmp_path):
    """calamine reads r="zz20" as column ZZ, row 20."""
    src = sheet_file(tmp_path, [["姓名"], [None, "张三"]])

    def lower(name, data):
        if name == "xl/worksheets/sheet1.xml":
            data = data.replace(b'r="A1"', b'r="a1"').replace(b'r="B2"', b'r="zz20"')
            data = data.replace(b'<row r="2"', b'<row r="20"')
        return data

    rows = list(read_rows(rewrite_zip(src, tmp_path / "lower.xlsx", lower)))
    assert rows[0] == (1, ["姓名"] + [""] * 701)
    assert rows[-1][0] == 20 and rows[-1][1][701] == "张三"


def test_member_larger_than_declared_is_refused(tmp_path):
    """A bomb may lie in its headers: inflation stops at the size the member declares (in a few
    MB), then its CRC fails. Inflated whole, its million rows would be too_many_rows."""
    rows = b'<row r="1"><c r="A1"><v>1</v></c></row>' * 1_000_000
    path = sheet_only_xlsx(tmp_path / "liar.xlsx", b"<worksheet><sheetData>" + rows + b"</sheetData></worksheet>",
                           compresslevel=1)
    raw = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    pos = raw.find(b"PK\x01\x02")  # its central directory entry: the uncompressed size at +24
    while raw[pos + 46:pos + 46 + len(name)] != name:
        pos = raw.find(b"PK\x01\x02", pos + 4)
    raw[pos + 24:pos + 28] = (4096).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    tracemalloc.start()
    with pytest.raises(TabularError) as exc:
        read_rows(path)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert exc.value.code == "file_type"
    assert peak < 8 * 1024 * 1024


def test_a_sheet_failing_its_crc_is_refused(tmp_path):
    """calamine checks the CRC of the sheet it reads (in the reader process)."""
    src = sheet_file(tmp_path, [["姓名"], ["张三"]])
    raw = bytearray(src.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    for signature, crc_at in ((b"PK\x01\x02", 16), (b"PK\x03\x04", 14)):  # central, local header
        pos = raw.find(signature)
        while name not in raw[pos:pos + 100]:
            pos = raw.find(signature, pos + 4)
        raw[pos + crc_at] ^= 0xFF
    path = tmp_path / "crc.xlsx"
    path.write_bytes(bytes(raw))
    with pytest.raises(TabularError) as exc:
        read_rows(path)
    assert exc.value.code == "file_type"


# --------------------------------------------------------------------------- xls (BIFF8)


def _rec(rtype: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", rtype, len(data)) + data


def build_xls(cells: dict[tuple[int, int], str | float], sheet: str = "Sheet1") -> bytes:
    """A minimal BIFF8 workbook in a compound file: no xls writer is installed, and calamine
    reads this (BOF, BOUNDSHEET, LABEL/NUMBER cells, EOF). Cells are (row, col), 0-based."""

    def bof(kind: int) -> bytes:
        return _rec(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x06))

    def workbook_globals(sheet_pos: int) -> bytes:
        return (bof(0x0005) + _rec(0x0042, struct.pack("<H", 1200))
                + _rec(0x005C, b" " * 4200)  # filler: keeps the stream out of the mini stream
                + _rec(0x0085, struct.pack("<IBBBB", sheet_pos, 0, 0, len(sheet), 1) + sheet.encode("utf-16-le"))
                + _rec(0x000A))

    body = bof(0x0010)
    for (r, c), v in sorted(cells.items()):
        if isinstance(v, str):
            body += _rec(0x0204, struct.pack("<HHHHB", r, c, 0, len(v), 1) + v.encode("utf-16-le"))
        else:
            body += _rec(0x0203, struct.pack("<HHHd", r, c, 0, float(v)))
    stream = workbook_globals(len(workbook_globals(0))) + body + _rec(0x000A)

    end, free, fat_sect, nostream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    nsect = -(-len(stream) // 512)
    fat = [fat_sect, end] + list(range(3, 2 + nsect)) + [end]
    fat += [free] * (128 - len(fat))
    header = (filesafety._OLE_MAGIC + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<9I", 0, 1, 1, 0, 4096, end, 0, end, 0) + struct.pack("<I", 0)
              + struct.pack("<I", free) * 108)

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0" if name else b""
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1 if name else 0)
                + struct.pack("<III", nostream, nostream, child) + b"\0" * 36 + struct.pack("<IQ", start, size))

    directory = (entry("Root Entry", 5, 1, end, 0) + entry("Workbook", 2, nostream, 2, len(stream))
                 + entry("", 0, nostream, 0, 0) * 2)
    return header + struct.pack("<128I", *fat) + directory + stream.ljust(nsect * 512, b"\0")


def test_xls_rows_and_numbers(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(build_xls({(2, 1): "姓名", (2, 2): "身份证件号", (3, 1): "张三", (3, 2): VALID_ID,
                                (5, 1): "李四", (5, 2): 3.415222010022105e17}, "名册"))
    assert sniff_upload(path) == "xls"
    rows = read_rows(path)
    assert rows.sheet_name == "名册"
    header, recs = records(path)
    assert header.header_rows == (3,) and header.columns == {"name": 1, "id_number": 2}
    assert [r.row for r in recs] == [4, 6]
    with pytest.raises(CellError) as exc:
        parse_id(recs[1].values["id_number"])
    assert exc.value.code == "id_numeric"


@pytest.mark.parametrize("far", [(1000, 65000), (65535, 255)])
def test_sparse_xls_is_refused_by_the_readers_memory_cap(tmp_path, far, parsed_here):
    """BIFF columns are 16-bit: calamine would ask for 2 GB (a process abort) for the first."""
    path = tmp_path / "sparse.xls"
    path.write_bytes(build_xls({(0, 0): 1.0, far: 2.0}))
    with pytest.raises(TabularError) as exc:
        read_rows(path)
    assert exc.value.code == "file_unsafe"
    assert parsed_here == []


# --------------------------------------------------------------------------- sniffing


class _CalamineMustNotBeReached:
    @classmethod
    def from_path(cls, *args, **kwargs):
        raise AssertionError("calamine was handed a workbook the checks should have refused")

    @classmethod
    def from_filelike(cls, *args, **kwargs):
        raise AssertionError("calamine was handed a workbook the checks should have refused")


def _zip_member_must_not_be_opened(self, *args, **kwargs):
    raise AssertionError("a zip member was inflated; the directory alone must refuse this file")


def _bomb(path: Path, size: int) -> Path:
    chunk = b"\0" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(size // len(chunk)):
                member.write(chunk)
    return path


def test_zip_bomb_is_refused_uninflated_and_small(tmp_path, monkeypatch):
    path = _bomb(tmp_path / "bomb.xlsx", 200 * 1024 * 1024)
    assert path.stat().st_size < 1024 * 1024
    # Refused from the zip directory alone: no member is inflated, memory stays small.
    monkeypatch.setattr(zipfile.ZipFile, "open", _zip_member_must_not_be_opened)
    monkeypatch.setattr(tabular, "CalamineWorkbook", _CalamineMustNotBeReached)
    tracemalloc.start()
    with pytest.raises(TabularError) as exc:
        sniff_upload(path)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert exc.value.code == "file_unsafe"
    assert peak < 50 * 1024 * 1024
    with pytest.raises(TabularError) as exc:  # read_rows sniffs first, never inflates
        read_rows(path)
    assert exc.value.code == "file_unsafe"


def test_declared_total_over_limit_is_refused(tmp_path):
    path = _bomb(tmp_path / "big.xlsx", 3 * 1024 * 1024)
    with pytest.raises(TabularError) as exc:
        sniff_upload(path, max_uncompressed=2 * 1024 * 1024, max_ratio=10**6)
    assert exc.value.code == "file_unsafe"


def test_too_many_members(tmp_path, monkeypatch):
    path = tmp_path / "members.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        for i in range(150):
            zf.writestr(f"xl/media/image{i}.png", b"x")
    monkeypatch.setattr(zipfile.ZipFile, "open", _zip_member_must_not_be_opened)
    with pytest.raises(TabularError) as exc:
        sniff_upload(path)
    assert exc.value.code == "file_unsafe"


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_members_zipfile_cannot_inflate_in_bounded_steps_are_refused(tmp_path, monkeypatch, method):
    """zipfile decompresses bzip2 and LZMA a whole read at a time: a 1 MB read could be
    gigabytes. No xlsx writer uses them; refused from the directory alone."""
    path = tmp_path / "bz.xlsx"
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    monkeypatch.setattr(zipfile.ZipFile, "open", _zip_member_must_not_be_opened)
    with pytest.raises(TabularError) as exc:
        sniff_upload(path)
    assert exc.value.code == "file_type"


def test_xlsm_is_refused(tmp_path):
    src = sheet_file(tmp_path, [["姓名"]])
    with_vba = tmp_path / "macro.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(with_vba, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
        zout.writestr("xl/vbaProject.bin", b"\0" * 10)
    ct_only = rewrite_zip(src, tmp_path / "ct.xlsx", lambda n, d: d.replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml") if n == "[Content_Types].xml" else d)
    for path in (with_vba, ct_only):
        with pytest.raises(TabularError) as exc:
            sniff_upload(path)
        assert exc.value.code == "file_type" and ".xlsm" in exc.value.message("zh")


def test_truncated_xlsx(tmp_path):
    src = sheet_file(tmp_path, [["姓名"], ["张三"]])
    data = src.read_bytes()
    path = tmp_path / "half.xlsx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TabularError) as exc:
        sniff_upload(path)
    assert exc.value.code == "file_type"


@pytest.mark.parametrize(("content", "code"), [
    (b"", "file_empty"),
    (b"\xef\xbb\xbf\r\n", "file_empty"),
    (bytes(range(256)) * 4, "file_type"),
    (b"PK\x05\x06" + b"\0" * 18, "file_type"),  # an empty zip
])
def test_sniff_refuses(tmp_path, content, code):
    path = tmp_path / "x.xlsx"
    path.write_bytes(content)
    with pytest.raises(TabularError) as exc:
        sniff_upload(path)
    assert exc.value.code == code


def test_random_bytes_are_file_type(tmp_path):
    import random

    rnd = random.Random(7)
    for i in range(20):
        path = tmp_path / f"r{i}.bin"
        path.write_bytes(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 4000))))
        with pytest.raises(TabularError) as exc:
            sniff_upload(path)
        assert exc.value.code == "file_type"


def test_too_large(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" * 1000)
    with pytest.raises(TabularError) as exc:
        sniff_upload(path, max_bytes=1000)
    assert exc.value.code == "file_too_large" and "MB" in exc.value.message("zh")


def _ole(*names: str) -> bytes:
    """Enough of a compound file for the sniffer: magic plus UTF-16LE directory names."""
    body = b"".join(n.encode("utf-16-le").ljust(64, b"\0") for n in names)
    return filesafety._OLE_MAGIC + b"\0" * 504 + body + b"\0" * 1024


def test_ole_files(tmp_path):
    encrypted = tmp_path / "enc.xlsx"
    encrypted.write_bytes(_ole("EncryptionInfo", "EncryptedPackage"))
    with pytest.raises(TabularError) as exc:
        sniff_upload(encrypted)
    assert exc.value.code == "file_encrypted"
    doc = tmp_path / "word.xls"
    doc.write_bytes(_ole("WordDocument"))
    with pytest.raises(TabularError) as exc:
        sniff_upload(doc)
    assert exc.value.code == "file_type"
    fake_xls = tmp_path / "fake.xls"
    fake_xls.write_bytes(_ole("Workbook"))
    assert sniff_upload(fake_xls) == "xls"
    with pytest.raises(TabularError) as exc:  # calamine cannot read it: still a TabularError
        read_rows(fake_xls)
    assert exc.value.code == "file_type"


def test_other_zip_documents(tmp_path):
    ods = tmp_path / "x.ods"
    with zipfile.ZipFile(ods, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office/>")
    with pytest.raises(TabularError) as exc:
        sniff_upload(ods)
    assert exc.value.code == "file_type"


def test_sniff_accepts_file_objects(tmp_path):
    src = sheet_file(tmp_path, [["姓名"]])
    buf = io.BytesIO(src.read_bytes())
    assert sniff_upload(buf) == "xlsx" and buf.tell() == 0
    assert sniff_upload(io.BytesIO("姓名,身份证号\n".encode("gb18030"))) == "csv"


def test_kind_hint_must_agree_with_content(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("姓名\n张三\n", encoding="utf-8")
    with pytest.raises(TabularError):
        read_rows(path, "xlsx")


def test_xlsx_written_by_xlsxwriter(tmp_path):
    import xlsxwriter

    path = tmp_path / "w.xlsx"
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(2, 1, ["姓名", "身份证件号"])
    ws.write_row(3, 1, ["张三", VALID_ID])
    wb.close()
    header, recs = records(path)
    assert header.header_rows == (3,) and recs[0].row == 4 and recs[0].values["id_number"] == VALID_ID


