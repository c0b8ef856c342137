"""The sweeps' beat schedule as county users keep it (排查计划): read in words, changed in a form.

The schedule lives in django-celery-beat's tables (one PeriodicTask per scheduled sweep, on a
CrontabSchedule); beat re-reads them when PeriodicTasks.last_update moves, which
PeriodicTask.save() does. The page offers the shapes the county's calendar uses — months of the
year, then every day, some weekdays or some days of the month, at a time — so nobody writes
cron fields; a row edited in the admin into another shape is shown as written and replaced by
the form's shape when saved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from kongchuo.access.audit import audit_record
from kongchuo.jobs.crontab import cron_label
from retrieval.sweeps import all_sweeps
from retrieval.sweeps.selectors import SCHEDULED_TASK, _sweep_of

MONTHS = tuple(range(1, 13))
# cron's day-of-week numbers, Monday first as the county's calendar prints them
WEEKDAYS = (1, 2, 3, 4, 5, 6, 0)


@dataclass(frozen=True)
class Shape:
    """A schedule in the form's terms; `custom` when the stored cron fields are of another shape."""

    months: tuple[int, ...]
    frequency: str  # daily | weekly | monthly
    weekdays: tuple[int, ...]
    days: tuple[int, ...]
    time: dt.time
    custom: bool = False

    def cron(self) -> dict[str, str]:
        months = "*" if set(self.months) == set(MONTHS) else ",".join(map(str, sorted(self.months)))
        dom = ",".join(map(str, sorted(self.days))) if self.frequency == "monthly" else "*"
        dow = ",".join(map(str, sorted(self.weekdays))) if self.frequency == "weekly" else "*"
        return {"minute": str(self.time.minute), "hour": str(self.time.hour), "day_of_month": dom,
                "month_of_year": months, "day_of_week": dow}


def _numbers(field: str, lo: int, hi: int) -> tuple[int, ...] | None:
    """"*" / "2,3,9" / "1-5" → the numbers; None for anything else (steps, names)."""
    if field == "*":
        return tuple(range(lo, hi + 1))
    out: set[int] = set()
    for part in field.split(","):
        a, _sep, b = part.partition("-")
        if not a.isdigit() or (b and not b.isdigit()):
            return None
        first, last = int(a), int(b or a)
        if not lo <= first <= last <= hi:
            return None
        out.update(range(first, last + 1))
    return tuple(sorted(out))


def shape_of(crontab: CrontabSchedule) -> Shape:
    minute, hour = str(crontab.minute), str(crontab.hour)
    dom, month, dow = str(crontab.day_of_month), str(crontab.month_of_year), str(crontab.day_of_week)
    months = _numbers(month, 1, 12)
    weekdays = _numbers(dow, 0, 7)
    days = _numbers(dom, 1, 31)
    simple_time = minute.isdigit() and hour.isdigit() and int(minute) < 60 and int(hour) < 24
    time = dt.time(int(hour), int(minute)) if simple_time else dt.time(2, 0)
    frequency = "weekly" if dow != "*" else "monthly" if dom != "*" else "daily"
    custom = (not simple_time or months is None or weekdays is None or days is None
              or (dom != "*" and dow != "*") or (dom != "*" and days is not None and max(days) > 28))
    return Shape(months=months or MONTHS, frequency=frequency,
                 weekdays=tuple(sorted({d % 7 for d in weekdays or ()})) if dow != "*" else (),
                 days=days if dom != "*" and days else (), time=time, custom=custom)


def schedule_rows() -> list[dict]:
    """Every scheduled sweep's beat row with its words (one query, plus the sweeps' labels)."""
    labels = {s.name: s.label for s in all_sweeps()}
    order = {s.name: i for i, s in enumerate(all_sweeps())}
    rows = []
    for task in PeriodicTask.objects.filter(task=SCHEDULED_TASK).select_related("crontab"):
        sweep = _sweep_of(task)
        c = task.crontab
        rows.append({"task": task, "sweep": sweep, "label": labels.get(sweep, sweep),
                     "words": words(c) if c else "", "shape": shape_of(c) if c else None})
    return sorted(rows, key=lambda r: (order.get(r["sweep"], 99), r["task"].pk))


def words(crontab: CrontabSchedule) -> str:
    return cron_label(crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year,
                      crontab.day_of_week)


def year_calendar(rows: list[dict]) -> list[dict]:
    """Month by month, the enabled sweeps that run in it and when (in words, month left out)."""
    months = []
    for month in MONTHS:
        runs = []
        for row in rows:
            c = row["task"].crontab
            if not row["task"].enabled or c is None:
                continue
            in_month = _numbers(str(c.month_of_year), 1, 12)
            if in_month is None or month in in_month:
                runs.append({"label": row["label"], "when": cron_label(
                    c.minute, c.hour, c.day_of_month, "*", c.day_of_week), "sweep": row["sweep"]})
        months.append({"month": month, "runs": runs})
    return months


@transaction.atomic
def sweep_schedule_set(*, task_id: int, enabled: bool, shape: Shape, user=None,
                       request=None) -> PeriodicTask:
    """Point a sweep's beat row at the schedule `shape` (a CrontabSchedule row shared by every
    task with the same fields, never edited in place) and enable or disable it; audited with
    the schedule before and after, in words. Beat picks the change up at its next tick."""
    task = (PeriodicTask.objects.select_for_update(of=("self",)).select_related("crontab")
            .get(pk=task_id, task=SCHEDULED_TASK))
    before = {"enabled": task.enabled, "schedule": words(task.crontab) if task.crontab else ""}
    crontab, _created = CrontabSchedule.objects.get_or_create(**shape.cron(), timezone=settings.TIME_ZONE)
    task.crontab = crontab
    task.enabled = enabled
    task.save()  # not update_fields: save() also tells beat (PeriodicTasks.changed)
    after = {"enabled": enabled, "schedule": words(crontab)}
    audit_record(action="sweep_schedule", user=user, request=request, obj=task, detail={
        "sweep": _sweep_of(task), "schedule": after["schedule"], "enabled": enabled,
        "before": before, "after": after})
    return task
