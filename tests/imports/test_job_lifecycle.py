"""Every job ends (issue 19): the Job lifecycle of kongchuo/jobs/lifecycle.py on the test database
(SQLite by default, PostgreSQL in CI): a failure recorded on a fresh connection when the
work's connection is dead, the watchdog failing stalled jobs, monotonic progress."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import InterfaceError, connection, connections
from django.urls import reverse
from django.utils import timezone

from kongchuo.imports.runner import import_job_create, import_job_run
from kongchuo.imports.tasks import import_job_task
from kongchuo.jobs import STALLED_MESSAGE, JobRun, job_claim, job_fail, job_requeue, jobs_fail_stalled
from kongchuo.jobs.tasks import jobs_watchdog
from kongchuo.models import Job
from students.models import Student
from tests.imports.conftest import new_id, roster_row


def _fresh(job_id: int) -> Job:
    return Job.objects.get(pk=job_id)


def _until(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def kill_connection():
    """Kill the work's connection under it (as after 'COPY terminated by new PQexec'); the
    test's own next query opens a new one. SQLite's test database lives in memory as long as
    one connection holds it: a keeper holds it while the default one is dead."""
    keeper = connections.create_connection("default")
    keeper.ensure_connection()

    def kill() -> None:
        connection.ensure_connection()
        connection.connection.close()

    yield kill
    connection.connection = None  # Django opens a new one on the next query
    keeper.close()


@pytest.mark.django_db(transaction=True)
def test_a_failure_is_recorded_when_the_work_connection_is_dead(kill_connection):
    job = Job.objects.create(kind="import:roster")
    run = JobRun(job.pk)
    run.start()
    kill_connection()
    run.fail("导入失败：数据库连接中断 / import failed")
    connection.connection = None  # the test's own next query reconnects
    job = _fresh(job.pk)
    assert (job.status, job.message) == ("failed", "导入失败：数据库连接中断 / import failed")
    assert job.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_an_import_whose_connection_dies_ends_failed_with_a_readable_reason(monkeypatch, county, files,
                                                                          kill_connection):
    """The runner's path: the plan's connection dies mid-import; the job ends failed (on a
    fresh connection), nothing is written, and the task's retry would find it pending."""
    from kongchuo.imports.base import get_kind

    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    job = import_job_create(kind="roster", user=county.county_user, source=path, filename="r.xlsx")
    kind = get_kind("roster")

    def plan_on_a_dead_connection(rows, ctx):
        kill_connection()
        with connection.cursor() as cur:
            cur.execute("SELECT 1")  # raises: Django's InterfaceError or the driver's error

    monkeypatch.setattr(kind, "plan", plan_on_a_dead_connection)
    before = Student.objects.count()
    with pytest.raises(Exception):  # noqa: B017, PT011 - the driver's error on SQLite, InterfaceError on PG
        import_job_run(job, write=True, progress=True)
    connection.connection = None
    job = _fresh(job.pk)
    assert job.status == "failed"
    assert job.message.startswith("导入失败") and "数据未改动" in job.message and "重新确认导入" in job.message
    assert Student.objects.count() == before and not Student.objects.filter(id_number=new_id(1)).exists()


