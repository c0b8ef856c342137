"""A Redis cache that degrades to a miss when Redis is unreachable.

Django's RedisCache raises on a connection error, which turns every page that touches the cache
into a 500 while Redis restarts. Here a connection or timeout error is logged and answered like a
miss (get → default, set/add/delete → False, incr → ValueError as for a missing key), and for
`KONGCHUO_CACHE_RETRY_SECONDS` afterwards Redis is not tried at all (a small circuit breaker), so
an unreachable host costs one socket timeout per window instead of one per call. Pages then read
from the database, slower but correct: the cache only ever holds derived data.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("kongchuo.cache")

_DOWN_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._down_until = 0.0
        self._lock = threading.Lock()

    # -- circuit breaker -------------------------------------------------------------------
    @property
    def _retry_seconds(self) -> float:
        return float(getattr(settings, "KONGCHUO_CACHE_RETRY_SECONDS", 5))

    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _trip(self, op: str, exc: BaseException) -> None:
        with self._lock:
            first = not self.is_down()
            self._down_until = time.monotonic() + self._retry_seconds
        if first:
            logger.warning("cache unavailable during %s (%s); serving misses for %.0fs",
                           op, exc.__class__.__name__, self._retry_seconds)

    def _guard(self, op: str, call, fallback):
        if self.is_down():
            return fallback()
        try:
            return call()
        except _DOWN_ERRORS as exc:
            self._trip(op, exc)
            return fallback()

    # -- the cache API -----------------------------------------------------------------------
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard("add", lambda: super(ResilientRedisCache, self).add(
            key, value, timeout, version), lambda: False)

    def get(self, key, default=None, version=None):
        return self._guard("get", lambda: super(ResilientRedisCache, self).get(
            key, default, version), lambda: default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard("set", lambda: super(ResilientRedisCache, self).set(
            key, value, timeout, version), lambda: None)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard("touch", lambda: super(ResilientRedisCache, self).touch(
            key, timeout, version), lambda: False)

    def delete(self, key, version=None):
        return self._guard("delete", lambda: super(ResilientRedisCache, self).delete(
            key, version), lambda: False)

    def get_many(self, keys, version=None):
        return self._guard("get_many", lambda: super(ResilientRedisCache, self).get_many(
            keys, version), dict)

    def has_key(self, key, version=None):
        return self._guard("has_key", lambda: super(ResilientRedisCache, self).has_key(
            key, version), lambda: False)

    def incr(self, key, delta=1, version=None):
        def missing():
            raise ValueError(f"Key '{key}' not found (cache unavailable)")

        return self._guard("incr", lambda: super(ResilientRedisCache, self).incr(
            key, delta, version), missing)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard("set_many", lambda: super(ResilientRedisCache, self).set_many(
            data, timeout, version), lambda: list(data))

    def delete_many(self, keys, version=None):
        return self._guard("delete_many", lambda: super(ResilientRedisCache, self).delete_many(
            keys, version), lambda: None)

    def clear(self):
        return self._guard("clear", lambda: super(ResilientRedisCache, self).clear(), lambda: False)
