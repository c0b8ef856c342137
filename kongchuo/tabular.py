"""Tabular import machinery: safe upload sniffing, row reading, header detection, normalisers.

App-agnostic on purpose: every import kind (roster, census, returns, ledgers, feedback lists)
goes through the same checks, so a zip bomb, a renamed CSV or a shifted header row is handled
once. Nothing here imports Django or an app; errors carry a code plus Chinese and English text
so callers can show, store or translate them as they like.

Security notes (why the reading path looks paranoid):
* `sniff_upload` decides by content and rejects bombs from the zip central directory alone, so
  a hostile upload costs milliseconds and no decompression.
* calamine allocates the dense rectangle spanned by a sheet's cells; a 5 KB xlsx with cells in
  A1 and ZZ200000 makes it request gigabytes and aborts the whole process (Rust OOM is not an
  exception). `read_rows` therefore inflates every member itself with a hard output bound,
  verifies sizes and CRCs, and measures the real cell extent of the chosen sheet before calamine
  sees the file. The <dimension> element is never read.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import io
import math
import os
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from defusedxml import ElementTree as SafeET
from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

from kongchuo.access.idnumbers import IdNumberError, validate_id

MB = 1024 * 1024
# Upload limits. MAX_UNCOMPRESSED is far above a bomb guard's usual 50 MB because a county
# roster is big: 200,000 rows of a 学籍 export is 150-200 MB of sheet XML (13 MB zipped).
# Bombs are caught by the ratio and member limits, and read_rows bounds real inflation.
MAX_UPLOAD_BYTES = 20 * MB
MAX_UNCOMPRESSED = 512 * MB
MAX_MEMBERS = 100
MAX_RATIO = 100
MAX_ROWS = 500_000
MAX_CELLS = 12_000_000  # 500k rows x 24 columns; calamine holds ~32 bytes a cell: 384 MB at worst
Cell = Any  # str | int | float | bool | date | datetime | time | timedelta (as calamine returns)
Row = tuple[int, list[Cell]]

# --------------------------------------------------------------------------- messages

MESSAGES: dict[str, tuple[str, str]] = {
    # cell level: the codes the import issue lists
    "required_missing": ("必填项为空", "Required value is missing"),
    "id_format": ("身份证件号格式错误（应为18位，末位可为X）",
                  "ID number must have 18 characters (the last may be X)"),
    "id_numeric": ('身份证件号被Excel存成了数字，末几位已丢失：请将该列设置为"文本"格式后重新填写',
                   "The ID number was stored as a number and lost its last digits: "
                   "format the column as Text and enter it again"),
    "id_checksum": ("身份证件号校验位错误", "ID number check digit is wrong"),
    "id_birthdate": ("身份证件号中的出生日期无效", "The birth date inside the ID number is invalid"),
    "birth_mismatch": ("出生日期与身份证件号不一致", "Birth date does not match the ID number"),
    "gender_mismatch": ("性别与身份证件号不一致", "Sex does not match the ID number"),
    "grade_unknown": ("年级无法识别（应为一年级至九年级）", "Unknown grade (expected grade 1 to 9)"),
    "school_unknown": ("学校不存在或不在本县学校名录中", "School not found in the county registry"),
    "student_unknown": ("查无此学生", "No such student"),
    "duplicate_in_file": ("与本文件中其他行重复", "Duplicates another row of this file"),
    "value_invalid": ("取值无效", "Invalid value"),
    # file level
    "file_empty": ("文件为空", "The file is empty"),
    "file_too_large": ("文件过大（上限 {limit_mb} MB）", "The file is too large (limit {limit_mb} MB)"),
    "file_unsafe": ("文件结构异常（疑似压缩炸弹或超大稀疏表），已拒绝",
                    "The file structure is abnormal (zip bomb or huge sparse sheet): rejected"),
    "file_type": ("不支持的文件类型或文件已损坏：请上传 .xlsx、.xls 或 .csv 文件",
                  "Unsupported or damaged file: upload an .xlsx, .xls or .csv file"),
    "file_encrypted": ("文件已加密：请取消密码保护后重新上传",
                       "The file is password-protected: remove the password and upload again"),
    "too_many_rows": ("行数超过上限 {limit} 行：请拆分后分批上传",
                      "More than {limit} rows: split the file and upload in parts"),
    "sheet_not_found": ("找不到工作表：{name}", "Worksheet not found: {name}"),
    "header_missing": ("未找到必需的列：{labels}。请确认上传的文件种类正确、表头未被改动",
                       "Required columns not found: {labels}. Check that this is the right kind "
                       "of file and that its header is intact"),
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def message_for(code: str, lang: str = "zh", **params: Any) -> str:
    """The user-facing text for `code`; unknown codes fall back to value_invalid."""
    zh, en = MESSAGES.get(code, MESSAGES["value_invalid"])
    return (en if lang == "en" else zh).format_map(_Blank(params))


class _CodedError(Exception):
    """An error with a stable code and a message in both languages (Chinese first)."""

    def __init__(self, code: str, message_zh: str | None = None, message_en: str | None = None,
                 *, hint_zh: str = "", hint_en: str = "", **params: Any) -> None:
        self.code = code
        self.params = params
        self.message_zh = message_zh or message_for(code, "zh", **params)
        self.message_en = message_en or message_for(code, "en", **params)
        if hint_zh:
            self.message_zh += f"：{hint_zh}"
        if hint_en:
            self.message_en += f": {hint_en}"
        super().__init__(code, self.message_zh)

    def __str__(self) -> str:
        return self.message_zh

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message_zh


class TabularError(_CodedError):
    """The whole file is refused (type, safety, size, header)."""


class CellError(_CodedError):
    """One cell's value is refused; the row is reported, the rest of the file goes on."""


# --------------------------------------------------------------------------- sniffing

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_RATIO_FLOOR = 1 * MB  # a member this small cannot hurt whatever its ratio; XML compresses well
_SNIFF_SAMPLE = 64 * 1024


