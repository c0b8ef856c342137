"""Set-based helpers the import kinds share: chunked lookups, batched writes, bulk history,
PostgreSQL COPY. Lookups are chunked, and bulk writes batched by the parameters a batch needs,
under SQLite's 32,766 parameters per statement.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

from django.db import connection, models
from django.utils import timezone

T = TypeVar("T")
IN_CHUNK = 10_000  # values per `__in` lookup (SQLite: ≤ 30,000 parameters per statement)
MAX_PARAMS = 30_000


def chunked(values: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    items = iter(values)
    while batch := list(islice(items, size)):
        yield batch


def fetch_in(queryset: models.QuerySet, field: str, values: Iterable[Any]) -> Iterator[Any]:
    """Rows of `queryset` whose `field` is in `values`, one query per IN_CHUNK values."""
    for batch in chunked(dict.fromkeys(v for v in values if v is not None)):
        yield from queryset.filter(**{f"{field}__in": batch})


def batch_size_for(n_fields: int) -> int:
    """Rows per bulk_create statement (a parameter per field, and one) under SQLite's limit."""
    return max(1, min(2000, MAX_PARAMS // (n_fields + 1)))


def update_batch_size(n_fields: int) -> int:
    """bulk_update writes CASE WHEN pk THEN value per field: 2 parameters per field and row."""
    return max(1, min(1000, MAX_PARAMS // (2 * n_fields + 1)))


def history_create(model: type[models.Model], objs: Sequence[models.Model], *, user: Any, reason: str,
                   update: bool, when: dt.datetime | None = None) -> None:
    """simple_history rows for `objs` in bulk (history_type "+" or "~"), as `user`: its own
    bulk_history_create (one INSERT per batch), so they carry exactly what it would write."""
    if not objs:
        return
    manager = model.history  # type: ignore[attr-defined]
    n_fields = len(manager.model._meta.concrete_fields)
    manager.bulk_history_create(
        objs, batch_size=batch_size_for(n_fields), update=update,
        default_user=user if getattr(user, "pk", None) else None,
        default_change_reason=reason, default_date=when or timezone.now())


def insert_rows(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """INSERT `objs` with one executemany (no RETURNING: callers find rows by natural key),
    each value prepared by its field's get_db_prep_save (auto_now fields too: set them on the
    objects). For the big bulk paths on SQLite, where bulk_create's compiling every value
    through the SQL compiler is slow (docs/performance.md)."""
    if not objs:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    sql = (f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    rows = [[f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _history_insert_sql(model: type[models.Model], *, user: Any, reason: str, history_type: str,
                        when: dt.datetime) -> tuple[str, list[Any]]:
    """`INSERT INTO <history> (…) SELECT t.…, <date, type, user, reason> FROM <table> t`, to be
    completed with a WHERE on `t`."""
    hist = model.history.model  # type: ignore[attr-defined]
    qn = connection.ops.quote_name
    cols = [f.column for f in hist._meta.concrete_fields if not f.name.startswith("history_")]
    target = ", ".join(qn(c) for c in [*cols, "history_date", "history_type", "history_user_id",
                                       "history_change_reason"])
    source = ", ".join(f"t.{qn(c)}" for c in cols)
    date = models.DateTimeField().get_db_prep_save(when, connection)
    sql = (f"INSERT INTO {qn(hist._meta.db_table)} ({target}) SELECT {source}, %s, %s, %s, %s "
           f"FROM {qn(model._meta.db_table)} t")
    return sql, [date, history_type, getattr(user, "pk", None), reason]


def history_insert_select(model: type[models.Model], *, key: str, values: Sequence[Any], user: Any,
                          reason: str, history_type: str, when: dt.datetime) -> None:
    """simple_history rows, as bulk_history_create would store them, for the rows of `model`
    whose `key` column is in `values`: INSERT … SELECT from the rows as they are after the
    write, without a historical instance per row."""
    sql, params = _history_insert_sql(model, user=user, reason=reason, history_type=history_type,
                                      when=when)
    column = connection.ops.quote_name(key)
    with connection.cursor() as cursor:
        for batch in chunked(values):
            marks = ", ".join(["%s"] * len(batch))
            cursor.execute(f"{sql} WHERE t.{column} IN ({marks})", [*params, *batch])


def history_insert_for(model: type[models.Model], *, pks: models.QuerySet, user: Any, reason: str,
                       history_type: str, when: dt.datetime) -> int:
    """history_insert_select for the rows whose primary key is in `pks` (a one-column
    `values()` queryset): one statement however many rows, nothing read into Python."""
    sql, params = _history_insert_sql(model, user=user, reason=reason, history_type=history_type,
                                      when=when)
    sub, sub_params = pks.order_by().query.sql_with_params()  # a set: no ORDER BY to sort
    pk = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} WHERE t.{pk} IN ({sub})", [*params, *sub_params])
        return cursor.rowcount


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@contextlib.contextmanager
def sqlite_full_batches() -> Iterator[None]:
    """Let bulk_create/bulk_update use SQLite's real parameter limit (≥ 3.32: 32,766, not the
    999 Django assumes: batches of 34 Student rows) on this connection, for the block."""
    if connection.vendor != "sqlite":
        yield
        return
    import sqlite3

    connection.ensure_connection()
    features = connection.features
    before = features.max_query_params
    real = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # Python ≥ 3.11
    features.max_query_params = max(before, min(real, MAX_PARAMS))
    try:
        yield
    finally:
        features.max_query_params = before


# --------------------------------------------------------------------------- PostgreSQL COPY


class _LineFeed:
    """What psycopg2's copy_expert reads (by read() only): generated COPY lines (str), pulled
    while the server parses the lines already sent. What the source raises (a file error, a
    reader process's failure) is kept in `error` (psycopg2 would make it QueryCanceled): the
    stream ends there, and pg_copy_lines raises it once the COPY is over."""

    def __init__(self, source: Iterator[str]) -> None:
        self._source = source
        self.error: Exception | None = None

    def read(self, size: int | None = -1) -> str:
        """At least `size` characters (but at the end), in whole items: psycopg2 sends what it
        gets, whatever its length, and an item may be a block of 5,000 lines (the reader
        process's), which slicing to `size` would copy over and over."""
        want = size if size is not None and size > 0 else 1 << 30
        parts: list[str] = []
        have = 0
        try:
            for line in self._source:
                parts.append(line)
                have += len(line)
                if have >= want:
                    break
        except Exception as exc:
            self.error = exc
            self._source = iter(())
        return "".join(parts)


def pg_copy_lines(table: str, columns: Sequence[str], lines: Iterator[str], *,
                  options: str = "") -> int:
    """COPY already formatted text-format lines (tab-separated, newline-ended; NULL is \\N
    unless `options` says otherwise, e.g. "(FORMAT text, NULL '')") into `table` (PostgreSQL),
    streamed as they are produced; the number of rows."""
    feed = _LineFeed(lines)
    cols = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f'COPY "{table}" ({cols}) FROM STDIN {options}'.rstrip(),
                                  feed, size=1 << 16)
        if feed.error is not None:
            raise feed.error
        return cursor.cursor.rowcount
