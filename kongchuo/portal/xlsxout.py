"""Excel output: error workbooks, official-layout registers (台账), plain tables.

App-agnostic like `kongchuo.imports.tabular`. Every writer goes through `_write_cell`, which writes
text with `write_string` (an ID stays text, nothing becomes a formula) after `escape_formula`,
so a name such as "=HYPERLINK(...)" typed into a roster cannot run in a colleague's Excel.
XlsxWriter runs in constant_memory mode: rows are flushed as they are written, so a county-size
register stays small in memory; the price is that every row must be written in order (see
`_register_merge`).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

FONT = "宋体"  # SimSun: what county forms are printed in; WPS and Excel both map it
ERROR_HEADER = "错误原因"
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")

Out = str | os.PathLike[str] | IO[bytes]


def escape_formula(value: Any) -> Any:
    """Prefix "'" to text that a spreadsheet could read as a formula (OWASP ASVS 5.3.10).

    Only text is touched: the number -5 stays a number, the text "-5" becomes "'-5".
    `tabular.parse_text` drops that apostrophe again when the file comes back.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_TRIGGERS):
        return "'" + value
    return value


def _workbook(out: Out) -> xlsxwriter.Workbook:
    return xlsxwriter.Workbook(out, {  # type: ignore[arg-type]
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "default_date_format": "yyyy-mm-dd",
        "default_format_properties": {"font_name": FONT, "font_size": 11},
    })


class _Formats:
    """The handful of cell formats a sheet needs, created once per workbook."""

    def __init__(self, wb: xlsxwriter.Workbook, border: int = 0, tint: str | None = None) -> None:
        base = {"font_name": FONT, "font_size": 11, "valign": "vcenter", "border": border}
        if tint:
            base["bg_color"] = tint
        self.text = wb.add_format({**base, "num_format": "@"})
        self.number = wb.add_format(base)
        self.int = wb.add_format({**base, "num_format": "0"})
        self.money = wb.add_format({**base, "num_format": "#,##0.00"})
        self.date = wb.add_format({**base, "num_format": "yyyy-mm-dd"})
        self.datetime = wb.add_format({**base, "num_format": "yyyy-mm-dd hh:mm:ss"})
        self.time = wb.add_format({**base, "num_format": "hh:mm:ss"})
        self.header = wb.add_format({**base, "bold": True, "align": "center", "text_wrap": True,
                                     "border": 1, "bg_color": "#F2F2F2"})
        self.center = wb.add_format({**base, "align": "center"})
        self.error = wb.add_format({**base, "font_color": "#C00000", "bg_color": "#FFC7CE",
                                    "text_wrap": True, "num_format": "@"})


