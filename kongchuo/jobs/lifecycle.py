"""The life of a Job row: pending → running → succeeded or failed, and every job ends.

A job's status is not written on the connection doing its work. That connection may be
streaming a COPY (any other statement on it ends the COPY and kills the connection), may be
inside the work's transaction (nobody sees its writes before it commits), or may be dead (the
failure it caused must still be recorded). So `JobRun` writes the status through connections
of its own to the same database (autocommit):

- `start` and `fail` open a fresh connection for the one UPDATE;
- while the job runs, a heartbeat thread holds one more and, every HEARTBEAT_SECONDS, touches
  `heartbeat_at` and writes the progress the work reported in memory (`JobRun.progress` does no
  I/O, so it is safe to call between the rows of a COPY). Progress only grows
  (GREATEST): a retried job resumes its bar instead of restarting it.

A job whose process dies (a killed worker, an OOM kill, a lost machine) stops its heartbeat;
`watchdog_run` (the beat task `kongchuo.jobs_watchdog`, every 30 s: CELERY_BEAT_SCHEDULE) fails
every running job whose heartbeat is older than KONGCHUO_JOB_STALL_SECONDS, with a reason the
user can read, then runs the checks apps registered for work kept on rows of their own (a
sweep's partitions beat through the same `Heartbeat` and are sent again rather than failed:
they are idempotent and resumable). Nothing is half-written by such a death: imports write in
one transaction, which the server rolls back when the connection goes.

`job_execute` is the whole life for a task that takes a Job id: claim, start, the work, then
succeeded with its result or failed with its reason.

When the caller holds a transaction open (the job row itself may not be committed yet: tests,
or a service creating and running a job in one transaction) no second connection could see the
row, so the status goes through the caller's connection and the heartbeat thread is not
started; progress is then kept in memory only.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from kongchuo.models import Job

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0  # the page polls every second: progress is written as often
RUNNING, PENDING, FAILED = Job.Status.RUNNING.value, Job.Status.PENDING.value, Job.Status.FAILED.value

# Written in the site's language by the watchdog (a beat task, with no user to ask).
STALLED_MESSAGE = gettext_lazy(
    "后台任务中断：处理进程已停止响应（超过 %(seconds)s 秒无心跳，可能已重启或被终止），"
    "已标记为失败，数据未改动。请重新提交；如多次失败，请联系管理员。")


def _limit_lock_wait(conn) -> None:
    """Connect `conn` if it is not; a new connection waits at most a second for a lock (the
    work's transaction may hold the row a status write touches until it commits)."""
    if conn.connection is not None:
        return
    conn.ensure_connection()
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            cur.execute("SET lock_timeout = '1s'")
        elif conn.vendor == "sqlite":
            cur.execute("PRAGMA busy_timeout = 1000")


def _side_connection():
    """A connection of its own to the default database, in autocommit."""
    conn = connections.create_connection(DEFAULT_DB_ALIAS)
    _limit_lock_wait(conn)
    return conn


def _greatest(conn) -> str:
    return "MAX" if conn.vendor == "sqlite" else "GREATEST"


def _update(conn, job_id: int, sets: str, params: list, *, where: str = "", where_params: tuple = ()) -> int:
    """UPDATE the Job row through `conn` (raw SQL: the side connections are no alias of the
    ORM); the number of rows changed."""
    table = Job._meta.db_table
    with conn.cursor() as cur:
        cur.execute(f"UPDATE {table} SET {sets} WHERE id = %s{where}",  # noqa: S608 - fixed SQL
                    [*params, job_id, *where_params])
        return cur.rowcount


def _now(conn):
    return conn.ops.adapt_datetimefield_value(timezone.now())


def _on_side(job_id: int, write) -> int:
    """Run `write(conn)` on a fresh side connection, or on the caller's when it holds a
    transaction open (see the module docstring)."""
    if connection.in_atomic_block:
        return write(connection)
    conn = _side_connection()
    try:
        return write(conn)
    finally:
        conn.close()


def job_claim(job_id: int, *, kind_prefix: str = "") -> bool:
    """Take a pending job for this delivery (pending → running by a conditional UPDATE): a
    second delivery of the same task, or one arriving after the watchdog failed the job, finds
    nothing to claim."""
    def write(conn) -> int:
        now = _now(conn)
        return _update(conn, job_id, "status = %s, started_at = %s, heartbeat_at = %s,"
                       " finished_at = NULL, message = ''", [RUNNING, now, now],
                       where=" AND status = %s AND kind LIKE %s", where_params=(PENDING, kind_prefix + "%"))
    return _on_side(job_id, write) > 0


def job_requeue(job_id: int, message: str) -> None:
    """Back to pending (a Celery retry will claim it again), keeping the progress reached."""
    _on_side(job_id, lambda conn: _update(conn, job_id, "status = %s, message = %s, finished_at = NULL",
                                          [PENDING, message]))


def job_fail(job_id: int, message: str) -> bool:
    """Mark the job failed with `message` (Chinese first, then English), on a fresh
    connection: the one that failed may be dead. Never raises: a failure to record the
    failure is logged, and the watchdog fails the job once its heartbeat is stale."""
    def write(conn) -> int:
        return _update(conn, job_id, "status = %s, message = %s, finished_at = %s",
                       [FAILED, message[:2000], _now(conn)],
                       where=" AND status <> %s", where_params=(Job.Status.SUCCEEDED.value,))
    try:
        return _on_side(job_id, write) > 0
    except DatabaseError:
        log.exception("job %s: the failure could not be recorded (the watchdog will)", job_id)
        return False


class Heartbeat:
    """Calls `beat()` every `interval` seconds from a thread of its own until `stop()`, or until
    `beat` returns False (the work is no longer this process's to beat for).

    The thread's ORM connection is its own (Django keeps one per thread), so a beat never rides
    on the work's connection and is seen while the work's transaction is still open; it waits
    at most a second for a lock, and a beat that fails (the row busy, the database gone for a
    moment) is skipped: the next one tries again. The thread dies with the process, and that
    silence is what the watchdog looks for."""

    def __init__(self, beat: Callable[[], bool | None], *, interval: float, name: str) -> None:
        self.beat = beat
        self.interval = interval
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5) -> None:
        """Stop beating (idempotent); waits up to `timeout` seconds for a beat under way."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    _limit_lock_wait(connection)
                    if self.beat() is False:
                        return
                except DatabaseError as exc:
                    log.info("%s: beat skipped (%s)", self.name, type(exc).__name__)
                    if connection.connection is not None and not connection.is_usable():
                        connection.close()
        finally:
            connections.close_all()  # this thread's connections only


class JobRun:
    """One run of a Job: `start()`, `progress(pct)` as often as liked, then `close()` (the
    success is written by the caller with its results, in its own transaction) or `fail()`.

    Not thread-safe beyond this: the work's thread calls `progress`, the heartbeat thread
    reads the number."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.pct = 0
        self.started_at: dt.datetime | None = None
        self._heartbeat: Heartbeat | None = None

    def start(self) -> None:
        """Running from now (the bar keeps what an earlier attempt reached)."""
        self.started_at = timezone.now()

        def write(conn) -> int:
            now = conn.ops.adapt_datetimefield_value(self.started_at)
            return _update(conn, self.job_id,
                           f"status = %s, started_at = %s, heartbeat_at = %s, finished_at = NULL,"
                           f" progress = {_greatest(conn)}(progress, 1)", [RUNNING, now, now])
        side = not connection.in_atomic_block
        _on_side(self.job_id, write)
        if side:
            self._heartbeat = Heartbeat(self._touch, interval=HEARTBEAT_SECONDS,
                                        name=f"job-{self.job_id}-heartbeat").start()

    def progress(self, pct: int) -> None:
        """Report progress (1–99); only remembered here, the heartbeat writes it."""
        pct = max(1, min(int(pct), 99))
        if pct > self.pct:
            self.pct = pct

    def fail(self, message: str) -> None:
        self.close()
        job_fail(self.job_id, message)

    def close(self) -> None:
        """Stop the heartbeat (idempotent)."""
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None

    def __enter__(self) -> JobRun:
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def _touch(self) -> None:
        """One beat, on the heartbeat thread's own connection."""
        _update(connection, self.job_id, f"heartbeat_at = %s, progress = {_greatest(connection)}(progress, %s)",
                [_now(connection), self.pct], where=" AND status = %s", where_params=(RUNNING,))


