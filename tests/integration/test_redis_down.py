"""Drill (issue 7, item 15): Redis down for 60 s — pages keep answering, queued work is not lost.

Stops a private redis-server on port 6390 (never the shared one on 6379). The cache goes through
ResilientRedisCache and, for the drill, sessions through the cache too (cached_db), so every
request really touches Redis. KONGCHUO_REDIS_DRILL_SECONDS shortens the outage locally.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest
from django.db import transaction
from django.test import Client

from tests.integration.conftest import _require_broker

pytestmark = pytest.mark.integration

PORT = 6390
DRILL_SECONDS = float(os.environ.get("KONGCHUO_REDIS_DRILL_SECONDS", "60"))
MAX_REQUESTS = 20_000  # bounded whatever the machine's speed


def _redis_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(PORT), *args],
                          capture_output=True, text=True, timeout=10)


def _start(tmp_path) -> None:
    subprocess.run(["redis-server", "--port", str(PORT), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--daemonize", "yes", "--dir", str(tmp_path),
                    "--pidfile", str(tmp_path / "redis-6390.pid")], check=True, timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _redis_cli("ping").stdout.strip() == "PONG":
            return
        time.sleep(0.1)
    raise RuntimeError("private redis-server did not start on port 6390")


def _stop() -> None:
    _redis_cli("shutdown", "nosave")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _redis_cli("ping").returncode == 0:
        time.sleep(0.1)


@pytest.fixture
def private_redis(tmp_path):
    _require_broker()
    if not shutil.which("redis-server") or not shutil.which("redis-cli"):
        if os.environ.get("CI"):
            pytest.fail("redis-server is needed for the Redis-down drill")
        pytest.skip("redis-server not installed")
    if _redis_cli("ping").returncode == 0:
        _stop()  # a leftover from an interrupted run
    _start(tmp_path)
    yield tmp_path
    _stop()


@pytest.fixture
def drill_settings(settings, private_redis):
    from kongchuo.celery import app

    settings.CACHES = {"default": {
        "BACKEND": "kongchuo.security.cache.ResilientRedisCache",
        "LOCATION": f"redis://127.0.0.1:{PORT}/1", "KEY_PREFIX": "drill",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.KONGCHUO_CACHE_RETRY_SECONDS = 1
    old = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url = f"redis://127.0.0.1:{PORT}/0"
    app.conf.task_always_eager = False
    app._pool = None
    app.amqp._producer_pool = None
    yield settings
    app.conf.broker_url, app.conf.task_always_eager = old
    app._pool = None
    app.amqp._producer_pool = None


def test_pages_answer_and_queued_work_survives_redis_outage(transactional_db, county, drill_settings,
                                                            private_redis):
    from kongchuo.jobs.outbox import enqueue
    from kongchuo.models import Job, OutboxMessage
    from students.tasks import refresh_name_initials

    client = Client()
    assert client.post("/accounts/login/", {"username": "u_county", "password": "correct-horse-9"}
                       ).status_code == 302
    pages = ["/", "/students/", f"/students/{county.s_a.pk}/", "/students/schools/",
             f"/students/schools/{county.a_primary.pk}/", "/audit/"]
    for url in pages:
        assert client.get(url).status_code == 200, url
    assert int(_redis_cli("-n", "1", "dbsize").stdout) > 0  # sessions really live in Redis

    _stop()
    statuses: dict[int, int] = {}
    started = time.monotonic()
    n = 0
    queued_job = None
    while time.monotonic() - started < DRILL_SECONDS and n < MAX_REQUESTS:
        if n % 50 == 0:  # a colleague logs in meanwhile (session write → cache set fails)
            other = Client()
            status = other.post("/accounts/login/", {"username": "u_township_a",
                                                     "password": "correct-horse-9"}).status_code
            statuses[status] = statuses.get(status, 0) + 1
        if queued_job is None and time.monotonic() - started > DRILL_SECONDS / 2:
            with transaction.atomic():  # work asked for while the broker is down
                queued_job = Job.objects.create(kind="refresh_name_initials")
                enqueue(refresh_name_initials.name, queued_job.pk)
        status = client.get(pages[n % len(pages)]).status_code
        statuses[status] = statuses.get(status, 0) + 1
        n += 1
    print(f"redis down {time.monotonic() - started:.0f}s: {n} page requests, statuses {statuses}")
    assert n > 0 and queued_job is not None
    assert set(statuses) <= {200, 302}, statuses  # 0 server errors
    assert statuses.get(302, 0) == (n + 49) // 50  # only the logins redirect
    message = OutboxMessage.objects.get()
    assert message.args == [queued_job.pk] and message.attempts >= 1

    _start(private_redis)
    from kongchuo.jobs.outbox import outbox_publish

    assert outbox_publish() == 1
    assert not OutboxMessage.objects.exists()
    queued = _redis_cli("-n", "0", "lrange", "celery", "0", "-1").stdout.strip().splitlines()
    assert len(queued) == 1
    assert json.loads(queued[0])["headers"]["task"] == refresh_name_initials.name
    assert json.loads(queued[0])["headers"]["argsrepr"] == f"[{queued_job.pk}]"
    time.sleep(1.1)  # the breaker's window
    assert client.get("/students/").status_code == 200
    assert int(_redis_cli("-n", "1", "dbsize").stdout) > 0  # the cache is used again
