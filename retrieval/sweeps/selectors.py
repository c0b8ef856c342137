"""Reads for the sweep pages: each sweep with its schedule, last run and open alerts."""

from __future__ import annotations

import json

from django.db.models import Count, Max
from django_celery_beat.models import PeriodicTask

from retrieval.models import Alert, SweepRun
from retrieval.selectors import alert_id_masked
from retrieval.sweeps import all_sweeps

SCHEDULED_TASK = "retrieval.tasks.sweep_scheduled"


def sweep_overview() -> list[dict]:
    """One row per sweep: spec, its beat rows, last run, open alerts of its rules. 4 queries."""
    latest_ids = SweepRun.objects.values("sweep").annotate(last=Max("pk")).values_list("last", flat=True)
    last = {r.sweep: r for r in SweepRun.objects.filter(pk__in=list(latest_ids))}
    schedules: dict[str, list] = {}
    for task in PeriodicTask.objects.filter(task=SCHEDULED_TASK).select_related("crontab"):
        schedules.setdefault(_sweep_of(task), []).append(task)
    open_by_rule = dict(Alert.objects.filter(status=Alert.Status.OPEN).order_by()
                        .values_list("rule").annotate(n=Count("pk")))
    rows = []
    for spec in all_sweeps():
        rules = {f.rule for f in spec.findings}
        rows.append({"spec": spec, "last": last.get(spec.name),
                     "schedules": schedules.get(spec.name, []),
                     "open": sum(open_by_rule.get(r, 0) for r in rules)})
    return rows


def _sweep_of(task) -> str:
    try:
        return json.loads(task.kwargs or "{}").get("sweep", "")
    except ValueError:
        return ""


def created_alerts(run: SweepRun, limit: int = 100) -> list[dict]:
    """The alerts a run created, ID numbers masked (pages never show a full ID)."""
    rows = []
    for a in (run.alerts.select_related("school", "township").order_by("rule", "school_id", "pk")
              [:limit]):
        rows.append({"alert": a, "subject": alert_id_masked(a)})
    return rows
