"""Reading a sheet: its rows, header detection over title rows and merged two-row headers,
records without blank rows and footers. App-agnostic on purpose: every import kind goes
through the same reading, so a shifted header row or a 合计 footer is handled once.

`open_sheet` reads in this process; an upload is read through kongchuo.imports.reader, which
parses a workbook only in its memory-capped reader process.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from django.utils.translation import gettext_noop
from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

from kongchuo.imports.cells import (
    INVISIBLE,
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
    MB,
    Cell,
    Row,
    TabularError,
    Text,
)
from kongchuo.imports.filesafety import decode_text

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


def open_sheet(path: str | os.PathLike[str], fmt: str, sheet: str | None = None, *,
               max_rows: int = MAX_ROWS, max_bytes: int = MAX_UPLOAD_BYTES) -> SheetRows:
    """The rows of one sheet (a workbook's first visible worksheet unless `sheet` names one) as
    `fmt` ("csv", "xlsx" or "xls", what sniff_upload said), read in this process; more than
    `max_rows` rows raise too_many_rows. Only TabularError escapes.

    calamine allocates the dense rectangle a sheet's cells span, so a 5 KB workbook can make
    it ask for gigabytes and abort the process: a workbook is opened here only inside the
    memory-capped reader process (kongchuo.imports.reader).
    """
    if fmt == "csv":
        return _read_csv(path, max_rows, max_bytes)
    try:
        return _read_workbook(path, fmt, sheet, max_rows)
    except TabularError:
        raise
    except PasswordError as exc:
        raise TabularError("file_encrypted") from exc
    except BaseException as exc:  # calamine raises CalamineError subclasses and, rarely, pyo3 panics
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit | MemoryError):
            raise
        raise TabularError("file_type") from exc


def _read_workbook(path: str | os.PathLike[str], fmt: str, sheet: str | None, max_rows: int) -> SheetRows:
    with CalamineWorkbook.from_path(path) as wb:
        if sheet is None:
            visible = [m.name for m in wb.sheets_metadata
                       if m.visible == SheetVisibleEnum.Visible and m.typ == SheetTypeEnum.WorkSheet]
            if not visible:
                raise TabularError("file_type", hint=Text(gettext_noop("没有可见的工作表")))
            sheet = visible[0]
        elif sheet not in wb.sheet_names:
            raise TabularError("sheet_not_found", name=sheet)
        data = wb.get_sheet_by_name(sheet)
    start = data.start
    if start is not None and data.total_height + 1 > max_rows:  # before a row is iterated
        raise TabularError("too_many_rows", limit=max_rows)

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

    return SheetRows(fmt, sheet, rows, data.height if start is not None else 0)


def _read_csv(path: str | os.PathLike[str], max_rows: int, max_bytes: int) -> SheetRows:
    with open(path, "rb") as fh:
        raw = fh.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise TabularError("file_too_large", limit_mb=max_bytes // MB)
    text = decode_text(raw)
    if text is None:
        raise TabularError("file_type", hint=Text(gettext_noop("无法识别的文字编码")))
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
            raise TabularError("file_type", hint=Text(gettext_noop("CSV格式错误"))) from exc

    return SheetRows("csv", "", rows)


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
        names = [c.labels[0] if c.labels else c.key for c in missing_required or spec]
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
    normalize_label, which every data row of a sheet would otherwise pay (docs/performance.md)."""
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
            if not isinstance(first_value, str) or first_value.strip().strip(INVISIBLE):
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

