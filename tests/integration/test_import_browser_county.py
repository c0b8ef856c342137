"""The browser path at county scale on the real worker (issue 19): a 36,000-row roster
re-imported through the import views (upload → preview → confirm) against a populated county,
on PostgreSQL with a real Celery worker — the path that failed with 'COPY terminated by new
PQexec' and left the job running — and the same with the worker SIGKILLed mid-import.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path

import pytest
import xlsxwriter
from django.db import connection
from django.urls import reverse

from kongchuo.access.idnumbers import make_id, sex_of
from kongchuo.imports.pipeline import import_run
from kongchuo.jobs.tasks import jobs_watchdog
from kongchuo.models import Job
from students.models import Student
from tests.imports.conftest import ROSTER_HEADER

pytestmark = pytest.mark.integration

ROWS = 36_000  # the failing roster had 35,000
CHANGED_EVERY = 100  # every 100th child: a new phone and class (1%)
MOVED_EVERY = 100  # … and, offset by 50, at another school of the county
NEW = 300  # children only in the second roster
SCHOOLS = [(f"21341{k:05d}", f"名册{k}号小学") for k in range(5)]  # (code, name), made by `populated`


@pytest.fixture
def shared_media(settings, tmp_path):
    """The worker must find the kept upload where the test process (the web) put it."""
    path = tmp_path / "shared-media"
    settings.MEDIA_ROOT = path
    return path


def _child(i: int, *, second: bool) -> list:
    birth = dt.date(2013, 1, 1) + dt.timedelta(days=i % 1400)
    idn = make_id("341522", birth, 100 + i // 1400)
    school = SCHOOLS[i % len(SCHOOLS)]
    phone, cls = f"138{i:08d}", f"{1 + i % 6}班"
    if second and i % CHANGED_EVERY == 0:
        phone, cls = f"139{i:08d}", "9班"
    if second and i % MOVED_EVERY == 50:
        school = SCHOOLS[(i + 1) % len(SCHOOLS)]
    grade = ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"][i % 6]
    return [i + 1, school[0], school[1], grade, cls, f"学生{i}", "男" if sex_of(idn) == "M" else "女",
            birth, "居民身份证", idn, "G" + idn, "安徽省霍邱县甲镇张庄村", "甲镇张庄村1号", "李四", phone,
            "否", "否", "否", "", "否", "否", "2021-09"]


def _roster(path: Path, *, second: bool) -> Path:
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    ws = wb.add_worksheet("Sheet1")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_string(0, 0, "霍邱县学生名册")
    for c, label in enumerate(ROSTER_HEADER):
        ws.write_string(1, c, label)
    numbers = range(ROWS + NEW) if second else range(ROWS)
    for r, i in enumerate(numbers, start=2):
        for c, v in enumerate(_child(i, second=second)):
            if isinstance(v, int):
                ws.write_number(r, c, v)
            elif isinstance(v, dt.date):
                ws.write_datetime(r, c, v, date_fmt)
            elif v:
                ws.write_string(r, c, v)
    wb.close()
    return path


@pytest.fixture(scope="module")
def rosters(tmp_path_factory) -> tuple[Path, Path]:
    """This term's roster and the next one's (written once for the module)."""
    folder = tmp_path_factory.mktemp("rosters")
    return _roster(folder / "first.xlsx", second=False), _roster(folder / "名册.xlsx", second=True)


@pytest.fixture
def populated(county, rosters):
    """The county's 36,000 children loaded set-based (the operator's import_file, COPY into
    the stage and one INSERT … SELECT), and the second term's roster to re-import."""
    from students.models import School

    for k, (code, name) in enumerate(SCHOOLS):
        School.objects.create(code=code, name=name, kind="primary", township=county.ta if k < 3 else county.tb)
    first, county.second = rosters
    loaded = import_run(kind="roster", path=first)
    assert loaded.written and loaded.created == ROWS
    return county


def _snapshot() -> tuple:
    """The live table as a checksum: a half-written import would change it."""
    with connection.cursor() as cur:
        cur.execute("SELECT count(*), md5(string_agg(id_number || ':' || school_id || ':' || class_name"
                    " || ':' || guardian_phone || ':' || version, ',' ORDER BY id_number))"
                    " FROM students_student")
        return cur.fetchone()


def _job(pk: int) -> Job:
    return Job.objects.get(pk=pk)


def _wait(pk: int, done, timeout: float = 240.0, seen: list | None = None) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(pk)
        if seen is not None and job.status == "running":
            seen.append(job.progress)
        if done(job):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {pk}: {job.status} {job.progress}% {job.message} {job.result.get('phase')}")


def _upload_and_preview(client, path: Path) -> Job:
    with open(path, "rb") as fh:
        response = client.post(reverse("imports:kind", args=["roster"]), {"file": fh})
    assert response.status_code == 302, response.content[:500]
    pk = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    previewed = _wait(pk, lambda j: j.status in ("succeeded", "failed"))
    assert (previewed.status, previewed.result.get("phase")) == ("succeeded", "dry_run"), previewed.message
    return previewed


