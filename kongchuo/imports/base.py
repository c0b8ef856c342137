"""The shapes every import kind shares: fields, issues, the context, the plan, the registry.

An app describes a kind of file once (`ImportKind`: its columns, who may import it, how its
rows become a plan and how a plan is written) and registers it from its AppConfig.ready();
the runner (`kongchuo.imports.runner`) does the rest the same way for every kind. Nothing here
knows an app.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from kongchuo.access.scoping import Role, Scope
from kongchuo.tabular import CellError, Column, HeaderMap, message_for

Parser = Callable[[Any], Any]

# Messages of the machinery's own codes (warnings and scope refusals); the row error codes
# themselves are the tabular engine's contract (kongchuo.tabular.MESSAGES).
EXTRA_MESSAGES: dict[str, tuple[str, str]] = {
    "out_of_scope": ("不在您的管辖范围内", "outside your scope"),
    "kind_unknown": ("未知的导入类型：{kind}", "Unknown kind of import: {kind}"),
    "kind_forbidden": ("您无权导入该类数据", "You may not import this kind of data"),
}


def text_pair(code: str, **params: Any) -> tuple[str, str]:
    if code in EXTRA_MESSAGES:
        zh, en = EXTRA_MESSAGES[code]
        return zh.format(**params), en.format(**params)
    return message_for(code, "zh", **params), message_for(code, "en", **params)


@dataclass(frozen=True)
class Field:
    """One column a kind reads.

    `labels[0]` is the label written in the template; the others are synonyms found in real
    files. `parse` turns a cell into a value or raises `CellError`; `required` means the header
    must have the column and every row a value. `memo` caches `parse` per distinct cell value:
    grades, school codes, 是/否 and dates repeat thousands of times in a county roster.
    """

    key: str
    labels: tuple[str, ...]
    parse: Parser | None = None
    required: bool = False
    memo: bool = False
    template: bool = True
    text: bool = False  # template column formatted as text (IDs, codes, phone numbers)
    note: str = ""  # shown in the template's 填写说明 sheet
    example: str = ""  # the 填写说明 sheet's example row (else a default by key)

    @property
    def label(self) -> str:
        return self.labels[0]

    def column(self) -> Column:
        return Column(self.key, list(self.labels), self.required)


@dataclass(frozen=True)
class Issue:
    """A row-level error or warning: Excel row number, column label, code, both languages."""

    row: int
    column: str
    code: str
    message_zh: str
    message_en: str

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message_zh

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code,
                "message": self.message(lang)}


class ImportRefused(Exception):
    """The whole import is refused before any row is read (unknown kind, option, permission)."""

    def __init__(self, code: str, message_zh: str, message_en: str, *, exit_code: int = 2) -> None:
        super().__init__(message_zh)
        self.code, self.message_zh, self.message_en = code, message_zh, message_en
        self.exit_code = exit_code

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message_zh


@dataclass
class ImportContext:
    """What a kind's hooks may know about the import in progress.

    `user` is None for the operator CLI, which acts with county scope. `present` holds the
    keys of the columns the file has: a column the file lacks never overwrites stored data.
    """

    kind: ImportKind
    user: Any
    scope: Scope
    options: dict[str, Any]
    lang: str
    today: dt.date
    filename: str = ""
    checksum: str = ""
    job: Any = None
    header: HeaderMap | None = None
    present: frozenset[str] = frozenset()
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)  # the kind's lookups for this run
    progress: Callable[[int], None] = lambda pct: None
    writing: bool = False  # the import writes if its rows pass (not a dry run)
    rows_hint: int | None = None  # the sheet's height before reading it, when the reader knows it
    in_transaction: bool = False  # plan runs inside the write's transaction (plan_in_transaction)

    def label(self, key: str) -> str:
        if self.header is not None and key in self.header.labels:
            return self.header.labels[key]
        for f in self.kind.fields:
            if f.key == key:
                return f.label
        return key

    def reject(self, row: int, key: str, code: str, *, hint_zh: str = "", hint_en: str = "") -> None:
        zh, en = text_pair(code)
        if hint_zh:
            zh += f"：{hint_zh}"
        if hint_en:
            en += f": {hint_en}"
        self.errors.append(Issue(row, self.label(key), code, zh, en))

    def reject_cell(self, row: int, key: str, exc: CellError) -> None:
        self.errors.append(Issue(row, self.label(key), exc.code, exc.message_zh, exc.message_en))

    def warn(self, row: int, key: str, code: str, zh: str, en: str) -> None:
        self.warnings.append(Issue(row, self.label(key) if key else "", code, zh, en))

    @property
    def is_county(self) -> bool:
        return self.scope.role == Role.COUNTY


@dataclass
class ImportPlan:
    """What writing would do. Counts cover the valid rows; `payload` is the kind's own data
    for `apply`. `extra` holds kind-specific figures (moved, missing, unmatched, …)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    payload: Any = None
    cleanup: Callable[[], None] | None = None


class NeedRows(Exception):
    """The plan iterated rows, but the reader process sent them as its LineFormat's text (the
    plan's fast path was not to be had after all: a busy table): the runner reads the file
    again, here, as rows."""