def sniff_upload(path_or_fileobj: str | os.PathLike[str] | IO[bytes], *,
                 max_bytes: int = MAX_UPLOAD_BYTES, max_uncompressed: int = MAX_UNCOMPRESSED,
                 max_members: int = MAX_MEMBERS, max_ratio: int = MAX_RATIO) -> str:
    """Return "xlsx", "xls" or "csv" judged by content, or raise TabularError.

    The file name is ignored on purpose: users rename CSVs to .xlsx and the reverse. Zip limits
    come from the end-of-central-directory record and the central directory only, so a bomb is
    refused without inflating a byte.
    """
    if hasattr(path_or_fileobj, "read"):
        fh = path_or_fileobj  # type: ignore[assignment]
        try:
            return _sniff(fh, max_bytes, max_uncompressed, max_members, max_ratio)  # type: ignore[arg-type]
        finally:
            fh.seek(0)  # type: ignore[union-attr]
    with open(path_or_fileobj, "rb") as fh:  # type: ignore[arg-type]
        return _sniff(fh, max_bytes, max_uncompressed, max_members, max_ratio)


def _sniff(fh: IO[bytes], max_bytes: int, max_uncompressed: int, max_members: int,
           max_ratio: int) -> str:
    size = fh.seek(0, io.SEEK_END)
    if size == 0:
        raise TabularError("file_empty")
    if size > max_bytes:
        raise TabularError("file_too_large", limit_mb=max_bytes // MB)
    fh.seek(0)
    head = fh.read(_SNIFF_SAMPLE)
    if head.startswith(_ZIP_MAGIC):
        _check_xlsx_zip(fh, size, max_uncompressed, max_members, max_ratio)
        return "xlsx"
    if head.startswith(_OLE_MAGIC):
        _check_ole(fh)
        return "xls"
    if head.startswith(b"PK"):  # empty or spanned zip archives
        raise TabularError("file_type")
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n"):
        raise TabularError("file_empty")
    if _looks_like_text(head, at_eof=size <= len(head)):
        return "csv"
    raise TabularError("file_type")


def _zip_directory_totals(fh: IO[bytes], size: int) -> tuple[int, int]:
    """(entry count, central directory size) from the EOCD record, zip64-aware."""
    tail_len = min(size, 22 + 65535)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < 22:
        raise TabularError("file_type", hint_zh="文件不完整", hint_en="truncated file")
    _sig, _d, _dcd, _n_disk, entries, cd_size, _cd_off, _clen = struct.unpack_from("<4s4H2LH", tail, pos)
    loc = pos - 20
    if (entries == 0xFFFF or cd_size == 0xFFFFFFFF) and loc >= 0 and tail[loc:loc + 4] == b"PK\x06\x07":
        (eocd64,) = struct.unpack_from("<Q", tail, loc + 8)
        if eocd64 + 56 > size:
            raise TabularError("file_type")
        fh.seek(eocd64)
        rec = fh.read(56)
        if len(rec) < 56 or rec[:4] != b"PK\x06\x06":
            raise TabularError("file_type")
        entries, cd_size = struct.unpack_from("<QQ", rec, 32)
    return entries, cd_size


def _check_xlsx_zip(fh: IO[bytes], size: int, max_uncompressed: int, max_members: int,
                    max_ratio: int) -> None:
    entries, cd_size = _zip_directory_totals(fh, size)
    # Bound the central directory before zipfile parses it: it reads every entry it finds
    # in cd_size bytes, whatever the entry count claims.
    if entries > max_members or cd_size > max_members * 1024 + 64 * 1024:
        raise TabularError("file_unsafe")
    fh.seek(0)
    try:
        zf = zipfile.ZipFile(fh)
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
            struct.error, UnicodeDecodeError, NotImplementedError) as exc:
        raise TabularError("file_type") from exc
    if len(infos) > max_members:
        raise TabularError("file_unsafe")
    if sum(i.file_size for i in infos) > max_uncompressed:
        raise TabularError("file_unsafe")
    for info in infos:
        if info.file_size > _RATIO_FLOOR and info.file_size > max_ratio * max(info.compress_size, 1):
            raise TabularError("file_unsafe")
    names = {i.filename for i in infos}
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise TabularError("file_type", hint_zh="不接受含宏的 .xlsm 文件，请另存为 .xlsx",
                           hint_en="macro-enabled .xlsm files are refused; save as .xlsx")
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise TabularError("file_type")
    info = zf.getinfo("[Content_Types].xml")
    if info.file_size > MB:
        raise TabularError("file_unsafe")
    try:
        with zf.open(info) as member:
            content_types = member.read(MB + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError,
            RuntimeError) as exc:
        raise TabularError("file_type") from exc
    if b"macroenabled" in content_types.lower():
        raise TabularError("file_type", hint_zh="不接受含宏的 .xlsm 文件，请另存为 .xlsx",
                           hint_en="macro-enabled .xlsm files are refused; save as .xlsx")


def _check_ole(fh: IO[bytes]) -> None:
    """Refuse Office-encrypted packages; require a BIFF workbook stream for .xls.

    Encrypted .xlsx files are OLE containers holding an "EncryptedPackage" stream. Directory
    entry names are UTF-16LE; a byte search over the (size-capped) file finds them.
    """
    encrypted = "EncryptedPackage".encode("utf-16-le")
    books = ("Workbook".encode("utf-16-le"), "Book".encode("utf-16-le"))  # BIFF8, BIFF5
    found_book = False
    overlap = b""
    fh.seek(0)
    while chunk := fh.read(MB):
        window = overlap + chunk
        if encrypted in window:
            raise TabularError("file_encrypted")
        found_book = found_book or any(b in window for b in books)
        overlap = window[-64:]
    if not found_book:
        raise TabularError("file_type")


def _looks_like_text(sample: bytes, *, at_eof: bool) -> bool:
    text = _decode_text(sample, final=at_eof)
    if text is None:
        return False
    return not any((ord(ch) < 32 and ch not in "\t\r\n") or ord(ch) == 127 for ch in text)


