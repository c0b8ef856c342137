"""Import kind of the retrieval app: province/city suspected-dropout lists (反馈名单).

Each file becomes one FeedbackBatch (the issuer's column layout kept) and one FeedbackItem per
row (`original`: the row as issued). A row whose ID matches a student goes to the student's
school at once, the others through the feedback sweep. The same file twice (by its checksum)
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from kongchuo.access.scoping import Role
from kongchuo.imports import parsers
from kongchuo.imports.base import Field, ImportContext, ImportKind, ImportPlan, ImportRefused, RowStream
from kongchuo.imports.bulk import batch_size_for, fetch_in
from kongchuo.imports.cells import Text, parse_date
from kongchuo.imports.checks import sheet_columns
from retrieval.models import FeedbackBatch, FeedbackItem
from students.imports import ID_FIELD
from students.models import Student

DUE_DAYS = 30


def _json_safe(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and math.isfinite(value):
        return int(value) if value.is_integer() else value
    return str(value) if isinstance(value, float | dt.timedelta) else value


def _title_and_issuer(ctx: ImportContext) -> tuple[str, str]:
    """The list's title (the first text above the header, else the file name) and issuer (下发单位：…)."""
    title, issuer = "", ""
    header = ctx.header
    above = [] if header is None else [v for n, v in header.leading_rows if n < header.header_rows[0]]
    for values in above:
        line = " ".join(s for s in (str(v).strip() for v in values if v is not None) if s)
        if not line:
            continue
        m = re.search(r"(下发单位|发文单位|来源)\s*[:：]\s*(\S+)", line)
        if m:
            issuer = issuer or m.group(2)
        elif not title:
            title = line
    return (title or ctx.filename or str(_("反馈名单")))[:120], issuer[:60]


class FeedbackImport(ImportKind):
    slug = "feedback"
    label = _("反馈核查名单")
    description = _("省、市下发的疑似辍学名单：每行生成一条核查事项，按学生所在学校分派。")
    fields = (
        Field("seq", ("序号", "编号"), parsers.text(max_length=20)),
        Field("name", ("姓名", "学生姓名"), parsers.text(required=True, max_length=40), required=True),
        ID_FIELD,
        Field("school_name", ("学校名称", "学校", "就读学校"), parsers.text(max_length=80), memo=True),
        Field("problem", ("问题类型", "问题描述", "疑似辍学原因", "类型"), parsers.text(max_length=80), memo=True),
    )
    roles = (Role.COUNTY,)
    keep_raw = True
    options = ("due",)
    counts = {"matched": _("匹配到学生"), "unmatched": _("未匹配到在校学生")}
    order = 70
    icon = "bi-list-check"

    def prepare(self, ctx: ImportContext) -> None:
        due = ctx.options.get("due")
        try:
            ctx.state["due"] = parse_date(due, required=True) if due else None
        except Exception as exc:
            raise ImportRefused("option_invalid", Text(gettext_noop("核查期限不是日期：%(value)s"), value=due)) from exc

    def plan(self, rows: RowStream, ctx: ImportContext) -> ImportPlan:
        items = list(rows)
        same = FeedbackBatch.objects.filter(checksum=ctx.checksum).first() if ctx.checksum else None
        if same is not None:
            return ImportPlan(unchanged=len(items), extra={"batch": same.pk, "matched": 0, "unmatched": 0})
        students = {s[0]: s[1:] for s in fetch_in(  # id_number → (pk, school, township)
            Student.objects.values_list("id_number", "pk", "school_id", "school__township_id"),
            "id_number", [r.id_number for r in items])}
        matched = sum(1 for r in items if r.id_number in students)
        return ImportPlan(created=len(items), extra={"matched": matched, "unmatched": len(items) - matched},
                          payload=(items, students))

    def apply(self, plan: ImportPlan, ctx: ImportContext) -> None:
        if plan.payload is None:
            return
        items, students = plan.payload
        title, issuer = _title_and_issuer(ctx)
        due = ctx.state["due"] or ctx.today + dt.timedelta(days=DUE_DAYS)
        columns = [label for _c, label in sheet_columns(ctx.header)] if ctx.header else []  # the issuer's layout
        batch = FeedbackBatch.objects.create(
            title=title, issuer=issuer, received_on=ctx.today, due_date=due, columns=columns, job=ctx.job,
            checksum=ctx.checksum, created_by=ctx.user)
        out = []
        for r in items:
            student_id, school_id, township_id = students.get(r.id_number, (None, None, None))
            out.append(FeedbackItem(
                batch=batch, row=r.row, seq=r.seq or "", name=r.name, id_number=r.id_number,
                school_name=r.school_name or "", problem=r.problem or "",
                original={str(k): _json_safe(v) for k, v in r._raw.items()},
                student_id=student_id, school_id=school_id, township_id=township_id, due_date=due))
        FeedbackItem.objects.bulk_create(out, batch_size=batch_size_for(18))
        plan.extra["batch"] = batch.pk
        # Every row becomes a verification alert at once ("on import"): the feedback sweep routes
        # the unmatched rows and raises the alerts once this import commits.
        from retrieval.sweeps.runner import sweep_run_start

        sweep_run_start(sweep="feedback_verification", as_of=ctx.today, user=ctx.user, trigger="import")
