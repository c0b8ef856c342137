"""The check stage of an import: every record through the kind's cell parsers and row rule.

RowValidator parses the rows of a sheet read here; ChildValidator takes the same rows, errors
and figures from the reader process (kongchuo.imports.reader) that ran a RowValidator there.

A kind whose plan wants its rows in another form (the roster on PostgreSQL: COPY text for its
staging table) sets ctx.state[ROW_ENCODER] in its prepare hook: each valid row is then encoded
where it was checked, and the plan receives the encoded rows (str), several rows to an item
when they come from the reader process.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from itertools import repeat
from operator import itemgetter
from typing import Any, Protocol

from kongchuo.imports.base import ImportContext, ImportKind, Issue, text_pair
from kongchuo.imports.cells import CellError
from kongchuo.imports.tabular import HeaderMap, iter_data_rows

ROW_ENCODER = "row_encoder"  # ctx.state key: a function(row) -> str, applied to every valid row


def row_encoder(ctx: ImportContext) -> Callable[[Any], str] | None:
    return ctx.state.get(ROW_ENCODER)


class RowSource(Protocol):
    """What ChildValidator needs of the reader process (kongchuo.imports.reader.ChildReader)."""

    def rows(self, ctx: ImportContext, stats: dict[str, Any], progress: Any = None) -> Iterator[tuple]: ...

    def finish(self) -> None: ...


class RowValidator:
    """Parses every record; yields the valid ones as `kind.row_type`; reports the rest.

    Duplicate keys are counted over every row whose key cells parsed, so both rows of a
    duplicated ID are rejected even when one of them has another error as well.
    """

    def __init__(self, rows, header: HeaderMap, kind: ImportKind, ctx: ImportContext,
                 total: int | None, *, report_duplicates: bool = True) -> None:
        self.rows, self.header, self.kind, self.ctx, self.total = rows, header, kind, ctx, total
        # False in the reader process: the importing process reports them from dup_rows.
        self.report_duplicates = report_duplicates
        self.count = 0
        self.seen = 0  # data rows read so far (every 2,000)
        self.dup_rows: dict[Any, list[int]] = {}
        self.first_rows: dict[Any, int] = {}  # every key seen, with its first row
        self.keys_seen: set[Any] = set()

    def __iter__(self) -> Iterator[Any]:
        kind, ctx, header = self.kind, self.ctx, self.header
        # (column index, parser, label) per field, in field order; absent columns parse to None.
        specs: list[tuple[int, Callable, str]] = []
        memo: list[bool] = []
        for f in kind.fields:
            if f.key not in header.columns:
                specs.append((-1, _none, f.label))
                memo.append(False)
                continue
            specs.append((header.columns[f.key], f.parse or _identity, header.labels.get(f.key, f.label)))
            memo.append(bool(f.memo))
        width = max([column for column, _parse, _label in specs] + [0]) + 1
        key_index = [i for i, f in enumerate(kind.fields) if f.key in kind.key]
        one_key = len(key_index) == 1
        raw_cols: list[tuple[int, str]] = []
        if kind.keep_raw:
            _h, ordered = _with_all_columns(header)
            cols = _h.columns
            raw_cols = [(cols[k], label) for k, label in ordered]
            width = max([width] + [c + 1 for c, _l in raw_cols])
        pad = [""] * width
        parse_block = block_parser([(c, parse, m) for (c, parse, _label), m in zip(specs, memo, strict=True)])
        seen: dict[Any, int] = {}
        row_type, check, keep_raw = kind.row_type, kind.check_row, kind.keep_raw
        errors = ctx.errors
        n = 0
        tick = 2000
        for block in _blocks(iter_data_rows(self.rows, header)):
            cells = [values if len(values) >= width else values + pad[len(values):] for _n, values in block]
            parsed_rows, bad_rows = parse_block(cells)
            for i, parsed in enumerate(parsed_rows):
                number = block[i][0]
                n += 1
                if n >= tick:
                    tick += 2000
                    self.seen = n
                    if self.total:
                        ctx.progress(10 + int(60 * min(n / self.total, 1)))
                bad = i in bad_rows
                if bad:
                    parsed, _bad = self._parse_reporting(number, cells[i], specs, errors)
                if key_index:
                    key_value = (parsed[key_index[0]],) if one_key else tuple([parsed[k] for k in key_index])
                    if None not in key_value and "" not in key_value:
                        first = seen.setdefault(key_value, number)
                        if first != number:
                            self.dup_rows.setdefault(key_value, [first]).append(number)
                if bad:
                    continue
                if keep_raw:
                    parsed = (*parsed, {label: cells[i][c] for c, label in raw_cols})
                row = row_type(number, *parsed)
                if check is not None and check(row, ctx) is False:
                    continue
                yield row
        self.count = n
        self.rows = None  # let the sheet (hundreds of MB for a county) go before the plan's diff
        self.keys_seen = set(seen)
        self.first_rows = seen
        if self.report_duplicates:
            errors.extend(duplicate_issues(self.dup_rows, header, kind))

    @staticmethod
    def _parse_reporting(number: int, values: list, specs, errors: list[Issue]) -> tuple[list, bool]:
        """Parse cell by cell, reporting every cell that fails (the slow path of a bad row)."""
        parsed: list[Any] = []
        for c, parse, label in specs:
            try:
                parsed.append(parse(values[c]))
            except CellError as exc:
                parsed.append(None)
                errors.append(Issue(number, label, exc.code, exc.message_zh, exc.message_en))
        return parsed, True


def duplicate_issues(dup_rows: dict[Any, list[int]], header: HeaderMap, kind: ImportKind) -> list[Issue]:
    """duplicate_in_file on every row of every duplicated key, naming the other rows."""
    if not dup_rows:
        return []
    label = header.labels.get(kind.key[0], kind.key[0])
    zh, en = text_pair("duplicate_in_file")
    out = []
    for numbers in dup_rows.values():
        for number in numbers:
            others = [str(r) for r in numbers if r != number]
            out.append(Issue(number, label, "duplicate_in_file", f"{zh}（第{'、'.join(others)}行）",
                             f"{en} (row {', '.join(others)})"))
    return out


class ChildValidator:
    """RowValidator's rows, errors and figures, from the reader process that ran it."""

    def __init__(self, reader: RowSource, kind: ImportKind, ctx: ImportContext,
                 total: int | None) -> None:
        self.reader, self.kind, self.ctx, self.total = reader, kind, ctx, total
        self.count = 0
        self.dup_rows: dict[Any, list[int]] = {}
        self.keys_seen: set[Any] = set()

    def _progress(self, seen: int) -> None:
        if self.total:
            self.ctx.progress(10 + int(60 * min(seen / self.total, 1)))

    def __iter__(self) -> Iterator[Any]:
        stats: dict[str, Any] = {}
        if row_encoder(self.ctx) is not None:  # blocks of rows the reader encoded
            yield from self.reader.rows(self.ctx, stats, self._progress)
        else:
            make = self.kind.row_type
            for values in self.reader.rows(self.ctx, stats, self._progress):
                yield make(*values)
        self.reader.finish()
        self.count, self.dup_rows, self.keys_seen = stats["count"], stats["dup_rows"], stats["keys_seen"]
        assert self.ctx.header is not None
        self.ctx.errors.extend(duplicate_issues(self.dup_rows, self.ctx.header, self.kind))


