"""One import run: read → check → plan → apply, with the Job row, progress and audit around it.

The same stages for every kind, from the browser, the CLI and the Celery task:

- read: sniff the upload and count its rows (kongchuo.imports.filesafety), read the sheet — a
  workbook in the memory-capped reader process (kongchuo.imports.reader) — and find the header;
- check: every record through the kind's cell parsers and row rule (kongchuo.imports.checks),
  duplicate keys across the file;
- plan: the kind's diff against the database (set-based); it writes nothing;
- apply: the kind's write, all-or-nothing by default (or skipping invalid rows), in ONE
  transaction with the Job row and the audit event.

Nothing is written unless the whole write commits, so a failure or a cancelled task leaves the
database as it was, and a re-run recomputes the same diff (natural keys everywhere): a retried
import never duplicates a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from kongchuo.access.audit import audit_record
from kongchuo.access.scoping import Role, scope_of
from kongchuo.calendar.schoolyear import today as school_today
from kongchuo.imports.base import (
    ImportContext,
    ImportKind,
    ImportPlan,
    ImportRefused,
    Issue,
    RowStream,
    current_lang,
    get_kind,
    kind_for,
)
from kongchuo.imports.bulk import sqlite_full_batches
from kongchuo.imports.cells import (
    LANGUAGES,
    StoredText,
    TabularError,
    Text,
    file_sha256,
    site_text,
)
from kongchuo.imports.checks import ChildValidator, RowValidator
from kongchuo.imports.filesafety import sniff_upload
from kongchuo.imports.reader import ChildReader
from kongchuo.imports.tabular import HeaderMap, SheetRows, find_header, open_sheet
from kongchuo.jobs import JobRun
from kongchuo.models import Job

JOB_PREFIX = "import:"
STORED_ISSUES = 20_000  # errors kept on the Job for the error workbook
SHOWN_ISSUES = 200  # errors and warnings kept on the Job for display


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: int = 0
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    written: bool = False
    dry_run: bool = False
    skip_invalid: bool = False
    file_error: tuple[str, Text] | None = None  # (code, message)
    checksum: str = ""
    job_id: int | None = None
    same_as: int | None = None
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 written or a clean dry run; 1 rows rejected and nothing written; 2 unreadable."""
        if self.file_error is not None:
            return 2
        if self.written or (self.dry_run and not self.rejected):
            return 0
        return 1

    def as_json(self, lang: str = "zh", *, limit: int | None = None) -> dict[str, Any]:
        with translation.override(LANGUAGES.get(lang, lang)):
            return self._as_json(limit)

    def _as_json(self, limit: int | None) -> dict[str, Any]:
        errors = self.errors if limit is None else self.errors[:limit]
        warnings = self.warnings if limit is None else self.warnings[:limit]
        data: dict[str, Any] = {
            "kind": self.kind, "rows": self.rows, "created": self.created,
            "updated": self.updated, "unchanged": self.unchanged, "skipped": self.skipped,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in errors],
            "warnings": [w.as_dict() for w in warnings],
        }
        data.update(self.extra)
        data.update({
            "written": self.written, "dry_run": self.dry_run, "skip_invalid": self.skip_invalid,
            "checksum": self.checksum, "job": self.job_id, "same_file_as": self.same_as,
            "errors_total": len(self.errors), "warnings_total": len(self.warnings),
            "seconds": round(self.seconds, 3),
        })
        if self.file_error is not None:
            code, text = self.file_error
            data["file_error"] = {"code": code, "message": str(text)}
        return data


@dataclass
class ImportRun:
    """One import in progress: what each stage hands the next."""

    kind: ImportKind
    ctx: ImportContext
    result: ImportResult
    path: str | Path
    job: Job | None
    request: Any
    started: float
    dry_run: bool
    skip_invalid: bool
    job_progress: bool
    reader: ChildReader | None = None  # the reader process, closed (killed if alive) at the end
    plan: ImportPlan | None = None
    recorded: bool = False  # the apply stage already recorded the outcome (with the data)


