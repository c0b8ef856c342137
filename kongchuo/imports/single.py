"""One record through an import kind's own rules (its cell parsers, then `check_row`), exactly
as a row of a file: the forms that create what an import creates (新增学生 and the student
edit: the roster kind) give the same errors with the same codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kongchuo.calendar.schoolyear import today
from kongchuo.imports.base import ImportContext, Issue, current_lang, kind_for
from kongchuo.imports.checks import field_specs, parse_reporting
from kongchuo.imports.tabular import HeaderMap

ROW = 1  # the record is reported as row 1 of a file that has only it


@dataclass
class RecordCheck:
    """The parsed record (`row`, the kind's row type) or the issues that refused it, each with
    the key of the field it concerns (`by_field`, in field order)."""

    row: Any = None
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # column label -> field key

    @property
    def ok(self) -> bool:
        return self.row is not None and not self.errors

    def by_field(self, issues: list[Issue] | None = None) -> list[tuple[str, Issue]]:
        return [(self.keys.get(i.column, ""), i) for i in (self.errors if issues is None else issues)]


def check_record(slug: str, values: dict[str, Any], *, user: Any, options: dict[str, Any] | None = None
                 ) -> RecordCheck:
    """Parse and check one record of import kind `slug` for `user` (ImportRefused when the user
    may not import that kind). `values` maps field keys to cell values; a key that is absent or
    blank counts as a column the file lacks (it never overwrites stored data)."""
    kind, scope = kind_for(slug, user)
    present = frozenset(k for k, v in values.items() if v not in (None, ""))
    ctx = ImportContext(kind=kind, user=user, scope=scope, options=options or {},
                        lang=current_lang(), today=today(), present=present)
    kind.prepare(ctx)
    # The record as a one-row sheet holding the present fields' columns, in field order.
    header = HeaderMap((0,), {f.key: i for i, f in enumerate(kind.fields) if f.key in present}, {})
    cells = [values.get(f.key) for f in kind.fields]
    parsed = parse_reporting(ROW, cells, field_specs(kind, header), ctx.errors)
    result = RecordCheck(keys={ctx.label(f.key): f.key for f in kind.fields})
    if not ctx.errors:
        row = kind.row_type(ROW, *parsed)
        if kind.check_row(row, ctx) is not False:
            result.row = row
    result.errors, result.warnings = ctx.errors, ctx.warnings
    if result.errors:
        result.row = None
    return result