def _decode_text(data: bytes, *, final: bool = True) -> str | None:
    """UTF-8 (with or without BOM) first, GB18030 second; None when neither decodes."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    for encoding in ("utf-8", "gb18030"):
        try:
            return codecs.getincrementaldecoder(encoding)().decode(data, final=final)
        except UnicodeDecodeError:
            continue
    return None


# --------------------------------------------------------------------------- reading


class SheetRows:
    """Re-iterable rows of one sheet: `(excel_row_number, values)`.

    Re-iterable so that header detection can look at the top and record iteration can start
    over without the caller buffering the sheet. Row numbers are 1-based, counting title and
    blank rows exactly as Excel shows them; column 0 is Excel column A.
    """

    def __init__(self, kind: str, sheet_name: str, make_iter: Callable[[], Iterator[Row]],
                 height: int | None = None) -> None:
        self.kind = kind
        self.sheet_name = sheet_name
        self._make_iter = make_iter
        self.height = height  # rows the sheet spans, header included (None: not known before reading)

    def __iter__(self) -> Iterator[Row]:
        return self._make_iter()


def read_rows(path: str | os.PathLike[str], kind_hint: str | None = None, *, sheet: str | None = None,
              max_rows: int = MAX_ROWS, max_cells: int = MAX_CELLS, max_bytes: int = MAX_UPLOAD_BYTES,
              max_uncompressed: int = MAX_UNCOMPRESSED) -> SheetRows:
    """Open an upload and return its rows; only TabularError escapes.

    `kind_hint` is what `sniff_upload` returned; the content is sniffed again and must agree. For workbooks the
    first visible worksheet is read unless `sheet` names one. The row cap is checked against
    the real cell extent before calamine parses the sheet, and again while iterating.
    """
    # Sniffing again is cheap and means a caller can never hand a zip bomb to calamine.
    kind = sniff_upload(path, max_bytes=max_bytes, max_uncompressed=max_uncompressed)
    if kind_hint is not None and kind_hint != kind:
        raise TabularError("file_type")
    if kind == "csv":
        return _read_csv(path, max_rows, max_bytes)
    sheet = prescan(path, kind, sheet, max_rows=max_rows, max_cells=max_cells,
                    max_uncompressed=max_uncompressed)
    return open_sheet(path, kind, sheet, max_rows=max_rows, max_cells=max_cells)


def prescan(path: str | os.PathLike[str], kind: str, sheet: str | None = None, *,
            max_rows: int = MAX_ROWS, max_cells: int = MAX_CELLS,
            max_uncompressed: int = MAX_UNCOMPRESSED, rows_counted: bool = False) -> str | None:
    """The checks calamine must not parse a workbook without (bounded inflation, CRCs, the
    real cell extent against the row cap and the cell budget); the sheet to read (xlsx: the
    first visible worksheet unless `sheet` names one; xls: None, every sheet is measured).
    `kind` is what sniff_upload returned for the file: "xlsx" or "xls". The rows are counted
    first (sheet_row_guard) unless the caller just did (`rows_counted`)."""
    if kind == "xlsx":
        if not rows_counted:
            sheet_row_guard(path, kind, sheet, max_rows=max_rows, max_uncompressed=max_uncompressed)
        return _xlsx_prescan(path, sheet, max_rows, max_cells, max_uncompressed)
    _xls_prescan(path, max_rows, max_cells)
    return sheet


def open_sheet(path: str | os.PathLike[str], kind: str, sheet: str | None = None, *,
               max_rows: int = MAX_ROWS, max_cells: int = MAX_CELLS) -> SheetRows:
    """Parse one sheet of a workbook with calamine; only TabularError escapes. Only after
    `prescan` passed, or in a process whose memory is capped (kongchuo.imports.reader)."""
    try:
        return _read_workbook(path, kind, sheet, max_rows, max_cells)
    except TabularError:
        raise
    except PasswordError as exc:
        raise TabularError("file_encrypted") from exc
    except BaseException as exc:  # calamine raises CalamineError subclasses and, rarely, pyo3 panics
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit | MemoryError):
            raise
        raise TabularError("file_type") from exc


def _read_workbook(path: str | os.PathLike[str], kind: str, sheet: str | None, max_rows: int,
                   max_cells: int) -> SheetRows:
    with CalamineWorkbook.from_path(path) as wb:
        if sheet is None:
            visible = [m.name for m in wb.sheets_metadata
                       if m.visible == SheetVisibleEnum.Visible and m.typ == SheetTypeEnum.WorkSheet]
            if not visible:
                raise TabularError("file_type", hint_zh="没有可见的工作表", hint_en="no visible worksheet")
            sheet = visible[0]
        elif sheet not in wb.sheet_names:
            raise TabularError("sheet_not_found", name=sheet)
        data = wb.get_sheet_by_name(sheet)
    start = data.start
    if start is not None:
        # Belt and braces after the pre-scans: refuse before iterating.
        if data.total_height + 1 > max_rows:
            raise TabularError("too_many_rows", limit=max_rows)
        if data.height * data.width > max_cells:
            raise TabularError("file_unsafe")

    def rows() -> Iterator[Row]:
        if start is None:  # empty sheet; calamine's iterator would panic on it
            return
        pad = [""] * start[1]
        # calamine 0.9 iter_rows yields the leading empty rows too, so enumerate from row 1
        # (pinned by test_leading_blank_rows_keep_excel_numbers).
        for number, values in enumerate(data.iter_rows(), start=1):
            if number > max_rows:
                raise TabularError("too_many_rows", limit=max_rows)
            yield number, pad + values if pad else values

    return SheetRows(kind, sheet, rows, data.height if start is not None else 0)


def _read_csv(path: str | os.PathLike[str], max_rows: int, max_bytes: int) -> SheetRows:
    with open(path, "rb") as fh:
        raw = fh.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise TabularError("file_too_large", limit_mb=max_bytes // MB)
    text = _decode_text(raw)
    if text is None:
        raise TabularError("file_type", hint_zh="无法识别的文字编码", hint_en="unknown text encoding")
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","

    def rows() -> Iterator[Row]:
        try:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
            for number, values in enumerate(reader, start=1):
                if number > max_rows:
                    raise TabularError("too_many_rows", limit=max_rows)
                yield number, values
        except csv.Error as exc:
            raise TabularError("file_type", hint_zh="CSV格式错误", hint_en="malformed CSV") from exc

    return SheetRows("csv", "", rows)


# ---- xlsx pre-scan: bounded inflation + real cell extent

_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
_TAG = re.compile(rb"<(" + _PREFIX + rb")(row|c)(?=[\s/>])([^>]*?)(/?)>")
_R_ATTR = re.compile(rb"""(?<=\s)r\s*=\s*["']\s*([A-Za-z]*)(\d*)\s*["']""")
# Fast path for what Excel, WPS, openpyxl, XlsxWriter and POI write: unprefixed <c>/<row>
# tags opening with r=".." and no other r attribute (calamine honours the last of duplicated
# attributes). Then every position is one r="LETTERSdigits" and collecting them all bounds the
# rectangle. Anything irregular sends the chunk down the exact tag-by-tag path. The patterns
# start with a literal so the regex engine skips ahead fast (about 1.5 s per 200 MB of XML).
_IMPLICIT_TAG = re.compile(rb'<(?:c|row)[ >/](?!r=")')
_PREFIXED_TAG = re.compile(rb":(?:c|row)(?=[\s/>])")  # <x:c …>, <x:row …>
_EXTRA_R = re.compile(rb"r(?<=\sr)(?<!<c r)(?<!<row r)\s*=")
# Letters in either case: calamine reads r="xfd9" as column XFD.
_REF_LETTERS = re.compile(rb'r="([A-Za-z]+)\d')
_REF_DIGITS = re.compile(rb'r="[A-Za-z]*(\d+)')
_LAST_ROW = re.compile(rb'<row r="(\d+)"')
_MAX_COL = 16384


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper()[:6]:
        n = n * 26 + ch - 64
    return n if len(letters) <= 6 else 10**9


class _ExtentScanner:
    """Tracks the rectangle calamine will allocate for a sheet, from the raw XML stream.

    Raises as soon as the rectangle passes the limits, so a sparse bomb costs one chunk.
    """

    def __init__(self, max_rows: int, max_cells: int) -> None:
        self.max_rows, self.max_cells = max_rows, max_cells
        self.carry = b""
        self.row = 0  # current 1-based row, for rows and cells without an r attribute
        self.col = 0
        self.box = (10**12, 10**12, 0, 0)  # min_row, min_col, max_row, max_col

    def feed(self, chunk: bytes) -> None:
        buf = self.carry + chunk
        cut = buf.rfind(b">") + 1  # never split a tag between two scans
        self.carry = buf[cut:] if len(buf) - cut < MB else buf[-256:]
        if cut:
            self._scan(buf[:cut])

    def _grow(self, box: tuple[int, int, int, int], rows: Iterable[int], cols: Iterable[int]) -> tuple:
        rows, cols = list(rows), list(cols)
        if not rows or not cols:
            return box
        return (min(box[0], *rows), min(box[1], *cols), max(box[2], *rows), max(box[3], *cols))

    def _fits(self, box: tuple[int, int, int, int]) -> bool:
        if box[2] == 0:
            return True
        area = (box[2] - box[0] + 1) * (box[3] - box[1] + 1)
        return box[2] <= self.max_rows and box[3] <= _MAX_COL and area <= self.max_cells

    def _scan(self, data: bytes) -> None:
        box = None
        if (not _PREFIXED_TAG.search(data) and not _IMPLICIT_TAG.search(data)
                and not _EXTRA_R.search(data)):
            cols = {_col_number(c) for c in set(_REF_LETTERS.findall(data))}
            rows = {int(d) for d in set(_REF_DIGITS.findall(data))}
            box = self._grow(self.box, rows, cols)
            last_row = data.rfind(b"<row r=")
            if last_row >= 0 and (m := _LAST_ROW.match(data, last_row)):
                self.row, self.col = int(m.group(1)), box[3]  # col: conservative
        if box is None or not self._fits(box):
            # Irregular tags, or a box too big: styled empty cells (<c r="Z9" s="1"/>) count
            # in the fast path but hold no value, so decide on the exact tag-by-tag reading.
            box = self._slow_scan(data)
        self.box = box
        if not self._fits(box):
            if box[2] > self.max_rows:
                raise TabularError("too_many_rows", limit=self.max_rows)
            raise TabularError("file_unsafe")

    def _slow_scan(self, data: bytes) -> tuple[int, int, int, int]:
        box = self.box
        for m in _TAG.finditer(data):
            name, attrs, self_closing = m.group(2), m.group(3), m.group(4)
            refs = _R_ATTR.findall(attrs)
            if name == b"row":
                self.row = int(refs[-1][1]) if refs and refs[-1][1] else self.row + 1
                self.col = 0
                continue
            if refs and refs[-1][0]:
                self.col = _col_number(refs[-1][0])
                row = int(refs[-1][1]) if refs[-1][1] else self.row
            else:
                self.col += 1
                row = self.row
            if not self_closing:  # empty styled cells hold no value and are not stored
                rows = [max(row, 1)] + [int(d) for _c, d in refs if d]
                cols = [self.col] + [_col_number(c) for c, _d in refs if c]
                box = self._grow(box, rows, cols)
        return box


def _inflate(fh: IO[bytes], info: zipfile.ZipInfo, budget: list[int],
             sink: Callable[[bytes], None] | None, *, check_crc: bool = True) -> None:
    """Inflate one member with a hard output bound; verify declared size and CRC.

    The declared size is not trusted: output beyond it (or beyond the shared budget) is a bomb
    that lies in its headers, refused as soon as it shows.
    """
    if info.flag_bits & 0x1:
        raise TabularError("file_encrypted")
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) < 30 or local[:4] != _ZIP_MAGIC:
        raise TabularError("file_type")
    name_len, extra_len = struct.unpack_from("<HH", local, 26)
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    if info.compress_type == zipfile.ZIP_DEFLATED:
        decomp = zlib.decompressobj(-15)
    elif info.compress_type != zipfile.ZIP_STORED:
        raise TabularError("file_type")
    remaining, produced, crc = info.compress_size, 0, 0

    def emit(out: bytes) -> None:
        nonlocal produced, crc
        produced += len(out)
        budget[0] -= len(out)
        if produced > info.file_size or budget[0] < 0:
            raise TabularError("file_unsafe")
        if check_crc:
            crc = zlib.crc32(out, crc)
        if sink is not None and out:
            sink(out)

    pending = b""
    while True:
        if not pending and remaining > 0:
            pending = fh.read(min(remaining, MB))
            if not pending:
                raise TabularError("file_type")
            remaining -= len(pending)
        if info.compress_type == zipfile.ZIP_STORED:
            if not pending:
                break
            emit(pending)
            pending = b""
            continue
        # max_length keeps each step's output at 1 MB whatever the ratio
        out = decomp.decompress(pending, MB)
        pending = decomp.unconsumed_tail
        emit(out)
        if decomp.eof or (not out and not pending and remaining == 0):
            break
    if produced != info.file_size or (check_crc and crc != info.CRC):
        raise TabularError("file_type")


