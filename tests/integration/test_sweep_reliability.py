"""Sweeps on real workers (Redis broker, PostgreSQL): a worker child killed mid-sweep, a whole
worker killed mid-sweep (its partitions' heartbeats stop, the watchdog re-sends them), and two
workers sharing a partitioned sweep, end with exactly the alerts an uninterrupted in-process run
gives.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time

import pytest

from kongchuo.access.idnumbers import make_id
from kongchuo.jobs.tasks import jobs_watchdog
from retrieval.models import Alert, SweepRun
from retrieval.sweeps.runner import sweep_run_now, sweep_run_start
from students.models import CensusEntry
from tests.factories import SchoolFactory, StudentFactory, TownshipFactory, UserFactory
from tests.integration.conftest import stop_worker

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 3, 2)
TOWNSHIPS = 6


def _wait_for(predicate, timeout=90.0, every=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return None


def _county():
    """Six townships, each a center school and a primary, plus a county-direct school."""
    n = 0
    for i in range(TOWNSHIPS):
        t = TownshipFactory(code=f"341522{300 + i:03d}", name=f"可靠{i}镇")
        center = SchoolFactory(township=t, is_center=True, kind="nine_year")
        primary = SchoolFactory(township=t, kind="primary")
        for school in (center, primary):
            for _ in range(8):
                StudentFactory(school=school, hukou_township=t)
        for k in range(3):
            n += 1
            birth = dt.date(2013, 1, 1) + dt.timedelta(days=n)
            CensusEntry.objects.create(year=2026, id_number=make_id("341522", birth, 900 + n),
                                       name=f"户籍{i}{k}", sex="M", birth_date=birth, township=t)
    direct = SchoolFactory(township=t, kind="complete", oversight="county")
    for _ in range(5):
        StudentFactory(school=direct, hukou_township=t, grade=8)


def _snapshot() -> set[tuple]:
    return set(Alert.objects.values_list("rule", "period", "subject", "student_id", "school_id",
                                         "township_id", "level", "status"))


def _uninterrupted(sweep: str, as_of: dt.date) -> set[tuple]:
    Alert.objects.all().delete()
    r = sweep_run_now(sweep=sweep, as_of=as_of)
    assert r.status == "succeeded"
    return _snapshot()


def _finished(run_id: int):
    r = SweepRun.objects.get(pk=run_id)
    return r if r.status != SweepRun.Status.RUNNING else None


def _running_pid(run_id: int) -> tuple[str, int] | None:
    r = SweepRun.objects.get(pk=run_id)
    for key, entry in r.per_township.items():
        if entry.get("state") == "running" and entry.get("by"):
            return key, int(entry["by"].rsplit(":", 1)[1])
    return None


def test_worker_killed_mid_sweep_then_rerun_equals_an_uninterrupted_run(celery_worker_factory):
    _county()
    worker = celery_worker_factory("sweepkill", concurrency=2,
                                   KONGCHUO_SWEEP_PARTITION_DELAY_MS=1500)
    first = sweep_run_start(sweep="return_check", as_of=AS_OF, trigger="manual")
    running = _wait_for(lambda: _running_pid(first.pk), timeout=60)
    assert running, worker.log_path.read_text()
    key, pid = running
    assert pid != worker.pid  # a pool child, not the worker's main process
    os.kill(pid, signal.SIGKILL)  # mid-partition: its transaction is open, nothing committed

    # The lost task is delivered again (acks_late + reject_on_worker_lost) and the run ends.
    ended = _wait_for(lambda: _finished(first.pk), timeout=120)
    log = worker.log_path.read_text()
    assert ended, log
    assert "WorkerLostError" in log or "SIGKILL" in log or "signal 9" in log, log
    # The sweep is re-run by hand after the incident: nothing new, nothing doubled.
    second = sweep_run_start(sweep="return_check", as_of=AS_OF, trigger="manual")
    rerun = _wait_for(lambda: _finished(second.pk), timeout=120)
    assert rerun and rerun.status == SweepRun.Status.SUCCEEDED, worker.log_path.read_text()
    after_kill = _snapshot()
    total = Alert.objects.count()
    assert total == len({(r[0], r[1], r[2]) for r in after_kill})  # no duplicates
    if ended.status == SweepRun.Status.SUCCEEDED:
        assert ended.per_township[key]["attempts"] >= 2  # the killed partition ran again
        assert (rerun.created, rerun.already_open) == (0, ended.created)
        assert ended.created == total
    else:
        assert ended.created + rerun.created == total
    stop_worker(worker)
    assert after_kill == _uninterrupted("return_check", AS_OF)


def test_two_workers_give_the_same_alerts_as_one(celery_worker_factory):
    _county()
    a = celery_worker_factory("sweep-a", concurrency=1, KONGCHUO_SWEEP_PARTITION_DELAY_MS=300)
    b = celery_worker_factory("sweep-b", concurrency=1, KONGCHUO_SWEEP_PARTITION_DELAY_MS=300)
    for sweep, as_of in (("return_check", AS_OF), ("census", dt.date(2026, 7, 15))):
        r = sweep_run_start(sweep=sweep, as_of=as_of, trigger="manual")
        done = _wait_for(lambda r=r: _finished(r.pk), timeout=120)
        assert done and done.status == SweepRun.Status.SUCCEEDED, a.log_path.read_text()
        nodes = {e["by"].split("@", 1)[0] for e in done.per_township.values()}
        assert nodes == {a.node, b.node}, done.per_township  # both workers took partitions
    two_workers = _snapshot()
    assert {x[0] for x in two_workers} == {"return_check", "census"}

    stop_worker(b)
    Alert.objects.all().delete()
    for sweep, as_of in (("return_check", AS_OF), ("census", dt.date(2026, 7, 15))):
        r = sweep_run_start(sweep=sweep, as_of=as_of, trigger="manual")
        done = _wait_for(lambda r=r: _finished(r.pk), timeout=120)
        assert done and done.status == SweepRun.Status.SUCCEEDED, a.log_path.read_text()
        assert {e["by"].split("@", 1)[0] for e in done.per_township.values()} == {a.node}
    assert _snapshot() == two_workers
    Alert.objects.all().delete()
    sweep_run_now(sweep="return_check", as_of=AS_OF)
    sweep_run_now(sweep="census", as_of=dt.date(2026, 7, 15))
    assert _snapshot() == two_workers  # and the same as in-process


# Heartbeats in seconds: the production defaults (10 s beats, 60 s threshold, watchdog every
# 30 s) scaled down to keep the test near 40 s. Each partition takes longer than the threshold,
# so a partition that beats must never be re-sent however long it runs.
BEAT, STALL, WATCHDOG_EVERY, PARTITION_MS = 1, 4, 1.0, 6000


def test_whole_worker_killed_its_partitions_are_resent_after_their_heartbeats_stop(
        celery_worker_factory, settings, client):
    """Runs in about 60 s: kill, 已中断 on the run page, the watchdog re-sends only the two
    partitions the dead worker held, a fresh worker ends the run, alerts exact."""
    from django.urls import reverse

    _county()
    settings.KONGCHUO_SWEEP_STALL_SECONDS = STALL
    env = {"KONGCHUO_SWEEP_HEARTBEAT_SECONDS": BEAT, "KONGCHUO_SWEEP_PARTITION_DELAY_MS": PARTITION_MS}
    doomed = celery_worker_factory("beatkill", concurrency=2, **env)
    run = sweep_run_start(sweep="return_check", as_of=AS_OF, trigger="manual")

    def held():
        entries = SweepRun.objects.get(pk=run.pk).per_township
        keys = sorted(k for k, v in entries.items() if v.get("state") == "running" and v.get("beat"))
        return keys if len(keys) == 2 else None

    lost = _wait_for(held, timeout=60)  # both children are working and have beaten once
    assert lost, doomed.log_path.read_text()
    pool = [int(x) for x in subprocess.run(["pgrep", "-P", str(doomed.pid)], capture_output=True,
                                           text=True).stdout.split()]
    for pid in [doomed.pid, *pool]:  # the whole worker at once, as a crash would
        os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    doomed.wait(timeout=10)

    client.force_login(UserFactory(username="ops_county", role="county"))
    page = reverse("retrieval:sweep_run", args=[run.pk])
    shown = _wait_for(lambda: client.get(page).content.decode().count("已中断") == 2, timeout=STALL + 10)
    assert shown, SweepRun.objects.get(pk=run.pk).per_township

    fresh = celery_worker_factory("beatfresh", concurrency=2, **env)
    # It takes the queued partitions first. (Were the run silent as a whole, with no worker alive
    # for the threshold, the watchdog would re-send the queued ones too: harmless duplicates.)
    assert _wait_for(lambda: any(v.get("by", "").startswith(fresh.node) for v in
                                 SweepRun.objects.get(pk=run.pk).per_township.values()), timeout=30)

    def watchdog():  # what beat does every 30 s in production
        jobs_watchdog()  # the one watchdog runs the sweeps' check
        r = _finished(run.pk)
        time.sleep(WATCHDOG_EVERY)
        return r

    ended = _wait_for(watchdog, timeout=120, every=0)
    recovered = time.monotonic() - killed
    assert ended and ended.status == SweepRun.Status.SUCCEEDED, fresh.log_path.read_text()
    resent = {k: v for k, v in ended.per_township.items() if v.get("resumed")}
    assert sorted(resent) == lost, ended.per_township  # the fresh worker's beating partitions: never
    assert all(v["resumed"] == 1 and v["by"].startswith(fresh.node) for v in resent.values())
    html = client.get(page).content.decode()
    assert "已中断" not in html and html.count("已重发 1 次") == 2
    print(f"recovery: kill → run succeeded in {recovered:.1f} s "
          f"(heartbeat {BEAT} s, threshold {STALL} s, partitions {PARTITION_MS} ms)")
    after = _snapshot()
    assert Alert.objects.count() == len({(r[0], r[1], r[2]) for r in after})  # no duplicates
    assert ended.created == len(after)
    stop_worker(fresh)
    assert after == _uninterrupted("return_check", AS_OF)
