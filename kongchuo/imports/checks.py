"""The check stage of an import: every record through the kind's cell parsers and row rule.

RowValidator parses the rows of a sheet read here; ChildValidator takes the same rows, errors
and figures from the reader process (kongchuo.imports.reader) that ran a RowValidator there
(encoded there by ctx.row_encoder when the kind set one: several rows to a str). check_record
puts one record of a form through the same rules: a form and a file give the same errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.utils.translation import gettext_noop

from kongchuo.calendar.schoolyear import today
from kongchuo.imports.base import ImportContext, ImportKind, Issue, current_lang, kind_for
from kongchuo.imports.cells import CellError, Text
from kongchuo.imports.parsers import memoize
from kongchuo.imports.tabular import HeaderMap, iter_data_rows

Spec = tuple[int, Callable[[Any], Any], str]


class RowSource(Protocol):
    """What ChildValidator needs of the reader process (kongchuo.imports.reader.ChildReader)."""

    def rows(self, ctx: ImportContext, stats: dict[str, Any], progress: Any = None) -> Iterator[tuple]: ...

    def finish(self) -> None: ...


class _Validator:
    """What the pipeline reads of a validator once its rows are exhausted: the data rows
    (`count`), the duplicated keys with their rows, every key seen."""

    def __init__(self, kind: ImportKind, ctx: ImportContext, total: int | None) -> None:
        self.kind, self.ctx, self.total = kind, ctx, total  # total: data rows, for the progress
        self.count = 0
        self.dup_rows: dict[Any, list[int]] = {}
        self.keys_seen: set[Any] = set()

    def _progress(self, seen: int) -> None:
        if self.total:
            self.ctx.progress(10 + int(60 * min(seen / self.total, 1)))


class RowValidator(_Validator):
    """Parses every record; yields the valid ones as `kind.row_type`; reports the rest.

    Duplicate keys are counted over every row whose key cells parsed, so both rows of a
    duplicated ID are rejected even when one of them has another error as well.
    """

    def __init__(self, rows: Any, header: HeaderMap, kind: ImportKind, ctx: ImportContext,
                 total: int | None, *, report_duplicates: bool = True) -> None:
        super().__init__(kind, ctx, total)
        self.rows, self.header = rows, header
        # False in the reader process: the importing process reports them from dup_rows.
        self.report_duplicates = report_duplicates
        self.seen = 0  # data rows read so far (every 2,000)

    def __iter__(self) -> Iterator[Any]:
        kind, ctx, header = self.kind, self.ctx, self.header
        specs = _field_specs(kind, header)
        raw_cols = sheet_columns(header) if kind.keep_raw else []  # (index, label) of the whole row
        width = max([c for c, _parse, _label in specs] + [c for c, _label in raw_cols] + [0]) + 1
        key_index = [i for i, f in enumerate(kind.fields) if f.key in kind.key]
        one_key = len(key_index) == 1
        pad = [""] * width
        parse_row = _row_parser(specs)
        seen: dict[Any, int] = {}
        row_type, check, keep_raw = kind.row_type, kind.check_row, kind.keep_raw
        errors = ctx.errors
        n = 0
        tick = 2000
        for number, values in iter_data_rows(self.rows, header):
            n += 1
            if n >= tick:
                tick += 2000
                self.seen = n
                self._progress(n)
            if len(values) < width:
                values = values + pad[len(values):]
            try:  # the common case: every cell parses
                parsed = parse_row(values)
                bad = False
            except CellError:
                parsed, bad = _parse_reporting(number, values, specs, errors), True
            if key_index:
                key_value = (parsed[key_index[0]],) if one_key else tuple([parsed[i] for i in key_index])
                if None not in key_value and "" not in key_value:
                    first = seen.setdefault(key_value, number)
                    if first != number:
                        self.dup_rows.setdefault(key_value, [first]).append(number)
            if keep_raw:
                parsed.append({label: values[c] for c, label in raw_cols})
            if bad:
                continue
            row = row_type(number, *parsed)
            if check(row, ctx) is not False:
                yield row
        self.count = n
        self.rows = None  # let the sheet (hundreds of MB for a county) go before the plan's diff
        self.keys_seen = set(seen)
        if self.report_duplicates:
            errors.extend(duplicate_issues(self.dup_rows, header, kind))


def duplicate_issues(dup_rows: dict[Any, list[int]], header: HeaderMap, kind: ImportKind) -> list[Issue]:
    """duplicate_in_file on every row of every duplicated key, naming the other rows."""
    if not dup_rows:
        return []
    label = header.labels.get(kind.key[0], kind.key[0])
    text = gettext_noop("与本文件中其他行重复（第%(rows)s行）")
    return [Issue(number, label, "duplicate_in_file", Text(text, rows=[str(r) for r in numbers if r != number]))
            for numbers in dup_rows.values() for number in numbers]


class ChildValidator(_Validator):
    """RowValidator's rows, errors and figures, from the reader process that ran it."""

    def __init__(self, reader: RowSource, kind: ImportKind, ctx: ImportContext,
                 total: int | None) -> None:
        super().__init__(kind, ctx, total)
        self.reader = reader

    def __iter__(self) -> Iterator[Any]:
        stats: dict[str, Any] = {}
        if self.ctx.row_encoder is not None:  # blocks of rows the reader encoded
            yield from self.reader.rows(self.ctx, stats, self._progress)
        else:
            make = self.kind.row_type
            for values in self.reader.rows(self.ctx, stats, self._progress):
                yield make(*values)
        self.reader.finish()
        self.count, self.dup_rows, self.keys_seen = stats["count"], stats["dup_rows"], stats["keys_seen"]
        assert self.ctx.header is not None
        self.ctx.errors.extend(duplicate_issues(self.dup_rows, self.ctx.header, self.kind))


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

    def by_field(self) -> list[tuple[str, Issue]]:
        return [(self.keys.get(i.column, ""), i) for i in self.errors]


