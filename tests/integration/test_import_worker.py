"""A big import through the real worker: preview, then write, each a task taking the Job id."""

from __future__ import annotations

import time

import pytest

from kongchuo.imports.runner import import_job_create, import_job_start
from kongchuo.models import Job
from students.models import Student
from tests.imports.conftest import ROSTER_HEADER, new_id, roster_row, write_xlsx

pytestmark = pytest.mark.integration


@pytest.fixture
def shared_media(settings, tmp_path, monkeypatch):
    """The worker process must find the kept upload where the test process put it."""
    path = tmp_path / "shared-media"
    settings.MEDIA_ROOT = path
    monkeypatch.setenv("MEDIA_ROOT", str(path))
    return path


def _phase(job_id: int, wanted: str, timeout: float = 60.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if (job.result or {}).get("phase") == wanted and job.status == Job.Status.SUCCEEDED:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} never reached {wanted}: {job.status} {job.result} {job.message}")


def test_preview_and_write_run_in_the_worker(shared_media, celery_worker_process, county, tmp_path):
    ids = [new_id(i) for i in range(30)]
    path = write_xlsx(tmp_path / "r.xlsx", [roster_row(i, county.a_primary, id_number=x)
                                            for i, x in enumerate(ids)], header=ROSTER_HEADER)
    job = import_job_create(kind="roster", user=county.school_a, source=path, filename="r.xlsx")
    import_job_start(job, write=False)
    previewed = _phase(job.pk, "dry_run")
    assert previewed.result["created"] == 30 and not Student.objects.filter(id_number__in=ids).exists()
    import_job_start(job, write=True)
    written = _phase(job.pk, "written")
    assert written.result["created"] == 30 and written.progress == 100
    assert Student.objects.filter(id_number__in=ids, school=county.a_primary).count() == 30
    assert "imports.job_run" in celery_worker_process.log_path.read_text()


def test_a_big_workbook_is_read_by_a_reader_process_of_the_worker(shared_media, celery_worker_factory,
                                                                  county, tmp_path):
    """The worker's path for a county-sized file: the pool process forks the reader (as for
    every workbook), the direct load and the Job's progress go through."""
    worker = celery_worker_factory("reader", concurrency=1, MEDIA_ROOT=str(shared_media))
    ids = [new_id(i) for i in range(40)]
    rows = [roster_row(i, county.a_primary, id_number=x) for i, x in enumerate(ids)]
    rows.append(roster_row(99, county.a_primary, id_number=ids[0]))  # a duplicate: both rejected
    path = write_xlsx(tmp_path / "r.xlsx", rows, header=ROSTER_HEADER)
    job = import_job_create(kind="roster", user=county.county_user, source=path, filename="r.xlsx")
    import_job_start(job, write=True, skip_invalid=True)
    written = _phase(job.pk, "written")
    assert (written.result["created"], written.result["rejected"]) == (39, 2)
    assert Student.objects.filter(id_number__in=ids[1:], school=county.a_primary).count() == 39
    assert not Student.objects.filter(id_number=ids[0]).exists()
    text = worker.log_path.read_text()
    assert "reader process" in text and "imports.job_run" in text