def _xml_children(data: bytes, local_name: str) -> list[dict[str, str]]:
    root = SafeET.fromstring(data)
    found = []
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] == local_name:
            found.append({k.rsplit("}", 1)[-1]: v for k, v in el.attrib.items()})
    return found


_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"


def _sheet_part(fh: IO[bytes], infos: dict[str, zipfile.ZipInfo], sheet: str | None,
                budget: list[int]) -> tuple[str | None, str | None]:
    """(sheet name, zip member of its XML): `sheet`, else the first visible worksheet, read from
    the workbook part and its relationships (both inflated under `budget`)."""

    def member(name: str) -> bytes:
        if infos[name].file_size > 8 * MB:  # workbook parts are a few KB
            raise TabularError("file_unsafe")
        parts: list[bytes] = []
        _inflate(fh, infos[name], budget, parts.append)
        return b"".join(parts)

    if "xl/workbook.xml" not in infos:
        raise TabularError("file_type")
    sheets = _xml_children(member("xl/workbook.xml"), "sheet")
    rels = _xml_children(member(_WORKBOOK_RELS), "Relationship") if _WORKBOOK_RELS in infos else []
    targets = {r.get("Id"): r for r in rels}
    for s in sheets:
        rel = targets.get(s.get("id"), {})
        is_ws = rel.get("Type", "").endswith("/worksheet")
        visible = s.get("state", "visible") == "visible"
        if (sheet is not None and s.get("name") == sheet) or (sheet is None and is_ws and visible):
            target = rel.get("Target", "")
            return s.get("name"), target.lstrip("/") if target.startswith("/") else "xl/" + target
    if sheet is not None:
        raise TabularError("sheet_not_found", name=sheet)
    return None, None


