"""Fuzz the upload entry point: whatever bytes arrive, only TabularError may come out.

A crash here would be a 500 page (or, for calamine, a dead reader process: file_unsafe), so
both random bytes and valid workbooks with bytes flipped, cut or spliced are pushed through
sniff_upload + read_rows + find_header + iter_records.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kongchuo.imports.cells import TabularError
from kongchuo.imports.filesafety import sniff_upload
from kongchuo.imports.reader import read_rows
from kongchuo.imports.tabular import Column, find_header, iter_records
from tests.kongchuo.test_filesafety import build_xls
from tests.kongchuo.test_tabular import VALID_ID

SPEC = [Column("id_number", ["身份证件号"], required=True), Column("name", ["姓名"])]
# No deadline: what is fuzzed here is what may come out, not how fast (speed lives in bench/).
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_xlsx() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["霍邱县学生名册"])
    ws.append(["姓名", "身份证件号", "出生日期"])
    for i in range(30):
        ws.append([f"学生{i}", "34152220170716550X", 20170716 + i])
    ws.merge_cells("A1:C1")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


VALID = _valid_xlsx()
with zipfile.ZipFile(io.BytesIO(VALID)) as _zf:
    MEMBERS = {name: _zf.read(name) for name in _zf.namelist()}
XML_PARTS = sorted(n for n in MEMBERS if n.startswith("xl/"))
_DIR = Path(tempfile.mkdtemp(prefix="kongchuo-fuzz-"))


def _run(data: bytes) -> None:
    path = _DIR / "upload.bin"
    path.write_bytes(data)
    try:
        kind = sniff_upload(path)
        # Tight caps keep every example quick: a sheet within the real caps may legitimately
        # take seconds to iterate, which is not what this test is about.
        rows = read_rows(path, kind, max_rows=5000)
        try:
            header = find_header(rows, SPEC)
        except TabularError:
            return
        for _record in iter_records(rows, header):
            pass
    except TabularError as exc:
        assert exc.code and exc.message("zh") and exc.message("en")


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    _run(data)


@FUZZ
@given(st.binary(min_size=1, max_size=64))
def test_random_bytes_behind_magic(tail):
    for magic in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\xef\xbb\xbf"):
        _run(magic + tail)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_flipped_bytes_in_valid_xlsx(flips):
    data = bytearray(VALID)
    for pos, value in flips:
        data[pos] = value
    _run(bytes(data))


@FUZZ
@given(st.integers(0, len(VALID)), st.integers(0, len(VALID)), st.binary(max_size=256))
def test_cut_and_spliced_xlsx(start, end, insert):
    start, end = sorted((start, end))
    _run(VALID[:start] + insert + VALID[end:])


VALID_XLS = build_xls({(0, 0): "学生名册", (1, 0): "姓名", (1, 1): "身份证件号",
                      **{(r, 0): f"学生{r}" for r in range(2, 40)}, **{(r, 1): VALID_ID for r in range(2, 40)},
                      (41, 2): 3.5})


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID_XLS) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_flipped_bytes_in_valid_xls(flips):
    """No CRC guards an .xls: every flip reaches calamine."""
    data = bytearray(VALID_XLS)
    for pos, value in flips:
        data[pos] = value
    _run(bytes(data))


def _rezip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@FUZZ
@given(st.sampled_from(XML_PARTS), st.data())
def test_mutated_xml_inside_valid_zip(part, data):
    """CRCs stay right, so the damaged XML reaches the row guard and calamine itself."""
    xml = bytearray(MEMBERS[part])
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(xml) - 1))
        choice = data.draw(st.sampled_from(["flip", "digit", "delete", "insert"]))
        if choice == "flip":
            xml[pos] = data.draw(st.integers(0, 255))
        elif choice == "digit":  # push a row or column number somewhere far
            xml[pos:pos] = data.draw(st.sampled_from([b"9", b"99999", b"Z", b"ZZZ"]))
        elif choice == "delete":
            del xml[pos:pos + data.draw(st.integers(1, 40))]
        else:
            xml[pos:pos] = data.draw(st.sampled_from([b"<c>", b"<row>", b'<c r="XFD1048576"><v>1</v></c>',
                                                      b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"&a;", b"\xff"]))
    _run(_rezip({**MEMBERS, part: bytes(xml)}))


# Cuts named, not numbered: the workbook's length varies with its zip timestamps, and pytest-xdist
# workers must collect the same test ids.
CUTS = {"empty": lambda n: 0, "1": lambda n: 1, "4": lambda n: 4, "30": lambda n: 30, "100": lambda n: 100,
        "half": lambda n: n // 2, "no_central_directory_end": lambda n: n - 22, "last_byte_missing": lambda n: n - 1}


@pytest.mark.parametrize("cut", CUTS, ids=list(CUTS))
def test_truncations(cut):
    _run(VALID[:CUTS[cut](len(VALID))])
