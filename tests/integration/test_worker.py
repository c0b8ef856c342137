from __future__ import annotations

import time

import pytest

from kongchuo.models import Job
from students.models import Student
from students.tasks import refresh_name_initials
from tests.factories import StudentFactory

pytestmark = pytest.mark.integration


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_real_worker_runs_a_task_end_to_end(celery_worker_process, county):
    StudentFactory.create_batch(30, school=county.a_primary, name="曾小明")
    Student.objects.update(name_initials="")
    job = Job.objects.create(kind="refresh_name_initials")
    result = refresh_name_initials.delay(job.pk)
    assert result.id  # sent to the broker, not run in-process
    assert _wait_for(lambda: Job.objects.get(pk=job.pk).status == Job.Status.SUCCEEDED), (
        celery_worker_process.log_path.read_text())
    job.refresh_from_db()
    assert job.result == {"updated": Student.objects.count()}
    assert set(Student.objects.filter(name="曾小明").values_list("name_initials", flat=True)) == {"zxm"}
    assert "refresh_name_initials" in celery_worker_process.log_path.read_text()