# ---- the row cap, from the sheet XML stream (issue 15): count rows while inflating, before
# anything parses the sheet. One bytes.count a 1 MB chunk (no copies, no regex): a 300 MB sheet
# is counted in about the time zlib takes to inflate it, in a few MB of memory. The extent scan
# below is a regex pass and calamine holds the whole sheet: neither may meet an over-long
# sheet first. What is counted is the end of a row element, "row>": `</row>` (and a prefixed
# `</x:row>`) once a row; a bare `<row>` start tag counts too (twice a row: over, never under).
_ROW_END = b"row>"
_SEAM = len(_ROW_END) - 1
# Bytes of sheet XML allowed per permitted row before the rows are even counted: a real roster
# row is ~700 bytes (200,000 rows = 140 MB); 4 KB leaves room for wide sheets and long notes.
ROW_BYTES_BUDGET = 4096
_MIN_SHEET_BYTES = 64 * MB


class _RowCounter:
    def __init__(self, max_rows: int, max_bytes: int) -> None:
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.rows = 0
        self.bytes = 0
        self.tail = b""  # the last bytes of the previous chunk: a match may straddle two

    def feed(self, chunk: bytes) -> None:
        self.bytes += len(chunk)
        if self.bytes > self.max_bytes:
            raise TabularError("too_many_rows", limit=self.max_rows,
                               hint_zh=f"工作表数据量超过 {self.max_bytes // MB} MB",
                               hint_en=f"the sheet holds more than {self.max_bytes // MB} MB of data")
        head = chunk[:_SEAM]
        self.rows += ((self.tail + head).count(_ROW_END) - self.tail.count(_ROW_END) - head.count(_ROW_END)
                      + chunk.count(_ROW_END))
        self.tail = chunk[-_SEAM:] if len(chunk) >= _SEAM else (self.tail + chunk)[-_SEAM:]
        if self.rows > self.max_rows:
            raise TabularError("too_many_rows", limit=self.max_rows)


@contextlib.contextmanager
def _zip_refusals() -> Iterator[None]:
    """A damaged or hostile xlsx container read by hand: only TabularError escapes."""
    try:
        yield
    except TabularError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, struct.error, zlib.error,
            SafeET.ParseError, UnicodeDecodeError) as exc:  # type: ignore[attr-defined]
        raise TabularError("file_type") from exc
    except Exception as exc:  # defusedxml refusals (entities, DTDs) and anything odd
        raise TabularError("file_unsafe") from exc


def sheet_row_guard(path: str | os.PathLike[str], kind: str, sheet: str | None = None, *,
                    max_rows: int = MAX_ROWS, max_uncompressed: int = MAX_UNCOMPRESSED) -> int:
    """Refuse a workbook whose sheet has more than `max_rows` rows (too_many_rows), counted
    from its XML while it is inflated in 1 MB chunks, before any parser sees it; returns the
    count. The sheet's XML may hold at most ROW_BYTES_BUDGET bytes per permitted row (at least
    64 MB), so a sheet of few but enormous rows is refused as early. xls (65,536 rows at most,
    measured by prescan) and csv (counted as read) pass. Only TabularError escapes."""
    if kind != "xlsx":
        return 0
    max_bytes = min(max_uncompressed, max(_MIN_SHEET_BYTES, max_rows * ROW_BYTES_BUDGET))
    budget = [max_uncompressed]
    with _zip_refusals(), open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        _chosen, part = _sheet_part(fh, infos, sheet, budget)
        parts = [part] if part in infos else [n for n in infos if n.startswith("xl/worksheets/")
                                              and n.endswith(".xml")]
        most = 0
        for name in parts:
            counter = _RowCounter(max_rows, max_bytes)
            # The CRC is left to prescan, which inflates every member anyway.
            _inflate(fh, infos[name], budget, counter.feed, check_crc=False)
            most = max(most, counter.rows)
        return most


def _xlsx_prescan(path: str | os.PathLike[str], sheet: str | None, max_rows: int, max_cells: int,
                  max_uncompressed: int) -> str | None:
    """Verify every member and measure the chosen sheet; return that sheet's name."""
    budget = [max_uncompressed]
    with _zip_refusals(), open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        chosen, part = _sheet_part(fh, infos, sheet, budget)
        scanned = {part} if part in infos else {n for n in infos if n.startswith("xl/worksheets/")}
        for name, info in infos.items():
            if name in ("xl/workbook.xml", _WORKBOOK_RELS):
                continue
            scanner = _ExtentScanner(max_rows, max_cells) if name in scanned else None
            _inflate(fh, info, budget, scanner.feed if scanner else None)
            if scanner:
                scanner.feed(b">")  # flush the carried tail
    return chosen


# ---- xls pre-scan: the same dense-rectangle danger (BIFF columns are 16-bit: a 3 KB .xls with
# cells in A1 and column 65000 makes calamine ask for 2.6 GB), read from the OLE container.

