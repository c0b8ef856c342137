"""Export files (children's personal data) are deleted after the retention period; the jobs stay."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from kongchuo.access.models import AuditEvent
from kongchuo.calendar.schoolyear import term_of, today
from kongchuo.models import Job
from ledgers.exports import ExportScope
from ledgers.services import ledger_export_job_run, ledger_export_job_start

pytestmark = pytest.mark.django_db


def _finished_export(county, days_ago: int) -> Job:
    job = ledger_export_job_start(user=county.county_user, name="returns", scope=ExportScope("county"),
                                  term=term_of(today()))
    job = ledger_export_job_run(job.pk)
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - dt.timedelta(days=days_ago))
    job.refresh_from_db()
    return job


def test_old_export_files_are_deleted_and_the_job_kept(county, entries, client_as,
                                                       django_capture_on_commit_callbacks, capsys):
    old, fresh = _finished_export(county, 8), _finished_export(county, 6)
    old_path, fresh_path = old.output.path, fresh.output.path
    assert os.path.exists(old_path) and os.path.exists(fresh_path)

    call_command("purge_export_files", "--dry-run")
    assert "1" in capsys.readouterr().out and os.path.exists(old_path)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_export_files")  # default: KONGCHUO_EXPORT_RETENTION_DAYS = 7
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert not os.path.exists(old_path) and old.output.name == "" and old.status == "succeeded"
    assert os.path.exists(fresh_path) and fresh.output.name
    assert AuditEvent.objects.get(action="export_purge").detail == {"jobs": 1, "days": 7}

    c = client_as(county.county_user)
    page = c.get(reverse("ledgers:export_job", args=[old.pk])).content.decode()
    assert "已超过保留期" in page and reverse("ledgers:export_job_file", args=[old.pk]) not in page
    assert c.get(reverse("ledgers:export_job_file", args=[old.pk])).status_code == 404

    # A second run finds nothing left to delete and writes no further audit row.
    call_command("purge_export_files")
    assert AuditEvent.objects.filter(action="export_purge").count() == 1


def test_imports_and_running_exports_are_never_purged(county):
    from kongchuo.security.services import export_files_purge

    long_ago = timezone.now() - dt.timedelta(days=400)
    Job.objects.create(kind="import_roster", status="succeeded", output="jobs/x.xlsx", finished_at=long_ago)
    Job.objects.create(kind="ledger_export", status="running", output="", finished_at=None)
    assert export_files_purge(days=0) == 0


def test_the_beat_task_uses_the_setting(county, entries, settings):
    from kongchuo.security.tasks import purge_export_files

    _finished_export(county, 3)
    settings.KONGCHUO_EXPORT_RETENTION_DAYS = 5
    assert purge_export_files() == 0
    settings.KONGCHUO_EXPORT_RETENTION_DAYS = 2
    assert purge_export_files() == 1


def test_negative_days_are_refused():
    with pytest.raises(SystemExit) as exc:
        call_command("purge_export_files", "--days", "-1")
    assert exc.value.code == 2


def test_files_a_rolled_back_upload_left_behind_are_purged(county):
    """Evidence is written before its row: a failed transaction leaves the file, the purge removes it."""
    import time

    from django.db import transaction

    from kongchuo.security.services import orphan_files_purge
    from retrieval.alerts import services as alert_services
    from tests.retrieval.casefactories import AlertFactory, png

    kept = alert_services.alert_dismiss(alert=AlertFactory(student=county.s_a), user=county.school_a,
                                  reason="transferred", note="转学", files=[png()]).evidence.get()
    with pytest.raises(RuntimeError), transaction.atomic():
        decision = alert_services.alert_dismiss(alert=AlertFactory(student=county.s_a, period="2025-autumn"),
                                          user=county.school_a, reason="transferred", note="转学",
                                          files=[png("lost.png")])
        lost_path = decision.evidence.get().file.path
        raise RuntimeError("the save around it failed")
    assert os.path.exists(lost_path) and os.path.exists(kept.file.path)

    assert orphan_files_purge() == 0  # younger than a day: an upload may still be in flight
    old = time.time() - 2 * 86400
    os.utime(lost_path, (old, old))
    os.utime(kept.file.path, (old, old))
    assert orphan_files_purge(dry_run=True) == 1 and os.path.exists(lost_path)
    assert orphan_files_purge() == 1
    assert not os.path.exists(lost_path) and os.path.exists(kept.file.path)
    assert AuditEvent.objects.get(action="orphan_files_purge").detail == {"files": 1}


def test_an_initial_password_list_never_downloaded_is_purged(county, django_capture_on_commit_callbacks):
    """The users import's one-time output (initial passwords) goes after the retention period;
    another import's kept files do not."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from kongchuo.security.services import export_files_purge

    long_ago = timezone.now() - dt.timedelta(days=30)
    name = default_storage.save("jobs/users-1-passwords.xlsx", ContentFile(b"secret"))
    users = Job.objects.create(kind="import:users", status="succeeded", output=name,
                               finished_at=long_ago)
    roster = Job.objects.create(kind="import:roster", status="succeeded", output="jobs/x.xlsx",
                                finished_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert export_files_purge(days=7) == 1
    users.refresh_from_db()
    roster.refresh_from_db()
    assert users.output.name == "" and not default_storage.exists(name)
    assert roster.output.name == "jobs/x.xlsx"
