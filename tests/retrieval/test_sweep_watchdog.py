"""The sweep watchdog: a partition whose heartbeat stopped (its worker died) is sent again, once
per window, and the run page says so (已中断, 已重发); a run that went silent as a whole is
dispatched again. Alerts stay exact however the partitions are re-sent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kongchuo.access.models import AuditEvent
from kongchuo.jobs.tasks import jobs_watchdog
from retrieval.models import SweepRun
from retrieval.sweeps.runner import partition_run, sweep_run_create, sweep_runs_resume
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
    assert jobs_watchdog()["sweeps"] == []
    settings.KONGCHUO_SWEEP_STALL_SECONDS = 120
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_watchdog()["sweeps"] == [r.pk]  # the one watchdog runs the sweeps' check
    assert SweepRun.objects.get(pk=r.pk).status == "succeeded"


def test_the_watchdog_is_on_the_beat_schedule(settings):
    entries = {v["task"]: v["schedule"] for v in settings.CELERY_BEAT_SCHEDULE.values()}
    assert entries["kongchuo.jobs_watchdog"] == 30.0
    assert "retrieval.sweep_watchdog" not in entries  # one watchdog, not two
    # re-sent within 2 minutes of a worker's death: threshold + one watchdog period
    assert settings.KONGCHUO_SWEEP_STALL_SECONDS + 30 <= 120
    assert 0 < settings.KONGCHUO_SWEEP_HEARTBEAT_SECONDS * 3 <= settings.KONGCHUO_SWEEP_STALL_SECONDS


# ----------------------------------------------------------------------------- heartbeats


def _set(run_pk: int, key: str, **values) -> None:
    r = SweepRun.objects.get(pk=run_pk)
    r.per_township[key].update(values)
    r.save(update_fields=["per_township"])


def _ago(seconds: int) -> str:
    return (timezone.now() - dt.timedelta(seconds=seconds)).isoformat()


def _two_running(r):
    """A run three minutes old: partition one done, two running on two workers, the rest queued."""
    first, second, third, *_rest = list(r.per_township)
    partition_run(r.pk, first, worker="w1:1")
    SweepRun.objects.filter(pk=r.pk).update(started_at=timezone.now() - dt.timedelta(minutes=3))
    _set(r.pk, first, at=_ago(170))
    _set(r.pk, second, state="running", by="w1:2", attempts=1, at=_ago(160), beat=_ago(5))
    _set(r.pk, third, state="running", by="w2:1", attempts=1, at=_ago(150), beat=_ago(3))
    return first, second, third


def test_a_partition_that_keeps_beating_is_never_resent_however_long_it_runs(pupils, county):
    r = sweep_run_create(sweep="return_check", as_of=AS_OF)
    _two_running(r)
    assert sweep_runs_resume(stalled_after=MINUTE) == []
    assert not AuditEvent.objects.filter(action="sweep_resume").exists()


def test_only_the_silent_partition_is_resent_while_the_others_go_on(pupils, county,
                                                                    django_capture_on_commit_callbacks):
    r = sweep_run_create(sweep="return_check", as_of=AS_OF)
    first, second, third = _two_running(r)
    _set(r.pk, second, beat=_ago(75))  # w1 died 75 s ago; w2 still beats
    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert sweep_runs_resume(stalled_after=MINUTE) == [r.pk]
        assert sweep_runs_resume(stalled_after=MINUTE) == []  # not again within the window
    assert len(sent) == 1
    entries = SweepRun.objects.get(pk=r.pk).per_township
    assert entries[second]["state"] == "pending" and entries[second]["resumed"] == 1
    assert entries[second]["resumed_at"] and entries[second]["lost_at"]
    assert entries[third]["state"] == "running" and "resumed" not in entries[third]
    assert [k for k, v in entries.items() if v.get("resumed")] == [second]  # queued ones wait
    event = AuditEvent.objects.get(action="sweep_resume")
    assert event.detail["partitions"] == [second] and 70 <= event.detail["idle_s"] < 90


def test_resent_partitions_and_a_late_original_raise_each_alert_once(pupils, county,
                                                                     django_capture_on_commit_callbacks):
    from retrieval.models import Alert

    run("return_check", AS_OF)  # uninterrupted, for comparison
    expected = snapshot()
    Alert.objects.all().delete()
    r = sweep_run_create(sweep="return_check", as_of=AS_OF)
    first, second, third = _two_running(r)
    _set(r.pk, second, beat=_ago(300))
    _set(r.pk, third, beat=_ago(300))  # both workers gone
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_runs_resume(stalled_after=MINUTE) == [r.pk]
    done = SweepRun.objects.get(pk=r.pk)
    assert done.status == "succeeded"
    assert done.per_township[second]["attempts"] == 2 and done.per_township[second]["resumed"] == 1
    # The "dead" first holder was only slow: it finishes later and finds the partition done.
    assert partition_run(r.pk, second, worker="w1:2") is None
    with django_capture_on_commit_callbacks(execute=True):  # and the watchdog again: nothing to do
        assert sweep_runs_resume(stalled_after=MINUTE) == []
    assert snapshot() == expected and expected
    assert Alert.objects.count() == len(expected)
    assert AuditEvent.objects.filter(action="sweep_resume").count() == 1
    assert SweepRun.objects.get(pk=r.pk).created == len(expected)


def test_heartbeats_are_written_only_by_the_partitions_holder(pupils, county):
    from retrieval.sweeps.runner import partition_heartbeat

    r = sweep_run_create(sweep="return_check", as_of=AS_OF)
    first, second, *_ = list(r.per_township)
    _set(r.pk, second, state="running", by="w1:2", attempts=1, at=_ago(30))
    assert partition_heartbeat(r.pk, second, worker="w1:2") is True
    beat = dt.datetime.fromisoformat(SweepRun.objects.get(pk=r.pk).per_township[second]["beat"])
    assert timezone.now() - beat < dt.timedelta(seconds=5)
    assert partition_heartbeat(r.pk, second, worker="w9:9") is False  # re-sent to another worker
    assert partition_heartbeat(r.pk, first, worker="w1:2") is False  # pending: nothing to beat
    partition_run(r.pk, second, worker="w2:1")
    assert partition_heartbeat(r.pk, second, worker="w2:1") is False  # done


def test_the_run_page_shows_interrupted_and_resent_partitions(pupils, county, client_as,
                                                              django_capture_on_commit_callbacks):
    from django.urls import reverse

    r = sweep_run_create(sweep="return_check", as_of=AS_OF)
    first, second, third = _two_running(r)
    _set(r.pk, second, beat=_ago(90))
    client = client_as(county.county_user)
    html = client.get(reverse("retrieval:sweep_run", args=[r.pk])).content.decode()
    assert html.count("已中断") == 1 and "起无心跳，将自动重发" in html
    assert html.count("运行中") == 1 and "已重发" not in html
    with django_capture_on_commit_callbacks(execute=False):
        assert sweep_runs_resume(stalled_after=MINUTE) == [r.pk]
    html = client.get(reverse("retrieval:sweep_run", args=[r.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "已中断" not in html and 'data-resumed="1"' in html and "已重发 1 次" in html
    assert "最后响应" in html
    assert client_as(county.township_a).get(reverse("retrieval:sweep_run", args=[r.pk])).status_code == 403


def test_the_county_home_warns_of_an_interrupted_run_and_shows_the_months_sweeps(
        pupils, county, client_as, django_capture_on_commit_callbacks):
    r = sweep_run_create(sweep="return_check", as_of=AS_OF)
    first, second, third = _two_running(r)
    client = client_as(county.county_user)
    html = client.get("/").content.decode()
    assert 'id="home-sweeps"' in html and f'data-run="{r.pk}"' not in html  # all beating
    _set(r.pk, second, beat=_ago(90))
    html = client.get("/").content.decode()
    assert f'data-run="{r.pk}"' in html and "1 个分区已中断，将自动重发" in html
    with django_capture_on_commit_callbacks(execute=False):
        sweep_runs_resume(stalled_after=MINUTE)
    html = client.get("/").content.decode()
    assert "1 个分区已重发" in html and "已中断" not in html
    assert 'id="home-sweeps"' not in client_as(county.township_a).get("/").content.decode()