@dataclass
class LineFormat:
    """How the reader process formats the valid rows for a plan's fast path (the roster's
    direct COPY), so that they cross to the importing process as text, not as Python objects
    to be rebuilt and formatted there. A kind's `reader_lines(ctx)` returns one, in the
    importing process before the reader is forked; the reader uses it for a sheet of at least
    `min_rows` rows (the height, header included). The plan then reads `RowStream.blocks`."""

    min_rows: int
    text: Callable[[list[Any], ImportContext], str]  # a block of valid rows → their COPY lines
    # Loads what `text` needs into ctx.state, in the reader beside calamine's parse.
    warm_up: Callable[[ImportContext], None] | None = None


class RowStream:
    """The valid rows of the file, parsed, in file order; iterate once.

    After the iteration, `duplicates` holds the keys that appeared on more than one row: those
    rows have been reported as `duplicate_in_file` and the kind must not write them (a kind that
    streams rows to a staging table removes them there).

    `blocks`, when not None, holds the rows as the kind's LineFormat wrote them: (text, rows)
    per block of rows, in file order; iterating the stream then raises NeedRows.
    """

    def __init__(self, source: Iterator[Any], key_of: Callable[[Any], Any] | None) -> None:
        self._source = source
        self._key_of = key_of
        self.duplicates: set[Any] = set()
        self.keys_seen: set[Any] = set()  # every key in the file, rejected rows included
        self.finished = False
        self.blocks: Iterator[tuple[bytes, int]] | None = None

    def __iter__(self) -> Iterator[Any]:
        self.require_rows()
        yield from self._source
        self.finished = True

    def require_rows(self) -> None:
        """For a plan about to read rows: NeedRows if they came as text."""
        if self.blocks is not None:
            raise NeedRows

    def is_duplicate(self, row: Any) -> bool:
        return bool(self.duplicates) and self._key_of is not None and self._key_of(row) in self.duplicates


@dataclass
class ImportKind:
    """A kind of file the portal imports. Apps register these; the runner runs them.

    plan(rows: RowStream, ctx) -> ImportPlan reads what it needs from the database (set-based,
    chunked) and must not write, unless `plan_in_transaction(ctx)` said so: the runner then
    runs it inside the write's transaction, rolled back unless the import is written;
    apply(plan, ctx) writes, inside the runner's transaction.
    `key` names the fields that identify a row within the file (duplicate_in_file).
    `check_row(row, ctx)` returns False to reject a row after its cells parsed (cross-column
    rules: birth date vs ID, school in scope); it reports through ctx.reject / ctx.warn.
    """

    slug: str
    label: Any
    fields: Sequence[Field]
    plan: Callable[[RowStream, ImportContext], ImportPlan]
    apply: Callable[[ImportPlan, ImportContext], None]
    roles: tuple[str, ...] = (Role.COUNTY,)
    key: tuple[str, ...] = ()
    check_row: Callable[[Any, ImportContext], bool] | None = None
    prepare: Callable[[ImportContext], None] | None = None  # resolve options, load lookups
    # Load what the plan will need (dictionaries, caches) into ctx.state: runs while a reader
    # process parses the file, on the core the importing process has to spare then.
    warm_up: Callable[[ImportContext], None] | None = None
    # True when this run's plan may write (it then runs inside the write's transaction, which
    # is rolled back unless the import is written): the roster's direct bulk load.
    plan_in_transaction: Callable[[ImportContext], bool] | None = None
    # The text the reader process should send the valid rows as (LineFormat), or None.
    reader_lines: Callable[[ImportContext], LineFormat | None] | None = None
    options: tuple[str, ...] = ()  # which CLI/browser options apply: term, year, list, due
    choices: dict[str, Any] = field(default_factory=dict)  # e.g. {"list": [(value, label)]}
    description: Any = ""
    counts: tuple[str, ...] = ()  # kind-specific result keys, always present in the JSON
    keep_raw: bool = False  # rows carry `_raw` (the whole row as read) for kinds that store it
    computed: tuple[str, ...] = ()  # extra row attributes check_row fills in (school_id, …)
    order: int = 100
    icon: str = "bi-file-earmark-spreadsheet"
    # The written job's output file is for its importer only and is deleted on its first
    # download (the `users` kind's initial passwords).
    one_time_output: bool = False
    row_type: type = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names: list[Any] = ["row", *[f.key for f in self.fields]]
        names += ["_raw"] if self.keep_raw else []
        names += [(name, Any, None) for name in self.computed]
        self.row_type = dataclasses.make_dataclass(
            f"{self.slug.title().replace('_', '')}Row", names, slots=True)

    def columns(self) -> list[Column]:
        return [f.column() for f in self.fields]

    def allowed(self, scope: Scope | None) -> bool:
        return scope is not None and scope.role in self.roles


_KINDS: dict[str, ImportKind] = {}


def register_kind(kind: ImportKind) -> ImportKind:
    """Register (or re-register, e.g. after a test reload) an import kind by its slug."""
    _KINDS[kind.slug] = kind
    return kind


def get_kind(slug: str) -> ImportKind | None:
    return _KINDS.get(slug)


def all_kinds() -> list[ImportKind]:
    return sorted(_KINDS.values(), key=lambda k: (k.order, k.slug))


def kinds_for(scope: Scope | None) -> list[ImportKind]:
    return [k for k in all_kinds() if k.allowed(scope)]
