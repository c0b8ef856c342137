"""Password spraying: many user names tried from one address (issue 15 finding 7).

django-axes locks a user name at one address after 5 failures (AXES_LOCKOUT_PARAMETERS), so a
school's NAT never locks colleagues out, but one common password tried against 20 names from
one address is never stopped: each name fails once. Axes counts failures, not distinct names,
so this module adds that count, in the cache (Redis in production), and enforces it through
axes' own backend hook and lockout response (429, the lockout page):

- a failed login from an address adds its user name (hashed: people type passwords into the
  box) to that address's set; a successful login removes it (it was a typo) and marks the name
  as known at that address for KONGCHUO_SPRAY_KNOWN_DAYS;
- when more than KONGCHUO_SPRAY_MAX_USERNAMES names failed from one address within
  KONGCHUO_SPRAY_WINDOW_MINUTES, attempts from it for any name not known there are refused,
  before the password is checked, for KONGCHUO_SPRAY_COOLOFF_MINUTES.

So staff who have signed in from the school before keep signing in during an attack on its
address; a handful of typos never blocks anyone. If the cache is down the check fails open
(axes' per-name lock still holds).
"""

from __future__ import annotations

import hashlib
import time

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from django.conf import settings
from django.core.cache import cache

from kongchuo.access.audit import audit_record
from kongchuo.access.ip import client_ip


def _name(username) -> str:
    return hashlib.sha256(str(username or "").strip().lower().encode()).hexdigest()[:20]


def _prefix() -> str:
    # A setting so that each test starts from a clean slate (tests/conftest.py) without
    # flushing a cache it shares with others.
    return getattr(settings, "KONGCHUO_SPRAY_KEY_PREFIX", "spray")


def _keys(ip: str) -> tuple[str, str]:
    return f"{_prefix()}:fail:{ip}", f"{_prefix()}:block:{ip}"


def _known_key(ip: str, name: str) -> str:
    return f"{_prefix()}:known:{ip}:{name}"


def _window() -> int:
    return settings.KONGCHUO_SPRAY_WINDOW_MINUTES * 60


def _cooloff() -> int:
    return settings.KONGCHUO_SPRAY_COOLOFF_MINUTES * 60


def _block_started(block_key: str, now: float) -> float | None:
    """When the address's running block began, or None. The time is in the value (the key's
    expiry only frees the cache): a block ends by the clock the application reads."""
    started = cache.get(block_key)
    if started is None or now - float(started) >= _cooloff():
        return None
    return float(started)


def spray_failure_note(*, request, username) -> bool:
    """Record a failed login; returns whether the address is (now) blocked."""
    ip = client_ip(request)
    if not ip:
        return False
    fail_key, block_key = _keys(ip)
    now = time.time()
    failed = {k: t for k, t in (cache.get(fail_key) or {}).items() if now - t < _window()}
    failed[_name(username)] = now
    cache.set(fail_key, failed, _window())
    if len(failed) > settings.KONGCHUO_SPRAY_MAX_USERNAMES:
        # The cool-off runs from the first refusal, as axes' does: a running block is kept.
        if _block_started(block_key, now) is None:
            cache.set(block_key, now, _cooloff())
            audit_record(action="login_spray_block", request=request, outcome="locked",
                         detail={"usernames": len(failed)})
        return True
    return False


def spray_success_note(*, request, username) -> None:
    """A signed-in name was a typo, not a spray; it is known at this address from now on."""
    ip = client_ip(request)
    if not ip:
        return
    fail_key, _block = _keys(ip)
    name = _name(username)
    failed = cache.get(fail_key) or {}
    if name in failed:
        failed.pop(name)
        cache.set(fail_key, failed, _window())
    cache.set(_known_key(ip, name), 1, settings.KONGCHUO_SPRAY_KNOWN_DAYS * 86400)


def spray_refused(*, request, username) -> bool:
    """Whether a login attempt for `username` from this address is refused unchecked."""
    ip = client_ip(request)
    if not ip:
        return False
    _fail, block_key = _keys(ip)
    if _block_started(block_key, time.time()) is None:
        return False
    return cache.get(_known_key(ip, _name(username))) is None


class SprayAwareAxesBackend(AxesStandaloneBackend):
    """axes' backend, also refusing unknown names from an address that is spraying. The refusal
    goes the way of an axes lockout: Django signals a failed login and AxesMiddleware answers
    with the lockout page (which says why, from `request.kongchuo_spray`)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and settings.AXES_ENABLED and spray_refused(request=request, username=username):
            request.axes_locked_out = True
            request.kongchuo_spray = settings.KONGCHUO_SPRAY_COOLOFF_MINUTES  # the page says how long
            raise AxesBackendPermissionDenied("too many user names failed from this address")
        return super().authenticate(request, username, password, **kwargs)
