"""Import kinds of the core app: schools, roster (学籍), census (户籍), support lists.

Registered with the engine by students/import_kinds.py (the roster: students/roster_import.py). Every
plan reads the database in chunked `__in` queries and every apply writes with bulk_create /
bulk_update and bulk history; the roster on PostgreSQL streams into a staging table with COPY
and merges with INSERT … SELECT / UPDATE … FROM (students/roster_pg.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop

from kongchuo.access.idnumbers import birth_date_of
from kongchuo.access.scoping import OVERSIGHT_COUNTY, OVERSIGHT_TOWNSHIP, Role, scope_covers_school
from kongchuo.imports import parsers
from kongchuo.imports.base import (
    Field,
    ImportContext,
    ImportPlan,
    ImportRefused,
    RowStream,
)
from kongchuo.imports.bulk import (
    batch_size_for,
    fetch_in,
    history_create,
    update_batch_size,
)
from kongchuo.imports.cells import Text, quoted
from students.models import CensusEntry, School, Student, SupportMark, Township
from students.pinyin import name_initials
from students.support import FLAG_OF_LIST

STAFF = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
MISSING_SAMPLE = 20
ACTIVE = (Student.Status.ENROLLED, Student.Status.SUSPENDED)  # at school: "missing" if absent

ID_LABELS = ("身份证件号", "身份证号", "公民身份号码", "证件号码", "身份证号码", "身份证件号码",
             "公民身份证号")
RESIDENT_ID_TYPES = {"", "居民身份证", "身份证", "中华人民共和国居民身份证", "居民身份证号",
                     "公民身份证", "身份证号"}


# --------------------------------------------------------------------------- shared lookups


@dataclass
class SchoolIndex:
    """The county's schools by 学校标识码 and by normalised name (names may repeat)."""

    by_code: dict[str, School]
    by_name: dict[str, list[School]]
    townships: dict[str, Township] = field(default_factory=dict)  # by normalised name
    township_codes: dict[str, Township] = field(default_factory=dict)
    cache: dict[tuple[str, str], tuple[School | None, str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> SchoolIndex:
        schools = list(School.objects.only("id", "code", "name", "township_id", "oversight",
                                           "is_center", "kind"))
        by_name: dict[str, list[School]] = {}
        for s in schools:
            by_name.setdefault(parsers.norm_key(s.name), []).append(s)
        towns = list(Township.objects.all())
        return cls({s.code: s for s in schools}, by_name,
                   {parsers.norm_key(t.name): t for t in towns}, {t.code: t for t in towns})

    def resolve(self, code: str, name: str) -> tuple[School | None, Text | None]:
        """(school, warning or None): by code, else by exact normalised name."""
        key = (code or "", name or "")
        hit = self.cache.get(key)
        if hit is None:
            hit = self._resolve(*key)
            self.cache[key] = hit
        return hit

    def _resolve(self, code: str, name: str) -> tuple[School | None, Text | None]:
        if code and code in self.by_code:
            school = self.by_code[code]
            if name and parsers.norm_key(name) != parsers.norm_key(school.name):
                return school, Text(gettext_noop("学校名称与标识码不一致，已按标识码匹配为“%(school)s”"),
                                    school=school.name)
            return school, None
        matches = self.by_name.get(parsers.norm_key(name), []) if name else []
        if len(matches) == 1:
            if code:
                return matches[0], Text(gettext_noop("学校标识码未找到，已按学校名称匹配"))
            return matches[0], None
        return None, None

    def township(self, value: str) -> Township | None:
        key = parsers.norm_key(value)
        if not key:
            return None
        if key in self.township_codes:
            return self.township_codes[key]
        county = parsers.norm_key(settings.KONGCHUO_COUNTY_NAME)
        for candidate in (key, key.removeprefix(county)):
            if candidate in self.townships:
                return self.townships[candidate]
        return None


def school_in_scope(school: School, ctx: ImportContext) -> bool:
    return scope_covers_school(ctx.scope, school)


def school_unknown_hint(shown: str, ctx: ImportContext) -> Text | str:
    """The hint of a `school_unknown` row: for an importer below the county, a school of the
    county outside its scope and a school that does not exist read exactly alike (the file's
    own code or name, never the stored name: no oracle for the county's school codes)."""
    if ctx.is_county:
        return quoted(shown, len(shown))
    return Text(gettext_noop("“%(school)s”不在您的管辖范围内"), school=shown)


def check_identity(row: Any, ctx: ImportContext) -> bool:
    """Birth date and sex against the ID (GB 11643 digits 7–14 and 17); fill them if blank."""
    ok = True
    id_number = row.id_number
    born = birth_date_of(id_number)  # cached per birthday
    if row.birth_date is None:
        row.birth_date = born
    elif row.birth_date != born:
        ctx.reject(row.row, "birth_date", "birth_mismatch",
                   hint=Text(gettext_noop("身份证件号中为%(date)s"), date=f"{born:%Y-%m-%d}"))
        ok = False
    sex = "M" if id_number[16] in "13579" else "F"  # kongchuo.access.idnumbers.sex_of, inlined
    if row.sex is None:
        row.sex = sex
    elif row.sex != sex:
        ctx.reject(row.row, "sex", "gender_mismatch",
                   hint=Text(gettext_noop("身份证件号为男") if sex == "M" else gettext_noop("身份证件号为女")))
        ok = False
    return ok


def _ids_of_students(ids: list[str]) -> set[str]:
    return set(fetch_in(Student.objects.values_list("id_number", flat=True), "id_number", ids))


class InitialsCache:
    """Pinyin initials for name search, computed once per distinct name of an import ("-" for
    a blank name).

    Written with the row itself: filling them afterwards would rewrite every new row (every
    index of students_student again). students.pinyin's own LRU is too small for a county.
    """

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        got = self.known.get(name)
        if got is None:
            got = self.known[name] = name_initials(name) or "-"
        return got


# --------------------------------------------------------------------------- schools

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
SCHOOL_VALUE_FIELDS = ("name", "kind", "township_id", "is_center", "oversight", "principal_name",
                       "principal_phone", "clerk_name", "clerk_phone")

SCHOOL_FIELDS = (
    Field("township_name", ("乡镇", "乡镇名称", "所在乡镇", "乡镇（开发区）"),
          parsers.text(required=True, max_length=40), required=True, memo=True),
    Field("township_code", ("乡镇代码", "乡镇编码", "乡镇区划代码"), parsers.code(9, required=True),
          required=True, memo=True, text=True, note="9位数字"),
    Field("name", ("学校名称", "学校"), parsers.text(required=True, max_length=80), required=True),
    Field("code", ("学校标识码", "学校代码", "学校识别码"), parsers.code(10, required=True), required=True,
          text=True, note="10位数字，全县唯一"),
    Field("kind", ("学校类型", "办学类型", "学校类别"), parsers.choice(SCHOOL_KINDS, required=True),
          required=True, memo=True, note="小学、初中、九年一贯制、完全中学、教学点、特殊教育学校"),
    Field("is_center", ("是否中心学校", "中心学校"), parsers.boolean(), memo=True, note="是/否"),
    Field("oversight", ("管理层级", "隶属关系", "管理类型"),
          parsers.choice(OVERSIGHTS, default=OVERSIGHT_TOWNSHIP), memo=True, note="乡镇 或 县直（空白视为乡镇）"),
    Field("principal_name", ("校长（第一责任人）", "校长姓名", "校长"), parsers.text(max_length=40)),
    Field("principal_phone", ("校长电话", "校长联系电话"), parsers.text(max_length=20), text=True),
    Field("clerk_name", ("控辍保学专干", "专干姓名"), parsers.text(max_length=40)),
    Field("clerk_phone", ("专干电话", "专干联系电话"), parsers.text(max_length=20), text=True),
    Field("junior_school", ("对口初中", "对口中学", "对口初中学校"), parsers.text(max_length=80), memo=True,
          note="小学、教学点：小学毕业生升入的初中（学校名称或标识码；空白不修改）"),
)


def schools_check(row: Any, ctx: ImportContext) -> bool:
    if row.is_center and row.oversight == OVERSIGHT_COUNTY:
        ctx.reject(row.row, "oversight", "value_invalid", hint=Text(gettext_noop("中心学校的管理层级应为乡镇")))
        return False
    return True


def schools_plan(rows: RowStream, ctx: ImportContext) -> ImportPlan:
    items = list(rows)
    items = [r for r in items if not rows.is_duplicate(r)]
    towns = {t.code: t for t in Township.objects.all()}
    names = {t.name: t.code for t in towns.values()}
    schools = {s.code: s for s in School.objects.all()}
    new_towns: dict[str, Township] = {}
    changed_towns: dict[str, Township] = {}
    town_names: dict[str, tuple[str, int]] = {}
    keep = []
    for r in items:
        first = town_names.setdefault(r.township_code, (r.township_name, r.row))
        owner = names.get(r.township_name)
        if first[0] != r.township_name:
            ctx.reject(r.row, "township_name", "value_invalid",
                       hint=Text(gettext_noop("与第%(row)s行的乡镇名称不一致"), row=first[1]))
            continue
        if owner is not None and owner != r.township_code:
            ctx.reject(r.row, "township_name", "value_invalid",
                       hint=Text(gettext_noop("乡镇名称已被代码%(code)s使用"), code=owner))
            continue
        keep.append(r)
    for r in keep:
        town = towns.get(r.township_code)
        if town is None and r.township_code not in new_towns:
            kind = Township.Kind.ZONE if r.township_name.endswith(("开发区", "园区")) else Township.Kind.TOWNSHIP
            new_towns[r.township_code] = Township(code=r.township_code, name=r.township_name, kind=kind)
        elif town is not None and town.name != r.township_name:
            town.name = r.township_name
            changed_towns[town.code] = town
    # One center school per township, counting stored centers the file does not mention.
    in_file = {r.code for r in keep}
    code_of_town = {t.pk: code for code, t in towns.items()}
    centers: dict[str, list[Any]] = {}
    for s in schools.values():
        if s.is_center and s.code not in in_file:
            centers.setdefault(code_of_town[s.township_id], []).append(s)
    for r in keep:
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
    keep = [r for r in keep if r.row not in bad]
    juniors, bad = _junior_codes(keep, schools, ctx)
    keep = [r for r in keep if r.row not in bad]
    creates, updates, unchanged = [], [], 0
    for r in keep:
        values = {"name": r.name, "kind": r.kind, "is_center": bool(r.is_center),
                  "oversight": r.oversight or OVERSIGHT_TOWNSHIP}
        for f in ("principal_name", "principal_phone", "clerk_name", "clerk_phone"):
            if f in ctx.present and getattr(r, f):
                values[f] = getattr(r, f)
        school = schools.get(r.code)
        if school is None:
            creates.append((r.township_code, School(code=r.code, **values)))
            continue
        town = towns.get(r.township_code)
        changed = town is None or school.township_id != town.pk
        junior = juniors.get(r.code)
        if junior is not None and (school.junior_school_id is None
                                   or schools.get(junior) is None
                                   or schools[junior].pk != school.junior_school_id):
            changed = True
        for f, v in values.items():
            if getattr(school, f) != v:
                setattr(school, f, v)
                changed = True
        if changed:
            updates.append((r.township_code, school))
        else:
            unchanged += 1
    return ImportPlan(created=len(creates), updated=len(updates), unchanged=unchanged,
                      extra={"townships_created": len(new_towns), "townships_updated": len(changed_towns)},
                      payload=(list(new_towns.values()), list(changed_towns.values()), creates, updates,
                               juniors))


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


def schools_apply(plan: ImportPlan, ctx: ImportContext) -> None:
    new_towns, changed_towns, creates, updates, juniors = plan.payload
    Township.objects.bulk_create(new_towns)
    if changed_towns:
        Township.objects.bulk_update(changed_towns, ["name"])
    town_ids = dict(Township.objects.values_list("code", "pk"))
    for code, school in creates + updates:
        school.township_id = town_ids[code]
    # Demote before promoting: the one-center-per-township constraint is checked per row.
    demoted = [s for _c, s in updates if not s.is_center]
    promoted = [s for _c, s in updates if s.is_center]
    for batch in (demoted, promoted):
        if batch:
            School.objects.bulk_update(batch, list(SCHOOL_VALUE_FIELDS), batch_size=200)
    School.objects.bulk_create([s for _c, s in creates], batch_size=500)
    if juniors:  # 对口初中 last: it may name a school this file creates
        ids = dict(School.objects.filter(code__in=[*juniors, *juniors.values()])
                   .values_list("code", "pk"))
        linked = []
        for school in School.objects.filter(code__in=list(juniors)):
            school.junior_school_id = ids[juniors[school.code]]
            linked.append(school)
        School.objects.bulk_update(linked, ["junior_school"], batch_size=500)


# --------------------------------------------------------------------------- census

CENSUS_FIELDS = (
    Field("name", ("姓名",), parsers.text(required=True, max_length=40), required=True),
    Field("id_number", ID_LABELS, parsers.id_number(), required=True, text=True),
    Field("sex", ("性别",), parsers.sex(), memo=True),
    Field("birth_date", ("出生日期", "出生年月日"), parsers.date(), memo=True),
    Field("township", ("户籍乡镇", "乡镇", "户籍所在乡镇", "所属乡镇"), parsers.text(required=True, max_length=40),
          required=True, memo=True, note="乡镇名称或9位乡镇代码"),
    Field("address", ("户籍地址", "户籍所在地", "户口所在地", "住址", "家庭住址"), parsers.text(max_length=120)),
)


def _year_option(ctx: ImportContext) -> int:
    raw = ctx.options.get("year")
    if raw in (None, ""):
        return ctx.today.year
    try:
        year = int(raw)
    except (TypeError, ValueError):
        year = 0
    if not 2000 <= year <= 2100:
        raise ImportRefused("option_invalid", Text(gettext_noop("年度应为四位年份：%(value)s"), value=raw))
    return year


def census_prepare(ctx: ImportContext) -> None:
    ctx.state["year"] = _year_option(ctx)
    ctx.state["schools"] = SchoolIndex.load()
    ctx.state["town_cache"] = {}


def _township_cell(row: Any, ctx: ImportContext) -> Township | None:
    """The row's 户籍乡镇 cell (name or code) as a Township, cached per import; None (and the
    row rejected) when there is no such township."""
    cache = ctx.state["town_cache"]
    if row.township not in cache:
        cache[row.township] = ctx.state["schools"].township(row.township)
    town = cache[row.township]
    if town is None:
        ctx.reject(row.row, "township", "value_invalid",
                   hint=Text(gettext_noop("户籍乡镇不存在“%(township)s”"), township=row.township))
    return town


def census_check(row: Any, ctx: ImportContext) -> bool:
    town = _township_cell(row, ctx)
    if town is None:
        return False
    if ctx.scope.role != Role.COUNTY and town.pk != ctx.scope.township_id:
        ctx.reject(row.row, "township", "value_invalid",
                   hint=Text(gettext_noop("“%(township)s”不在您的管辖范围内"), township=town.name))
        return False
    row.township = town
    return check_identity(row, ctx)


def census_plan(rows: RowStream, ctx: ImportContext) -> ImportPlan:
    year = ctx.state["year"]
    items = list(rows)
    if rows.duplicates:
        items = [r for r in items if not rows.is_duplicate(r)]
    existing = {e.id_number: e for e in fetch_in(CensusEntry.objects.filter(year=year), "id_number",
                                                 [r.id_number for r in items])}
    creates, updates, unchanged = [], [], 0
    # A township writes only its own census rows: a child on another township's list this
    # year is counted as a new row (as an unknown ID would be) and never written (census_apply).
    elsewhere: list[int] = []
    own = None if ctx.is_county else ctx.scope.township_id
    for r in items:
        values = {"name": r.name, "sex": r.sex, "birth_date": r.birth_date, "township_id": r.township.pk}
        if "address" in ctx.present and r.address:
            values["address"] = r.address
        entry = existing.get(r.id_number)
        if entry is not None and own is not None and entry.township_id != own:
            elsewhere.append(r.row)
            continue
        if entry is None:
            creates.append(CensusEntry(year=year, id_number=r.id_number, **values))
            continue
        diff = {k: v for k, v in values.items() if getattr(entry, k) != v}
        if diff:
            for k, v in diff.items():
                setattr(entry, k, v)
            updates.append(entry)
        else:
            unchanged += 1
    known = _ids_of_students([r.id_number for r in items])
    hidden = set(elsewhere)
    unmatched = sum(1 for r in items if r.id_number not in known or r.row in hidden)
    return ImportPlan(created=len(creates) + len(elsewhere), updated=len(updates), unchanged=unchanged,
                      extra={"unmatched": unmatched, "year": year},
                      payload=(creates, updates, elsewhere))


def census_apply(plan: ImportPlan, ctx: ImportContext) -> None:
    creates, updates, elsewhere = plan.payload
    if elsewhere:
        census_elsewhere_report(plan, elsewhere, ctx)
    CensusEntry.objects.bulk_create(creates, batch_size=batch_size_for(8))
    if updates:
        CensusEntry.objects.bulk_update(updates, ["name", "sex", "birth_date", "township", "address"],
                                        batch_size=update_batch_size(5))


def census_elsewhere_report(plan: ImportPlan, rows: list[int], ctx: ImportContext) -> None:
    """Rows naming children on another township's census list this year: not written (the
    other township's row is its own), skipped with a warning each, and an audit event for
    the county, which settles where the child's 户籍 is (the job keeps the upload)."""
    from kongchuo.access.audit import audit_record

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


# --------------------------------------------------------------------------- support lists

SUPPORT_LISTS = {
    "poor": SupportMark.Kind.POOR, "建档立卡": SupportMark.Kind.POOR, "脱贫": SupportMark.Kind.POOR,
    "建档立卡/脱贫": SupportMark.Kind.POOR, "脱贫家庭": SupportMark.Kind.POOR,
    "monitored": SupportMark.Kind.MONITORED, "防返贫监测": SupportMark.Kind.MONITORED,
    "监测": SupportMark.Kind.MONITORED, "监测对象": SupportMark.Kind.MONITORED,
    "dibao": SupportMark.Kind.DIBAO, "低保": SupportMark.Kind.DIBAO,
    "tekun": SupportMark.Kind.TEKUN, "特困": SupportMark.Kind.TEKUN, "特困供养": SupportMark.Kind.TEKUN,
    "disability": SupportMark.Kind.DISABILITY, "残疾": SupportMark.Kind.DISABILITY,
    "残疾儿童": SupportMark.Kind.DISABILITY,
    "hardship": SupportMark.Kind.HARDSHIP, "家庭经济困难": SupportMark.Kind.HARDSHIP,
    "经济困难": SupportMark.Kind.HARDSHIP, "困难家庭": SupportMark.Kind.HARDSHIP,
    "orphan": SupportMark.Kind.ORPHAN, "孤儿": SupportMark.Kind.ORPHAN,
    "unsupported": SupportMark.Kind.UNSUPPORTED, "事实无人抚养": SupportMark.Kind.UNSUPPORTED,
    "事实无人抚养儿童": SupportMark.Kind.UNSUPPORTED,
}
SUPPORT_FLAG = FLAG_OF_LIST  # list kind → the student's flag (students.support)

SUPPORT_FIELDS = (
    Field("name", ("姓名", "学生姓名", "儿童姓名"), parsers.text(max_length=40)),
    Field("id_number", ID_LABELS, parsers.id_number(), required=True, text=True),
    Field("disability_category", ("残疾类别", "残疾类型", "残疾人类型"), parsers.text(max_length=20), memo=True),
    Field("disability_grade", ("残疾等级", "残疾级别"), parsers.text(max_length=10), memo=True),
    Field("listed_on", ("认定日期", "纳入日期", "纳入时间", "认定时间"), parsers.date(), memo=True,
          note="空白时按导入日期"),
    Field("township", ("户籍乡镇", "乡镇", "所在乡镇", "乡镇（街道）"), parsers.text(max_length=40), memo=True,
          note="乡镇名称或9位乡镇代码；未入学儿童按此分派到乡镇"),
)


def support_prepare(ctx: ImportContext) -> None:
    raw = str(ctx.options.get("list") or "").strip()
    kind = SUPPORT_LISTS.get(raw) or SUPPORT_LISTS.get(raw.lower())
    if kind is None:
        choices = [f"{k.value}（{k.label}）" for k in SupportMark.Kind]
        raise ImportRefused("option_invalid", Text(gettext_noop("请用 --list 指定名单：%(choices)s"), choices=choices))
    ctx.state["schools"] = SchoolIndex.load()
    ctx.state["town_cache"] = {}
    ctx.state["list"] = SupportMark.Kind(kind)
    ctx.state["source"] = str(ctx.options.get("source") or f"{SupportMark.Kind(kind).label}名单")[:120]


def support_check(row: Any, ctx: ImportContext) -> bool:
    """户籍乡镇 (optional) by name or code, as the census import reads it."""
    if not row.township:
        row.township = None
        return True
    row.township = _township_cell(row, ctx)
    return row.township is not None


def support_plan(rows: RowStream, ctx: ImportContext) -> ImportPlan:
    kind: SupportMark.Kind = ctx.state["list"]
    items = list(rows)
    if rows.duplicates:
        items = [r for r in items if not rows.is_duplicate(r)]
    ids = [r.id_number for r in items]
    marks = {m.id_number: m for m in fetch_in(SupportMark.objects.filter(kind=kind), "id_number", ids)}
    flag = SUPPORT_FLAG.get(kind)
    students = {s.id_number: s for s in fetch_in(Student.objects.all(), "id_number", ids)}
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
        if mark is None:
            creates.append(SupportMark(kind=kind, id_number=r.id_number, job=ctx.job,
                                       listed_on=r.listed_on or ctx.today, **values))
        else:
            if r.listed_on:
                values["listed_on"] = r.listed_on
            diff = {k: v for k, v in values.items() if getattr(mark, k) != v}
            if diff:
                for k, v in diff.items():
                    setattr(mark, k, v)
                mark.job = ctx.job
                updates.append(mark)
            else:
                unchanged += 1
        if student is None:
            continue
        if flag and not getattr(student, flag):
            setattr(student, flag, True)
            flagged[student.pk] = student
        if kind == SupportMark.Kind.DISABILITY:
            category = r.disability_category or student.disability_category or "未注明"
            grade = r.disability_grade or student.disability_grade
            if (category, grade) != (student.disability_category, student.disability_grade):
                student.disability_category, student.disability_grade = category, grade
                flagged[student.pk] = student
    unmatched = sum(1 for r in items if r.id_number not in students)
    return ImportPlan(created=len(creates), updated=len(updates), unchanged=unchanged,
                      extra={"unmatched": unmatched, "flagged": len(flagged), "list": str(kind)},
                      payload=(creates, updates, list(flagged.values()), flag))


def support_apply(plan: ImportPlan, ctx: ImportContext) -> None:
    creates, updates, flagged, flag = plan.payload
    SupportMark.objects.bulk_create(creates, batch_size=batch_size_for(12))
    if updates:
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
