"""One Celery beat at a time: django-celery-beat's scheduler behind a Redis lock.

Two beats would send every periodic task twice. The sweeps are idempotent, but a doubled digest
e-mail or export purge is noise, and "exactly one beat" is what operators are told to run — this
makes it true even when a second one is started by mistake, or a standby is kept on a second
machine on purpose. The scheduler takes the lock before it reads the schedule; while another beat
holds it, this one waits ("standby") and takes over once the holder has been gone for the lock's
TTL. The holder renews the lock on every tick (django-celery-beat ticks at least every 5 s); if a
renewal finds the lock taken by someone else, this beat exits rather than run beside it.

Settings: CELERY_BEAT_SCHEDULER = "kongchuo.jobs.beat.LockedDatabaseScheduler" (the default here),
KONGCHUO_BEAT_LOCK_TTL seconds (default 60). Without REDIS_URL there is no broker to share and
no lock is taken.
"""

from __future__ import annotations

import os
import socket

import redis
from celery.utils.log import get_logger
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler
from redis.exceptions import ConnectionError as RedisDown
from redis.exceptions import LockError, RedisError
from redis.exceptions import TimeoutError as RedisTimeout

logger = get_logger(__name__)
LOCK_KEY = "kongchuo:celery-beat"  # tests use their own key


class LockedDatabaseScheduler(DatabaseScheduler):
    _lock = None

    def setup_schedule(self):
        self._lock_acquire()
        super().setup_schedule()

    def _lock_acquire(self) -> None:
        if not settings.REDIS_URL or self._lock is not None:
            if not settings.REDIS_URL:
                logger.info("beat: no REDIS_URL, running without the single-beat lock")
            return
        ttl = settings.KONGCHUO_BEAT_LOCK_TTL
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        lock = client.lock(LOCK_KEY, timeout=ttl, sleep=1.0, thread_local=False)
        me = f"{socket.gethostname()}:{os.getpid()}"
        if not lock.acquire(blocking=False, token=me):
            holder = (client.get(LOCK_KEY) or b"").decode()
            taken = False
            if holder == me:
                # Our own host and pid: a previous run under this process id (a restart in a
                # container or a pid namespace reuses it), gone since we are that pid now.
                # Take the lock over at once instead of standing by behind ourselves.
                client.delete(LOCK_KEY)
                taken = lock.acquire(blocking=False, token=me)
                holder = "" if taken else (client.get(LOCK_KEY) or b"").decode()
            if not taken:
                logger.warning("beat: another beat (%s) holds the lock; standing by", holder or "?")
                lock.acquire(blocking=True, token=me)
        self._lock = lock
        logger.info("beat: %s holds the single-beat lock (ttl %ss)", me, ttl)

    def tick(self, *args, **kwargs):
        self._lock_renew()
        interval = super().tick(*args, **kwargs)
        # Renew well within the TTL even if the schedule has nothing due for a while.
        return min(interval, settings.KONGCHUO_BEAT_LOCK_TTL / 3)

    def _lock_renew(self) -> None:
        if self._lock is None:
            return
        try:
            self._lock.reacquire()
        except LockError:
            logger.critical("beat: the single-beat lock was taken by another beat; exiting")
            self._lock = None
            raise SystemExit(1) from None
        except (RedisDown, RedisTimeout) as exc:
            # The broker is Redis too: nothing can be sent now anyway. Keep ticking; the next
            # renewal either succeeds or finds the lock lost and exits.
            logger.warning("beat: cannot renew the single-beat lock (%s)", type(exc).__name__)

    def close(self):
        try:
            super().close()
        finally:
            if self._lock is not None:
                try:
                    self._lock.release()
                except RedisError:
                    pass  # expired or Redis gone: the TTL frees it
                self._lock = None