def import_run(*, kind: str, path: str | Path, user: Any = None, options: dict[str, Any] | None = None,
               dry_run: bool = False, skip_invalid: bool = False, job: Job | None = None,
               filename: str = "", request: Any = None, lang: str | None = None,
               progress: Callable[[int], None] | None = None,
               job_progress: bool = False) -> ImportResult:
    """Run one import of `path` as `kind` for `user` (None: the operator, county scope).

    Raises ImportRefused for an unknown kind, a kind the user may not import, or bad options;
    everything about the file itself ends up in the result (file_error, errors, warnings).
    `job`, when given, receives the outcome; the caller owns its creation. Its status and
    progress (`job_progress`) go through kongchuo.jobs.JobRun, never on the connection that
    streams the rows; a failure is recorded on a fresh connection.
    """
    kind_obj, scope = kind_for(kind, user)
    ctx = ImportContext(kind=kind_obj, user=user, scope=scope, options=dict(options or {}),
                        lang=lang or current_lang(), today=school_today(),
                        filename=filename or Path(path).name, job=job,
                        progress=progress or (lambda pct: None))
    run = ImportRun(kind=kind_obj, ctx=ctx, path=path, job=job, request=request,
                    started=time.perf_counter(), dry_run=dry_run, skip_invalid=skip_invalid,
                    job_progress=job_progress,
                    result=ImportResult(kind=kind, dry_run=dry_run, skip_invalid=skip_invalid,
                                        job_id=job.pk if job else None))
    _prepare(run)
    run.result.checksum = ctx.checksum = (job.checksum if job and job.checksum else file_sha256(path))
    job_run = JobRun(job.pk) if job is not None else None
    if job is not None and job_run is not None:
        job_run.start()
        job.status, job.started_at, job.finished_at = Job.Status.RUNNING, job_run.started_at, None
        job.heartbeat_at = job_run.started_at  # the success saves the whole row
        if job_progress:
            ctx.progress = job_run.progress
    try:
        try:
            rows, header, height = stage_read(run)
        except TabularError as exc:
            run.result.file_error = (exc.code, exc.text)
            return _finish(run)
        stream, validator = stage_check(run, rows, header, height)
        del rows  # the validator drops the sheet once read: calamine holds it all in memory
        if stage_plan(run, stream, validator) and stage_apply(run):
            return run.result
        return _finish(run)
    except Exception as exc:
        if job_run is not None:
            job_run.fail(import_failure_message(exc))
        _drop_if_dead()  # the audit row below goes through a new connection, not the dead one
        audit_record(action="import", user=user, request=request, object_type="kongchuo.job",
                     object_id=str(job.pk) if job else "", outcome="failed",
                     detail={"kind": kind, "filename": ctx.filename, "checksum": run.result.checksum,
                             "error": type(exc).__name__})
        raise
    finally:
        if job_run is not None:
            job_run.close()
        if run.reader is not None:
            run.reader.close()
        if run.plan is not None and run.plan.cleanup is not None:
            run.plan.cleanup()


def _prepare(run: ImportRun) -> None:
    """The kind's options and lookups (may raise ImportRefused: a bad --term, no --list)."""
    try:
        run.kind.prepare(run.ctx)
    except ImportRefused as exc:
        if run.job is not None:
            Job.objects.filter(pk=run.job.pk).update(status=Job.Status.FAILED, message=site_text(exc.text),
                                                     finished_at=timezone.now())
        raise


# --------------------------------------------------------------------------- read


def stage_read(run: ImportRun) -> tuple[SheetRows | None, HeaderMap, int | None]:
    """(rows, header, sheet height) of a CSV, read here; or (None, header, height)
    with `run.reader` parsing and checking a workbook's rows in the memory-capped reader
    process (kongchuo.imports.reader), the only place a workbook is parsed."""
    path, kind, ctx = run.path, run.kind, run.ctx
    fmt = sniff_upload(path, max_bytes=settings.KONGCHUO_UPLOAD_MAX_BYTES)
    max_rows = import_max_rows(ctx.user)
    if fmt == "csv":
        rows = open_sheet(path, fmt, max_rows=max_rows, max_bytes=settings.KONGCHUO_UPLOAD_MAX_BYTES)
        return rows, find_header(rows, kind.columns()), rows.height
    run.reader = ChildReader(path, fmt, kind, ctx, max_rows=max_rows)
    header, height = run.reader.header()
    return None, header, height


def import_max_rows(user: Any) -> int:
    """Rows one file may hold, by the importer's role: a school's roster is a few thousand rows,
    a township's a few tens of thousands, the county's (and the operator's, user None) the
    whole county. KONGCHUO_IMPORT_MAX_ROWS_SCHOOL / _TOWNSHIP / KONGCHUO_IMPORT_MAX_ROWS."""
    cap = settings.KONGCHUO_IMPORT_MAX_ROWS
    scope = scope_of(user) if user is not None else None
    if scope is None or scope.role == Role.COUNTY:
        return cap
    if scope.role == Role.SCHOOL:
        return min(cap, settings.KONGCHUO_IMPORT_MAX_ROWS_SCHOOL)
    return min(cap, settings.KONGCHUO_IMPORT_MAX_ROWS_TOWNSHIP)  # township, township_gov


