"""The common runner: a SweepRun row per run, one transaction per partition, set-based SQL.

Per partition and finding (one alert rule), the candidate set is computed once into a temporary
table, then two statements do the rest, whatever the county's size:

1. ``INSERT INTO alert … SELECT … FROM candidates ON CONFLICT (rule, period, subject) DO
   UPDATE … WHERE …``: the unique constraint makes the write idempotent; new rows are
   `created`, the other candidates are `already_open` (an alert is on file for them); an
   auto-resolved alert whose condition holds again re-opens, an open one whose child moved is
   re-routed to the child's school (`reopened` counts both);
2. resolve the open alerts of the rule and period routed to the partition that are no longer
   candidates (e.g. the child reported back);
3. the partition's counts go into `SweepRun.per_township` under a row lock, in the same
   transaction: a partition is done exactly once (a second delivery of the same task finds it
   done and rolls its own work back), and the last partition to finish writes the totals.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import time
from collections import Counter

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext

from kongchuo.access.audit import audit_record
from kongchuo.calendar.schoolyear import today
from kongchuo.jobs import Heartbeat, enqueue
from retrieval.models import Alert, SweepRun
from retrieval.sweeps import get_sweep
from retrieval.sweeps.base import (
    CANDIDATES,
    ROW_KEYS,
    Context,
    Finding,
    Partition,
    Rows,
    Sweep,
    SweepError,
    county_partitions,
    partition_for,
)
from retrieval.sweeps.merge import merge_into_siblings

log = logging.getLogger(__name__)

STALE_AFTER = dt.timedelta(hours=2)  # a run still "running" after this was lost (worker died)
# The tasks of retrieval/tasks.py, queued by name (they import this module, not the reverse);
# the names are stored in outbox rows, so they never change.
DISPATCH_TASK = "retrieval.tasks.sweep_dispatch"
PARTITION_TASK = "retrieval.tasks.sweep_partition"
_ROW_FIELDS = {"period": "period", "subject": "subject", "student_id": "student", "name": "name",
               "school_id": "school", "township_id": "township", "level": "level",
               "detail": "detail", "due_date": "due_date"}


class _AlreadyDone(Exception):
    """Another delivery of the same partition task committed first: roll this one back."""


# ----------------------------------------------------------------------------- runs


@transaction.atomic
def sweep_run_create(*, sweep: str, as_of: dt.date, township: str | None = None, user=None,
                     trigger: str = "manual") -> SweepRun:
    """A SweepRun row for `sweep` as of `as_of`, over one township (its code, or "direct") or
    the whole county, with one pending entry per partition. Raises SweepError on bad input."""
    spec = get_sweep(sweep)
    if not isinstance(as_of, dt.date):
        raise SweepError(gettext("日期格式应为 YYYY-MM-DD"))
    partitions = [partition_for(township)] if township else county_partitions()
    SweepRun.objects.filter(sweep=sweep, status=SweepRun.Status.RUNNING,
                            started_at__lt=timezone.now() - STALE_AFTER).update(
        status=SweepRun.Status.FAILED, finished_at=timezone.now(),
        message=gettext("超时未完成（工作进程中断）"))
    return SweepRun.objects.create(
        sweep=spec.name, as_of=as_of, period=spec.period(as_of), township_code=township or "",
        triggered_by=user if getattr(user, "is_authenticated", False) else None, trigger=trigger,
        per_township={p.key: {"label": p.label, "state": "pending"} for p in partitions},
    )


@transaction.atomic
def sweep_run_start(*, sweep: str, as_of: dt.date, township: str | None = None, user=None,
                    trigger: str = "manual", request=None) -> SweepRun:
    """Create the run, audit who started it, and hand it to the workers once this transaction
    commits (through the outbox: one task per partition; in-process when no broker is
    configured)."""
    run = sweep_run_create(sweep=sweep, as_of=as_of, township=township, user=user, trigger=trigger)
    audit_record(action="sweep_run", user=user, request=request, obj=run,
                 detail={"sweep": sweep, "as_of": as_of.isoformat(), "township": township or ""})
    enqueue(DISPATCH_TASK, run.pk)
    return run


@transaction.atomic
def sweep_partitions_enqueue(run_id: int, keys: list[str]) -> None:
    """Queue one partition task per key (the outbox rows commit together)."""
    for key in keys:
        enqueue(PARTITION_TASK, run_id, key)


def sweep_execute(run: SweepRun, *, worker: str = "cli") -> SweepRun:
    """Run every partition of `run` in this process, one after another (CLI, tests, seeding)."""
    sweep_prepare(run)
    for key in pending_partitions(run):
        try:
            partition_run(run.pk, key, worker=worker)
        except Exception as exc:
            log.exception("sweep run %s partition %s failed", run.pk, key)
            partition_failed(run.pk, key, f"{type(exc).__name__}: {exc}")
    run.refresh_from_db()
    return run


def sweep_run_now(*, sweep: str, as_of: dt.date, township: str | None = None, user=None,
                  trigger: str = "cli") -> SweepRun:
    return sweep_execute(sweep_run_create(sweep=sweep, as_of=as_of, township=township, user=user,
                                          trigger=trigger))


def sweep_runs_resume(*, stalled_after: dt.timedelta) -> list[int]:
    """Send again the lost partitions of running runs; returns the ids of the runs concerned.

    A worker killed as a whole (OOM, a host reboot) takes its unacknowledged messages with it
    until Redis' visibility timeout (hours) gives them back. Two signs tell a lost partition:

    - 已中断: a partition `running` whose heartbeat (`beat`, written every
      KONGCHUO_SWEEP_HEARTBEAT_SECONDS by the process computing it, see `_partition_heartbeat`) or start
      (`at`) is older than `stalled_after`: the process that held it is gone;
    - a run none of whose partitions has shown life for `stalled_after`: its dispatch or its
      queued messages were lost too, so its `pending` partitions go again as well.

    Each lost partition is set back to `pending` with its re-send count and time (`resumed`,
    `resumed_at`) and the time its last sign of life was seen (`lost_at`), so the run page shows
    重发 and the next check leaves it alone for another `stalled_after`. Partitions are
    idempotent (done-marks under the run's row lock, alerts ON CONFLICT), so a partition whose
    first holder was in fact still alive is computed once. Runs older than STALE_AFTER are left
    to be failed.
    """
    now = timezone.now()
    resumed = []
    with transaction.atomic():
        runs = SweepRun.objects.select_for_update(skip_locked=True).filter(
            status=SweepRun.Status.RUNNING, started_at__gte=now - STALE_AFTER,
            started_at__lt=now - stalled_after)
        for run in runs:
            entries = run.per_township
            alive = {k: partition_last_alive(v, run.started_at) for k, v in entries.items()}
            lost = sorted(k for k, v in entries.items()
                          if v.get("state") == "running" and now - alive[k] >= stalled_after)
            last = max(alive.values(), default=run.started_at)
            if now - last >= stalled_after:
                lost = sorted({*lost, *(k for k, v in entries.items() if v.get("state") == "pending")})
            if not lost:
                continue
            started = any(v.get("attempts") for v in entries.values())
            for key in lost:
                entry = entries[key]
                entry.update(state="pending", at=now.isoformat(), resumed_at=now.isoformat(),
                             resumed=entry.get("resumed", 0) + 1, lost_at=alive[key].isoformat())
            run.save(update_fields=["per_township"])
            idle = int((now - min(alive[k] for k in lost)).total_seconds())
            audit_record(action="sweep_resume", obj=run, detail={
                "sweep": run.sweep, "partitions": lost, "idle_s": idle})
            log.warning("sweep run %s: partitions %s silent for %ss, sending them again", run.pk,
                        ", ".join(lost), idle)
            if started:
                sweep_partitions_enqueue(run.pk, lost)
            else:  # no partition ever started: the run's prepare step may not have run either
                enqueue(DISPATCH_TASK, run.pk)
            resumed.append(run.pk)
    return resumed


def sweep_watch() -> list[int]:
    """The sweeps' check in the one jobs watchdog (kongchuo.jobs.watchdog_register): the runs
    whose silent partitions were sent again. Idempotent: see `sweep_runs_resume`."""
    return sweep_runs_resume(stalled_after=dt.timedelta(seconds=settings.KONGCHUO_SWEEP_STALL_SECONDS))


def partition_last_alive(entry: dict, default: dt.datetime) -> dt.datetime:
    """The last sign of life of a partition entry: its heartbeat or its last state change."""
    stamps = [dt.datetime.fromisoformat(entry[k]) for k in ("at", "beat") if entry.get(k)]
    return max(stamps, default=default)


def partition_heartbeat(run_id: int, key: str, *, worker: str) -> bool:
    """Stamp `beat` on the partition `key` while `worker` holds it running; False when it no
    longer does (done, failed, or sent to another worker). Its own short transaction: call it
    outside the partition's (see `_partition_heartbeat`)."""
    with transaction.atomic():
        run = SweepRun.objects.select_for_update().only("per_township").get(pk=run_id)
        entry = run.per_township.get(key, {})
        if entry.get("state") != "running" or entry.get("by") != worker:
            return False
        entry["beat"] = timezone.now().isoformat()
        run.save(update_fields=["per_township"])
    return True


def context_for(run: SweepRun) -> Context:
    return Context(as_of=run.as_of, period=run.period, run_id=run.pk, now=timezone.now())


def sweep_prepare(run: SweepRun) -> dict:
    """The sweep's once-per-run set-based step (idempotent), before the partitions."""
    spec = get_sweep(run.sweep)
    if connection.vendor == "postgresql":
        # Fresh planner statistics on alerts: a run after a big one (a new term's first
        # return check writes an alert for most of the county) would otherwise be planned as if
        # the table were still small, reading all of it once per partition.
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {Alert._meta.db_table}")
    if spec.prepare is None:
        return {}
    with transaction.atomic():
        counts = spec.prepare(context_for(run))
    if counts:
        SweepRun.objects.filter(pk=run.pk).update(
            message=" ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def pending_partitions(run: SweepRun) -> list[str]:
    return [k for k, v in run.per_township.items() if v.get("state") != "done"]


def partition_run(run_id: int, key: str, *, worker: str = "") -> dict | None:
    """Compute one partition of a run in one transaction; None when it was already done.

    Idempotent: alerts are written with INSERT … ON CONFLICT DO NOTHING against the unique
    (rule, period, subject) constraint, and the partition's "done" mark is written in the same
    transaction under a lock on the run row, so a retried, redelivered or duplicated task either
    finds the partition done or rolls its own work back.
    """
    run = SweepRun.objects.get(pk=run_id)
    if run.per_township.get(key, {}).get("state") == "done":
        return None
    spec = get_sweep(run.sweep)
    partition = partition_for(key)
    _mark(run_id, key, state="running", by=worker)
    started = time.perf_counter()
    try:
        with _partition_heartbeat(run_id, key, worker), transaction.atomic():
            counts = partition_compute(spec, context_for(run), partition)
            delay = settings.KONGCHUO_SWEEP_PARTITION_DELAY_MS
            if delay:  # fault-injection window for the reliability tests (0 in production)
                time.sleep(delay / 1000)
            counts["ms"] = round((time.perf_counter() - started) * 1000)
            _record_done(run_id, key, counts, worker)
    except _AlreadyDone:
        return None
    return counts


def _partition_heartbeat(run_id: int, key: str, worker: str):
    """The partition's heartbeat (kongchuo.jobs.Heartbeat) while its transaction runs: nobody
    sees that transaction's writes before it commits, so a thread on its own connection stamps
    the partition's entry; a killed worker's partition falls silent and the watchdog sends it
    again. Off on SQLite, whose single writer the partition's transaction holds, and with an
    interval of 0."""
    interval = settings.KONGCHUO_SWEEP_HEARTBEAT_SECONDS
    if interval <= 0 or connection.vendor != "postgresql":
        return contextlib.nullcontext()
    return Heartbeat(lambda: partition_heartbeat(run_id, key, worker=worker), interval=interval,
                     name=f"sweep-heartbeat-{run_id}-{key}")


def partition_failed(run_id: int, key: str, message: str) -> None:
    with transaction.atomic():
        run = SweepRun.objects.select_for_update().get(pk=run_id)
        entry = run.per_township.setdefault(key, {})
        if entry.get("state") == "done":
            return
        entry.update(state="failed", error=message[:300], at=timezone.now().isoformat())
        _finish_if_complete(run)
        run.save(update_fields=["per_township", "status", "finished_at", "duration_ms", "created",
                                "already_open", "resolved", "message"])


def _mark(run_id: int, key: str, **values) -> None:
    with transaction.atomic():
        run = SweepRun.objects.select_for_update().get(pk=run_id)
        entry = run.per_township.setdefault(key, {})
        if entry.get("state") == "done":
            return
        entry.update(values)
        entry.pop("beat", None)  # a previous holder's
        entry["at"] = timezone.now().isoformat()
        entry["attempts"] = entry.get("attempts", 0) + 1
        run.save(update_fields=["per_township"])


def _record_done(run_id: int, key: str, counts: dict, worker: str) -> None:
    run = SweepRun.objects.select_for_update().get(pk=run_id)
    entry = run.per_township.setdefault(key, {})
    if entry.get("state") == "done":
        raise _AlreadyDone
    entry.update(counts)
    entry.update(state="done", by=worker, at=timezone.now().isoformat())
    entry.pop("error", None)
    _finish_if_complete(run)
    run.save(update_fields=["per_township", "status", "finished_at", "duration_ms", "created",
                            "already_open", "resolved", "message"])


def _finish_if_complete(run: SweepRun) -> None:
    states = [v.get("state") for v in run.per_township.values()]
    if any(s in ("pending", "running") for s in states):
        return
    entries = run.per_township.values()
    run.created = sum(v.get("created", 0) for v in entries)
    run.already_open = sum(v.get("already_open", 0) for v in entries)
    run.resolved = sum(v.get("resolved", 0) for v in entries)
    run.finished_at = timezone.now()
    run.duration_ms = int((run.finished_at - run.started_at).total_seconds() * 1000)
    failed = [k for k, v in run.per_township.items() if v.get("state") == "failed"]
    if failed:
        run.status = SweepRun.Status.FAILED
        run.message = gettext("%(n)d 个分区失败：%(keys)s") % {"n": len(failed), "keys": ", ".join(failed)}
    else:
        run.status = SweepRun.Status.SUCCEEDED


# ----------------------------------------------------------------------------- the SQL


def partition_compute(spec: Sweep, ctx: Context, partition: Partition) -> dict:
    """All findings of `spec` for one partition; call inside a transaction."""
    if connection.vendor == "postgresql":
        # The statements are cheap to run but look expensive to the planner (correlated
        # subqueries over a county), so PostgreSQL would JIT-compile each one — seconds of
        # compiling for milliseconds of work. Off for this transaction only.
        with connection.cursor() as cur:
            cur.execute("SET LOCAL jit = off")
    totals: Counter = Counter({"candidates": 0, "created": 0, "already_open": 0, "reopened": 0,
                               "resolved": 0})
    rules = tuple(f.rule for f in spec.findings)
    for finding in spec.findings:
        siblings = tuple(r for r in rules if r != finding.rule)
        totals.update(apply_finding(finding, ctx, partition, siblings=siblings))
    if spec.after is not None:
        totals.update(spec.after(ctx, partition))
    return dict(totals)


def apply_finding(finding: Finding, ctx: Context, partition: Partition, *,
                  siblings: tuple[str, ...] = ()) -> dict:
    """One rule for one partition: candidates → merge → upsert → resolve (module docstring).

    One child, one alert per sweep: `siblings` are the sweep's other rules. A candidate whose
    (period, subject) already has a live alert of a sibling rule (and none of this rule) adds
    this rule's reason to that alert (`detail["also"]`) instead of raising a second alert, so
    the idempotency key of a sweep is one live alert per (student, sweep, period), carried by
    the first of its rules that applied, listing every reason that applies.

    Every statement is driven by something proportional to the partition: the candidate
    table (the upsert probes the unique index once per candidate) or the partition's schools
    and township (the resolve reads the alerts routed there through their indexes).
    """
    merged = 0
    with connection.cursor() as cur:
        _create_candidates(cur)
        try:
            for source in finding.build(ctx, partition):
                _fill_candidates(cur, source)
            cur.execute(f"SELECT COUNT(*) FROM {CANDIDATES}")
            candidates = cur.fetchone()[0]
            if candidates > 1000 and connection.vendor == "postgresql":
                cur.execute(f"ANALYZE {CANDIDATES}")  # real row counts for the planner
            if siblings:
                merged = merge_into_siblings(cur, finding, ctx, partition, siblings)

            sql, params = _upsert_sql(finding.rule, ctx)
            cur.execute(sql, params)
            returned = [row[0] for row in cur.fetchall()]
            created = sum(1 for run_id in returned if run_id == ctx.run_id)

            resolved = (
                Alert.objects.filter(rule=finding.rule, status=Alert.Status.OPEN)
                .filter(finding.period_filter(ctx)).filter(partition.routed())
                .filter(RawSQL(  # noqa: S611 - constant SQL, no parameters
                    f"NOT EXISTS (SELECT 1 FROM {CANDIDATES} c WHERE c.x_subject = "
                    f"{Alert._meta.db_table}.subject AND c.x_period = {Alert._meta.db_table}.period)",
                    [], output_field=BooleanField()))
                .update(status=Alert.Status.RESOLVED, closed_at=ctx.now)
            )
        finally:
            cur.execute(f"DROP TABLE IF EXISTS {CANDIDATES}")
    return {"candidates": candidates, "created": created,
            "already_open": candidates - merged - created, "merged": merged,
            "reopened": len(returned) - created, "resolved": resolved}


def _create_candidates(cur) -> None:
    cols = ", ".join(f"x_{k} {Alert._meta.get_field(f).db_type(connection)}"
                     for k, f in _ROW_FIELDS.items())
    # Dropped after each rule (see apply_finding); a failed transaction rolls its creation back.
    suffix = " ON COMMIT DROP" if connection.vendor == "postgresql" else ""
    # One row per (period, subject): two sources naming the same child make one candidate.
    cur.execute(f"CREATE TEMPORARY TABLE {CANDIDATES} ({cols}, UNIQUE (x_period, x_subject)){suffix}")


def _fill_candidates(cur, source: Rows) -> None:
    cols = ", ".join(f"x_{k}" for k in ROW_KEYS)
    if source.query is not None:
        qs = source.query.order_by().values(*[f"x_{k}" for k in ROW_KEYS])
        try:
            sql, params = qs.query.sql_with_params()
        except EmptyResultSet:  # a .none() source adds nothing
            pass
        else:
            cur.execute(f"INSERT INTO {CANDIDATES} ({cols}) SELECT {cols} FROM ({sql}) q "
                        f"WHERE q.x_subject IS NOT NULL ON CONFLICT DO NOTHING", params)
    if source.rows:
        values = [
            [json.dumps(row[k], ensure_ascii=False, default=str) if k == "detail"
             else (row[k][:40] if k == "name" and row[k] else row[k]) for k in ROW_KEYS]
            for row in source.rows
        ]
        marks = ", ".join(["%s"] * len(ROW_KEYS))
        cur.executemany(f"INSERT INTO {CANDIDATES} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING",
                        values)


def _prep(field, value):
    return field.get_db_prep_save(value, connection)


def _typed(field) -> str:
    """A parameter placeholder PostgreSQL can type inside INSERT … SELECT (SQLite needs none)."""
    if connection.vendor == "postgresql":
        return f"CAST(%s AS {field.db_type(connection)})"
    return "%s"


def _upsert_sql(rule: str, ctx: Context) -> tuple[str, list]:
    """INSERT … SELECT from the candidate table, every other Alert column at its default.

    On a conflict with the alert already on file for (rule, period, subject): an auto-resolved
    one whose condition holds again re-opens, and an open one whose child now sits elsewhere is
    re-routed to the candidate's school and township; confirmed or dismissed ones are left as
    they are. RETURNING the run id tells created rows (this run's id) from updated ones.
    """
    table = Alert._meta.db_table
    meta = Alert._meta
    columns: list[str] = []
    exprs: list[str] = []
    params: list = []
    from_row = {meta.get_field(f).column: f"c.x_{k}" for k, f in _ROW_FIELDS.items()}
    constants = {"rule": rule, "status": Alert.Status.OPEN, "sweep_run": ctx.run_id,
                 "raised_at": ctx.now}
    for field in meta.concrete_fields:
        if field.primary_key:
            continue
        if field.column in from_row:
            columns.append(field.column)
            exprs.append(from_row[field.column])
            continue
        if field.name in constants:
            value = constants[field.name]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = ctx.now
        elif field.has_default():
            value = field.get_default()
        elif field.null:
            continue
        else:
            raise RuntimeError(f"Alert.{field.name} needs a value the sweeps do not know")
        columns.append(field.column)
        exprs.append(_typed(field))
        params.append(_prep(field, value))
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    distinct = "IS NOT" if connection.vendor == "sqlite" else "IS DISTINCT FROM"
    sql = (
        f"INSERT INTO {table} ({cols}) SELECT {', '.join(exprs)} FROM {CANDIDATES} c "
        f"WHERE c.x_subject IS NOT NULL "
        f"ON CONFLICT (rule, period, subject) DO UPDATE SET status = %s, closed_at = NULL, "
        f"school_id = excluded.school_id, township_id = excluded.township_id "
        f"WHERE {table}.status = %s OR ({table}.status = %s AND "
        f"({table}.school_id {distinct} excluded.school_id "
        f"OR {table}.township_id {distinct} excluded.township_id)) "
        f"RETURNING sweep_run_id"
    )
    return sql, [*params, Alert.Status.OPEN, Alert.Status.RESOLVED, Alert.Status.OPEN]


# ----------------------------------------------------------------------------- reading runs


def _looks_like_id(subject: str) -> bool:
    return len(subject) == 18 and subject[:17].isdigit()


def run_summary(run: SweepRun) -> dict:
    """The `--json` object: the run's totals and the alerts it created."""
    alerts = (Alert.objects.filter(sweep_run=run).select_related("school")
              .order_by("rule", "period", "subject"))
    return {
        "sweep": run.sweep,
        "as_of": run.as_of.isoformat(),
        "period": run.period,
        "created": run.created,
        "already_open": run.already_open,
        "resolved": run.resolved,
        "alerts": [
            {"id_number": a.subject if _looks_like_id(a.subject) else None, "rule": a.rule,
             "school_code": a.school.code if a.school_id else None, "period": a.period}
            for a in alerts.iterator(chunk_size=5000)
        ],
    }


def parse_as_of(text: str | None) -> dt.date:
    if not text:
        return today()
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise SweepError(gettext("日期格式应为 YYYY-MM-DD：%(value)s") % {"value": text}) from exc


__all__ = ["SweepError", "partition_run", "run_summary", "sweep_execute", "sweep_run_create",
           "sweep_run_now", "sweep_run_start", "sweep_watch"]
