"""Import kind `support`: a list of children to support (建档立卡, 低保, 残疾, …), one list a file."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from kongchuo.access.scoping import Role
from kongchuo.imports import parsers
from kongchuo.imports.base import Field, ImportContext, ImportKind, ImportPlan, ImportRefused, RowStream
from kongchuo.imports.bulk import batch_size_for, fetch_in, history_create, update_batch_size
from kongchuo.imports.cells import Text
from students.imports import ID_FIELD, SchoolIndex, assign, row_township, text_field
from students.models import Student, SupportMark
from students.support import FLAG_OF_LIST

Kind = SupportMark.Kind
SUPPORT_LISTS = {
    "poor": Kind.POOR, "建档立卡": Kind.POOR, "脱贫": Kind.POOR,
    "建档立卡/脱贫": Kind.POOR, "脱贫家庭": Kind.POOR,
    "monitored": Kind.MONITORED, "防返贫监测": Kind.MONITORED,
    "监测": Kind.MONITORED, "监测对象": Kind.MONITORED,
    "dibao": Kind.DIBAO, "低保": Kind.DIBAO,
    "tekun": Kind.TEKUN, "特困": Kind.TEKUN, "特困供养": Kind.TEKUN,
    "disability": Kind.DISABILITY, "残疾": Kind.DISABILITY,
    "残疾儿童": Kind.DISABILITY,
    "hardship": Kind.HARDSHIP, "家庭经济困难": Kind.HARDSHIP,
    "经济困难": Kind.HARDSHIP, "困难家庭": Kind.HARDSHIP,
    "orphan": Kind.ORPHAN, "孤儿": Kind.ORPHAN,
    "unsupported": Kind.UNSUPPORTED, "事实无人抚养": Kind.UNSUPPORTED,
    "事实无人抚养儿童": Kind.UNSUPPORTED,
}


class SupportImport(ImportKind):
    slug = "support"
    label = _("资助帮扶名单")
    description = _("建档立卡/脱贫、防返贫监测、低保、特困、残疾、家庭经济困难、孤儿、事实无人抚养名单："
                    "为学生设置标识并记录来源与日期；查无学籍的适龄儿童按户籍乡镇列入“帮扶对象未入学”。")
    fields = (
        text_field("name", ("姓名", "学生姓名", "儿童姓名"), 40),
        ID_FIELD,
        text_field("disability_category", ("残疾类别", "残疾类型", "残疾人类型"), 20, memo=True),
        text_field("disability_grade", ("残疾等级", "残疾级别"), 10, memo=True),
        Field("listed_on", ("认定日期", "纳入日期", "纳入时间", "认定时间"), parsers.date(), memo=True,
              note="空白时按导入日期"),
        text_field("township", ("户籍乡镇", "乡镇", "所在乡镇", "乡镇（街道）"), 40, memo=True,
                   note="乡镇名称或9位乡镇代码；未入学儿童按此分派到乡镇"),
    )
    key = ("id_number",)
    roles = (Role.COUNTY,)
    options = ("list",)
    choices = {"list": [(str(k), k.label) for k in Kind]}
    counts = {"unmatched": _("未匹配到在校学生")}
    order = 60
    icon = "bi-heart"

    def prepare(self, ctx: ImportContext) -> None:
        raw = str(ctx.options.get("list") or "").strip()
        kind = SUPPORT_LISTS.get(raw) or SUPPORT_LISTS.get(raw.lower())
        if kind is None:
            choices = [f"{k.value}（{k.label}）" for k in Kind]
            raise ImportRefused("option_invalid", Text(gettext_noop("请用 --list 指定名单：%(choices)s"), choices=choices))
        ctx.state["schools"] = SchoolIndex.load()
        ctx.state["list"] = Kind(kind)
        ctx.state["source"] = str(ctx.options.get("source") or f"{Kind(kind).label}名单")[:120]

    def check_row(self, row: Any, ctx: ImportContext) -> bool:
        """户籍乡镇 (optional) by name or code, as the census reads it."""
        if not row.township:
            row.township = None
            return True
        row.township = row_township(row, ctx)
        return row.township is not None

    def plan(self, rows: RowStream, ctx: ImportContext) -> ImportPlan:
        kind: SupportMark.Kind = ctx.state["list"]
        items = rows.unique()
        ids = [r.id_number for r in items]
        marks = {m.id_number: m for m in fetch_in(SupportMark.objects.filter(kind=kind), "id_number", ids)}
        students = {s.id_number: s for s in fetch_in(Student.objects.all(), "id_number", ids)}
        flag = FLAG_OF_LIST.get(kind)  # the student's flag this list sets
        creates, updates, unchanged = [], [], 0
        flagged: dict[int, Student] = {}
        for r in items:
            student = students.get(r.id_number)
            values = {"name": r.name or (student.name if student else ""), "source": ctx.state["source"],
                      "student_id": student.pk if student else None,
                      "township_id": r.township.pk if r.township else None,
                      "disability_category": r.disability_category or "",
                      "disability_grade": r.disability_grade or ""}
            mark = marks.get(r.id_number)
            if r.listed_on or mark is None:
                values["listed_on"] = r.listed_on or ctx.today
            if mark is None:
                creates.append(SupportMark(kind=kind, id_number=r.id_number, job=ctx.job, **values))
            elif assign(mark, values):
                mark.job = ctx.job
                updates.append(mark)
            else:
                unchanged += 1
            if student is None:
                continue
            if flag and not getattr(student, flag):
                setattr(student, flag, True)
                flagged[student.pk] = student
            if kind == Kind.DISABILITY:
                category = r.disability_category or student.disability_category or "未注明"
                grade = r.disability_grade or student.disability_grade
                if assign(student, {"disability_category": category, "disability_grade": grade}):
                    flagged[student.pk] = student
        unmatched = sum(1 for r in items if r.id_number not in students)
        return ImportPlan(created=len(creates), updated=len(updates), unchanged=unchanged,
                          extra={"unmatched": unmatched, "flagged": len(flagged), "list": str(kind)},
                          payload=(creates, updates, list(flagged.values()), flag))

    def apply(self, plan: ImportPlan, ctx: ImportContext) -> None:
        creates, updates, flagged, flag = plan.payload
        SupportMark.objects.bulk_create(creates, batch_size=batch_size_for(12))
        SupportMark.objects.bulk_update(updates, ["name", "source", "student", "listed_on", "job",
                                                  "disability_category", "disability_grade", "township"],
                                        batch_size=update_batch_size(8))
        if flagged:
            now = timezone.now()
            for s in flagged:
                s.version += 1
                s.updated_at = now
            fields = [flag] if flag else ["disability_category", "disability_grade"]
            Student.objects.bulk_update(flagged, [*fields, "version", "updated_at"],
                                        batch_size=update_batch_size(len(fields) + 2))
            history_create(Student, flagged, user=ctx.user, reason="import", update=True, when=now)
