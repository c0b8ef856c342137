"""Item 14, second half: the whole worker killed mid-sweep, and exactly one beat.

Real Redis, PostgreSQL and Celery processes. A worker killed as a whole (main process and pool
children, SIGKILL: an OOM kill or a power cut) keeps its unacknowledged messages out of reach
until Redis' visibility timeout (hours); the sweep watchdog dispatches the stalled run again and
a fresh worker finishes it with no alert doubled. Two beats started together: one sends, the other
stands by and takes over only when the first is gone.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest

from retrieval.models import Alert, SweepRun
from retrieval.sweeps.runner import sweep_run_start, sweep_runs_resume
from tests.integration.conftest import ROOT, _require_broker, _worker_env
from tests.integration.test_sweep_reliability import (
    AS_OF,
    _county,
    _finished,
    _running_pid,
    _snapshot,
    _uninterrupted,
    _wait_for,
)

pytestmark = pytest.mark.integration


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def test_whole_worker_killed_mid_sweep_is_resumed_by_the_watchdog(celery_worker_factory):
    _county()
    doomed = celery_worker_factory("doomed", concurrency=2, KONGCHUO_SWEEP_PARTITION_DELAY_MS=1500)
    run = sweep_run_start(sweep="return_check", as_of=AS_OF, trigger="manual")
    assert _wait_for(lambda: _running_pid(run.pk), timeout=60), doomed.log_path.read_text()
    pool = _children(doomed.pid)
    for pid in [doomed.pid, *pool]:  # the whole worker at once, as a crash would
        os.kill(pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    time.sleep(3)  # nothing moves any more: the messages it held are in Redis' unacked set
    stuck = SweepRun.objects.get(pk=run.pk)
    assert stuck.status == SweepRun.Status.RUNNING
    assert any(v["state"] != "done" for v in stuck.per_township.values())

    fresh = celery_worker_factory("fresh", concurrency=2)
    # The fresh worker takes what was still queued; what the dead one held stays lost until the
    # watchdog (beat, every minute; here every second with a 3 s window) sends it again.
    resumed = _wait_for(lambda: sweep_runs_resume(stalled_after=dt.timedelta(seconds=3)), timeout=90, every=1)
    assert resumed == [run.pk], (SweepRun.objects.filter(pk=run.pk).values().get(), fresh.log_path.read_text())
    ended = _wait_for(lambda: _finished(run.pk), timeout=120)
    assert ended and ended.status == SweepRun.Status.SUCCEEDED, fresh.log_path.read_text()
    assert {e["by"].split("@", 1)[0] for e in ended.per_township.values()
            if e.get("resumed")} <= {fresh.node}
    after = _snapshot()
    assert Alert.objects.count() == len({(r[0], r[1], r[2]) for r in after})  # no duplicates
    assert after == _uninterrupted("return_check", AS_OF)


def _beat(tmp_path, name: str) -> tuple[subprocess.Popen, object]:
    log = tmp_path / f"beat-{name}.log"
    env = _worker_env()
    env["KONGCHUO_BEAT_LOCK_TTL"] = "3"
    with open(log, "w") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kongchuo", "beat", "-l", "info",
             "--pidfile", str(tmp_path / f"beat-{name}.pid")],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    proc.log_path = log
    return proc


def _log_has(proc, text: str, timeout: float = 30) -> bool:
    return bool(_wait_for(lambda: text in proc.log_path.read_text(), timeout=timeout))


def test_one_beat_holds_the_lock_and_a_second_stands_by_until_it_is_gone(transactional_db, tmp_path):
    _require_broker()
    import redis
    from django.conf import settings

    from kongchuo.jobs.beat import LOCK_KEY

    redis.Redis.from_url(settings.REDIS_URL).delete(LOCK_KEY)
    first = _beat(tmp_path, "first")
    second = None
    try:
        assert _log_has(first, "holds the single-beat lock"), first.log_path.read_text()
        second = _beat(tmp_path, "second")
        assert _log_has(second, "standing by"), second.log_path.read_text()
        time.sleep(5)  # longer than the TTL: the holder keeps renewing, the standby keeps waiting
        assert "holds the single-beat lock" not in second.log_path.read_text()
        holder = redis.Redis.from_url(settings.REDIS_URL).get(LOCK_KEY).decode()
        assert holder.endswith(f":{first.pid}")

        first.send_signal(signal.SIGKILL)  # no clean release: the TTL must free the lock
        first.wait(timeout=10)
        assert _log_has(second, "holds the single-beat lock", timeout=20), second.log_path.read_text()
        holder = redis.Redis.from_url(settings.REDIS_URL).get(LOCK_KEY).decode()
        assert holder.endswith(f":{second.pid}")
        time.sleep(2)  # let it finish starting up: a beat stopped while it starts leaves the TTL to expire
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
    # A clean stop releases the lock at once.
    assert redis.Redis.from_url(settings.REDIS_URL).get(LOCK_KEY) is None
