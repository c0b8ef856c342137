"""Issue 15 finding 7: password spraying from one address is throttled by the number of user
names failing there, without locking out a school's NAT (kongchuo/security/spray.py)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client

from kongchuo.access.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PASSWORD = "correct-horse-9"  # tests/factories.UserFactory
NAT = "10.20.30.41"
SPRAYED = "Password@123"


def _login(username, password, ip=NAT):
    return Client().post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_thresholds_are_settings(settings):
    assert settings.KONGCHUO_SPRAY_MAX_USERNAMES == 10
    assert settings.KONGCHUO_SPRAY_WINDOW_MINUTES == 15
    assert settings.KONGCHUO_SPRAY_COOLOFF_MINUTES == 30
    assert settings.KONGCHUO_SPRAY_KNOWN_DAYS == 90


def test_twenty_names_sprayed_from_one_address_are_stopped():
    victims = [UserFactory(username=f"school{i:02d}", role="") for i in range(20)]
    statuses = [_login(u.username, SPRAYED).status_code for u in victims]
    assert statuses[:11] == [200] * 11  # a failed login page: the password was checked
    assert set(statuses[11:]) == {429}  # refused unchecked from the 12th name on
    # Even the right password of a name never signed in from here is refused during the cool-off.
    response = _login(victims[15].username, PASSWORD)
    assert response.status_code == 429
    assert "用户名过多" in response.content.decode() and "30分钟" in response.content.decode()
    # Another address is not affected.
    assert _login(victims[15].username, PASSWORD, ip="10.99.0.1").status_code == 302
    assert AuditEvent.objects.filter(action="login_spray_block", outcome="locked").count() == 1


def test_the_block_ends_after_the_cooloff():
    victims = [UserFactory(username=f"t{i:02d}", role="") for i in range(12)]
    t0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(t0, tick=False):
        for u in victims:
            _login(u.username, SPRAYED)
        assert _login(victims[0].username, PASSWORD).status_code == 429
    with time_machine.travel(t0 + dt.timedelta(minutes=31), tick=False):
        assert _login(victims[0].username, PASSWORD).status_code == 302


def test_a_schools_nat_staff_who_signed_in_before_are_not_locked_out():
    staff = [UserFactory(username=f"clerk{i:02d}", role="") for i in range(30)]
    for user in staff:  # a normal week: everyone has signed in from the school before
        assert _login(user.username, PASSWORD).status_code == 302
    attacker = [f"guess{i:02d}" for i in range(20)]
    for name in attacker:
        _login(name, SPRAYED)
    assert _login("guess99", SPRAYED).status_code == 429  # the address is spraying
    for user in staff:
        assert _login(user.username, PASSWORD).status_code == 302, user.username


def test_a_handful_of_typos_never_blocks():
    staff = [UserFactory(username=f"teacher{i:02d}", role="") for i in range(40)]
    # Forty first-time users, each mistyping once before getting in: a typo corrected is not
    # a sprayed name, so the address never has more than one failing name at a time.
    for user in staff:
        assert _login(user.username, "wrong-password-0").status_code == 200
        assert _login(user.username, PASSWORD).status_code == 302, user.username
    # Ten different people failing and not (yet) succeeding is still within the limit.
    for user in staff[:10]:
        _login(user.username, "wrong-password-0")
    newcomer = UserFactory(username="newcomer", role="")
    assert _login(newcomer.username, PASSWORD).status_code == 302
