"""kongchuo/jobs/: the one Job lifecycle (`job_execute`), the one heartbeat, the one watchdog and the
one way to queue work (`enqueue`, through the outbox). The import engine's use of the lifecycle is
tested in tests/imports/test_job_lifecycle.py; the sweeps' in tests/retrieval/test_sweep_watchdog.py."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction

from kongchuo.celery import app
from kongchuo.jobs import Heartbeat, JobRefused, enqueue, job_execute, outbox, watchdog_register
from kongchuo.jobs.lifecycle import _WATCHES, watchdog_run
from kongchuo.models import Job, OutboxMessage
from students.tasks import refresh_name_initials

TASK = refresh_name_initials.name


# ----------------------------------------------------------------------------- job_execute


@pytest.mark.django_db
def test_a_job_runs_once_and_ends_succeeded_with_its_result():
    job = Job.objects.create(kind="test_job")
    seen = []

    def work(job, run):
        run.progress(40)
        seen.append(job.status)
        return {"rows": 3}

    done = job_execute(job.pk, work, kind_prefix="test_job")
    assert seen == [Job.Status.RUNNING]
    job.refresh_from_db()
    assert (job.status, job.progress, job.result) == (Job.Status.SUCCEEDED, 100, {"rows": 3})
    assert job.started_at and job.finished_at and done.pk == job.pk
    assert job_execute(job.pk, work, kind_prefix="test_job") is None  # a second delivery
    assert seen == [Job.Status.RUNNING]


@pytest.mark.django_db
def test_only_a_pending_job_of_the_kind_is_taken():
    other = Job.objects.create(kind="another_kind")
    assert job_execute(other.pk, lambda job, run: {}, kind_prefix="test_job") is None
    other.refresh_from_db()
    assert other.status == Job.Status.PENDING


@pytest.mark.django_db
def test_a_refusal_ends_the_job_failed_with_its_reason_and_result():
    job = Job.objects.create(kind="test_job")

    def work(job, run):
        raise JobRefused("不能结转", result={"children": 2})

    job_execute(job.pk, work, kind_prefix="test_job")
    job.refresh_from_db()
    assert (job.status, job.message, job.result) == (Job.Status.FAILED, "不能结转", {"children": 2})
    assert job.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_an_error_is_recorded_on_a_fresh_connection_and_not_raised():
    job = Job.objects.create(kind="test_job")

    def work(job, run):
        raise RuntimeError("disk on fire")

    ended = job_execute(job.pk, work, kind_prefix="test_job",
                        failure_message=lambda exc: f"失败：{exc}")
    assert ended.status == Job.Status.FAILED
    job.refresh_from_db()
    assert (job.status, job.message) == (Job.Status.FAILED, "失败：disk on fire")
    assert job.finished_at is not None


# ----------------------------------------------------------------------------- the heartbeat


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_beats_until_stopped_or_told_to():
    beats = []
    told = threading.Event()

    def beat():
        beats.append(1)
        if len(beats) >= 3:
            told.set()
            return False  # no longer ours to beat for
        return None

    heartbeat = Heartbeat(beat, interval=0.01, name="test-heartbeat").start()
    assert told.wait(5)
    heartbeat.stop()
    assert len(beats) == 3

    with Heartbeat(lambda: beats.append(1), interval=0.01, name="test-heartbeat"):
        pass  # stopped at once: no beat, no thread left behind
    assert not [t for t in threading.enumerate() if t.name == "test-heartbeat"]


# ----------------------------------------------------------------------------- the one watchdog


@pytest.fixture
def watches():
    saved = dict(_WATCHES)
    yield
    _WATCHES.clear()
    _WATCHES.update(saved)


@pytest.mark.django_db
def test_the_watchdog_runs_every_registered_check_even_after_one_fails(watches):
    def broken():
        raise RuntimeError("check failed")

    watchdog_register("broken", broken)
    watchdog_register("parts", lambda: [7])
    found = watchdog_run()
    assert found["jobs"] == [] and found["broken"] == [] and found["parts"] == [7]


def test_the_sweeps_register_their_check_with_the_one_watchdog(settings):
    assert "sweeps" in _WATCHES
    tasks = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert [t for t in tasks if "watchdog" in t] == ["kongchuo.jobs_watchdog"]


# ----------------------------------------------------------------------------- enqueue


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(app.tasks[TASK], "apply_async",
                        lambda args=None, kwargs=None, **options: calls.append(args))
    return calls


@pytest.mark.django_db(transaction=True)
def test_a_transaction_s_messages_leave_together_after_it_commits(sent, monkeypatch):
    rounds = []
    publish = outbox.outbox_publish
    monkeypatch.setattr(outbox, "outbox_publish", lambda **kw: rounds.append(kw) or publish(**kw))
    with transaction.atomic():
        for n in range(5):
            enqueue(TASK, n)
        assert sent == []  # nothing before the commit
        assert OutboxMessage.objects.count() == 5
    assert sent == [[0], [1], [2], [3], [4]]
    assert len(rounds) == 1  # one round for the five: a run's partitions leave in one go
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_message_leaves_at_once(sent):
    enqueue(TASK, 1)
    assert sent == [[1]] and OutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_message_rolled_back_with_its_savepoint_is_never_sent(sent):
    with transaction.atomic():
        enqueue(TASK, 1)
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue(TASK, 2)
            raise RuntimeError("the inner work failed")
        enqueue(TASK, 3)
    assert sent == [[1], [3]]
    with transaction.atomic():  # the next transaction has a batch of its own
        enqueue(TASK, 4)
    assert sent == [[1], [3], [4]]
    assert OutboxMessage.objects.count() == 0
