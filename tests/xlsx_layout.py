"""Reading an export in the official layout back (openpyxl): title, 填报单位/日期, header, rows,
footer. Shared by the export tests."""

from __future__ import annotations

import io
from dataclasses import dataclass

import openpyxl


@dataclass
class Official:
    title: str
    info: str
    header: list
    rows: list[tuple]
    footer: list[str]
    sheet: object


def read_official(content: bytes) -> Official:
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    values = list(ws.iter_rows(values_only=True))
    header = list(values[2])
    rows, footer = [], []
    for r in values[3:]:
        if all(v is None for v in r):
            break
        rows.append(tuple(r))
    footer = [v for r in values[3 + len(rows):] for v in r if v]
    return Official(values[0][0], values[1][0], header, rows, footer, ws)


def assert_official(doc: Official, *, numbered: bool = True) -> None:
    """The layout every export shares (as the ledgers): a title, a 填报单位 line with the date,
    the header, rows numbered 1..n in 序号, a signature footer; title and info merged across."""
    assert doc.title and "填报单位：" in doc.info and "填报日期：" in doc.info
    if numbered:
        assert doc.header[0] == "序号"
        assert [r[0] for r in doc.rows] == list(range(1, len(doc.rows) + 1))
    assert any("填表人" in f for f in doc.footer)
    merged = {str(m) for m in doc.sheet.merged_cells.ranges}
    assert any(m.startswith("A1:") for m in merged) and any(m.startswith("A2:") for m in merged)