BLOCK = 1000  # data rows parsed column by column at a time
MEMO_LIMIT = 100_000  # distinct text cells remembered per column


def _blocks(rows: Iterator[Any]) -> Iterator[list[Any]]:
    block: list[Any] = []
    for row in rows:
        block.append(row)
        if len(block) >= BLOCK:
            yield block
            block = []
    if block:
        yield block


def block_parser(plans: list[tuple[int, Callable, bool]]) -> Callable[[list[list]], tuple[list[tuple], set[int]]]:
    """parse_block(rows) -> (one tuple of field values per row, the indexes of the rows where a
    cell failed): each field is (column index, parser, memoize?) and a column the file lacks has
    index -1 (parsed to None). Column by column: a memoized field's text cells are looked up in
    one C-level pass over the column (a county roster repeats a few hundred grades, schools,
    flags and months 200,000 times), only the cells not seen before are parsed; other cells
    (numbers, dates) are parsed each time, so 1, 1.0 and True never share a result. A failed
    row's values are not meaningful: its cells are parsed again, one by one, to report them."""
    memos: list[dict[str, Any] | None] = [{} if m else None for _c, _p, m in plans]

    def parse_block(rows: list[list]) -> tuple[list[tuple], set[int]]:
        size = len(rows)
        bad: set[int] = set()
        columns = []
        for (c, parse, _m), known in zip(plans, memos, strict=True):
            if c < 0:
                columns.append([None] * size)
                continue
            cells = list(map(itemgetter(c), rows))
            if known is not None:
                out = list(map(known.get, cells, repeat(_MISS, size)))
                if _MISS in out:
                    _fill_misses(out, cells, parse, known, bad)
            else:
                try:
                    out = list(map(parse, cells))
                except CellError:
                    out = _parse_each(cells, parse, bad)
            columns.append(out)
        return list(zip(*columns, strict=True)), bad

    return parse_block


_MISS = object()


def _fill_misses(out: list, cells: list, parse: Callable, known: dict[str, Any], bad: set[int]) -> None:
    for i, value in enumerate(out):
        if value is not _MISS:
            continue
        cell = cells[i]
        try:
            value = parse(cell)
        except CellError:
            bad.add(i)
            value = None
        else:  # only text cells are remembered: a str key never equals a number or a date
            if cell.__class__ is str and len(known) < MEMO_LIMIT:
                known[cell] = value
        out[i] = value


def _parse_each(cells: list, parse: Callable, bad: set[int]) -> list:
    out = []
    for i, cell in enumerate(cells):
        try:
            out.append(parse(cell))
        except CellError:
            bad.add(i)
            out.append(None)
    return out


def _none(_value: Any) -> None:
    return None


def _identity(value: Any) -> Any:
    return value


def _with_all_columns(header: HeaderMap) -> tuple[HeaderMap, list[tuple[str, str]]]:
    """The header map extended by every unmapped column, and (key, label) for all columns in
    sheet order: kinds that keep the row as issued (feedback lists) read them all."""
    columns = dict(header.columns)
    for c, _label in header.unknown:
        columns[f"_col{c}"] = c
    labels_by_col = {c: header.labels.get(k, k) for k, c in header.columns.items()}
    labels_by_col.update({c: str(label) for c, label in header.unknown})
    key_by_col = {c: k for k, c in columns.items()}
    ordered = [(key_by_col[c], labels_by_col[c]) for c in sorted(key_by_col)]
    return dataclasses.replace(header, columns=columns), ordered


def header_labels(header: HeaderMap) -> list[str]:
    """Every column label of the header in sheet order (the issuer's layout)."""
    _h, ordered = _with_all_columns(header)
    return [label for _k, label in ordered]
