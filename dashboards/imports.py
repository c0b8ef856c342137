"""The cohort intake import kind: grade-1 intake counts per school and year (the base of the
cohort 巩固率), county users only; the cohorts page runs it all or nothing, with every error
listed (dashboards.services.cohort_intakes_import)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from dashboards.cache import data_changed
from dashboards.models import CohortIntake
from kongchuo.access.audit import audit_record
from kongchuo.access.scoping import Role
from kongchuo.imports import parsers
from kongchuo.imports.base import Field, ImportContext, ImportKind, ImportPlan, Issue, RowStream
from kongchuo.imports.cells import CellError, Text, parse_text, quoted
from students.models import School

SLUG = "cohort_intakes"
COUNTS = ("grade1_count", "transfers_in", "transfers_out", "deaths", "abroad")


def _count(value: Any, *, required: bool) -> int:
    text = parse_text(value, required=required)
    try:
        number = float(text or 0)
    except ValueError:
        number = -1.0  # refused below, as a negative count is
    if not (0 <= number <= 100_000 and number.is_integer()):
        raise CellError("value_invalid", hint=Text(gettext_noop("%(value)s应为非负整数"), value=quoted(text, 20)))
    return int(number)


def _year(value: Any) -> int:
    year = _count(value, required=True)
    if not 2000 <= year <= 2100:
        raise CellError("value_invalid", hint=Text(gettext_noop("入学年份“%(year)s”不在2000–2100之间"), year=year))
    return year


_optional_count = partial(_count, required=False)


class CohortIntakesImport(ImportKind):
    slug = SLUG
    label = _("入学队列人数")
    description = _("各校各年份一年级入学人数（巩固率的基数）：按入学年份和学校标识码新增或更新。")
    fields = (
        Field("year", ("入学年份", "年度", "入学年度", "year"), _year, required=True, memo=True),
        Field("school_code", ("学校标识码", "学校代码", "school_code"), parsers.text(required=True, max_length=10),
              required=True, text=True),
        Field("school_name", ("学校名称", "学校")),
        Field("grade1_count", ("一年级入学人数", "一年级人数", "入学人数", "grade1_count"),
              partial(_count, required=True), required=True),
        Field("transfers_in", ("系统外转入", "转入人数", "转入"), _optional_count),
        Field("transfers_out", ("系统外转出", "转出人数", "转出"), _optional_count),
        Field("deaths", ("系统外死亡", "死亡人数", "死亡"), _optional_count),
        Field("abroad", ("系统外出国", "出国人数", "出国"), _optional_count),
        Field("note", ("备注",), parsers.text(max_length=200)),
    )
    roles = (Role.COUNTY,)  # the county's scope is every school
    computed = ("school_id",)
    order = 90
    icon = "bi-bar-chart"

    def prepare(self, ctx: ImportContext) -> None:
        ctx.state["schools"] = dict(School.objects.values_list("code", "pk"))

    def check_row(self, row: Any, ctx: ImportContext) -> bool:
        row.school_id = ctx.state["schools"].get(row.school_code)
        if row.school_id is None:
            ctx.errors.append(Issue(row.row, ctx.label("school_code"), "school_unknown",
                                    Text(gettext_noop("学校标识码“%(code)s”不存在"), code=row.school_code)))
        return row.school_id is not None

    def plan(self, rows: RowStream, ctx: ImportContext) -> ImportPlan:
        """Upsert on (入学年份, 学校): a row for an existing pair replaces its counts. A pair twice
        in the file is an error on its second row; a file without rows is an error too."""
        parsed: dict[tuple[int, int], Any] = {}
        for row in rows:
            if (row.year, row.school_id) in parsed:
                ctx.errors.append(Issue(row.row, ctx.label("school_code"), "duplicate_in_file",
                                        Text(gettext_noop("同一学校同一年份重复"))))
            else:
                parsed[row.year, row.school_id] = row
        if not parsed and not ctx.errors:
            ctx.errors.append(Issue(0, "", "no_rows", Text(gettext_noop("文件中没有数据行"))))
        existing = {(i.year, i.school_id): i for i in CohortIntake.objects.filter(
            year__in={y for y, _s in parsed}, school_id__in={s for _y, s in parsed})}
        new: list[CohortIntake] = []
        changed: list[CohortIntake] = []
        for (year, school_id), row in parsed.items():
            stored = existing.get((year, school_id))
            intake = stored or CohortIntake(year=year, school_id=school_id, created_by=ctx.user)
            intake.note, intake.source = row.note or "", "import"
            for name in COUNTS:
                setattr(intake, name, getattr(row, name) or 0)
            (new if stored is None else changed).append(intake)
        return ImportPlan(created=len(new), updated=len(changed), payload=(new, changed))

    def apply(self, plan: ImportPlan, ctx: ImportContext) -> None:
        new, changed = plan.payload
        CohortIntake.objects.bulk_create(new, batch_size=500)
        CohortIntake.objects.bulk_update(changed, [*COUNTS, "note", "source"], batch_size=500)
        data_changed(sender=CohortIntake)  # bulk writes send no signals: tell the dashboards cache
        audit_record(action="cohort_intake_import", user=ctx.user, request=None,
                     object_type="dashboards.cohortintake",
                     detail={"file": ctx.filename[:120], "created": plan.created, "updated": plan.updated})
