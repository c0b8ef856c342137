"""The core app's import kinds, registered with the engine from StudentsConfig.ready():
schools, roster, census and support lists (students/imports.py, students/roster_import.py);
the roster's plan and write by database (the ORM on SQLite, staging + one SQL merge on
PostgreSQL: students/roster_pg.py).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kongchuo.access.scoping import Role
from kongchuo.imports.base import ImportContext, ImportKind, ImportPlan, RowStream, register_kind
from kongchuo.imports.bulk import is_postgres
from students.imports import (
    CENSUS_FIELDS,
    SCHOOL_FIELDS,
    STAFF,
    SUPPORT_FIELDS,
    census_apply,
    census_check,
    census_plan,
    census_prepare,
    schools_apply,
    schools_check,
    schools_plan,
    support_apply,
    support_check,
    support_plan,
    support_prepare,
)
from students.models import SupportMark
from students.roster_import import (
    ROSTER_FIELDS,
    roster_apply_orm,
    roster_apply_with,
    roster_check,
    roster_header_check,
    roster_plan_orm,
    roster_prepare_common,
)
from students.roster_pg import roster_apply_pg, roster_plan_pg, roster_prepare_pg


def roster_prepare(ctx: ImportContext) -> None:
    roster_prepare_common(ctx)
    if is_postgres():  # the stage's row encoder is set before the file is read
        roster_prepare_pg(ctx)


def roster_plan(rows: RowStream, ctx: ImportContext) -> ImportPlan:
    roster_header_check(ctx)
    return roster_plan_pg(rows, ctx) if is_postgres() else roster_plan_orm(rows, ctx)


def roster_apply(plan: ImportPlan, ctx: ImportContext) -> None:
    roster_apply_with(plan, ctx, roster_apply_pg if is_postgres() else roster_apply_orm)


class SchoolsImport(ImportKind):
    slug = "schools"
    label = _("学校名录")
    fields = SCHOOL_FIELDS
    key = ("code",)
    plan = staticmethod(schools_plan)
    apply = staticmethod(schools_apply)
    check_row = staticmethod(schools_check)
    roles = (Role.COUNTY,)
    description = _("乡镇与学校名录：按学校标识码新增或更新乡镇、学校。")
    counts = ("townships_created", "townships_updated")
    order = 10
    icon = "bi-building"


class RosterImport(ImportKind):
    slug = "roster"
    label = _("学生学籍名册")
    fields = ROSTER_FIELDS
    key = ("id_number",)
    plan = staticmethod(roster_plan)
    apply = staticmethod(roster_apply)
    check_row = staticmethod(roster_check)
    prepare = staticmethod(roster_prepare)
    roles = STAFF
    computed = ("school_id", "hukou_township_id")
    options = ("term",)
    description = _("学籍系统导出的学生名册：按身份证件号新增或更新学生；管辖范围内其他学校的学生将转入，"
                    "管辖范围以外学校的学生生成转学申请、由该校确认，"
                    "名册所含学校中未出现在文件里的学生会列出（不会删除），该学期首次导入时列入名册缺失名单。")
    counts = ("moved", "missing", "transfers")
    order = 20
    icon = "bi-people"


class CensusImport(ImportKind):
    slug = "census"
    label = _("户籍适龄儿童名单")
    fields = CENSUS_FIELDS
    key = ("id_number",)
    plan = staticmethod(census_plan)
    apply = staticmethod(census_apply)
    check_row = staticmethod(census_check)
    prepare = staticmethod(census_prepare)
    roles = (Role.COUNTY, Role.TOWNSHIP)
    options = ("year",)
    description = _("公安户籍适龄儿童名单：按身份证件号和年度记录各乡镇的适龄人口。")
    counts = ("unmatched", "elsewhere")
    order = 50
    icon = "bi-house-door"


class SupportImport(ImportKind):
    slug = "support"
    label = _("资助帮扶名单")
    fields = SUPPORT_FIELDS
    key = ("id_number",)
    plan = staticmethod(support_plan)
    apply = staticmethod(support_apply)
    prepare = staticmethod(support_prepare)
    check_row = staticmethod(support_check)
    roles = (Role.COUNTY,)
    options = ("list",)
    choices = {"list": [(str(k), k.label) for k in SupportMark.Kind]}
    description = _("建档立卡/脱贫、防返贫监测、低保、特困、残疾、家庭经济困难、孤儿、事实无人抚养名单："
                    "为学生设置标识并记录来源与日期；查无学籍的适龄儿童按户籍乡镇列入“帮扶对象未入学”。")
    counts = ("unmatched",)
    order = 60
    icon = "bi-heart"


def register_student_imports() -> None:
    register_kind(SchoolsImport())
    register_kind(RosterImport())
    register_kind(CensusImport())
    register_kind(SupportImport())