@pytest.mark.django_db(transaction=True)
def test_a_lost_connection_puts_the_job_back_to_pending_for_the_retry(monkeypatch, county, files):
    from celery.exceptions import Retry

    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    job = import_job_create(kind="roster", user=county.county_user, source=path, filename="r.xlsx")
    Job.objects.filter(pk=job.pk).update(progress=66)

    def lost(*args, **kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr("kongchuo.imports.runner.import_run", lost)
    with pytest.raises(Retry):
        import_job_task.apply(args=[job.pk], kwargs={"write": True}, throw=True)
    job = _fresh(job.pk)
    assert (job.status, job.progress) == ("pending", 66)  # the bar is kept for the retry
    assert "自动重试" in job.message


@pytest.mark.django_db(transaction=True)
def test_progress_is_monotonic_and_a_retry_resumes_the_bar():
    job = Job.objects.create(kind="import:roster", status="pending")
    assert job_claim(job.pk, kind_prefix="import:")
    run = JobRun(job.pk)
    run.start()
    run.progress(66)
    assert _until(lambda: _fresh(job.pk).progress == 66)
    run.progress(30)  # a later phase reporting less never moves the bar back
    before = _fresh(job.pk).heartbeat_at
    assert _until(lambda: _fresh(job.pk).heartbeat_at > before)  # the heartbeat went on
    assert _fresh(job.pk).progress == 66
    run.close()
    job_requeue(job.pk, "重试")
    assert job_claim(job.pk, kind_prefix="import:")  # the retry
    again = JobRun(job.pk)
    again.start()
    try:
        assert _fresh(job.pk).progress == 66  # resumed, not 1%
        again.progress(80)
        assert _until(lambda: _fresh(job.pk).progress == 80)
    finally:
        again.close()


@pytest.mark.django_db
def test_progress_does_no_query_on_the_work_connection(django_assert_num_queries):
    """progress() may run between the rows of a COPY: it must not touch the connection."""
    job = Job.objects.create(kind="import:roster")
    run = JobRun(job.pk)
    with django_assert_num_queries(0):
        for pct in range(1, 100):
            run.progress(pct)
    assert run.pct == 99


@pytest.mark.django_db
def test_the_watchdog_fails_running_jobs_whose_heartbeat_stopped(settings):
    settings.KONGCHUO_JOB_STALL_SECONDS = 60
    now = timezone.now()
    old = now - dt.timedelta(seconds=61)
    stalled = Job.objects.create(kind="import:roster", status="running", heartbeat_at=old, progress=44)
    alive = Job.objects.create(kind="import:roster", status="running", heartbeat_at=now)
    # left running by a version without heartbeats: failed once started long enough ago
    legacy = Job.objects.create(kind="import:roster", status="running", started_at=old)
    legacy_young = Job.objects.create(kind="import:roster", status="running", started_at=now)
    done = Job.objects.create(kind="ledger_export", status="succeeded", heartbeat_at=old)
    queued = Job.objects.create(kind="ledger_export", status="pending", heartbeat_at=old)
    assert jobs_watchdog()["jobs"] == [stalled.pk, legacy.pk]
    stalled.refresh_from_db()
    assert stalled.status == "failed" and stalled.finished_at is not None
    assert stalled.message == STALLED_MESSAGE % {"seconds": 60}
    assert stalled.message.startswith("后台任务中断") and "请重新提交" in stalled.message
    assert [j.status for j in Job.objects.filter(pk__in=[alive.pk, legacy_young.pk, done.pk, queued.pk])
            .order_by("pk")] == ["running", "running", "succeeded", "pending"]
    assert jobs_fail_stalled() == []  # idempotent


@pytest.mark.django_db
def test_a_job_failed_by_the_watchdog_is_not_taken_by_a_late_delivery():
    job = Job.objects.create(kind="import:roster", status="failed")
    assert not job_claim(job.pk, kind_prefix="import:")
    pending = Job.objects.create(kind="import:roster", status="pending")
    assert job_claim(pending.pk, kind_prefix="import:")
    assert not job_claim(pending.pk, kind_prefix="import:")  # a second delivery


@pytest.mark.django_db
def test_a_failure_never_overwrites_a_success():
    job = Job.objects.create(kind="import:roster", status="succeeded", progress=100)
    assert not job_fail(job.pk, "x")
    assert _fresh(job.pk).status == "succeeded"


def test_the_page_shows_the_failure_and_what_to_do(county, client_as):
    job = Job.objects.create(kind="import:roster", created_by=county.county_user, status="failed",
                             message=STALLED_MESSAGE % {"seconds": 60},
                             params={"kind": "roster", "filename": "r.xlsx"},
                             result={"phase": "dry_run", "rows": 3, "created": 3, "updated": 0,
                                     "unchanged": 0, "rejected": 0})
    html = client_as(county.county_user).get(reverse("imports:job", args=[job.pk])).content.decode()
    assert 'id="import-failed"' in html and "后台任务中断" in html
    assert "可以直接重新确认导入" in html and 'id="import-confirm"' in html
    assert "hx-trigger" not in html  # the page stops polling
    job.result = {}
    job.save()
    html = client_as(county.county_user).get(reverse("imports:job", args=[job.pk])).content.decode()
    assert 'id="import-failed-reupload"' in html
