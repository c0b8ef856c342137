"""Whether an upload may be parsed at all, decided before any parser sees it, in a few MB.

* `sniff_upload` decides by content and rejects bombs from the zip central directory alone, so
  a hostile upload costs milliseconds and no decompression.
* `sheet_row_guard` counts an xlsx sheet's rows while inflating its XML with a hard output
  bound, so an over-long sheet is refused in about a second instead of being parsed.

Everything else a hostile workbook can do (a sparse sheet whose dense rectangle is gigabytes, a
member that inflates past what its header declares) meets the reader process's memory cap:
calamine parses a workbook only there (kongchuo.imports.reader).
"""

from __future__ import annotations

import codecs
import io
import os
import struct
import zipfile
import zlib
from typing import IO

from defusedxml import ElementTree as SafeET
from django.utils.translation import gettext_noop

from kongchuo.imports.cells import (
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
        if info.flag_bits & 0x1:
            raise TabularError("file_encrypted")
        # What Excel and every xlsx writer use, and all zipfile inflates in bounded steps: it
        # decompresses bzip2 and LZMA a whole read at a time, whatever the output.
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise TabularError("file_type")
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


def _xml_children(data: bytes, local_name: str) -> list[dict[str, str]]:
    root = SafeET.fromstring(data)
    found = []
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] == local_name:
            found.append({k.rsplit("}", 1)[-1]: v for k, v in el.attrib.items()})
    return found


_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"


def _sheet_part(zf: zipfile.ZipFile, names: list[str], sheet: str | None) -> str | None:
    """The zip member of the XML of `sheet`, else of the first visible worksheet, read from the
    workbook part and its relationships."""

    def member(name: str) -> bytes:
        if zf.getinfo(name).file_size > 8 * MB:  # workbook parts are a few KB
            raise TabularError("file_unsafe")
        return zf.read(name)

    sheets = _xml_children(member("xl/workbook.xml"), "sheet")
    rels = _xml_children(member(_WORKBOOK_RELS), "Relationship") if _WORKBOOK_RELS in names else []
    targets = {r.get("Id"): r for r in rels}
    for s in sheets:
        rel = targets.get(s.get("id"), {})
        is_ws = rel.get("Type", "").endswith("/worksheet")
        visible = s.get("state", "visible") == "visible"
        if (sheet is not None and s.get("name") == sheet) or (sheet is None and is_ws and visible):
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    if sheet is not None:
        raise TabularError("sheet_not_found", name=sheet)
    return None


# ---- the row cap, from the sheet XML stream (issue 15): count rows while inflating, before
# anything parses the sheet. One bytes.count a 1 MB chunk (no copies, no regex): a 300 MB sheet
# is counted in about the time zlib takes to inflate it, in a few MB of memory, where calamine
# would hold the whole sheet. What is counted is the end of a row element, "row>": `</row>` (and
# a prefixed `</x:row>`) once a row; a bare `<row>` start tag counts too (twice a row: over,
# never under).
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


def sheet_row_guard(path: str | os.PathLike[str], kind: str, sheet: str | None = None, *,
                    max_rows: int = MAX_ROWS) -> int:
    """Refuse a workbook whose sheet has more than `max_rows` rows (too_many_rows), counted
    from its XML while it is inflated in 1 MB chunks, before any parser sees it; returns the
    count. The sheet's XML may hold at most ROW_BYTES_BUDGET bytes per permitted row (at least
    64 MB), so a sheet of few but enormous rows is refused as early. zipfile stops inflating at
    the size a member declares and checks its CRC, so a member that lies is refused. xls (65,536
    rows at most, checked as calamine reads it) and csv (counted as read) pass. Only
    TabularError escapes."""
    if kind != "xlsx":
        return 0
    max_bytes = min(MAX_UNCOMPRESSED, max(_MIN_SHEET_BYTES, max_rows * ROW_BYTES_BUDGET))
    try:
        with zipfile.ZipFile(path) as zf:  # sniffed: members stored or deflated, unencrypted
            names = zf.namelist()
            part = _sheet_part(zf, names, sheet)
            parts = [part] if part in names else [n for n in names if n.startswith("xl/worksheets/")
                                                  and n.endswith(".xml")]
            most = 0
            for name in parts:
                counter = _RowCounter(max_rows, max_bytes)
                with zf.open(name) as member:
                    while chunk := member.read(MB):
                        counter.feed(chunk)
                most = max(most, counter.rows)
            return most
    except TabularError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, struct.error, zlib.error,
            SafeET.ParseError, UnicodeDecodeError, NotImplementedError) as exc:
        raise TabularError("file_type") from exc
    except Exception as exc:  # defusedxml refusals (entities, DTDs) and anything odd
        raise TabularError("file_unsafe") from exc
