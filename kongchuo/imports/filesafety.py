"""Whether an upload may be parsed at all: sniffing by content and the pre-scans calamine must
not parse a workbook without.

Why the reading path looks paranoid:
* `sniff_upload` decides by content and rejects bombs from the zip central directory alone, so
  a hostile upload costs milliseconds and no decompression.
* calamine allocates the dense rectangle spanned by a sheet's cells; a 5 KB xlsx with cells in
  A1 and ZZ200000 makes it request gigabytes and aborts the whole process (Rust OOM is not an
  exception). `prescan` therefore inflates every member itself with a hard output bound,
  verifies sizes and CRCs, and measures the real cell extent of the chosen sheet before calamine
  sees the file. The <dimension> element is never read.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from defusedxml import ElementTree as SafeET
from django.utils.translation import gettext_noop

from kongchuo.imports.cells import (
    MAX_CELLS,
    MAX_MEMBERS,
    MAX_RATIO,
    MAX_ROWS,
    MAX_UNCOMPRESSED,
    MAX_UPLOAD_BYTES,
    MB,
    TabularError,
    Text,
)

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
    if isinstance(path_or_fileobj, str | os.PathLike):
        with open(path_or_fileobj, "rb") as fh:
            return _sniff(fh, max_bytes, max_uncompressed, max_members, max_ratio)
    try:
        return _sniff(path_or_fileobj, max_bytes, max_uncompressed, max_members, max_ratio)
    finally:
        path_or_fileobj.seek(0)


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
        raise TabularError("file_type", hint=Text(gettext_noop("文件不完整")))
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
        raise TabularError("file_type", hint=Text(gettext_noop("不接受含宏的 .xlsm 文件，请另存为 .xlsx")))
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
        raise TabularError("file_type", hint=Text(gettext_noop("不接受含宏的 .xlsm 文件，请另存为 .xlsx")))


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
    text = decode_text(sample, final=at_eof)
    if text is None:
        return False
    return not any((ord(ch) < 32 and ch not in "\t\r\n") or ord(ch) == 127 for ch in text)


def decode_text(data: bytes, *, final: bool = True) -> str | None:
    """UTF-8 (with or without BOM) first, GB18030 second; None when neither decodes."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    for encoding in ("utf-8", "gb18030"):
        try:
            return codecs.getincrementaldecoder(encoding)().decode(data, final=final)
        except UnicodeDecodeError:
            continue
    return None


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


# ---- xlsx pre-scan: bounded inflation + real cell extent

_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
_TAG = re.compile(rb"<(" + _PREFIX + rb")(row|c)(?=[\s/>])([^>]*?)(/?)>")
_R_ATTR = re.compile(rb"""(?<=\s)r\s*=\s*["']\s*([A-Za-z]*)(\d*)\s*["']""")
# Fast path for what Excel, WPS, openpyxl, XlsxWriter and POI write: unprefixed <c>/<row>
# tags opening with r=".." and no other r attribute (calamine honours the last of duplicated
# attributes). Then every position is one r="LETTERSdigits" and collecting them all bounds the
# rectangle. Anything irregular sends the chunk down the exact tag-by-tag path. The patterns
# start with a literal so the regex engine skips ahead fast (figures: docs/performance.md).
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
                               hint=Text(gettext_noop("工作表数据量超过 %(mb)s MB"), mb=self.max_bytes // MB))
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
            SafeET.ParseError, UnicodeDecodeError) as exc:
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
        links = struct.unpack_from(f"<{ssize // 4}I", data, (sect + 1) * ssize)
        fat_sectors += [s for s in links[:-1] if s < nsect]
        sect, seen = links[-1], seen + 1
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