def _confirm(client, pk: int) -> None:
    response = client.post(reverse("imports:confirm", args=[pk]), {"mode": "all"})
    assert response.status_code == 302


def _assert_written(job: Job, county) -> None:
    result = job.result
    moved = len([i for i in range(ROWS) if i % MOVED_EVERY == 50])
    changed = len([i for i in range(ROWS) if i % CHANGED_EVERY == 0])
    assert (job.status, job.progress, result["phase"], result["written"]) == ("succeeded", 100, "written", True)
    assert (result["rows"], result["created"], result["updated"], result["rejected"]) == (
        ROWS + NEW, NEW, moved + changed, 0)
    assert result["moved"] == moved
    assert Student.objects.count() == ROWS + NEW + 4  # and the county fixture's four
    assert Student.objects.filter(guardian_phone__startswith="139", class_name="9班").count() == len(
        [i for i in range(ROWS + NEW) if i % CHANGED_EVERY == 0])  # the changed, and new ones so written
    for i in (50, 150, ROWS - 50):  # moved children are at their new school
        assert Student.objects.get(id_number=_child(i, second=True)[9]).school.code == (
            SCHOOLS[(i + 1) % len(SCHOOLS)][0])
    assert Student.history.filter(history_change_reason="import", history_type="~").count() == moved + changed


def _kill_tree(pid: int) -> None:
    """SIGKILL a worker and every process under it (pool processes, a reader process)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    for p in tree:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_county_roster_is_re_imported_through_the_browser_on_the_worker(
        shared_media, celery_worker_factory, populated, client_as, settings):
    county = populated
    # over the request's limit: the upload goes to the worker
    assert county.second.stat().st_size > getattr(settings, "KONGCHUO_IMPORT_SYNC_BYTES", 1024 * 1024)
    worker = celery_worker_factory("county", concurrency=1, MEDIA_ROOT=str(shared_media))
    client = client_as(county.county_user)
    assert client.get(reverse("imports:kind", args=["roster"])).status_code == 200
    started = time.monotonic()
    job = _upload_and_preview(client, county.second)
    assert (job.result["created"], job.result["rows"]) == (NEW, ROWS + NEW)
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert 'id="import-confirm"' in page
    before = _snapshot()
    assert before[0] == ROWS + 4  # the preview wrote nothing
    _confirm(client, job.pk)
    seen: list[int] = []
    written = _wait(job.pk, lambda j: j.status in ("succeeded", "failed"), seen=seen)
    took = time.monotonic() - started
    _assert_written(written, county)
    assert seen == sorted(seen)  # the bar only moves forward
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "已导入" in page and "hx-trigger" not in page
    log = worker.log_path.read_text()
    assert "imports.job_run" in log and "InterfaceError" not in log
    print(f"36k re-import through the browser on the worker: {took:.1f} s (upload to written)")


def test_a_worker_killed_mid_import_leaves_a_failed_job_and_nothing_half_written(
        shared_media, celery_worker_factory, populated, client_as, settings):
    county = populated
    settings.KONGCHUO_JOB_STALL_SECONDS = 5  # production: 60 (and beat runs the watchdog every 30 s)
    worker = celery_worker_factory("doomed", concurrency=1, MEDIA_ROOT=str(shared_media))
    client = client_as(county.county_user)
    job = _upload_and_preview(client, county.second)
    before = _snapshot()
    _confirm(client, job.pk)
    # Kill the worker as soon as it holds the job: the one-pipeline engine reads and writes 36,000
    # rows in a few seconds, faster than the 1-second progress heartbeat can be relied on to show
    # a mid-stream figure, so the kill lands anywhere between the claim and the write's commit.
    running = _wait(job.pk, lambda j: j.status != "pending")
    assert running.status == "running", "the import ended before it could be killed"
    _kill_tree(worker.pid)
    worker.wait(timeout=10)
    killed_at = time.monotonic()
    assert _job(job.pk).status == "running"  # nobody is left to say otherwise …

    def watchdog_failed(j: Job) -> bool:
        jobs_watchdog()  # … but the watchdog (a beat task) does
        return j.status == "failed" or _job(j.pk).status == "failed"

    failed = _wait(job.pk, watchdog_failed, timeout=60)
    failed = _job(job.pk)
    took = time.monotonic() - killed_at
    assert failed.status == "failed" and failed.finished_at is not None
    assert failed.message.startswith("后台任务中断") and "数据未改动" in failed.message
    assert _snapshot() == before  # nothing half-written
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert 'id="import-failed"' in page and "后台任务中断" in page and 'id="import-confirm"' in page
    # The user confirms again; a worker (restarted) writes it all.
    celery_worker_factory("restarted", concurrency=1, MEDIA_ROOT=str(shared_media))
    _confirm(client, job.pk)
    written = _wait(job.pk, lambda j: j.status in ("succeeded", "failed"))
    _assert_written(written, county)
    print(f"killed mid-import at {running.progress}%: failed by the watchdog {took:.1f} s later"
          f" (stall threshold 5 s here)")