class JobRefused(Exception):
    """The work declines to run (a rule of the domain says no): the job ends failed with this
    message and `result`, and the task ends normally — nothing to retry or to log as an error."""

    def __init__(self, message: str, *, result: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = result or {}


def _failure_message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def job_execute(job_id: int, work: Callable[[Job, JobRun], dict], *, kind_prefix: str,
                failure_message: Callable[[BaseException], str] = _failure_message) -> Job | None:
    """The whole life of Job `job_id` in a task: claim it, run `work(job, run)` with a
    heartbeat, and end it succeeded with the result `work` returns (and the `output` it may
    have set on the job), or failed.

    None when there is nothing to claim: only a pending job of `kind_prefix` is taken, so a
    second delivery of the task, or one arriving after the watchdog failed the job, does
    nothing. `work` reports progress with `run.progress(pct)`. A `JobRefused` ends the job
    failed with its message; any other exception is logged and recorded as
    `failure_message(exc)` on a fresh connection (the work's may be what failed), and not
    raised: the Job row is where the failure is read, and in-process (no broker) a raise would
    reach the page that queued the job.
    """
    if not job_claim(job_id, kind_prefix=kind_prefix):
        return None
    job = Job.objects.select_related("created_by").get(pk=job_id)
    run = JobRun(job_id)
    run.start()
    job.status, job.started_at = Job.Status.RUNNING, run.started_at
    try:
        result = work(job, run)
    except JobRefused as exc:
        job.status, job.message, job.result = Job.Status.FAILED, exc.message, exc.result
    except Exception as exc:
        log.exception("job %s (%s) failed", job_id, job.kind)
        job.status, job.message = Job.Status.FAILED, failure_message(exc)
        run.fail(job.message)
        job.finished_at = timezone.now()  # as written by `run.fail`, give or take a moment
        return job
    else:
        job.status, job.result, job.progress = Job.Status.SUCCEEDED, result, 100
    finally:
        run.close()
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "result", "progress", "output", "finished_at"])
    return job


