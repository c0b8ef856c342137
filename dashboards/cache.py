"""Caching the dashboards, and knowing when to stop trusting the cache.

Design: one integer *data version* in the Django cache (Redis in production, local memory by
default). Every cached dashboard is stored under a key that includes that version, so bumping
the version invalidates every dashboard of every scope at once; stale entries are never read
again and simply expire (TTL).

The census reconciliation has a second version of its own (CENSUS_MODELS), so the day's usual
writes — alerts decided, cases worked — recompute the cheap figures and reuse the census join.

Who bumps them: `post_save`/`post_delete` receivers on every model a figure counts (connected in
`DashboardsConfig.ready`). Why receivers and not the services: the services belong to the lower
apps, which may not import this one (layering), and a receiver catches admin edits too. Bulk
writes (`bulk_create`, `update()`) send no signals, so the receivers also watch the rows every
bulk path finishes with — `kongchuo.Job` (imports, exports) and `retrieval.SweepRun` (sweeps)
— and TIMEOUT bounds anything else (a shell session, a raw SQL fix) to a few minutes.

A bump happens twice: at once, on every saved row (so the writing request itself, and tests
inside one transaction, never read stale figures; an INCR is far cheaper than the row's INSERT),
and again after commit (so a dashboard another process computed from pre-commit data in
between is orphaned too) — that second bump is registered once per transaction.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.core.cache import cache
from django.db import transaction
from django.utils.translation import get_language

logger = logging.getLogger(__name__)

VERSION_KEY = "dashboards:version"
CENSUS_VERSION_KEY = "dashboards:version:census"
TIMEOUT = 10 * 60  # backstop for writes that send no signal
# The census reconciliation (户籍 vs 学籍) is the costliest figure — a join of the whole
# census to the whole roll — and depends only on these; an alert or a case being worked on
# (the day's usual writes) leaves it cached.
CENSUS_MODELS = frozenset({"students.censusentry", "students.student", "students.statuschange",
                           "ledgers.deferral", "kongchuo.job", "kongchuo.calendar.schoolyear"})


def data_version(key: str = VERSION_KEY) -> int:
    version = cache.get(key)
    if version is None:
        # Start from the clock, not 0: an evicted version must never revive old entries.
        cache.add(key, time.time_ns(), None)
        version = cache.get(key) or 0
    return int(version)


def _bump(*keys: str) -> None:
    for key in keys:
        try:
            cache.incr(key)
        except ValueError:  # evicted or never set
            cache.set(key, time.time_ns(), None)
        except Exception:  # a cache outage must not break a write; TIMEOUT still applies
            logger.warning("dashboards: cache version bump failed", exc_info=True)


def _bump_after_commit() -> None:
    _bump(VERSION_KEY)


def _bump_census_after_commit() -> None:
    _bump(VERSION_KEY, CENSUS_VERSION_KEY)


def data_changed(sender=None, **kwargs) -> None:
    """Receiver for post_save/post_delete of every counted model."""
    using = kwargs.get("using") or "default"
    census = sender is not None and sender._meta.label_lower in CENSUS_MODELS
    after = _bump_census_after_commit if census else _bump_after_commit
    if census:
        _bump(VERSION_KEY, CENSUS_VERSION_KEY)
    else:
        _bump(VERSION_KEY)
    connection = transaction.get_connection(using)
    if connection.in_atomic_block and any(
            entry[1] is after for entry in getattr(connection, "run_on_commit", [])):
        return  # this transaction bumps again on commit already
    transaction.on_commit(after, using=using)


def _scope_hash(scope, params, *, language: bool = True) -> str:
    lang = get_language() if language else ""
    raw = f"{scope.role}|{scope.township_id}|{scope.school_id}|{lang}|{params.cache_part()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def cache_key(scope, params) -> str:
    return f"dashboards:data:{data_version()}:{_scope_hash(scope, params)}"


def cached_census(scope, params, compute):
    """The census reconciliation, cached under its own version (see CENSUS_MODELS)."""
    try:
        scope_hash = _scope_hash(scope, params, language=False)  # counts only: no words
        key = f"dashboards:census:{data_version(CENSUS_VERSION_KEY)}:{scope_hash}"
        value = cache.get(key)
    except Exception:
        logger.warning("dashboards: cache read failed", exc_info=True)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, TIMEOUT)
        except Exception:
            logger.warning("dashboards: cache write failed", exc_info=True)
    return value


def cached(scope, params, compute, *, part: str = "", store: dict | None = None):
    """`compute()` once per (data version, scope, language, filters); cache errors fall back
    to computing.

    `compute` may return several parts (a dict); `store` then names the parts to keep, each
    under its own key, and `part` the one to return — so a page that needs only its rendered
    HTML never unpickles the figures dict beside it.
    """
    try:
        key = cache_key(scope, params)
        value = cache.get(f"{key}:{part}")
    except Exception:
        logger.warning("dashboards: cache read failed", exc_info=True)
        value, key = None, None
    if value is not None:
        return value
    computed = compute()
    parts = computed if store is not None else {part: computed}
    if key is not None:
        try:
            cache.set_many({f"{key}:{name}": parts[name] for name in parts}, TIMEOUT)
        except Exception:
            logger.warning("dashboards: cache write failed", exc_info=True)
    return parts[part]