# --------------------------------------------------------------------------- check


def stage_check(run: ImportRun, rows: SheetRows | None, header: HeaderMap, height: int | None
                ) -> tuple[RowStream, RowValidator | ChildValidator]:
    """The valid rows as a stream the plan consumes (lazily: checking and planning overlap)."""
    ctx, kind = run.ctx, run.kind
    ctx.header = header
    ctx.present = frozenset(header.columns)
    ctx.progress(5)
    validator: RowValidator | ChildValidator
    encode = None  # the reader process encodes the rows it checks
    if rows is None:
        total = (height or 0) - header.last_header_row if run.job_progress else None
        validator = ChildValidator(run.reader, kind, ctx, total)  # type: ignore[arg-type]
    else:
        encode = ctx.row_encoder
        total = None
        if run.job_progress:  # a CSV's height is known only by reading it
            total = (height if height is not None else sum(1 for _ in rows)) - header.last_header_row
        validator = RowValidator(rows, header, kind, ctx, total)
    key_fields = [f.key for f in kind.fields if f.key in kind.key]
    key_of = (lambda row: tuple(getattr(row, k) for k in key_fields)) if key_fields else None
    return CheckedRows(validator, key_of, encode), validator


class CheckedRows(RowStream):
    """The RowStream kinds receive: duplicates are known once the rows are exhausted."""

    def __init__(self, validator: RowValidator | ChildValidator, key_of: Callable[[Any], Any] | None,
                 encode: Callable[[Any], str] | None = None) -> None:
        source = iter(validator) if encode is None else map(encode, validator)
        super().__init__(source, key_of)
        self._validator = validator

    def __iter__(self) -> Iterator[Any]:
        yield from self._source
        self.duplicates = set(self._validator.dup_rows)
        self.keys_seen = self._validator.keys_seen
        self.finished = True


# --------------------------------------------------------------------------- plan


def stage_plan(run: ImportRun, stream: RowStream, validator: RowValidator | ChildValidator) -> bool:
    """The kind's plan and the counts; True when the import is to be written."""
    ctx, kind, result = run.ctx, run.kind, run.result
    try:
        run.plan = plan = kind.plan(stream, ctx)
    except TabularError as exc:  # raised while iterating (row cap)
        result.file_error = (exc.code, exc.text)
        return False
    ctx.progress(75)
    result.rows = validator.count
    _take_counts(result, plan)
    result.extra = {k: plan.extra.get(k, 0) for k in kind.counts}
    result.extra.update({k: v for k, v in plan.extra.items() if k not in result.extra})
    result.rejected = len({e.row for e in ctx.errors})
    nothing_left = result.rows > 0 and result.rejected >= result.rows
    return not run.dry_run and (result.rejected == 0 or (run.skip_invalid and not nothing_left))


def _take_counts(result: ImportResult, plan: ImportPlan) -> None:
    result.created, result.updated = plan.created, plan.updated
    result.unchanged, result.skipped = plan.unchanged, plan.skipped


# --------------------------------------------------------------------------- apply


def stage_apply(run: ImportRun) -> bool:
    """Write the plan, the Job row and the audit event in one transaction; True once done."""
    ctx, result, job, plan = run.ctx, run.result, run.job, run.plan
    assert plan is not None
    with transaction.atomic():
        if job is not None:
            locked = Job.objects.select_for_update().get(pk=job.pk)
            if locked.result.get("written"):  # a redelivered task: already applied
                Job.objects.filter(pk=job.pk).update(
                    status=Job.Status.SUCCEEDED, progress=100, finished_at=timezone.now())
                result.written = True
                result.same_as = job.pk
                _finish(run, applied_before=True)
                return True
        with sqlite_full_batches():
            run.kind.apply(plan, ctx)
        # A kind may say after writing what its rows became (rows the preview counted as new
        # that were written as something else: the roster's transfer requests).
        _take_counts(result, plan)
        result.extra.update(plan.extra)
        result.written = True
        ctx.progress(95)
        _finish(run)  # the Job row and audit commit with the data
    return True


