"""A real Celery worker process against the real broker (REDIS_URL) and the test database.

Locally without REDIS_URL these tests skip; in CI (CI=true) a missing broker is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def _require_broker() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must run the integration suite: REDIS_URL is not set")
        pytest.skip("REDIS_URL not set: the real-worker suite runs in CI (.ci/run)")
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        if os.environ.get("CI"):
            pytest.fail("CI must run the integration suite on PostgreSQL (DATABASE_URL)")
        pytest.skip("the real-worker suite needs PostgreSQL (a worker cannot share SQLite's test db)")
    return url


def _worker_env() -> dict:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{db['USER'] or 'postgres'}{':' + db['PASSWORD'] if db['PASSWORD'] else ''}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env["KONGCHUO_TESTING"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    _require_broker()
    from kongchuo.celery import app

    app.conf.task_always_eager = False
    app.control.purge()
    log = tmp_path / "worker.log"
    handle = open(log, "w")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kongchuo", "worker", "-l", "info",
         "--concurrency", "2", "--without-gossip", "--without-mingle", "-n", f"test-{os.getpid()}@%h"],
        cwd=ROOT, env=_worker_env(), stdout=handle, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("celery worker exited:\n" + log.read_text())
        if "ready." in log.read_text():
            break
        time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("celery worker did not start:\n" + log.read_text())
    proc.log_path = log
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    handle.close()
    app.conf.task_always_eager = True


@pytest.fixture
def celery_worker_factory(transactional_db, tmp_path):
    """Start real worker processes on demand: `start(name, concurrency=1, **env)`.

    Each worker gets its own node name and log; all are stopped at teardown. Extra keyword
    arguments become environment variables of the worker (e.g. a fault-injection delay).
    """
    _require_broker()
    from kongchuo.celery import app

    app.conf.task_always_eager = False
    app.control.purge()
    started: list[tuple[subprocess.Popen, object]] = []

    def start(name: str, concurrency: int = 1, **extra_env) -> subprocess.Popen:
        log = tmp_path / f"worker-{name}.log"
        handle = open(log, "w")  # noqa: SIM115 - closed in teardown
        env = _worker_env()
        env.update({k: str(v) for k, v in extra_env.items()})
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kongchuo", "worker", "-l", "info",
             "--concurrency", str(concurrency), "--without-gossip", "--without-mingle",
             "--prefetch-multiplier", "1", "-n", f"{name}-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
        )
        started.append((proc, handle))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"celery worker {name} exited:\n" + log.read_text())
            if "ready." in log.read_text():
                break
            time.sleep(0.3)
        else:
            raise RuntimeError(f"celery worker {name} did not start:\n" + log.read_text())
        proc.log_path = log
        proc.node = f"{name}-{os.getpid()}"
        return proc

    yield start
    for proc, _handle in started:
        if proc.poll() is None:
            proc.terminate()
    for proc, handle in started:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        handle.close()
    app.control.purge()
    app.conf.task_always_eager = True


def stop_worker(proc: subprocess.Popen) -> None:
    """Warm shutdown of one worker started by `celery_worker_factory`."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