_ENDOFCHAIN = 0xFFFFFFFE
# BIFF cell records (BIFF2-8) that carry (row, col) in their first four bytes.
_BIFF_CELLS = {0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0201, 0x0203, 0x0204, 0x0205,
               0x027E, 0x00FD, 0x00D6, 0x0206, 0x0406}
_BIFF_MULTI = {0x00BD, 0x00BE}  # MULRK, MULBLANK: row, first col, ..., last col


def _ole_streams(data: bytes, wanted: set[str]) -> list[bytes]:
    """The named streams of a compound file (regular or mini stream), loop-safe."""
    ssize = 1 << struct.unpack_from("<H", data, 30)[0]
    if ssize not in (512, 4096):
        raise TabularError("file_type")
    nsect = len(data) // ssize
    _n_fat, first_dir, _tx, cutoff, first_mini, _n_mini, first_difat = struct.unpack_from("<7I", data, 44)
    fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s < nsect]
    sect, seen = first_difat, 0
    while sect < nsect and seen < nsect:
        entries = struct.unpack_from(f"<{ssize // 4}I", data, (sect + 1) * ssize)
        fat_sectors += [s for s in entries[:-1] if s < nsect]
        sect, seen = entries[-1], seen + 1
    fat = b"".join(data[(s + 1) * ssize:(s + 2) * ssize] for s in dict.fromkeys(fat_sectors))

    def chain(start: int, table: bytes, size: int, base: Callable[[int], bytes]) -> bytes:
        out, sect, seen = [], start, set()
        while sect < len(table) // 4 and sect not in seen:  # a cycle must not loop or repeat
            seen.add(sect)
            out.append(base(sect))
            sect = struct.unpack_from("<I", table, sect * 4)[0]
        return b"".join(out)[:size] if size >= 0 else b"".join(out)

    def regular(s: int) -> bytes:
        return data[(s + 1) * ssize:(s + 2) * ssize]

    directory = chain(first_dir, fat, -1, regular)
    entries = [directory[i:i + 128] for i in range(0, len(directory) - 127, 128)]
    if not entries or not fat:
        raise TabularError("file_type")
    root_start, root_size = struct.unpack_from("<II", entries[0], 116)
    mini_container = chain(root_start, fat, root_size, regular)
    minifat = chain(first_mini, fat, -1, regular) if first_mini != _ENDOFCHAIN else b""
    streams = []
    for entry in entries:
        name_len = min(struct.unpack_from("<H", entry, 64)[0], 64)
        name = entry[:max(name_len - 2, 0)].decode("utf-16-le", "replace")
        if entry[66] != 2 or name.lower() not in wanted:
            continue
        start, size = struct.unpack_from("<II", entry, 116)
        if size < cutoff:
            streams.append(chain(start, minifat, size, lambda s: mini_container[s * 64:(s + 1) * 64]))
        else:
            streams.append(chain(start, fat, size, regular))
    return streams


def _xls_prescan(path: str | os.PathLike[str], max_rows: int, max_cells: int) -> None:
    """Measure every worksheet's cell rectangle from the BIFF records; refuse oversize ones."""
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        streams = _ole_streams(data, {"workbook", "book"})
    except (struct.error, IndexError, ValueError) as exc:
        raise TabularError("file_type") from exc
    for stream in streams:
        box = [10**6, 10**6, -1, -1]
        pos, end = 0, len(stream) - 4
        while pos <= end:
            rtype, rlen = struct.unpack_from("<HH", stream, pos)
            body = stream[pos + 4:pos + 4 + rlen]
            pos += 4 + rlen
            if rtype == 0x0809 or rtype == 0x000A:  # BOF/EOF: a new substream, a new box
                box = [10**6, 10**6, -1, -1]
                continue
            if len(body) < 6 or (rtype not in _BIFF_CELLS and rtype not in _BIFF_MULTI):
                continue
            row, col = struct.unpack_from("<HH", body, 0)
            last_col = struct.unpack_from("<H", body, len(body) - 2)[0] if rtype in _BIFF_MULTI else col
            if max(col, last_col) > 255:  # BIFF8 has 256 columns; calamine would take 65,536
                raise TabularError("file_unsafe")
            box = [min(box[0], row), min(box[1], col), max(box[2], row), max(box[3], last_col, col)]
            if box[2] + 1 > max_rows:
                raise TabularError("too_many_rows", limit=max_rows)
            if (box[2] - box[0] + 1) * (box[3] - box[1] + 1) > max_cells:
                raise TabularError("file_unsafe")


# --------------------------------------------------------------------------- headers

_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】|〔[^〕]*〕")