def check_record(slug: str, values: dict[str, Any], *, user: Any, options: dict[str, Any] | None = None
                 ) -> RecordCheck:
    """Parse and check one record of import kind `slug` for `user` (ImportRefused when the user
    may not import that kind), reported as row 1. `values` maps field keys to cell values; a
    key that is absent or blank counts as a column the file lacks (it never overwrites stored
    data)."""
    kind, scope = kind_for(slug, user)
    present = frozenset(k for k, v in values.items() if v not in (None, ""))
    ctx = ImportContext(kind=kind, user=user, scope=scope, options=options or {},
                        lang=current_lang(), today=today(), present=present)
    kind.prepare(ctx)
    # The record as a one-row sheet holding the present fields' columns, in field order.
    header = HeaderMap((0,), {f.key: i for i, f in enumerate(kind.fields) if f.key in present}, {})
    cells = [values.get(f.key) for f in kind.fields]
    parsed = _parse_reporting(1, cells, _field_specs(kind, header), ctx.errors)
    result = RecordCheck(keys={ctx.label(f.key): f.key for f in kind.fields})
    if not ctx.errors:
        row = kind.row_type(1, *parsed)
        if kind.check_row(row, ctx) is not False:
            result.row = row
    result.errors, result.warnings = ctx.errors, ctx.warnings
    if result.errors:
        result.row = None
    return result


def _field_specs(kind: ImportKind, header: HeaderMap) -> list[Spec]:
    """(column index, parser, label) per field, in field order. A column the header lacks
    has index -1 and parses to None, or to required_missing for a required field."""
    specs: list[Spec] = []
    for f in kind.fields:
        if f.key not in header.columns:
            specs.append((-1, _missing if f.required else _none, f.label))
            continue
        parse = f.parse or _identity
        specs.append((header.columns[f.key], memoize(parse) if f.memo else parse,
                      header.labels.get(f.key, f.label)))
    return specs


def _parse_reporting(number: int, values: list, specs: list[Spec], errors: list[Issue]) -> list:
    """Parse cell by cell, reporting every cell that fails (the slow path of a bad row)."""
    parsed: list[Any] = []
    for c, parse, label in specs:
        try:
            parsed.append(parse(values[c]))
        except CellError as exc:
            parsed.append(None)
            errors.append(Issue(number, label, exc.code, exc.text))
    return parsed


def _row_parser(specs: list[Spec]) -> Callable[[list], list]:
    """The row's values, one parser per field; raises the first cell's CellError."""
    pairs = [(c, parse) for c, parse, _label in specs]

    def parse_row(values: list) -> list:
        return [parse(values[c]) for c, parse in pairs]

    return parse_row


def _none(_value: Any) -> None:
    return None


def _missing(_value: Any) -> None:
    raise CellError("required_missing")


def _identity(value: Any) -> Any:
    return value


def sheet_columns(header: HeaderMap) -> list[tuple[int, str]]:
    """(index, label) of every column of the header, mapped or not, in sheet order: kinds
    that keep the row as issued (feedback lists) read them all."""
    labels = {c: header.labels.get(k, k) for k, c in header.columns.items()}
    labels.update({c: str(label) for c, label in header.unknown})
    return sorted(labels.items())