def _write_cell(ws: Worksheet, row: int, col: int, value: Any, fmt: _Formats,
                kind: str | None = None) -> None:
    """Write one value with its own type; text always as a string, escaped."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt.text if kind == "text" else fmt.number)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt.number)
    elif isinstance(value, int | float) and kind != "text":
        if isinstance(value, float) and not math.isfinite(value):
            ws.write_string(row, col, str(value), fmt.text)
        else:
            cell_fmt = fmt.money if kind == "money" else fmt.int if kind == "int" else fmt.number
            ws.write_number(row, col, value, cell_fmt)
    elif isinstance(value, dt.datetime):
        ws.write_datetime(row, col, value.replace(tzinfo=None),
                          fmt.date if kind == "date" else fmt.datetime)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, value, fmt.date)
    elif isinstance(value, dt.time):
        ws.write_datetime(row, col, value, fmt.time)
    else:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a phone typed as a number, in a text column
        ws.write_string(row, col, escape_formula(str(value)), fmt.text)


def _register_merge(ws: Worksheet, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
    """Record a merged range whose cells were already written in row order.

    XlsxWriter's merge_range writes the whole block at once, which constant_memory cannot do
    for a range spanning rows (row 1 is flushed once row 2 is touched). The merge list is
    what XlsxWriter itself serialises into <mergeCells>; tests check the result in openpyxl.
    """
    ws.merge.append([first_row, first_col, last_row, last_col])


def _header_text_width(text: Any) -> float:
    s = str(text)
    return sum(2.1 if ord(ch) > 0x2E80 else 1.1 for ch in s) + 2


# --------------------------------------------------------------------------- error workbook


ERROR_TINT = "#FFC7CE"  # the whole rejected row, as the import page says ("标红的行")


def write_error_workbook(out: Out, header_rows: Sequence[Sequence[Any]],
                         data_rows: Iterable[tuple[int, Sequence[Any]]],
                         errors: Mapping[int, Sequence[str]], *, sheet_name: str = "Sheet1") -> None:
    """The upload as read, with a last column 错误原因 filled on rejected rows, each rejected
    row tinted red across all its cells. The sheet is named `sheet_name` (the kind of import).

    The header is kept so the import re-detects it: the user fixes the red rows, deletes the
    others if they like, and uploads the same file again. `errors` is keyed by the original
    Excel row number that `data_rows` carries.
    """
    data_rows = list(data_rows)
    width = max([len(r) for r in header_rows] + [len(v) for _n, v in data_rows] + [0])
    wb = _workbook(out)
    fmt = _Formats(wb)
    bad = _Formats(wb, tint=ERROR_TINT)
    ws = wb.add_worksheet(safe_sheet_name(sheet_name))
    row = 0
    for i, values in enumerate(header_rows):
        for c, value in enumerate(values):
            _write_cell(ws, row, c, value, fmt)
        if i == len(header_rows) - 1:
            ws.write_string(row, width, ERROR_HEADER, fmt.header)
        row += 1
    if header_rows:
        ws.freeze_panes(row, 0)
    for number, values in data_rows:
        messages = errors.get(number)
        cell_fmt = bad if messages else fmt
        for c in range(width):
            _write_cell(ws, row, c, values[c] if c < len(values) else None, cell_fmt)
        if messages:
            ws.write_string(row, width, "；".join(messages), fmt.error)
        row += 1
    ws.set_column(0, max(width - 1, 0), 14)
    ws.set_column(width, width, 48)
    wb.close()


# --------------------------------------------------------------------------- official ledger


@dataclass(frozen=True)
class LedgerColumn:
    """One column of an official ledger; consecutive columns sharing `group` sit under a
    merged group cell. kind: "text" (IDs, 学籍号, phones: always strings), "date", "int",
    "money"."""

    label: str
    key: str
    width: float = 12
    group: str | None = None
    kind: str = "text"  # or "auto": each value written by its own type


def _chinese_date(value: dt.date | str) -> str:
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month:02d}月{value.day:02d}日"
    return str(value)


@dataclass(frozen=True)
class OfficialSheet:
    """One sheet of an official-layout workbook (see `write_official_ledger`)."""

    title: str
    unit: str
    fill_date: dt.date | str
    columns: Sequence[LedgerColumn]
    rows: Iterable[Mapping[str, Any]]
    total_row: Mapping[str, Any] | None = None
    footer: Sequence[str] = ("填表人：", "审核人：")
    landscape: bool = True
    sheet_name: str = "台账"
    number_rows: bool = True  # the 序号 column, unless the rows bring their own


def write_official_ledger(out: Out, *, title: str, unit: str, fill_date: dt.date | str,
                          columns: Sequence[LedgerColumn], rows: Iterable[Mapping[str, Any]],
                          total_row: Mapping[str, Any] | None = None,
                          footer: Sequence[str] = ("填表人：", "审核人："),
                          landscape: bool = True, sheet_name: str = "台账",
                          number_rows: bool = True) -> None:
    """A ledger in the layout county offices print, sign and file.

    Title merged over the table, a 填报单位/填报日期 line, a one- or two-level header, 序号
    added as the first column, optional 合计 row, signature footer; A4, fit to one page wide,
    title and header repeated on every printed page, panes frozen under the header.
    """
    write_official_workbook(out, [OfficialSheet(
        title=title, unit=unit, fill_date=fill_date, columns=columns, rows=rows,
        total_row=total_row, footer=footer, landscape=landscape, sheet_name=sheet_name,
        number_rows=number_rows)])


def write_official_workbook(out: Out, sheets: Sequence[OfficialSheet]) -> None:
    """Several official-layout sheets in one workbook (a report with its annexes)."""
    wb = _workbook(out)
    fmt = _Formats(wb, border=1)
    plain = _Formats(wb)
    title_fmt = wb.add_format({"font_name": FONT, "font_size": 18, "bold": True, "align": "center",
                               "valign": "vcenter"})
    info_fmt = wb.add_format({"font_name": FONT, "font_size": 11, "valign": "vcenter"})
    for sheet in sheets:
        _official_sheet(wb, sheet, fmt=fmt, plain=plain, title_fmt=title_fmt, info_fmt=info_fmt)
    wb.close()


def _official_sheet(wb: xlsxwriter.Workbook, sheet: OfficialSheet, *, fmt: _Formats, plain: _Formats,
                    title_fmt, info_fmt) -> None:
    title, unit, fill_date, columns = sheet.title, sheet.unit, sheet.fill_date, sheet.columns
    rows, total_row, footer, landscape = sheet.rows, sheet.total_row, sheet.footer, sheet.landscape
    ws = wb.add_worksheet(safe_sheet_name(sheet.sheet_name))
    number_rows = sheet.number_rows
    lead = 1 if number_rows else 0
    ncols = len(columns) + lead
    last = ncols - 1

    info = f"填报单位：{unit}    填报日期：{_chinese_date(fill_date)}"
    for r, (text, cell_fmt, height) in enumerate(((title, title_fmt, 36), (info, info_fmt, 20))):
        ws.set_row(r, height)  # in constant_memory, set a row's height before writing it
        if last:
            ws.merge_range(r, 0, r, last, text, cell_fmt)
        else:
            ws.write_string(r, 0, text, cell_fmt)

    two_level = any(c.group for c in columns)
    top = 2
    header_last = top + (1 if two_level else 0)
    if number_rows:
        ws.set_column(0, 0, 6)
    for i, col in enumerate(columns, start=lead):
        ws.set_column(i, i, col.width)
    labels = ["序号"] * lead + [c.label for c in columns]
    groups = [None] * lead + [c.group for c in columns]
    if not two_level:
        ws.set_row(top, 30)
        for c, label in enumerate(labels):
            ws.write_string(top, c, label, fmt.header)
    else:
        ws.set_row(top, 24)
        spans: list[tuple[int, int, str | None]] = []  # (first, last, group) runs
        for c, group in enumerate(groups):
            if group and spans and spans[-1][2] == group and spans[-1][1] == c - 1:
                spans[-1] = (spans[-1][0], c, group)
            else:
                spans.append((c, c, group))
        for first, end, group in spans:  # header row 1: group cells and vertical labels
            if group and end > first:
                ws.merge_range(top, first, top, end, group, fmt.header)  # same row: safe
            else:
                ws.write_string(top, first, group or labels[first], fmt.header)
        ws.set_row(top + 1, 30)
        for c, group in enumerate(groups):  # header row 2: labels under groups
            if group:
                ws.write_string(top + 1, c, labels[c], fmt.header)
            else:
                ws.write_blank(top + 1, c, None, fmt.header)
                _register_merge(ws, top, c, top + 1, c)

    row = header_last + 1
    for n, record in enumerate(rows, start=1):
        if number_rows:
            ws.write_number(row, 0, n, fmt.center)
        for c, col in enumerate(columns, start=lead):
            _write_cell(ws, row, c, record.get(col.key), fmt, None if col.kind == "auto" else col.kind)
        row += 1
    if total_row is not None:
        ws.write_string(row, 0, "合计", fmt.header)
        for c, col in enumerate(columns, start=lead):
            value = total_row.get(col.key)
            _write_cell(ws, row, c, value, fmt, "int" if isinstance(value, int) else col.kind)
        row += 1
    if footer:
        row += 1
        ws.set_row(row, 24)
        step = max(ncols // len(footer), 1)
        for i, text in enumerate(footer):
            ws.write_string(row, min(i * step, last), text, plain.text)

    ws.set_paper(9)  # A4
    if landscape:
        ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, header_last)
    ws.freeze_panes(header_last + 1, 0)
    ws.center_horizontally()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer("&C第 &P 页，共 &N 页")


# Column widths by what a header names: the values are streamed (constant_memory), not measured.
_WIDTH_HINTS = (("时间", 19), ("身份证", 21), ("学校", 22), ("证件", 21), ("说明", 30),
                ("日期", 12), ("期限", 12))


def _list_width(label: str) -> float:
    hint = next((w for word, w in _WIDTH_HINTS if word in label), 0)
    return min(max(_header_text_width(label), hint, 10), 40)


def write_official_table(out: Out, *, title: str, unit: str, fill_date: dt.date | str,
                         headers: Sequence[str], rows: Iterable[Sequence[Any]],
                         text_columns: Iterable[int] = (), sheet_name: str = "Sheet1",
                         footer: Sequence[str] = ("填表人：", "审核人："),
                         number_rows: bool = True) -> None:
    """A list export in the official layout of the registers (台账: title, 填报单位/日期, header, 序号,
    footer): `write_official_ledger` for rows given as sequences under plain headers. Columns in
    `text_columns` (0-based) are written as text; the others by their value's type."""
    as_text = set(text_columns)
    columns = [LedgerColumn(str(label), str(i), _list_width(str(label)),
                            kind="text" if i in as_text else "auto")
               for i, label in enumerate(headers)]
    write_official_ledger(out, title=title, unit=unit, fill_date=fill_date, columns=columns,
                          rows=({str(i): v for i, v in enumerate(values)} for values in rows),
                          footer=footer, sheet_name=safe_sheet_name(sheet_name),
                          number_rows=number_rows)