def normalize_label(value: Cell) -> str:
    """Header text as compared: NFKC, no whitespace, no "*" or (必填)/(选填) markers, lower case."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    text = re.sub(r"\s+", "", text).replace("*", "").replace("(必填)", "").replace("(选填)", "")
    return text.strip(":").lower()


@dataclass(frozen=True)
class Column:
    """One column an import kind understands, with every header text users write for it."""

    key: str
    labels: Sequence[str]
    required: bool = False


@dataclass
class HeaderMap:
    """Where the header is and which column holds each key (0-based, Excel column A = 0)."""

    header_rows: tuple[int, ...]
    columns: dict[str, int]
    labels: dict[str, str]
    unknown: list[tuple[int, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # optional keys not found
    leading_rows: list[Row] = field(default_factory=list)  # title + header rows, as read

    @property
    def last_header_row(self) -> int:
        return self.header_rows[-1]


def _text(value: Cell) -> str:
    return "" if value is None else str(value).strip()


def _candidates_single(values: list[Cell]) -> list[list[str]]:
    return [[_text(v)] if _text(v) else [] for v in values]


def _candidates_pair(top: list[Cell], bottom: list[Cell]) -> list[list[str]]:
    """Labels of a two-row header: the bottom label (tried with its group label first),
    or the top label where the bottom cell is blank (a vertically merged cell)."""
    width = max(len(top), len(bottom))
    out: list[list[str]] = []
    group = ""
    for c in range(width):
        t = _text(top[c]) if c < len(top) else ""
        b = _text(bottom[c]) if c < len(bottom) else ""
        if t and b:  # a group label starts here (merged cells keep it in the first column)
            group = t
        elif t:  # a label merged vertically over both rows
            group = ""
        if b:
            out.append([group + b, b] if group else [b])
        else:
            out.append([t] if t else [])
    return out


def _match(cands: list[list[str]], lookup: dict[str, str]) -> tuple[dict[str, int], dict[str, str]]:
    """Assign each key to at most one column; first-choice labels before fallbacks."""
    columns: dict[str, int] = {}
    labels: dict[str, str] = {}
    for rank in (0, 1):
        for c, options in enumerate(cands):
            if c in columns.values() or len(options) <= rank:
                continue
            for variant in (normalize_label(options[rank]), _PARENS.sub("", normalize_label(options[rank]))):
                key = lookup.get(variant)
                if key and key not in columns:
                    columns[key], labels[key] = c, options[-1]
                    break
    return columns, labels


def find_header(rows: Iterable[Row], spec: Sequence[Column], *, scan_rows: int = 30) -> HeaderMap:
    """Find the header row (or two-row header) among the first `scan_rows` rows.

    The row matching most labels wins (required ones first); title rows above it are simply
    not chosen. Columns are mapped by header text, never by position, so reordered columns
    and extra columns are fine. Missing required columns raise `header_missing`, which is also
    how a file of the wrong kind is recognised.
    """
    top = list(islice(iter(rows), scan_rows))
    lookup: dict[str, str] = {}
    for col in spec:
        for label in (col.key, *col.labels):
            lookup.setdefault(normalize_label(label), col.key)
    required = {c.key for c in spec if c.required}
    best: tuple[tuple[int, int, int], int, int, dict[str, int], dict[str, str], list[list[str]]] | None = None
    for i, (number, values) in enumerate(top):
        options: list[tuple[int, list[list[str]]]] = [(1, _candidates_single(values))]
        if i + 1 < len(top) and top[i + 1][0] == number + 1:
            options.append((2, _candidates_pair(values, top[i + 1][1])))
        for height, cands in options:
            columns, labels = _match(cands, lookup)
            score = (len(required & columns.keys()), len(columns), -height)
            if columns and (best is None or score > best[0]):
                best = (score, i, height, columns, labels, cands)
    found = best[3] if best else {}
    missing_required = [c for c in spec if c.required and c.key not in found]
    if best is None or missing_required:
        names = "、".join(c.labels[0] if c.labels else c.key for c in missing_required or spec)
        raise TabularError("header_missing", labels=names)
    _score, i, height, columns, labels, cands = best
    used = set(columns.values())
    unknown = [(c, opts[-1]) for c, opts in enumerate(cands) if opts and c not in used]
    return HeaderMap(
        header_rows=tuple(top[j][0] for j in range(i, i + height)),
        columns=columns, labels=labels, unknown=unknown,
        missing=[c.key for c in spec if c.key not in columns],
        leading_rows=top[: i + height],
    )


# --------------------------------------------------------------------------- records

_FOOTER_SKIP = ("合计", "总计", "小计")
_FOOTER_STOP = ("填表人", "审核人", "制表人", "负责人", "单位负责人")
_FOOTER_FIRST = re.compile("[" + "".join(sorted({w[0] for w in _FOOTER_SKIP + _FOOTER_STOP})) + "]")


def _may_be_footer(text: str) -> bool:
    """False only for text whose label cannot start with a footer word: ASCII (a 学校标识码 or
    an ID; isascii() reads a flag), or text already in NFKC form (normalize_label then only
    drops characters) that holds no footer word's first character. Much cheaper than
    normalize_label (~0.7 µs), which every data row of a sheet would otherwise pay."""
    return not text.isascii() and (not unicodedata.is_normalized("NFKC", text)
                                   or _FOOTER_FIRST.search(text) is not None)


@dataclass(frozen=True)
class Record:
    row: int  # Excel row number, for error reports
    values: dict[str, Cell]

    def get(self, key: str, default: Cell = None) -> Cell:
        return self.values.get(key, default)


def iter_data_rows(rows: Iterable[Row], header_map: HeaderMap) -> Iterator[Row]:
    """Data rows below the header as `(excel_row_number, values)`; blank rows and footers
    are skipped exactly as in `iter_records` (which is built on this). For bulk imports that
    read cells by column index instead of building a dict per row.

    A signature line (填表人/审核人/…) ends the table: whatever follows is form furniture.
    """
    last = header_map.last_header_row
    for number, values in rows:
        if number <= last:
            continue
        for first_value in values:  # the first non-blank cell (_is_blank, inlined: every row)
            if first_value is None or first_value == "":
                continue
            if not isinstance(first_value, str) or first_value.strip().strip(_INVISIBLE):
                break
        else:
            continue  # a blank row
        # numbers and dates never spell 合计 or 填表人, nor does most text (_may_be_footer)
        if isinstance(first_value, str) and _may_be_footer(first_value):
            first = normalize_label(first_value)
            if first.startswith(_FOOTER_STOP):
                break
            if first.startswith(_FOOTER_SKIP):
                continue
        yield number, values


def iter_records(rows: Iterable[Row], header_map: HeaderMap) -> Iterator[Record]:
    """Data rows below the header as Records; blank rows and footers are skipped.

    A signature line (填表人/审核人/…) ends the table: whatever follows is form furniture.
    """
    columns = header_map.columns.items()
    for number, values in iter_data_rows(rows, header_map):
        yield Record(number, {key: values[c] if c < len(values) else "" for key, c in columns})


# --------------------------------------------------------------------------- normalisers

_INVISIBLE = "\u200b\u200c\u200d\ufeff"


def _is_blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip().strip(_INVISIBLE))


def _invalid(code: str, value: Cell, zh: str = "", en: str = "") -> CellError:
    shown = str(value)[:40]
    return CellError(code, hint_zh=zh or f"“{shown}”", hint_en=en or repr(shown), value=value)


def _blank_or_raise(value: Cell, required: bool) -> bool:
    if _is_blank(value):
        if required:
            raise CellError("required_missing")
        return True
    return False


def _clean(value: Cell) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip().strip(_INVISIBLE).strip()


def parse_text(value: Cell, *, required: bool = False, max_length: int | None = None) -> str:
    """Text as stored: NFKC, trimmed; a number Excel made of a phone or code loses its ".0".

    One leading apostrophe is dropped: users type it to force text, and `escape_formula` adds
    it on export, so a round trip gives the original back.
    """
    if _blank_or_raise(value, required):
        return ""
    if isinstance(value, bool):
        text = "是" if value else "否"
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _invalid("value_invalid", value)
        text = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, dt.date | dt.time):
        text = value.isoformat()
    else:
        text = _clean(value)
        if text.startswith(("'", "‘", "’")):
            text = text[1:].strip()
    if max_length is not None and len(text) > max_length:
        raise _invalid("value_invalid", value, f"超过{max_length}个字", f"longer than {max_length}")
    return text


def parse_id(value: Cell, *, required: bool = True) -> str | None:
    """A valid resident ID or CellError with idnumbers' code (id_numeric, id_checksum, …)."""
    if not required and _is_blank(value):
        return None
    try:
        return validate_id(value)
    except IdNumberError as exc:
        raise CellError(exc.code, value=value) from None


