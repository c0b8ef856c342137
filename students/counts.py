"""Counts for the list pages, cached while the tables they count are unchanged (issue 7, item 18).

A list page shows "共 N 条" and page links, so its paginator COUNTs the user's whole scope on
every view: for the county that is 200,000 students, the largest cost of the roster page on a
small server (figures: docs/performance.md). Here a count is kept in the Django
cache (Redis in production) under a key made of the query's SQL and parameters and of a *change
counter* of the tables it reads: the sum of PostgreSQL's per-table insert/update/delete
counters (`pg_stat_get_tuples_*`) plus this transaction's own (`pg_stat_get_xact_tuples_*`).
Any write to those tables changes the key, so a count is not read again once its tables
changed; PostgreSQL publishes another connection's committed changes to the counters within a
second, at most ~10 s when that connection goes idle right after (its statistics flush
interval). Until then the label can lag; the rows of the page are always read live.

Only counts of at least CACHE_MIN_ROWS rows, or that took CACHE_MIN_SECONDS (a filter that
reads the whole table), are cached: small scopes (a school) count in a millisecond and always
show the exact figure. Without PostgreSQL
(SQLite in development and tests) or without a cache, every count is live. The paginator also
caps the page size a request may ask for (`?per_page=`), which was unbounded.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import time

from django.apps import apps
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count
from django.utils.functional import cached_property

from students.models import Student

logger = logging.getLogger(__name__)

CACHE_MIN_ROWS = 5000
CACHE_MIN_SECONDS = 0.02  # or a count that took this long (a filter read the whole table)
TIMEOUT = 10 * 60  # backstop: counters reset by a server restart could repeat an old value
MAX_PER_PAGE = 100

_VERSION_SQL = """
SELECT COALESCE(SUM(pg_stat_get_tuples_inserted(t) + pg_stat_get_tuples_updated(t)
                    + pg_stat_get_tuples_deleted(t) + pg_stat_get_xact_tuples_inserted(t)
                    + pg_stat_get_xact_tuples_updated(t) + pg_stat_get_xact_tuples_deleted(t)), 0),
       txid_current_if_assigned()
FROM unnest(%s::regclass[]) AS t
"""


@functools.cache
def _model_tables() -> frozenset[str]:
    return frozenset(model._meta.db_table for model in apps.get_models(include_auto_created=True))


def tables_of(sql: str) -> list[str]:
    """The tables a query reads: every quoted name in its SQL (joins and subqueries alike)
    that is a model's table."""
    return sorted(set(re.findall(r'"([^"]+)"', sql)) & _model_tables())


def change_counter(tables, using: str = "default") -> str | None:
    """Rows inserted, updated and deleted in `tables` so far; None where it cannot be known.

    Inside a transaction that has written, the transaction id is part of it: a figure that
    may include uncommitted rows stays private to that transaction.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL, [list(tables)])
        changes, txid = cursor.fetchone()
    return f"{changes}" if txid is None else f"{changes}.{txid}"


def cached(name: str, tables, compute, *, using: str = "default", keep=None):
    """`compute()`, from the cache while `tables` are unchanged; `keep(value, seconds)` says
    whether a fresh value is worth caching (default: always)."""
    version = change_counter(tables, using)
    if version is None:
        return compute()
    key = f"counts:{name}:{version}"
    try:
        value = cache.get(key)
    except Exception:  # the cache backend down: compute live
        value = None
    if value is not None:
        return value
    started = time.perf_counter()
    value = compute()
    if keep is None or keep(value, time.perf_counter() - started):
        try:
            cache.set(key, value, TIMEOUT)
        except Exception:
            logger.warning("counts: cache set failed", exc_info=True)
    return value


def _worth_keeping(count: int, seconds: float) -> bool:
    return count >= CACHE_MIN_ROWS or seconds >= CACHE_MIN_SECONDS


def cached_count(queryset, tables=None) -> int:
    """`queryset.count()`, from the cache while `tables` (default: the query's) are unchanged."""
    queryset = queryset.order_by()
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # .none(), an empty __in: Django answers 0 without a query
        return queryset.count()
    tables = sorted(set(tables or ()) | set(tables_of(sql)))
    digest = hashlib.sha256(repr((sql, params, tables)).encode()).hexdigest()[:32]
    return int(cached(digest, tables, queryset.count, using=queryset.db, keep=_worth_keeping))


def enrolled_by_school() -> dict[int, int]:
    """{school id: enrolled students} for the whole county: one GROUP BY, cached; callers pick
    the schools their user may see (the figures of other schools are never shown)."""
    def compute():
        rows = (Student.objects.filter(status=Student.Status.ENROLLED).order_by()
                .values_list("school_id").annotate(n=Count("id")))
        return dict(rows)

    return cached("enrolled_by_school", [Student._meta.db_table], compute)


class CachedCountPaginator(Paginator):
    """Django's paginator counting through `cached_count`, with a capped page size.

    For django-tables2: `RequestConfig(request, paginate={"paginator_class": CachedCountPaginator,
    "per_page": 20, "count_queryset": qs}).configure(table)` — `qs` being the table's data. The
    tables the count depends on are read from its SQL; `count_tables` may add more.
    """

    def __init__(self, object_list, per_page, *args, count_queryset=None, count_tables=(), **kwargs):
        try:
            per_page = max(1, min(int(per_page), MAX_PER_PAGE))
        except (TypeError, ValueError):
            per_page = MAX_PER_PAGE
        super().__init__(object_list, per_page, *args, **kwargs)
        self.count_queryset = count_queryset
        self.count_tables = tuple(count_tables)

    @cached_property
    def count(self) -> int:
        if self.count_queryset is None:
            return super().count
        return cached_count(self.count_queryset, self.count_tables)