# --------------------------------------------------------------------------- outcome


def _finish(run: ImportRun, *, applied_before: bool = False) -> ImportResult:
    result, ctx, job = run.result, run.ctx, run.job
    result.errors = sorted(ctx.errors, key=lambda e: e.row)
    result.warnings = sorted(ctx.warnings, key=lambda e: e.row)
    result.seconds = time.perf_counter() - run.started
    if result.checksum and result.file_error is None:
        earlier = Job.objects.filter(kind=JOB_PREFIX + result.kind, checksum=result.checksum,
                                     result__written=True)
        if job is not None:
            earlier = earlier.exclude(pk=job.pk)
        first = earlier.order_by("created_at").values_list("pk", flat=True).first()
        result.same_as = result.same_as or first
    if applied_before:
        return result
    outcome = ("written" if result.written else "dry_run" if result.dry_run and result.file_error is None
               else "refused" if result.file_error else "rejected")
    if job is not None:
        _job_record(job, result, ctx.lang, outcome)
    audit_record(action="import", user=ctx.user, request=run.request, object_type="kongchuo.job",
                 object_id=str(job.pk) if job else "", outcome=outcome, detail={
                     "kind": result.kind, "filename": ctx.filename, "checksum": result.checksum,
                     "rows": result.rows, "created": result.created, "updated": result.updated,
                     "unchanged": result.unchanged, "rejected": result.rejected,
                     "skip_invalid": result.skip_invalid, **{k: v for k, v in result.extra.items()
                                                             if isinstance(v, int)}})
    return result


def _issue_rows(issues: list[Issue], limit: int) -> list[list[Any]]:
    """The issues as a Job keeps them: [row, column, code, Chinese, English] (one Text, both
    renderings: the error workbook and the job page read them later in either language)."""
    shown = issues[:limit]
    with translation.override(LANGUAGES["zh"]):
        zh = [str(i.text) for i in shown]
    with translation.override(LANGUAGES["en"]):
        en = [str(i.text) for i in shown]
    return [[i.row, i.column, i.code, z, e] for i, z, e in zip(shown, zh, en, strict=True)]


def job_kind(job: Job) -> ImportKind | None:
    """The registered kind of an import's Job (None: a kind no longer registered)."""
    return get_kind((job.params or {}).get("kind", ""))


def issues_from_job(job: Job, key: str = "issues") -> list[Issue]:
    return [Issue(row, column, code, StoredText(zh, en))
            for row, column, code, zh, en in (job.result or {}).get(key, [])]


def _job_record(job: Job, result: ImportResult, lang: str, outcome: str) -> None:
    data = result.as_json(lang, limit=0)
    data.pop("errors")
    data.pop("warnings")
    data["phase"] = outcome
    data["issues"] = _issue_rows(result.errors, STORED_ISSUES)
    data["warning_issues"] = _issue_rows(result.warnings, SHOWN_ISSUES)
    if result.file_error:
        code, text = result.file_error
        data["file_error"] = [code, text.render("zh"), text.render("en")]
    job.result = data
    job.progress = 100
    job.finished_at = timezone.now()
    failed = outcome in ("refused", "rejected")
    job.status = Job.Status.FAILED if failed else Job.Status.SUCCEEDED
    if result.file_error:
        job.message = site_text(result.file_error[1])
    elif outcome == "rejected":
        job.message = site_text(Text(gettext_noop("%(rows)s 行有错误，未导入"), rows=result.rejected))
    else:
        job.message = ""
    job.save()  # a real save: caches listening for Job saves learn of the bulk writes


def import_failure_message(exc: BaseException) -> str:
    """What the job page says when an import broke off (Chinese first): what happened, that
    nothing was written (the write is one transaction), and what to do."""
    name = type(exc).__name__
    if isinstance(exc, (InterfaceError, OperationalError)):
        return site_text(Text(gettext_noop("导入失败：数据库连接中断（%(error)s），数据未改动。请重新确认导入；"
                                           "如多次失败，请联系管理员。"), error=name))
    return site_text(Text(gettext_noop("导入失败（%(error)s），数据未改动。请重新确认导入或重新上传；"
                                       "如多次失败，请联系管理员。"), error=name))


def _drop_if_dead() -> None:
    """Close the default connection if it died (outside a transaction): the next query opens
    a new one instead of failing on the dead one."""
    if not connection.in_atomic_block and connection.connection is not None and not connection.is_usable():
        connection.close()