_SERIAL_MAX = (dt.date(2100, 12, 31) - dt.date(1899, 12, 30)).days
_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                      r"(?:[\sT]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_YM_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:\s*[-/.]\s*\d{1,2}\s*日?|\s*\d{1,2}\s*日)?"
                    r"(?:\s+[\d:.]+)?")
_COMPACT_YM = re.compile(r"(\d{4})(\d{2})")


def _serial_to_date(serial: float) -> dt.date | None:
    """Excel 1900-system serial to date; None unless it lands in 1900–2100."""
    days = math.floor(serial)
    if days < 1 or days > _SERIAL_MAX or days == 60:  # 60 is Excel's phantom 1900-02-29
        return None
    return dt.date(1899, 12, 31 if days < 60 else 30) + dt.timedelta(days=days)


def _make_date(y: str | int, m: str | int, d: str | int, value: Cell) -> dt.date:
    try:
        date = dt.date(int(y), int(m), int(d))
    except ValueError:
        raise _invalid("value_invalid", value, f"日期不存在“{value}”", f"no such date {value!r}") from None
    if not 1900 <= date.year <= 2100:
        raise _invalid("value_invalid", value)
    return date


def parse_date(value: Cell, *, required: bool = False) -> dt.date | None:
    """Dates as people and Excel write them: date cells, serials, 2012-05-06, 2012年5月6日, …"""
    if _blank_or_raise(value, required):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise _invalid("value_invalid", value)
        if float(value).is_integer() and 19000101 <= value <= 21001231:
            value = str(int(value))  # 20120506 typed as a number
        else:
            date = _serial_to_date(value)
            if date is None:
                raise _invalid("value_invalid", value)
            return date
    if not isinstance(value, str):
        raise _invalid("value_invalid", value)
    text = _clean(value)
    m = _DATE_RE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if not m:
        raise _invalid("value_invalid", value, f"无法识别的日期“{text[:40]}”", f"not a date {text[:40]!r}")
    return _make_date(*m.groups(), value)


def parse_year_month(value: Cell, *, required: bool = False) -> tuple[int, int] | None:
    """(year, month) from 2019-09, 201909, 2019年9月, 2019.9, a date, or the number 201909."""
    if _blank_or_raise(value, required):
        return None
    if isinstance(value, dt.date):
        return value.year, value.month
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise _invalid("value_invalid", value)
        if float(value).is_integer():
            n = int(value)
            if 190001 <= n <= 210012 and 1 <= n % 100 <= 12:
                return n // 100, n % 100
            date = parse_date(value)
            assert date is not None
            return date.year, date.month
        text = format(value, ".10g")
        if re.fullmatch(r"\d{4}\.1", text):  # 2019.1 or 2019.10? the number cannot tell
            raise _invalid("value_invalid", value, "请写成“2019年10月”或设置为文本", "write it as 2019-10")
        value = text
    if not isinstance(value, str):
        raise _invalid("value_invalid", value)
    text = _clean(value)
    m = _YM_RE.fullmatch(text) or _COMPACT_YM.fullmatch(text)
    if not m:
        if _COMPACT_DATE.fullmatch(text):
            date = parse_date(text)
            assert date is not None
            return date.year, date.month
        raise _invalid("value_invalid", value, f"无法识别的年月“{text[:40]}”", f"not a year-month {text[:40]!r}")
    date = _make_date(m.group(1), m.group(2), 1, value)
    return date.year, date.month


_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def parse_grade(value: Cell, *, required: bool = False) -> int | None:
    """Compulsory-education grade 1–9 from 一年级, 初二, 七年级, "3", 3.0 …; else grade_unknown."""
    if _blank_or_raise(value, required):
        return None
    if isinstance(value, bool):
        raise _invalid("grade_unknown", value)
    if isinstance(value, int | float):
        if math.isfinite(value) and float(value).is_integer() and 1 <= value <= 9:
            return int(value)
        raise _invalid("grade_unknown", value)
    text = re.sub(r"\s+", "", _clean(value)).removeprefix("小学")
    junior = text.startswith("初")
    text = text.removeprefix("初中").removeprefix("初").removesuffix("年级").removesuffix("年")
    n = _CN_DIGITS.get(text) or (int(text) if text.isdigit() and len(text) == 1 else 0)
    if junior and 1 <= n <= 3:
        n += 6  # 初一 = grade 7
    elif junior and n not in (7, 8, 9):
        n = 0
    if not 1 <= n <= 9:
        raise _invalid("grade_unknown", value)
    return n


_TRUE = {"是", "√", "✓", "✔", "Y", "YES", "TRUE", "1", "1.0"}
_FALSE = {"否", "×", "✗", "✘", "N", "NO", "FALSE", "0", "0.0"}


def parse_bool(value: Cell) -> bool:
    """是/否, √/×, Y/N, 1/0, True/False; blank means no."""
    if _is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else _clean(value).upper()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _invalid("value_invalid", value)


_SEX = {"男": "M", "男性": "M", "M": "M", "MALE": "M", "1": "M",
        "女": "F", "女性": "F", "F": "F", "FEMALE": "F", "2": "F"}


def parse_sex(value: Cell, *, required: bool = False) -> str | None:
    """"M" or "F" from 男/女, M/F or the national code 1/2."""
    if _blank_or_raise(value, required):
        return None
    if isinstance(value, bool):
        raise _invalid("value_invalid", value)
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else _clean(value).upper()
    if text not in _SEX:
        raise _invalid("value_invalid", value)
    return _SEX[text]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, streamed (uploads are kept by digest to spot re-uploads)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(MB):
            digest.update(chunk)
    return digest.hexdigest()
