"""Writes of the dashboards app: cohort intake counts (imported from a sheet or keyed in)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from django.http import HttpRequest

from dashboards.imports import SLUG
from kongchuo.access.scoping import Role, scope_of
from kongchuo.imports.cells import CodedError
from kongchuo.imports.runner import import_job_create, import_job_run
from students.models import User

TEMPLATE_HEADERS = ["入学年份", "学校标识码", "学校名称", "一年级入学人数", "系统外转入", "系统外转出",
                    "系统外死亡", "系统外出国", "备注"]


class IntakeImportError(CodedError):
    """The whole file is refused (the engine's file-level code); str() is the reason in the
    active language."""


@dataclass
class IntakeImportResult:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, message as shown)

    @property
    def ok(self) -> bool:
        return not self.errors


def cohort_intakes_import(*, user: User, path: str | os.PathLike[str], filename: str = "",
                          request: HttpRequest | None = None) -> IntakeImportResult:
    """Upsert grade-1 intake counts from an xlsx/xls/csv sheet, all or nothing, as an import
    job of the engine (kind `cohort_intakes`, dashboards/imports.py).

    County users only (the counts feed the county's 巩固率). Rows are matched on (入学年份,
    学校标识码); a row for an existing pair replaces its counts. Any row error refuses the
    whole file and lists every error, so a half-imported cohort never skews the rate.
    """
    scope = scope_of(user)
    if scope is None or scope.role != Role.COUNTY:
        raise PermissionError("only county users import cohort intake counts")
    job = import_job_create(kind=SLUG, user=user, source=Path(path),
                             filename=filename or os.path.basename(path))
    run = import_job_run(job, write=True, request=request)
    if run.file_error is not None:
        raise IntakeImportError(*run.file_error)
    return IntakeImportResult(created=run.created if run.written else 0,
                              updated=run.updated if run.written else 0,
                              errors=[(e.row, e.column, e.message()) for e in run.errors])
