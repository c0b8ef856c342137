"""Logins and sessions (issue 7, items 4 and 5): lockout, hashing, rotation, timeouts, deactivation."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client

from kongchuo.access.models import AuditEvent
from kongchuo.security.models import UserSession
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PASSWORD = "correct-horse-9"  # tests/factories.UserFactory
NAT = "10.20.30.40"


def _login(username, password, ip=NAT, **extra):
    client = Client()
    response = client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)
    return client, response


def _fail(username, times, ip=NAT):
    for _ in range(times):
        _, response = _login(username, "wrong-password-0", ip)
    return response


# -- item 4: django-axes -----------------------------------------------------------------------


def test_thirty_staff_behind_one_nat_do_not_lock_each_other_out():
    staff = [UserFactory(username=f"clerk{i:02d}", role="") for i in range(30)]
    # Staff who have signed in from the school before: thirty names failing at once from one
    # address is also what a password spray looks like, and names never signed in from that
    # address are then refused for a cool-off (tests/security/test_spraying.py).
    for user in staff:
        _login(user.username, PASSWORD)
    # One clerk mistypes until locked; every colleague fails a few times too (fewer than 5).
    _fail("clerk00", 5)
    for user in staff[1:]:
        _fail(user.username, 4)
    for user in staff[1:]:
        _, response = _login(user.username, PASSWORD)
        assert response.status_code == 302, user.username  # logged in
    _, response = _login("clerk00", PASSWORD)
    assert response.status_code == 429  # only the one who failed 5 times is locked


def test_right_password_refused_while_locked_then_accepted_after_cooloff():
    UserFactory(username="zhang", role="")
    t0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(t0, tick=False):
        response = _fail("zhang", 5)
        assert response.status_code == 429
        client, response = _login("zhang", PASSWORD)
        assert response.status_code == 429
        assert "_auth_user_id" not in client.session
        assert "账号已锁定".encode() in response.content
    with time_machine.travel(t0 + dt.timedelta(minutes=14), tick=False):
        assert _login("zhang", PASSWORD)[1].status_code == 429
    with time_machine.travel(t0 + dt.timedelta(minutes=16), tick=False):
        assert _login("zhang", PASSWORD)[1].status_code == 302


def test_lock_is_per_username_and_ip():
    UserFactory(username="li", role="")
    _fail("li", 5, ip="10.0.0.1")
    assert _login("li", PASSWORD, ip="10.0.0.1")[1].status_code == 429
    # The same account from another network is not locked (username + IP, not username alone).
    assert _login("li", PASSWORD, ip="10.0.0.2")[1].status_code == 302


def test_lockout_and_failures_are_audited():
    UserFactory(username="wang", role="")
    _fail("wang", 5)
    failed = AuditEvent.objects.filter(action="login_failed")
    assert failed.count() == 5
    assert {e.detail["username"] for e in failed} == {"wang"}
    lockout = AuditEvent.objects.get(action="lockout")
    assert lockout.detail["username"] == "wang"
    assert lockout.ip == NAT
    assert lockout.outcome == "locked"
    assert not any("wrong-password" in str(e.detail) for e in AuditEvent.objects.all())


def test_text_typed_into_the_username_box_is_not_audited_unless_it_is_an_account():
    _login("Secret-Passw0rd!", "whatever-1")  # the password typed into the wrong box
    _login("341522200803211234", "whatever-1")
    details = [e.detail for e in AuditEvent.objects.filter(action="login_failed")]
    assert details == [{"username": "", "unknown_user": True}] * 2


def test_client_ip_behind_one_proxy(settings):
    settings.KONGCHUO_PROXY_COUNT = 1
    UserFactory(username="zhao", role="")
    # The client forged a first entry; the proxy appended the real address it saw.
    _login("zhao", "wrong-password-0", ip="127.0.0.1",
           HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")
    attempt = AccessAttempt.objects.get(username="zhao")
    assert attempt.ip_address == "203.0.113.7"
    assert AuditEvent.objects.get(action="login_failed").ip == "203.0.113.7"


def test_forwarded_header_ignored_without_a_proxy(settings):
    settings.KONGCHUO_PROXY_COUNT = 0
    UserFactory(username="sun", role="")
    _login("sun", "wrong-password-0", ip="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert AccessAttempt.objects.get(username="sun").ip_address == "198.51.100.9"


def test_rotating_forwarded_for_does_not_escape_the_lock(settings):
    """Behind one proxy, a client varying its own X-Forwarded-For prefix is still one address."""
    settings.KONGCHUO_PROXY_COUNT = 1
    UserFactory(username="zhou", role="")
    for i in range(5):
        _login("zhou", "wrong-password-0", ip="127.0.0.1", HTTP_X_FORWARDED_FOR=f"9.9.9.{i}, 203.0.113.8")
    _, response = _login("zhou", PASSWORD, ip="127.0.0.1", HTTP_X_FORWARDED_FOR="8.8.8.8, 203.0.113.8")
    assert response.status_code == 429


def test_axes_settings_match_the_policy():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert dt.timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_CLIENT_IP_CALLABLE == "kongchuo.access.ip.client_ip"


# -- item 5: hashing, validators, rotation, timeouts, deactivation ---------------------------------


def test_passwords_are_hashed_with_argon2id(settings):
    from kongchuo import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS  # undo the fast test hasher
    user = UserFactory(username="argon", role="")
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")  # OWASP baseline
    assert user.check_password(PASSWORD)


def test_old_argon2_hashes_still_verify_and_are_upgraded(settings):
    from django.contrib.auth.hashers import Argon2PasswordHasher

    from kongchuo import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    user = UserFactory(username="legacy", role="")
    user.password = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    user.save(update_fields=["password"])
    assert "m=102400" in user.password
    _, response = _login("legacy", PASSWORD)
    assert response.status_code == 302
    user.refresh_from_db()
    assert "m=19456,t=2,p=1" in user.password


@pytest.mark.parametrize("password", ["short-9", "123456789012", "password1234", "qwertyuiop"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_ten_character_passphrase_is_accepted():
    validate_password("Huai-He-2026")


def test_session_key_and_csrf_token_rotate_at_login():
    UserFactory(username="qian", role="")
    client = Client()
    client.get(LOGIN)
    csrf_before = client.cookies["csrftoken"].value
    session = client.session
    session["pre_login"] = 1
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    key_before = session.session_key
    response = client.post(LOGIN, {"username": "qian", "password": PASSWORD}, REMOTE_ADDR=NAT)
    assert response.status_code == 302
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != key_before
    assert not Session.objects.filter(session_key=key_before).exists()
    assert response.cookies["csrftoken"].value != csrf_before
    assert AuditEvent.objects.filter(action="login", username="qian").count() == 1


def _logged_in_at(t0, county):
    with time_machine.travel(t0, tick=False):
        client, response = _login("u_county", PASSWORD)
        assert response.status_code == 302
    return client


def test_idle_timeout_is_30_minutes(county):
    t0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    client = _logged_in_at(t0, county)
    with time_machine.travel(t0 + dt.timedelta(minutes=29), tick=False):
        assert client.get("/students/").status_code == 200
    with time_machine.travel(t0 + dt.timedelta(minutes=58), tick=False):  # 29 min after the last
        assert client.get("/students/").status_code == 200
    with time_machine.travel(t0 + dt.timedelta(minutes=89), tick=False):  # 31 min idle
        response = client.get("/students/")
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_absolute_timeout_is_12_hours_even_when_active(county):
    t0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    client = _logged_in_at(t0, county)
    for minutes in range(20, 12 * 60, 20):  # busy all day, never idle 30 min
        with time_machine.travel(t0 + dt.timedelta(minutes=minutes), tick=False):
            assert client.get("/students/").status_code == 200, minutes
    with time_machine.travel(t0 + dt.timedelta(hours=12, minutes=1), tick=False):
        response = client.get("/students/")
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert AuditEvent.objects.filter(action="logout", username="u_county").exists()


def test_absolute_timeout_counts_from_login_not_first_page(county):
    t0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    client = _logged_in_at(t0, county)
    # Sessions idle-expire at 30 min, so extend the idle window to isolate the absolute cap.
    s = client.session
    s.set_expiry(24 * 3600)
    s.save()
    with time_machine.travel(t0 + dt.timedelta(hours=12, minutes=5), tick=False):
        response = client.get("/students/")
        assert response.status_code == 302


def test_session_row_is_refreshed_at_most_once_a_minute(county):
    t0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    client = _logged_in_at(t0, county)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value

    def expiry():
        return Session.objects.get(session_key=key).expire_date

    with time_machine.travel(t0 + dt.timedelta(seconds=70), tick=False):
        client.get("/students/")
        first = expiry()
        assert first == t0 + dt.timedelta(seconds=70) + dt.timedelta(minutes=30)
    with time_machine.travel(t0 + dt.timedelta(seconds=100), tick=False):
        client.get("/students/")
        assert expiry() == first  # no write 30 s later
    with time_machine.travel(t0 + dt.timedelta(seconds=140), tick=False):
        client.get("/students/")
        assert expiry() == t0 + dt.timedelta(seconds=140) + dt.timedelta(minutes=30)


def test_deactivating_a_user_ends_all_their_sessions(county):
    office, _ = _login("u_county", PASSWORD, ip="10.0.0.1")
    laptop, _ = _login("u_county", PASSWORD, ip="10.0.0.2")
    colleague, _ = _login("u_township_a", PASSWORD)
    assert UserSession.objects.filter(user=county.county_user).count() == 2
    user = county.county_user
    user.is_active = False
    user.save()
    for client in (office, laptop):
        response = client.get("/students/")
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert colleague.get("/students/").status_code == 200
    assert not UserSession.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(action="user_deactivate")
    assert event.detail == {"sessions_ended": 2}


def test_ending_sessions_is_set_based(county):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kongchuo.security.services import user_sessions_end

    def queries_to_end(users, per_user):
        for user in users:
            for i in range(per_user):
                _login(user.username, PASSWORD, ip=f"10.0.0.{i + 1}")
        with CaptureQueriesContext(connection) as ctx:
            assert user_sessions_end(user_ids=[u.pk for u in users]) == len(users) * per_user
        return len(ctx.captured_queries)

    one = queries_to_end([county.school_b], 1)
    many = queries_to_end([county.county_user, county.township_a, county.school_a], 3)
    assert many == one  # the same statements for 1 session or 9
    assert Session.objects.count() == 0


def test_saving_an_active_user_keeps_sessions(county):
    client, _ = _login("u_county", PASSWORD)
    county.county_user.first_name = "张"
    county.county_user.save()
    assert client.get("/students/").status_code == 200


def test_expired_sessions_and_their_index_rows_are_pruned(county):
    from kongchuo.security.tasks import prune_sessions

    t0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    _logged_in_at(t0, county)
    live, _ = _login("u_school_a", PASSWORD)
    assert UserSession.objects.count() == 2
    assert prune_sessions() == 1  # the 2026-03-02 session is long expired
    assert list(UserSession.objects.values_list("user__username", flat=True)) == ["u_school_a"]
    assert live.get("/students/").status_code == 200
