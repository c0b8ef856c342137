"""Hand-made workbooks and a watch on where calamine parses them. Shared by the read-stage tests
(tests/kongchuo/test_filesafety.py) and the import tests (tests/imports/)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from kongchuo.imports import tabular


def sheet_only_xlsx(path: Path, sheet_xml: bytes, *, compresslevel: int | None = None) -> Path:
    """The smallest xlsx calamine and the row guard accept: one sheet, `sheet_xml` as written."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml",
                    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                    '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels",
                    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        zf.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return path


def watch_calamine_here(monkeypatch) -> list:
    """The workbooks calamine opens in this process from now on (a reader process's are not
    seen: it is a fork, another pid)."""
    parent, seen = os.getpid(), []
    real = tabular.CalamineWorkbook

    class Spy:
        @staticmethod
        def from_path(*args, **kwargs):
            if os.getpid() == parent:
                seen.append(args)
            return real.from_path(*args, **kwargs)

    monkeypatch.setattr(tabular, "CalamineWorkbook", Spy)
    return seen
