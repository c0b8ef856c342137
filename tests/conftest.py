"""Shared fixtures: a small two-township county and one user per role, plus outsiders.

Every permission test is then three lines: log in as owner, colleague or outsider, assert.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KONGCHUO_TESTING", "1")

from tests.factories import SchoolFactory, StudentFactory, TownshipFactory, UserFactory  # noqa: E402


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Unit tests run tasks in-process; the integration suite talks to a real worker."""
    from kongchuo.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield


@pytest.fixture(autouse=True)
def _spray_state_per_test(settings):
    """Each test counts failed user names per address afresh (kongchuo/security/spray.py keeps
    them in the cache, which outlives a test's transaction)."""
    import uuid

    settings.KONGCHUO_SPRAY_KEY_PREFIX = f"spray-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts and ends in the default language. A request through LocaleMiddleware
    activates its language in the thread and nothing deactivates it, so a test that switched to
    English would otherwise leave English to every later test of the run."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def county(db):
    """Two townships (A, B), each with a center school and a primary; one county-direct school."""
    ta = TownshipFactory(code="341522100", name="甲镇")
    tb = TownshipFactory(code="341522101", name="乙镇")
    a_center = SchoolFactory(township=ta, is_center=True, name="甲镇中心学校", kind="nine_year")
    a_primary = SchoolFactory(township=ta, name="甲镇东岗小学", kind="primary")
    b_center = SchoolFactory(township=tb, is_center=True, name="乙镇中心学校", kind="nine_year")
    b_primary = SchoolFactory(township=tb, name="乙镇西湖小学", kind="primary")
    direct = SchoolFactory(township=ta, name="霍邱县第二中学", kind="complete", oversight="county")
    ns = type("County", (), {})()
    ns.ta, ns.tb = ta, tb
    ns.a_center, ns.a_primary, ns.b_center, ns.b_primary, ns.direct = (
        a_center, a_primary, b_center, b_primary, direct)
    # Fixed, distinct names: tests assert "A's child shown, B's not" by name, and two random
    # names can coincide.
    ns.s_a = StudentFactory(school=a_primary, hukou_township=ta, name="周甲东")
    ns.s_a2 = StudentFactory(school=a_center, hukou_township=ta, name="钱甲中")
    ns.s_b = StudentFactory(school=b_primary, hukou_township=tb, name="吴乙西")
    ns.s_direct = StudentFactory(school=direct, hukou_township=ta, grade=8, name="郑县直")
    ns.county_user = UserFactory(username="u_county", role="county")
    ns.township_a = UserFactory(username="u_township_a", role="township", township=ta)
    ns.township_b = UserFactory(username="u_township_b", role="township", township=tb)
    ns.school_a = UserFactory(username="u_school_a", role="school", school=a_primary)
    ns.school_b = UserFactory(username="u_school_b", role="school", school=b_primary)
    ns.gov_a = UserFactory(username="u_gov_a", role="township_gov", township=ta)
    ns.no_role = UserFactory(username="u_none", role="")
    return ns


@pytest.fixture
def client_as(client):
    def login(user):
        client.force_login(user)
        return client

    return login


# --- Item 12 of the security issue: nothing personal reaches the logs over the whole suite. ---
# Every record any test emits goes through the production redaction filter into one file; at the
# end of the session the file must hold no 18-character ID number and no mobile number.
_LOG_CHECK: dict = {}
_PERSONAL = __import__("re").compile(r"(?<![0-9.])(?:[0-9]{17}[0-9Xx]|1[3-9][0-9]{9})(?![0-9])")


def pytest_sessionstart(session):
    import logging
    import tempfile

    from kongchuo.security.redact import RedactFilter

    fd, path = tempfile.mkstemp(prefix="kongchuo-test-log-", suffix=".log")
    os.close(fd)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.addFilter(RedactFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logging.getLogger().addHandler(handler)
    _LOG_CHECK.update(path=path, handler=handler)


def pytest_sessionfinish(session, exitstatus):
    import logging

    handler = _LOG_CHECK.get("handler")
    if handler is None:
        return
    logging.getLogger().removeHandler(handler)
    handler.close()
    with open(_LOG_CHECK["path"], encoding="utf-8", errors="replace") as fh:
        leaks = [line.strip()[:160] for line in fh if _PERSONAL.search(line)]
    if leaks:
        print(f"\nPERSONAL DATA IN LOGS ({len(leaks)} lines), e.g.:\n  " + "\n  ".join(leaks[:5]))
        session.exitstatus = 1
    else:
        print(f"\nlog check: no ID number or phone in {_LOG_CHECK['path']}")
