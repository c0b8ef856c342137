"""The shapes every import kind shares: fields, issues, the context, the plan, the registry
(an app registers its kinds from AppConfig.ready(); nothing here knows an app).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from kongchuo import plugins
from kongchuo.access.scoping import Role, Scope, scope_of
from kongchuo.imports.cells import CodedError, Text, TextMessages, code_text
from kongchuo.imports.cells import current_lang as current_lang  # the engine's name for the active language
from kongchuo.imports.tabular import Column, HeaderMap

Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class Field:
    """One column a kind reads: `labels[0]` is the template's label, the others synonyms found
    in real files; `parse` turns a cell into a value or raises CellError; a `required` column
    must be in the header. `memo` caches `parse` per distinct cell (grades, school codes, 是/否
    and dates repeat thousands of times in a county roster).
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


@dataclass(frozen=True)
class Issue(TextMessages):
    """A row-level error or warning: Excel row number, column label, code, and its Text
    (rendered in the language of whoever reads it)."""

    row: int
    column: str
    code: str
    text: Text

    def as_dict(self) -> dict[str, Any]:
        """The issue as the JSON output shows it, in the active language."""
        return {"row": self.row, "column": self.column, "code": self.code, "message": str(self.text)}


class ImportRefused(CodedError):
    """The whole import is refused before any row is read (unknown kind, option, permission)."""

    exit_code = 2  # the operator CLI's: the file is not imported


@dataclass
class ImportContext:
    """What a kind's hooks may know about the import in progress. `user` is None for the
    operator CLI (county scope); `present`: the keys of the columns the file has (a column the
    file lacks never overwrites stored data)."""

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
    # Set by a kind's prepare hook when its plan wants the rows in another form (the roster on
    # PostgreSQL: COPY lines for its staging table): each valid row is encoded where it was checked.
    row_encoder: Callable[[Any], str] | None = None

    def label(self, key: str) -> str:
        if self.header is not None and key in self.header.labels:
            return self.header.labels[key]
        return next((f.label for f in self.kind.fields if f.key == key), key)

    def reject(self, row: int, key: str, code: str, *, hint: Text | str = "") -> None:
        """Reject the row with `code`'s message, `hint` (a Text, or a value as written) after it."""
        self.errors.append(Issue(row, self.label(key), code, code_text(code, hint)))

    def warn(self, row: int, key: str, code: str, text: Text) -> None:
        self.warnings.append(Issue(row, self.label(key) if key else "", code, text))

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


class RowStream:
    """The valid rows of the file, parsed, in file order; iterate once. Then `duplicates` holds
    the keys found on more than one row: reported as duplicate_in_file, the kind must not write
    them (a kind that streams rows to a staging table removes them there)."""

    def __init__(self, source: Iterator[Any], key_of: Callable[[Any], Any] | None) -> None:
        self._source = source
        self._key_of = key_of
        self.duplicates: set[Any] = set()
        self.keys_seen: set[Any] = set()  # every key in the file, rejected rows included

    def __iter__(self) -> Iterator[Any]:
        yield from self._source

    def is_duplicate(self, row: Any) -> bool:
        return bool(self.duplicates) and self._key_of is not None and self._key_of(row) in self.duplicates

    def unique(self) -> list[Any]:
        """The valid rows, less those whose key repeats (reported as duplicate_in_file)."""
        items = list(self)
        return [r for r in items if not self.is_duplicate(r)] if self.duplicates else items


class ImportKind:
    """A kind of file the portal imports: a subclass declared once by its app and registered
    from its AppConfig.ready() (`register_kind(SchoolsImport())`). It declares its columns
    (`fields`; `key` for duplicate_in_file) and who may import it (`roles`); its hooks:
    `prepare` (options, lookups), `check_row` (False rejects the row, through ctx.reject; rows
    outside the importer's scope too), `plan` (set-based reads, no write) and `apply` (the
    write, in the pipeline's transaction).
    """

    slug: ClassVar[str] = ""
    label: ClassVar[Any] = ""
    description: ClassVar[Any] = ""
    fields: ClassVar[Sequence[Field]] = ()
    key: ClassVar[tuple[str, ...]] = ()
    roles: ClassVar[tuple[str, ...]] = (Role.COUNTY,)
    options: ClassVar[tuple[str, ...]] = ()  # which CLI/browser options apply: term, year, list, due
    choices: ClassVar[dict[str, Any]] = {}  # e.g. {"list": [(value, label)]}
    # Kind-specific result keys (always present in the JSON) with the label the preview shows;
    # those known only once the rows are written are shown after the write (the preview would say 0).
    counts: ClassVar[dict[str, Any]] = {}
    counts_after_write: ClassVar[tuple[str, ...]] = ()
    keep_raw: ClassVar[bool] = False  # rows carry `_raw` (the whole row as read) for kinds that store it
    computed: ClassVar[tuple[str, ...]] = ()  # extra row attributes check_row fills in (school_id, …)
    order: ClassVar[int] = 100
    icon: ClassVar[str] = "bi-file-earmark-spreadsheet"
    one_time_output: ClassVar[bool] = False  # the output file: its importer's, deleted once downloaded
    row_type: ClassVar[type]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names: list[Any] = ["row", *[f.key for f in cls.fields]]
        names += ["_raw"] if cls.keep_raw else []
        names += [(name, Any, None) for name in cls.computed]
        cls.row_type = dataclasses.make_dataclass(f"{cls.__name__}Row", names, slots=True)

    def prepare(self, ctx: ImportContext) -> None:
        """Resolve the options and load the lookups (may raise ImportRefused)."""

    def check_row(self, row: Any, ctx: ImportContext) -> bool:
        return True

    def plan(self, rows: RowStream, ctx: ImportContext) -> ImportPlan:
        raise NotImplementedError

    def apply(self, plan: ImportPlan, ctx: ImportContext) -> None:
        raise NotImplementedError

    def columns(self) -> list[Column]:
        return [Column(f.key, list(f.labels), f.required) for f in self.fields]

    def allowed(self, scope: Scope | None) -> bool:
        return scope is not None and scope.role in self.roles


def register_kind(kind: ImportKind) -> ImportKind:
    """Plug an import kind in (kongchuo.plugins' `import_kind` slot), replacing a kind of the
    same slug (ready() may run again in tests)."""
    if (known := get_kind(kind.slug)) is not None:
        plugins.unregister("import_kind", known)
    plugins.register("import_kind", kind, order=kind.order)
    return kind


def get_kind(slug: str) -> ImportKind | None:
    return next((k for k in plugins.items("import_kind") if k.slug == slug), None)


def all_kinds() -> list[ImportKind]:
    return sorted(plugins.items("import_kind"), key=lambda k: (k.order, k.slug))


def kinds_for(scope: Scope | None) -> list[ImportKind]:
    return [k for k in all_kinds() if k.allowed(scope)]


def kind_for(slug: str, user: Any) -> tuple[ImportKind, Scope]:
    """The registered kind and the user's scope (the operator CLI, user None: the county's),
    or ImportRefused (unknown kind, no right)."""
    kind = get_kind(slug)
    if kind is None:
        raise ImportRefused("kind_unknown", kind=slug)
    scope = Scope(Role.COUNTY) if user is None else scope_of(user)
    if scope is None or not kind.allowed(scope):
        raise ImportRefused("kind_forbidden")
    return kind, scope
