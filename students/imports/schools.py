"""Import kind `schools`: the county's townships and schools, by 学校标识码."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from kongchuo.access.scoping import OVERSIGHT_COUNTY, OVERSIGHT_TOWNSHIP, Role
from kongchuo.imports import parsers
from kongchuo.imports.base import Field, ImportContext, ImportKind, ImportPlan, RowStream
from kongchuo.imports.cells import Text, quoted
from students.imports import assign, flag_field, text_field
from students.models import School, Township

SCHOOL_KINDS = {
    "小学": School.Kind.PRIMARY, "完全小学": School.Kind.PRIMARY, "中心小学": School.Kind.PRIMARY,
    "初中": School.Kind.JUNIOR, "初级中学": School.Kind.JUNIOR,
    "九年一贯制": School.Kind.NINE_YEAR, "九年一贯制学校": School.Kind.NINE_YEAR,
    "九年制": School.Kind.NINE_YEAR,
    "完全中学": School.Kind.COMPLETE, "完中": School.Kind.COMPLETE,
    "教学点": School.Kind.TEACHING_POINT,
    "特殊教育学校": School.Kind.SPECIAL, "特教学校": School.Kind.SPECIAL, "特殊教育": School.Kind.SPECIAL,
}
OVERSIGHTS = {"乡镇": OVERSIGHT_TOWNSHIP, "乡镇管理": OVERSIGHT_TOWNSHIP, "乡镇中心学校": OVERSIGHT_TOWNSHIP,
              "县直": OVERSIGHT_COUNTY, "县直属": OVERSIGHT_COUNTY, "县管": OVERSIGHT_COUNTY,
              "县属": OVERSIGHT_COUNTY}
CONTACTS = ("principal_name", "principal_phone", "clerk_name", "clerk_phone")  # blank: kept
SCHOOL_VALUE_FIELDS = ("name", "kind", "township_id", "is_center", "oversight", *CONTACTS)


class SchoolsImport(ImportKind):
    slug = "schools"
    label = _("学校名录")
    description = _("乡镇与学校名录：按学校标识码新增或更新乡镇、学校。")
    fields = (
        text_field("township_name", ("乡镇", "乡镇名称", "所在乡镇", "乡镇（开发区）"), 40, required=True,
                   memo=True),
        Field("township_code", ("乡镇代码", "乡镇编码", "乡镇区划代码"), parsers.code(9, required=True),
              required=True, memo=True, text=True, note="9位数字"),
        text_field("name", ("学校名称", "学校"), 80, required=True),
        Field("code", ("学校标识码", "学校代码", "学校识别码"), parsers.code(10, required=True), required=True,
              text=True, note="10位数字，全县唯一"),
        Field("kind", ("学校类型", "办学类型", "学校类别"), parsers.choice(SCHOOL_KINDS, required=True),
              required=True, memo=True, note="小学、初中、九年一贯制、完全中学、教学点、特殊教育学校"),
        flag_field("is_center", ("是否中心学校", "中心学校"), note="是/否"),
        Field("oversight", ("管理层级", "隶属关系", "管理类型"),
              parsers.choice(OVERSIGHTS, default=OVERSIGHT_TOWNSHIP), memo=True, note="乡镇 或 县直（空白视为乡镇）"),
        text_field("principal_name", ("校长（第一责任人）", "校长姓名", "校长"), 40),
        text_field("principal_phone", ("校长电话", "校长联系电话"), 20, text=True),
        text_field("clerk_name", ("控辍保学专干", "专干姓名"), 40),
        text_field("clerk_phone", ("专干电话", "专干联系电话"), 20, text=True),
        text_field("junior_school", ("对口初中", "对口中学", "对口初中学校"), 80, memo=True,
                   note="小学、教学点：小学毕业生升入的初中（学校名称或标识码；空白不修改）"),
    )
    key = ("code",)
    roles = (Role.COUNTY,)
    counts = {"townships_created": _("新增乡镇"), "townships_updated": _("更新乡镇")}
    order = 10
    icon = "bi-building"

    def check_row(self, row: Any, ctx: ImportContext) -> bool:
        if row.is_center and row.oversight == OVERSIGHT_COUNTY:
            ctx.reject(row.row, "oversight", "value_invalid", hint=Text(gettext_noop("中心学校的管理层级应为乡镇")))
            return False
        return True

    def plan(self, rows: RowStream, ctx: ImportContext) -> ImportPlan:
        towns = {t.code: t for t in Township.objects.all()}
        schools = {s.code: s for s in School.objects.all()}
        keep = _township_names_agree(rows.unique(), towns, ctx)
        new_towns: dict[str, Township] = {}
        changed_towns: dict[str, Township] = {}
        for r in keep:
            town = towns.get(r.township_code)
            if town is None and r.township_code not in new_towns:
                kind = Township.Kind.ZONE if r.township_name.endswith(("开发区", "园区")) else Township.Kind.TOWNSHIP
                new_towns[r.township_code] = Township(code=r.township_code, name=r.township_name, kind=kind)
            elif town is not None and town.name != r.township_name:
                town.name = r.township_name
                changed_towns[town.code] = town
        keep = _one_center_per_township(keep, towns, schools, ctx)
        juniors, bad = _junior_codes(keep, schools, ctx)
        creates, updates, unchanged = [], [], 0
        for r in keep:
            if r.row in bad:
                continue
            values = {"name": r.name, "kind": r.kind, "is_center": bool(r.is_center),
                      "oversight": r.oversight or OVERSIGHT_TOWNSHIP}
            values.update({f: getattr(r, f) for f in CONTACTS if f in ctx.present and getattr(r, f)})
            school = schools.get(r.code)
            if school is None:
                creates.append((r.township_code, School(code=r.code, **values)))
                continue
            town = towns.get(r.township_code)
            junior = schools.get(juniors.get(r.code, ""))
            changed = (town is None or school.township_id != town.pk
                       or (r.code in juniors and (junior is None or junior.pk != school.junior_school_id)))
            if assign(school, values) or changed:
                updates.append((r.township_code, school))
            else:
                unchanged += 1
        return ImportPlan(created=len(creates), updated=len(updates), unchanged=unchanged,
                          extra={"townships_created": len(new_towns), "townships_updated": len(changed_towns)},
                          payload=(list(new_towns.values()), list(changed_towns.values()), creates, updates,
                                   juniors))

    def apply(self, plan: ImportPlan, ctx: ImportContext) -> None:
        new_towns, changed_towns, creates, updates, juniors = plan.payload
        Township.objects.bulk_create(new_towns)
        Township.objects.bulk_update(changed_towns, ["name"])
        town_ids = dict(Township.objects.values_list("code", "pk"))
        for code, school in creates + updates:
            school.township_id = town_ids[code]
        # Demote before promoting: the one-center-per-township constraint is checked per row.
        for center in (False, True):
            School.objects.bulk_update([s for _c, s in updates if s.is_center == center], SCHOOL_VALUE_FIELDS,
                                       batch_size=200)
        School.objects.bulk_create([s for _c, s in creates], batch_size=500)
        if juniors:  # 对口初中 last: it may name a school this file creates
            ids = dict(School.objects.filter(code__in=[*juniors, *juniors.values()])
                       .values_list("code", "pk"))
            linked = list(School.objects.filter(code__in=list(juniors)))
            for school in linked:
                school.junior_school_id = ids[juniors[school.code]]
            School.objects.bulk_update(linked, ["junior_school"], batch_size=500)


def _township_names_agree(rows: list[Any], towns: dict[str, Township], ctx: ImportContext) -> list[Any]:
    """The rows whose township name is the one of its code's first row, and no other code's."""
    owner_of = {t.name: t.code for t in towns.values()}
    first: dict[str, tuple[str, int]] = {}
    keep = []
    for r in rows:
        name, row = first.setdefault(r.township_code, (r.township_name, r.row))
        owner = owner_of.get(r.township_name)
        if name != r.township_name:
            ctx.reject(r.row, "township_name", "value_invalid",
                       hint=Text(gettext_noop("与第%(row)s行的乡镇名称不一致"), row=row))
        elif owner is not None and owner != r.township_code:
            ctx.reject(r.row, "township_name", "value_invalid",
                       hint=Text(gettext_noop("乡镇名称已被代码%(code)s使用"), code=owner))
        else:
            keep.append(r)
    return keep


def _one_center_per_township(rows: list[Any], towns: dict[str, Township], stored: dict[str, School],
                             ctx: ImportContext) -> list[Any]:
    """The rows less the center schools of a township with another center, stored centers the
    file does not mention counted."""
    in_file = {r.code for r in rows}
    code_of_town = {t.pk: code for code, t in towns.items()}
    centers: dict[str, list[Any]] = {}
    for s in stored.values():
        if s.is_center and s.code not in in_file:
            centers.setdefault(code_of_town[s.township_id], []).append(s)
    for r in rows:
        if r.is_center:
            centers.setdefault(r.township_code, []).append(r)
    bad = set()
    for listed in centers.values():
        if len(listed) > 1:
            others = [x.name for x in listed]
            for x in listed:
                if not isinstance(x, School):
                    ctx.reject(x.row, "is_center", "value_invalid",
                               hint=Text(gettext_noop("同一乡镇只能有一所中心学校（%(schools)s）"), schools=others))
                    bad.add(x.row)
    return [r for r in rows if r.row not in bad]


def _junior_codes(rows: list[Any], stored: dict[str, School],
                  ctx: ImportContext) -> tuple[dict[str, str], set[int]]:
    """对口初中 of the file's rows: school code → the junior school's code, found by code or by
    name among the stored schools and the file's own rows (the file's version wins). A name
    that is unknown or ambiguous, or a school that does not teach grade 7, rejects the row."""
    kinds = {code: s.kind for code, s in stored.items()}
    names: dict[str, set[str]] = {}
    for code, s in stored.items():
        names.setdefault(parsers.norm_key(s.name), set()).add(code)
    for r in rows:
        kinds[r.code] = r.kind
        for codes in names.values():
            codes.discard(r.code)
        names.setdefault(parsers.norm_key(r.name), set()).add(r.code)
    out: dict[str, str] = {}
    bad: set[int] = set()
    for r in rows:
        value = (r.junior_school or "").strip() if "junior_school" in ctx.present else ""
        if not value:
            continue
        found = {value} if value in kinds else names.get(parsers.norm_key(value), set())
        if len(found) != 1:
            ctx.reject(r.row, "junior_school", "school_unknown", hint=quoted(value, len(value)))
            bad.add(r.row)
            continue
        code = next(iter(found))
        if kinds[code] not in School.TEACHES_GRADE_7 or code == r.code:
            ctx.reject(r.row, "junior_school", "value_invalid",
                       hint=Text(gettext_noop("对口初中须为本县开设七年级的学校（初中、九年一贯制、完全中学、特殊教育学校）")))
            bad.add(r.row)
            continue
        out[r.code] = code
    return out, bad