# --------------------------------------------------------------------------- plain table


def safe_sheet_name(name: str) -> str:
    """Excel refuses []:*?/\\ in a sheet name and more than 31 characters (a label such as
    "转出县外/外县就读" made the dashboard export fail with a 500)."""
    return "".join("_" if ch in "[]:*?/\\" else ch for ch in str(name))[:31] or "Sheet1"


def write_simple_table(out: Out, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
                       sheet_name: str = "Sheet1", text_columns: Iterable[int] = ()) -> None:
    """One bold header row and data, for list exports; text escaped, IDs left as text.

    Columns listed in `text_columns` (0-based) are written as text even for numbers.
    """
    wb = _workbook(out)
    fmt = _Formats(wb)
    ws = wb.add_worksheet(safe_sheet_name(sheet_name))
    as_text = set(text_columns)
    for c, label in enumerate(headers):
        ws.write_string(0, c, escape_formula(str(label)), fmt.header)
        ws.set_column(c, c, min(max(_header_text_width(label), 10), 40))
    ws.freeze_panes(1, 0)
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values):
            _write_cell(ws, r, c, value, fmt, "text" if c in as_text else None)
    wb.close()


__all__ = [
    "ERROR_HEADER",
    "FONT",
    "LedgerColumn",
    "OfficialSheet",
    "escape_formula",
    "write_error_workbook",
    "write_official_ledger",
    "write_official_table",
    "write_official_workbook",
    "write_simple_table",
]
