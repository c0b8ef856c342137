"""Reads for the sweep pages: each sweep with its schedule, last run and open alerts."""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from retrieval.models import Alert, SweepRun
from retrieval.sweeps import all_sweeps
from retrieval.sweeps.runner import STALE_AFTER, partition_last_alive
from retrieval.wording import alert_id_masked

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


def _sweep_of(task: PeriodicTask) -> str:
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


def partition_rows(run: SweepRun) -> list[tuple[str, dict]]:
    """The run's partitions in page order, each with `shown`: its state as the page words it —
    `interrupted` (已中断) for a running partition silent longer than the watchdog's threshold
    (its worker died; the watchdog sends it again) — and its times as datetimes."""
    now = timezone.now()
    stall = dt.timedelta(seconds=settings.KONGCHUO_SWEEP_STALL_SECONDS)
    rows = []
    for key, entry in sorted(run.per_township.items(), key=lambda kv: (kv[0] == "direct", kv[0])):
        e = dict(entry)
        last = partition_last_alive(entry, run.started_at)
        e["shown"] = entry.get("state") or "pending"
        if (e["shown"] == "running" and run.status == SweepRun.Status.RUNNING
                and now - last >= stall):
            e["shown"] = "interrupted"
            e["silent_since"] = last
        for stamp in ("resumed_at", "lost_at"):
            if entry.get(stamp):
                e[stamp] = dt.datetime.fromisoformat(entry[stamp])
        rows.append((key, e))
    return rows


def runs_in_trouble() -> list[dict]:
    """Running runs (younger than STALE_AFTER) with a partition interrupted or re-sent: what the
    county home page warns about. One query."""
    out = []
    labels = {s.name: s.label for s in all_sweeps()}
    for run in SweepRun.objects.filter(status=SweepRun.Status.RUNNING,
                                       started_at__gte=timezone.now() - STALE_AFTER):
        rows = partition_rows(run)
        interrupted = sum(1 for _k, e in rows if e["shown"] == "interrupted")
        resent = sum(1 for _k, e in rows if e.get("resumed"))
        if interrupted or resent:
            out.append({"run": run, "label": labels.get(run.sweep, run.sweep), "interrupted": interrupted, "resent": resent,
                        "done": sum(1 for _k, e in rows if e["shown"] == "done"), "total": len(rows)})
    return out
