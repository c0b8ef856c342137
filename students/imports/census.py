"""Import kind `census`: the police's list of the children of school age by 户籍 township, a year."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from kongchuo.access.audit import audit_record
from kongchuo.access.scoping import Role
from kongchuo.imports import parsers
from kongchuo.imports.base import Field, ImportContext, ImportKind, ImportPlan, ImportRefused, RowStream
from kongchuo.imports.bulk import batch_size_for, fetch_in, update_batch_size
from kongchuo.imports.cells import Text
from students.imports import (
    ID_FIELD,
    SchoolIndex,
    assign,
    check_identity,
    row_township,
    text_field,
)
from students.models import CensusEntry, Student


class CensusImport(ImportKind):
    slug = "census"
    label = _("户籍适龄儿童名单")
    description = _("公安户籍适龄儿童名单：按身份证件号和年度记录各乡镇的适龄人口。")
    fields = (
        text_field("name", ("姓名",), 40, required=True),
        ID_FIELD,
        Field("sex", ("性别",), parsers.sex(), memo=True),
        Field("birth_date", ("出生日期", "出生年月日"), parsers.date(), memo=True),
        text_field("township", ("户籍乡镇", "乡镇", "户籍所在乡镇", "所属乡镇"), 40, required=True, memo=True,
                   note="乡镇名称或9位乡镇代码"),
        text_field("address", ("户籍地址", "户籍所在地", "户口所在地", "住址", "家庭住址"), 120),
    )
    key = ("id_number",)
    roles = (Role.COUNTY, Role.TOWNSHIP)  # a township: the children of its own census list
    options = ("year",)
    counts = {"unmatched": _("未匹配到在校学生"), "elsewhere": _("已列入其他乡镇户籍名单（未导入）")}
    counts_after_write = ("elsewhere",)
    order = 50
    icon = "bi-house-door"

    def prepare(self, ctx: ImportContext) -> None:
        raw = ctx.options.get("year")
        year = ctx.today.year
        if raw not in (None, ""):
            try:
                year = int(raw)
            except (TypeError, ValueError):
                year = 0
            if not 2000 <= year <= 2100:
                raise ImportRefused("option_invalid", Text(gettext_noop("年度应为四位年份：%(value)s"), value=raw))
        ctx.state["year"] = year
        ctx.state["schools"] = SchoolIndex.load()

    def check_row(self, row: Any, ctx: ImportContext) -> bool:
        town = row_township(row, ctx)
        if town is None:
            return False
        if not ctx.is_county and town.pk != ctx.scope.township_id:
            ctx.reject(row.row, "township", "value_invalid",
                       hint=Text(gettext_noop("“%(township)s”不在您的管辖范围内"), township=town.name))
            return False
        row.township = town
        return check_identity(row, ctx)

    def plan(self, rows: RowStream, ctx: ImportContext) -> ImportPlan:
        year = ctx.state["year"]
        items = rows.unique()
        ids = [r.id_number for r in items]
        existing = {e.id_number: e for e in fetch_in(CensusEntry.objects.filter(year=year), "id_number", ids)}
        creates, updates, unchanged = [], [], 0
        # A township writes only its own census rows: a child on another township's list this
        # year is counted as a new row (as an unknown ID would be) and never written (apply).
        elsewhere: list[int] = []
        own = None if ctx.is_county else ctx.scope.township_id
        for r in items:
            values = {"name": r.name, "sex": r.sex, "birth_date": r.birth_date, "township_id": r.township.pk}
            if "address" in ctx.present and r.address:
                values["address"] = r.address
            entry = existing.get(r.id_number)
            if entry is not None and own is not None and entry.township_id != own:
                elsewhere.append(r.row)
            elif entry is None:
                creates.append(CensusEntry(year=year, id_number=r.id_number, **values))
            elif assign(entry, values):
                updates.append(entry)
            else:
                unchanged += 1
        known = set(fetch_in(Student.objects.values_list("id_number", flat=True), "id_number", ids))
        hidden = set(elsewhere)
        unmatched = sum(1 for r in items if r.id_number not in known or r.row in hidden)
        return ImportPlan(created=len(creates) + len(elsewhere), updated=len(updates), unchanged=unchanged,
                          extra={"unmatched": unmatched, "year": year}, payload=(creates, updates, elsewhere))

    def apply(self, plan: ImportPlan, ctx: ImportContext) -> None:
        creates, updates, elsewhere = plan.payload
        if elsewhere:
            self.report_elsewhere(plan, elsewhere, ctx)
        CensusEntry.objects.bulk_create(creates, batch_size=batch_size_for(8))
        CensusEntry.objects.bulk_update(updates, ["name", "sex", "birth_date", "township", "address"],
                                        batch_size=update_batch_size(5))

    def report_elsewhere(self, plan: ImportPlan, rows: list[int], ctx: ImportContext) -> None:
        """Rows naming children on another township's census list this year: not written (the
        other township's row is its own), skipped with a warning each, and an audit event for
        the county, which settles where the child's 户籍 is (the job keeps the upload)."""
        plan.created -= len(rows)
        plan.skipped += len(rows)
        plan.extra["elsewhere"] = len(rows)
        for row in rows:
            ctx.warn(row, "id_number", "census_elsewhere",
                     Text(gettext_noop("未导入：该儿童本年度已列入其他乡镇的户籍名单，请联系县教育局核实户籍所在地")))
        audit_record(action="census_elsewhere", user=ctx.user, object_type="kongchuo.job",
                     object_id=str(getattr(ctx.job, "pk", "") or ""),
                     detail={"year": ctx.state["year"], "rows": rows[:200], "count": len(rows),
                             "township": ctx.scope.township_id})
