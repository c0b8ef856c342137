"""Closing a school year: the rollover of the children (students.rollover) and the freezing of
the year's figures (dashboards.yearfigures), in one transaction. The browser page and the
`rollover` command both call these; nothing else closes or reopens a year."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from dashboards.models import YearFigures
from dashboards.yearfigures import year_figures_freeze
from kongchuo.calendar.schoolyear import today as local_today
from kongchuo.calendar.schoolyear import year_end
from kongchuo.jobs import JobRefused, enqueue, job_execute
from kongchuo.models import Job
from students.rollover import (
    RolloverRefused,
    RolloverResult,
    rollover_apply,
    rollover_revert,
)

__all__ = ["RolloverRefused", "RolloverResult", "school_year_close", "school_year_reopen",
           "year_close_job_create", "year_close_job_run"]


@transaction.atomic
def school_year_close(*, year: int, user=None, today: dt.date | None = None) -> RolloverResult:
    """Roll the county over from school year `year` and freeze the year's figures (as of the
    day it runs, or the year's last day if that is earlier). A year already closed: nothing
    changes and the result says `already_done`. RolloverRefused when it may not run."""
    today = today or local_today()
    result = rollover_apply(year=year, user=user, today=today)
    if not result.already_done:
        year_figures_freeze(year=year, as_of=min(today, year_end(year)))
    return result


@transaction.atomic
def school_year_reopen(*, year: int, user=None, dry_run: bool = False) -> RolloverResult:
    """Revert the rollover of `year` exactly and drop the figures frozen with it (`dry_run`:
    check and count only)."""
    result = rollover_revert(year=year, user=user, dry_run=dry_run)
    if not dry_run:
        YearFigures.objects.filter(year=year).delete()
    return result


# ----------------------------------------------------------------------------- from the browser

JOB_KIND = "school_year_close"
JOB_TASK = "dashboards.school_year_job"  # dashboards/tasks.py; stored in outbox rows
ACTIONS = ("close", "reopen")


@transaction.atomic
def year_close_job_create(*, year: int, action: str, user) -> Job:
    """A Job row for a close (or reopen) started in the browser, queued for the worker once the
    caller's transaction commits (kongchuo.jobs.enqueue)."""
    if action not in ACTIONS:
        raise ValueError(action)
    job = Job.objects.create(kind=JOB_KIND, created_by=user, params={"year": year, "action": action})
    enqueue(JOB_TASK, job.pk)
    return job


def year_close_job_run(job_id: int) -> Job | None:
    """Run the close or reopen kept on Job `job_id` through the one Job lifecycle
    (kongchuo.jobs.job_execute: claimed by a conditional UPDATE, so a second delivery does
    nothing; a heartbeat, so a worker killed mid-close leaves no job running). The job ends
    succeeded with the counts, or failed with the reason; the year's own lock and
    `already_done` make a repeat harmless."""
    def work(job: Job, run) -> dict:
        year, action = job.params["year"], job.params["action"]
        try:
            if action == "close":
                result = school_year_close(year=year, user=job.created_by)
            else:
                result = school_year_reopen(year=year, user=job.created_by)
        except RolloverRefused as exc:
            raise JobRefused(str(exc), result={"children": exc.children}) from exc
        return result.as_json()

    return job_execute(job_id, work, kind_prefix=JOB_KIND)