def stall_seconds() -> int:
    return int(settings.KONGCHUO_JOB_STALL_SECONDS)


def jobs_fail_stalled(*, now: dt.datetime | None = None) -> list[int]:
    """Fail every running job whose heartbeat is older than KONGCHUO_JOB_STALL_SECONDS (or,
    never having had one, that started before that: a job left running by a version without
    heartbeats); the ids failed. A job whose row is locked is being written by a live transaction (its success
    commits with its data) and is left alone (SKIP LOCKED); the UPDATE repeats the condition,
    so a job that finished meanwhile is not touched."""
    seconds = stall_seconds()
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=seconds)
    stalled = Q(status=RUNNING) & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
    with transaction.atomic():
        stale = list(Job.objects.select_for_update(skip_locked=True).filter(stalled)
                     .order_by("pk").values_list("pk", flat=True))
        if not stale:
            return []
        Job.objects.filter(stalled, pk__in=stale).update(
            status=FAILED, message=STALLED_MESSAGE % {"seconds": seconds}, finished_at=timezone.now())
    log.warning("jobs watchdog: failed %d stalled job(s): %s", len(stale), stale)
    return stale


_WATCHES: dict[str, Callable[[], list]] = {}


def watchdog_register(name: str, check: Callable[[], list]) -> None:
    """Have the one watchdog also run `check()` (an app's recovery of work kept on rows of its
    own, beating through `Heartbeat`); it returns the ids it acted on, reported under `name`."""
    _WATCHES[name] = check


def watchdog_run() -> dict[str, list]:
    """The watchdog's round: stalled jobs failed, then every registered check. A check that
    fails is logged and does not keep the others from running."""
    found: dict[str, list] = {"jobs": jobs_fail_stalled()}
    for name, check in _WATCHES.items():
        try:
            found[name] = check()
        except Exception:
            log.exception("jobs watchdog: the %s check failed", name)
            found[name] = []
    return found
