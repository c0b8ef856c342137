"""The sweep watchdog: a run whose worker died as a whole is dispatched again, once per window."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kongchuo.models import AuditEvent
from retrieval.models import SweepRun
from retrieval.sweeps.runner import partition_run, sweep_run_create, sweep_runs_resume
from retrieval.tasks import sweep_watchdog
from tests.retrieval.sweepkit import run, snapshot, student

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 3, 2)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def pupils(county):
    for school in (county.a_primary, county.b_primary, county.direct):
        for _ in range(3):
            student(school)


def _age(run_pk: int, minutes: int) -> None:
    """Pretend the run started, and its partitions last moved, `minutes` ago."""
    r = SweepRun.objects.get(pk=run_pk)
    then = timezone.now() - dt.timedelta(minutes=minutes)
    for entry in r.per_township.values():
        if "at" in entry:
            entry["at"] = then.isoformat()
    r.per_township = r.per_township
    r.save(update_fields=["per_township"])
    SweepRun.objects.filter(pk=run_pk).update(started_at=then)


def test_a_stalled_run_is_resumed_and_ends_like_an_uninterrupted_one(pupils, county,
                                                                     django_capture_on_commit_callbacks):
    lost = sweep_run_create(sweep="return_check", as_of=AS_OF)
    first, *rest = list(lost.per_township)
    partition_run(lost.pk, first, worker="w1:1")  # one partition done, then the worker died
    r = SweepRun.objects.get(pk=lost.pk)
    r.per_township[rest[0]].update(state="running", by="w1:2", attempts=1, at=timezone.now().isoformat())
    r.save(update_fields=["per_township"])

    assert sweep_runs_resume(stalled_after=MINUTE) == []  # moved just now: left alone
    _age(lost.pk, 5)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_runs_resume(stalled_after=MINUTE) == [lost.pk]
    r = SweepRun.objects.get(pk=lost.pk)
    assert r.status == "succeeded", r.per_township
    assert {k: v["state"] for k, v in r.per_township.items()} == dict.fromkeys(r.per_township, "done")
    assert all(r.per_township[k].get("resumed") == 1 for k in rest)
    assert "resumed" not in r.per_township[first]
    event = AuditEvent.objects.get(action="sweep_resume")
    assert event.object_id == str(lost.pk) and sorted(event.detail["partitions"]) == sorted(rest)

    resumed = snapshot()
    from retrieval.models import Alert

    Alert.objects.all().delete()
    run("return_check", AS_OF)
    assert snapshot() == resumed and resumed  # same alerts as an uninterrupted run, none doubled


def test_resume_waits_a_window_between_dispatches(pupils, county, django_capture_on_commit_callbacks):
    r = sweep_run_create(sweep="return_check", as_of=AS_OF)
    _age(r.pk, 5)
    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert sweep_runs_resume(stalled_after=MINUTE) == [r.pk]
        assert sweep_runs_resume(stalled_after=MINUTE) == []  # stamped: not again this window
    assert len(sent) == 1


def test_finished_failed_and_ancient_runs_are_left_alone(pupils, county):
    done = run("return_check", AS_OF)
    assert done.status == "succeeded"
    failed = sweep_run_create(sweep="census", as_of=dt.date(2026, 7, 15))
    SweepRun.objects.filter(pk=failed.pk).update(status="failed")
    ancient = sweep_run_create(sweep="absence", as_of=dt.date(2026, 3, 12))
    for pk in (done.pk, failed.pk):
        _age(pk, 30)
    _age(ancient.pk, 3 * 60)  # beyond STALE_AFTER: the next create marks it failed instead
    assert sweep_runs_resume(stalled_after=MINUTE) == []


def test_the_beat_task_reads_the_setting(pupils, county, settings, django_capture_on_commit_callbacks):
    r = sweep_run_create(sweep="return_check", as_of=AS_OF)
    _age(r.pk, 5)
    settings.KONGCHUO_SWEEP_STALL_SECONDS = 600
    assert sweep_watchdog() == []
    settings.KONGCHUO_SWEEP_STALL_SECONDS = 120
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_watchdog() == [r.pk]
    assert SweepRun.objects.get(pk=r.pk).status == "succeeded"


def test_the_watchdog_is_on_the_beat_schedule(settings):
    entries = {v["task"]: v["schedule"] for v in settings.CELERY_BEAT_SCHEDULE.values()}
    assert entries["retrieval.sweep_watchdog"] == 60.0
