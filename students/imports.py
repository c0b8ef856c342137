"""Import kinds of the core app: schools, roster (学籍), census (户籍), support lists.

Registered with the shared machinery (kongchuo.imports) from StudentsConfig.ready(). Every
plan reads the database in chunked `__in` queries and every apply writes with bulk_create /
bulk_update and bulk history; the roster on PostgreSQL streams into a staging table with COPY
and merges with INSERT … SELECT / UPDATE … FROM (students/roster_pg.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kongchuo.idnumbers import birth_date_of, mask_id
from kongchuo.imports import parsers
from kongchuo.imports.base import (
    Field,
    ImportContext,
    ImportKind,
    ImportPlan,
    ImportRefused,
    RowStream,
)
from kongchuo.imports.bulk import (
    IN_CHUNK,
    batch_size_for,
    fetch_in,
    history_create,
    history_insert_select,
    insert_rows,
    is_postgres,
    update_batch_size,
)
from kongchuo.imports.cells import TabularError
from kongchuo.imports.merge import KEEP_IF_BLANK, NEVER_CLEAR, OVERWRITE, merge_rules
from kongchuo.schoolyear import Term, parse_term, term_of
from kongchuo.scoping import OVERSIGHT_COUNTY, OVERSIGHT_TOWNSHIP, Role, scope_covers_school
from students.models import CensusEntry, School, StatusChange, Student, SupportMark, Township
from students.pinyin import name_initials
from students.services import status_change_build
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

    def resolve(self, code: str, name: str) -> tuple[School | None, str, str]:
        """(school, warning_zh, warning_en): by code, else by exact normalised name."""
        key = (code or "", name or "")
        hit = self.cache.get(key)
        if hit is None:
            hit = self._resolve(*key)
            self.cache[key] = hit
        return hit

    def _resolve(self, code: str, name: str) -> tuple[School | None, str, str]:
        if code and code in self.by_code:
            school = self.by_code[code]
            if name and parsers.norm_key(name) != parsers.norm_key(school.name):
                return school, f"学校名称与标识码不一致，已按标识码匹配为“{school.name}”", \
                    f"school name differs from the code; matched by code to {school.name}"
            return school, "", ""
        matches = self.by_name.get(parsers.norm_key(name), []) if name else []
        if len(matches) == 1:
            if code:
                return matches[0], "学校标识码未找到，已按学校名称匹配", \
                    "school code not found; matched by name"
            return matches[0], "", ""
        return None, "", ""

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


def check_identity(row: Any, ctx: ImportContext) -> bool:
    """Birth date and sex against the ID (GB 11643 digits 7–14 and 17); fill them if blank."""
    ok = True
    id_number = row.id_number
    born = birth_date_of(id_number)  # cached per birthday
    if row.birth_date is None:
        row.birth_date = born
    elif row.birth_date != born:
        ctx.reject(row.row, "birth_date", "birth_mismatch",
                   hint_zh=f"身份证件号中为{born:%Y-%m-%d}", hint_en=f"the ID says {born:%Y-%m-%d}")
        ok = False
    sex = "M" if id_number[16] in "13579" else "F"  # kongchuo.idnumbers.sex_of, inlined
    if row.sex is None:
        row.sex = sex
    elif row.sex != sex:
        ctx.reject(row.row, "sex", "gender_mismatch",
                   hint_zh=f"身份证件号为{'男' if sex == 'M' else '女'}",
                   hint_en=f"the ID says {'male' if sex == 'M' else 'female'}")
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
        ctx.reject(row.row, "oversight", "value_invalid", hint_zh="中心学校的管理层级应为乡镇",
                   hint_en="a center school is overseen by its township")
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
                       hint_zh=f"与第{first[1]}行的乡镇名称不一致", hint_en=f"differs from row {first[1]}")
            continue
        if owner is not None and owner != r.township_code:
            ctx.reject(r.row, "township_name", "value_invalid",
                       hint_zh=f"乡镇名称已被代码{owner}使用", hint_en=f"name already used by {owner}")
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
            others = "、".join(x.name for x in listed)
            for x in listed:
                if not isinstance(x, School):
                    ctx.reject(x.row, "is_center", "value_invalid",
                               hint_zh=f"同一乡镇只能有一所中心学校（{others}）",
                               hint_en="one center school per township")
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
            ctx.reject(r.row, "junior_school", "school_unknown", hint_zh=f"“{value}”", hint_en=repr(value))
            bad.add(r.row)
            continue
        code = next(iter(found))
        if kinds[code] not in School.TEACHES_GRADE_7 or code == r.code:
            ctx.reject(r.row, "junior_school", "value_invalid",
                       hint_zh="对口初中须为本县开设七年级的学校（初中、九年一贯制、完全中学、特殊教育学校）",
                       hint_en="the junior school must be a county school teaching grade 7")
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


# --------------------------------------------------------------------------- roster

ROSTER_FIELDS = (
    Field("school_code", ("学校标识码", "学校代码", "学校识别码"), parsers.code(10), memo=True, text=True,
          note="10位数字；与学校名称至少填一项"),
    Field("school_name", ("学校名称", "学校", "所在学校"), parsers.text(max_length=80), memo=True),
    Field("grade", ("年级",), parsers.grade(required=True), required=True, memo=True,
          note="一年级…九年级、初一/初二/初三、七年级或 1–9"),
    Field("class_name", ("班级", "班级名称", "班号"), parsers.text(max_length=20), memo=True),
    Field("name", ("姓名", "学生姓名"), parsers.text(required=True, max_length=40), required=True),
    Field("sex", ("性别",), parsers.sex(), memo=True, note="男/女；空白时按身份证件号"),
    Field("birth_date", ("出生日期", "出生年月日"), parsers.date(), memo=True,
          note="2012-05-06、2012/5/6、20120506、2012年5月6日 均可；空白时按身份证件号"),
    Field("id_type", ("身份证件类型", "证件类型"), parsers.text(max_length=20), memo=True),
    Field("id_number", ID_LABELS, parsers.id_number(), required=True, text=True,
          note="18位，请将该列设置为文本格式"),
    Field("student_number", ("全国学籍号", "学籍号", "学籍辅号", "全国学籍号码"), parsers.text(max_length=30),
          text=True),
    Field("hukou_address", ("户口所在地", "户籍所在地", "户籍地址", "户口所在地址"), parsers.text(max_length=120)),
    Field("address", ("现住址", "家庭住址", "居住地址", "现居住地址"), parsers.text(max_length=120)),
    Field("guardian_name", ("监护人姓名", "监护人", "家长姓名"), parsers.text(max_length=40)),
    Field("guardian_phone", ("监护人联系电话", "监护人电话", "联系电话", "家长电话", "家长联系电话"),
          parsers.text(max_length=20), text=True),
    Field("is_poor", ("是否建档立卡贫困户", "是否建档立卡", "建档立卡", "是否建档立卡户", "是否脱贫家庭"),
          parsers.boolean(), memo=True, note="是/否、√/×、Y/N、1/0 或空白（否）"),
    Field("is_dibao", ("是否低保", "低保", "是否低保户"), parsers.boolean(), memo=True),
    Field("is_tekun", ("是否特困供养", "特困供养", "是否特困"), parsers.boolean(), memo=True),
    Field("disability_category", ("残疾人类型", "残疾类型", "残疾类别"), parsers.text(max_length=20), memo=True),
    Field("is_left_behind", ("是否留守儿童", "留守儿童"), parsers.boolean(), memo=True),
    Field("is_migrant", ("是否进城务工人员随迁子女", "随迁子女", "是否随迁子女"), parsers.boolean(), memo=True),
    Field("entry_month", ("入学年月", "入学时间", "入学日期"), parsers.year_month(), memo=True,
          note="2019-09、201909 或 2019年9月"),
)

# Stored columns the roster writes. "keep": a blank cell keeps what is stored; "or": support
# flags are only ever set by a roster (the support lists are their authority); "set": the file
# decides. School, grade, name, sex and birth date are always set.
# How a roster's cell meets the stored student, per column: both write paths (the ORM here,
# the SQL merge of students/roster_pg.py) derive from this one declaration.
ROSTER_MERGE = merge_rules(Student, {
    "school_id": OVERWRITE, "grade": OVERWRITE, "name": OVERWRITE, "sex": OVERWRITE,
    "birth_date": OVERWRITE, "class_name": KEEP_IF_BLANK, "student_number": KEEP_IF_BLANK,
    "hukou_address": KEEP_IF_BLANK, "hukou_township_id": KEEP_IF_BLANK, "address": KEEP_IF_BLANK,
    "guardian_name": KEEP_IF_BLANK, "guardian_phone": KEEP_IF_BLANK,
    "disability_category": KEEP_IF_BLANK, "entry_month": KEEP_IF_BLANK,
    "is_poor": NEVER_CLEAR, "is_dibao": NEVER_CLEAR, "is_tekun": NEVER_CLEAR,
    "is_left_behind": OVERWRITE, "is_migrant": OVERWRITE,
})
ROSTER_SOURCE = {"school_id": "school_code", "hukou_township_id": "hukou_address"}


def roster_columns(ctx: ImportContext) -> list[str]:
    """The stored columns this file speaks for (a column the file lacks is left alone)."""
    cols = []
    for col in ROSTER_MERGE:
        source = ROSTER_SOURCE.get(col, col)
        if col in ("school_id", "sex", "birth_date") or source in ctx.present:
            cols.append(col)
    return cols


def roster_term(ctx: ImportContext) -> Term:
    """The term the roster is for (--term, else the term of the import's date)."""
    raw = ctx.options.get("term")
    if not raw:
        return term_of(ctx.today)
    try:
        return parse_term(str(raw))
    except ValueError as exc:
        raise ImportRefused("option_invalid", f"学期格式应为 2024-spring 或 2024-autumn：{raw}",
                            f"--term must look like 2024-spring: {raw}") from exc


def roster_prepare(ctx: ImportContext) -> None:
    ctx.state["term"] = roster_term(ctx)
    index = SchoolIndex.load()
    ctx.state["schools"] = index
    ctx.state["school_hits"] = {}
    names = sorted(index.townships.values(), key=lambda t: -len(t.name))
    ctx.state["hukou_re"] = re.compile("|".join(re.escape(t.name) for t in names)) if names else None
    ctx.state["town_by_name"] = {t.name: t.pk for t in names}
    ctx.state["hukou_cache"] = {}
    # The schools whose children this import may update (None: the county's, every school);
    # an existing child of any other school named in the file is asked for, never written
    # (roster_asks_apply), unless the row is a primary graduate's grade-7 intake.
    schools = index.by_code.values()
    ctx.state["inside"] = None if ctx.is_county else {s.pk for s in schools if school_in_scope(s, ctx)}
    ctx.state["grade7"] = {s.pk for s in schools if s.kind in School.TEACHES_GRADE_7}


def initials_for(ctx: ImportContext) -> InitialsCache:
    """The import's one InitialsCache (each name's initials are computed once per import)."""
    cache = ctx.state.get("initials")
    if cache is None:
        cache = ctx.state["initials"] = InitialsCache()
    return cache


def roster_check(row: Any, ctx: ImportContext) -> bool:
    """School (by code, else name; in the importer's scope), birth date and sex against the ID,
    户籍 township from 户口所在地. Runs once per row of a county roster: lookups are cached."""
    state = ctx.state
    key = (row.school_code or "", row.school_name or "")
    hit = state["school_hits"].get(key)
    if hit is None:
        hit = state["school_hits"][key] = _school_hit(key, ctx)
    school_id, column, code, hint_zh, hint_en = hit
    if school_id is None:
        ctx.reject(row.row, column, code, hint_zh=hint_zh, hint_en=hint_en)
        return False
    if hint_zh:
        ctx.warn(row.row, column, "school_matched", hint_zh, hint_en)
    row.school_id = school_id
    ok = check_identity(row, ctx)
    id_type = row.id_type
    if id_type and id_type not in RESIDENT_ID_TYPES and parsers.norm_key(id_type) not in RESIDENT_ID_TYPES:
        ctx.warn(row.row, "id_type", "id_type", f"证件类型为“{id_type}”，已按居民身份证件号校验",
                 f"ID type {id_type!r}; checked as a resident ID")
    address = row.hukou_address
    if address:
        cache = state["hukou_cache"]
        town = cache.get(address, 0)
        if town == 0:
            pattern = state["hukou_re"]
            m = pattern.search(address) if pattern else None
            town = state["town_by_name"][m.group(0)] if m else None
            if len(cache) < 50_000:
                cache[address] = town
        row.hukou_township_id = town
    return ok


def _school_hit(key: tuple[str, str], ctx: ImportContext) -> tuple:
    """(school id or None, column, code, hint_zh, hint_en) for a (学校标识码, 学校名称) pair: the
    school and a warning, or the error to report."""
    code, name = key
    column = "school_code" if code else "school_name"
    school, warn_zh, warn_en = ctx.state["schools"].resolve(code, name)
    if school is None:
        if not code and not name:
            return None, column, "required_missing", "", ""
        return None, column, "school_unknown", *school_unknown_hint(code or name, ctx)
    if not school_in_scope(school, ctx):
        return None, column, "school_unknown", *school_unknown_hint(code or name, ctx)
    return school.pk, column, "", warn_zh, warn_en


def school_unknown_hint(shown: str, ctx: ImportContext) -> tuple[str, str]:
    """The hint of a `school_unknown` row: for an importer below the county, a school of the
    county outside its scope and a school that does not exist read exactly alike (the file's
    own code or name, never the stored name: no oracle for the county's school codes)."""
    if ctx.is_county:
        return f"“{shown}”", repr(shown)
    return f"“{shown}”不在您的管辖范围内", f"{shown} is outside your scope"


@dataclass
class RosterPayload:
    """What the generic (SQLite) path writes: the new rows and, per changed student id, the
    file row and the changed columns. Model instances are built per chunk in apply, so a
    county roster never holds 200,000 Student and 200,000 history instances at once."""

    cols: list[str]
    new_rows: list[Any]
    changed: dict[int, tuple[Any, dict[str, Any]]]
    asks: list[RosterAsk] = field(default_factory=list)


@dataclass(frozen=True)
class RosterAsk:
    """A row naming an existing child of a school outside the importer's scope: counted in
    the preview exactly as a new child (no oracle), written as a 转入申请 that the child's
    school confirms (students.transfers.transfers_in_request_bulk), never as a move."""

    row: int
    student_id: int
    school_id: int  # the receiving school (the row's, in the importer's scope)
    grade: int
    class_name: str


def roster_is_intake(status: str, grade: int, name: str, r: Any, ctx: ImportContext) -> bool:
    """A primary graduate's September intake: a child 毕业 from grade 6 (小学毕业: enrolled
    nowhere since the rollover) may be enrolled by any school of the county teaching grade 7,
    into grade 7, when the file names the child as the record does. Never an enrolled child."""
    return (status == Student.Status.GRADUATED and grade == 6 and r.grade == 7
            and r.school_id in ctx.state["grade7"] and name == r.name)


APPLY_CHUNK = 2000


def roster_plan(rows: RowStream, ctx: ImportContext) -> ImportPlan:
    if not {"school_code", "school_name"} & ctx.present:
        raise TabularError("header_missing", labels="学校标识码、学校名称")
    if is_postgres():
        from students.roster_pg import roster_plan_pg

        return roster_plan_pg(rows, ctx)
    items = list(rows)
    if rows.duplicates:
        items = [r for r in items if not rows.is_duplicate(r)]
    cols = roster_columns(ctx)
    only = ["id", "id_number", "status", "school_id", *cols]
    inside = ctx.state.get("inside")
    at_grade, at_name = 4 + cols.index("grade"), 4 + cols.index("name")
    new_rows: list[Any] = []
    changed: dict[int, tuple[Any, dict[str, Any]]] = {}
    asks: list[RosterAsk] = []
    unchanged = moved = 0
    for chunk in _chunks(items, IN_CHUNK):  # the stored rows of one chunk at a time
        existing = {v[1]: v for v in Student.objects.filter(
            id_number__in=[r.id_number for r in chunk]).values_list(*only)}
        for r in chunk:
            old = existing.get(r.id_number)
            if old is None:
                new_rows.append(r)
                continue
            if inside is not None and old[3] not in inside and not roster_is_intake(
                    old[2], old[at_grade], old[at_name], r, ctx):
                asks.append(RosterAsk(r.row, old[0], r.school_id, r.grade, r.class_name or ""))
                continue
            diff = {}
            for i, c in enumerate(cols, start=4):
                value = ROSTER_MERGE[c].value(old[i], getattr(r, c))
                if value != old[i]:
                    diff[c] = value
            is_move = "school_id" in diff
            moved += is_move
            if not is_move and old[2] not in ACTIVE:
                _warn_status(ctx, r.row, old[2])
            if diff:
                changed[old[0]] = (r, diff)
            else:
                unchanged += 1
    missing, sample = roster_missing(items, rows, ctx)
    return ImportPlan(created=len(new_rows) + len(asks), updated=len(changed), unchanged=unchanged,
                      extra={"moved": moved, "missing": missing, "missing_sample": sample},
                      payload=RosterPayload(cols, new_rows, changed, asks))


def _warn_status(ctx: ImportContext, row: int, status: str) -> None:
    label = Student.Status(status).label
    ctx.warn(row, "id_number", "status_not_enrolled",
             f"该生当前状态为“{label}”，名册中仍在籍，请核实", f"the student's status is {status}")


def _chunks(values: list, size: int = APPLY_CHUNK):
    for i in range(0, len(values), size):
        yield values[i:i + size]


def roster_missing(items: list[Any], rows: RowStream, ctx: ImportContext) -> tuple[int, list[dict]]:
    """Students at school in the schools this file covers who are not in the file (kept in
    ctx.state for the term's roster gaps: roster_gaps_record)."""
    covered = sorted({r.school_id for r in items})
    qs = (Student.objects.filter(school_id__in=covered, status__in=ACTIVE)
          .order_by("school_id", "grade", "class_name", "id")
          .values_list("id", "school_id", "id_number", "name", "school__name", "grade"))
    return roster_missing_collect(qs.iterator(chunk_size=5000), covered, rows, ctx)


def roster_missing_collect(found, covered: list[int], rows: RowStream, ctx: ImportContext
                           ) -> tuple[int, list[dict]]:
    """Count and sample the (id, school id, ID number, name, school name, grade) rows of
    `found` whose ID number is not in the file; remember them for roster_gaps_record."""
    in_file = {k[0] for k in rows.keys_seen}
    count, sample, missing = 0, [], []
    for pk, school_id, id_number, name, school, grade in found:
        if id_number in in_file:
            continue
        count += 1
        missing.append((pk, school_id))
        if len(sample) < MISSING_SAMPLE:
            sample.append({"name": name, "id_number": mask_id(id_number), "school": school,
                           "grade": grade})
    ctx.state["roster_gaps"] = (covered, missing, in_file)
    return count, sample


def roster_gaps_record(ctx: ImportContext) -> None:
    """The term's roster gaps (RosterGap), written with the import: the first roster of the term
    for a school lists its children missing from it; every roster of the term strikes off the
    children it contains (a school may send its roster in parts). Set-based: a few queries
    per import, chunked."""
    from kongchuo.imports.bulk import chunked
    from students.models import RosterGap, TermRoster

    covered, missing, in_file = ctx.state.get("roster_gaps") or ([], [], set())
    if not covered:
        return
    term = ctx.state["term"].code
    known = set(TermRoster.objects.filter(term=term, school_id__in=covered)
                .values_list("school_id", flat=True))
    first = [pk for pk in covered if pk not in known]
    TermRoster.objects.bulk_create([TermRoster(term=term, school_id=pk, first_job=ctx.job)
                                    for pk in first], ignore_conflicts=True)
    listed = [RosterGap(term=term, school_id=school_id, student_id=pk, job=ctx.job,
                        found_on=ctx.today) for pk, school_id in missing if school_id in set(first)]
    RosterGap.objects.bulk_create(listed, batch_size=1000, ignore_conflicts=True)
    if known:
        gaps = RosterGap.objects.filter(term=term, school_id__in=sorted(known)).values_list(
            "pk", "student__id_number")
        struck = [pk for pk, id_number in gaps if id_number in in_file]
        for batch in chunked(struck):
            RosterGap.objects.filter(pk__in=batch).delete()


def roster_apply(plan: ImportPlan, ctx: ImportContext) -> None:
    asks = plan.payload.asks
    plan.created -= len(asks)  # the preview counted them as new children (no oracle)
    if is_postgres():
        from students.roster_pg import roster_apply_pg

        roster_apply_pg(plan, ctx)
    else:
        _roster_apply_rows(plan, ctx)
    roster_asks_apply(plan, asks, ctx)
    roster_gaps_record(ctx)


def roster_asks_apply(plan: ImportPlan, asks: list[RosterAsk], ctx: ImportContext) -> None:
    """The rows naming children of schools outside the importer's scope become 转入申请 to
    the child's school (which confirms): counted as `transfers` (and `skipped`: the child's
    record is not written). A child who cannot be asked for (a transfer pending, deceased, a
    transfer step today) is only skipped, with a warning."""
    plan.extra["transfers"] = 0
    if not asks:
        return
    from students.transfers import transfers_in_request_bulk

    schools = {s.pk: s for s in School.objects.filter(pk__in={a.school_id for a in asks})}
    made, refused = transfers_in_request_bulk(
        user=ctx.user, reason=str(_("学籍名册导入：该生学籍在本县其他学校")),
        asks=[(a.student_id, schools[a.school_id], a.grade, a.class_name) for a in asks])
    plan.skipped += len(asks)
    plan.extra["transfers"] = len(made)
    for a in asks:
        if a.student_id in refused:
            ctx.warn(a.row, "id_number", "transfer_not_requested",
                     "未导入：该生学籍在本县其他学校，且已有待确认的转学或当前不能转学，请联系该校",
                     "not imported: the child is on another county school's roll and cannot be "
                     "asked for now (a transfer pending); contact that school")


def _roster_apply_rows(plan: ImportPlan, ctx: ImportContext) -> None:
    p: RosterPayload = plan.payload
    now = timezone.now()
    initials = initials_for(ctx)
    for chunk in _chunks(p.new_rows):
        students = []
        for r in chunk:
            values = {c: ROSTER_MERGE[c].new_value(getattr(r, c)) for c in p.cols}
            students.append(Student(id_number=r.id_number, status=Student.Status.ENROLLED,
                                    name_initials=initials(r.name),
                                    created_at=now, updated_at=now, **values))
        insert_rows(Student, students)
        history_insert_select(Student, key="id_number", values=[s.id_number for s in students],
                              user=ctx.user, reason="import", history_type="+", when=now)
    schools = {s.pk: s for s in ctx.state["schools"].by_code.values()}
    fields: set[str] = {"version", "updated_at"}
    for chunk in _chunks(sorted(p.changed)):
        students, moves = [], []
        for student in Student.objects.filter(pk__in=chunk).order_by("pk"):
            r, diff = p.changed[student.pk]
            if "school_id" in diff:  # a move within the county: the status rules of 转出
                change, moved_fields = status_change_build(
                    student=student, kind=StatusChange.Kind.TRANSFER_OUT, effective_date=ctx.today,
                    to_school=schools[diff["school_id"]], user=ctx.user, source="import",
                    reason=str(_("学籍名册导入")))
                moves.append(change)
                fields.update(moved_fields)
            for c, value in diff.items():
                setattr(student, c, value)
                fields.add(c.removesuffix("_id"))
            if "name" in diff:
                student.name_initials = initials(student.name)
                fields.add("name_initials")
            student.version += 1
            student.updated_at = now
            students.append(student)
        Student.objects.bulk_update(students, sorted(fields), batch_size=update_batch_size(len(fields)))
        history_insert_select(Student, key="id", values=[s.pk for s in students], user=ctx.user,
                              reason="import", history_type="~", when=now)
        StatusChange.objects.bulk_create(moves, batch_size=1000, ignore_conflicts=True)


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
        raise ImportRefused("option_invalid", f"年度应为四位年份：{raw}", f"--year must be a year: {raw}")
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
        ctx.reject(row.row, "township", "value_invalid", hint_zh=f"户籍乡镇不存在“{row.township}”",
                   hint_en=f"no such township {row.township!r}")
    return town


def census_check(row: Any, ctx: ImportContext) -> bool:
    town = _township_cell(row, ctx)
    if town is None:
        return False
    if ctx.scope.role != Role.COUNTY and town.pk != ctx.scope.township_id:
        ctx.reject(row.row, "township", "value_invalid", hint_zh=f"“{town.name}”不在您的管辖范围内",
                   hint_en="outside your township")
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
    from kongchuo.audit import audit_record

    plan.created -= len(rows)
    plan.skipped += len(rows)
    plan.extra["elsewhere"] = len(rows)
    for row in rows:
        ctx.warn(row, "id_number", "census_elsewhere",
                 "未导入：该儿童本年度已列入其他乡镇的户籍名单，请联系县教育局核实户籍所在地",
                 "not imported: the child is on another township's census list this year; "
                 "the county bureau settles where the child is registered")
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
        choices = "、".join(f"{k.value}（{k.label}）" for k in SupportMark.Kind)
        raise ImportRefused("option_invalid", f"请用 --list 指定名单：{choices}",
                            "--list NAME is required: " + ", ".join(SupportMark.Kind.values))
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


# --------------------------------------------------------------------------- registration


def register_student_imports() -> None:
    from kongchuo.imports.base import register_kind

    register_kind(ImportKind(
        slug="schools", label=_("学校名录"), fields=SCHOOL_FIELDS, key=("code",),
        plan=schools_plan, apply=schools_apply, check_row=schools_check, roles=(Role.COUNTY,),
        description=_("乡镇与学校名录：按学校标识码新增或更新乡镇、学校。"),
        counts=("townships_created", "townships_updated"), order=10, icon="bi-building"))
    register_kind(ImportKind(
        slug="roster", label=_("学生学籍名册"), fields=ROSTER_FIELDS, key=("id_number",),
        plan=roster_plan, apply=roster_apply, check_row=roster_check, prepare=roster_prepare,
        roles=STAFF, computed=("school_id", "hukou_township_id"), options=("term",),
        description=_("学籍系统导出的学生名册：按身份证件号新增或更新学生；管辖范围内其他学校的学生将转入，"
                      "管辖范围以外学校的学生生成转学申请、由该校确认，"
                      "名册所含学校中未出现在文件里的学生会列出（不会删除），该学期首次导入时列入名册缺失名单。"),
        counts=("moved", "missing", "transfers"), order=20, icon="bi-people"))
    register_kind(ImportKind(
        slug="census", label=_("户籍适龄儿童名单"), fields=CENSUS_FIELDS, key=("id_number",),
        plan=census_plan, apply=census_apply, check_row=census_check, prepare=census_prepare,
        roles=(Role.COUNTY, Role.TOWNSHIP), options=("year",),
        description=_("公安户籍适龄儿童名单：按身份证件号和年度记录各乡镇的适龄人口。"),
        counts=("unmatched", "elsewhere"), order=50, icon="bi-house-door"))
    register_kind(ImportKind(
        slug="support", label=_("资助帮扶名单"), fields=SUPPORT_FIELDS, key=("id_number",),
        plan=support_plan, apply=support_apply, prepare=support_prepare, check_row=support_check,
        roles=(Role.COUNTY,),
        options=("list",), choices={"list": [(str(k), k.label) for k in SupportMark.Kind]},
        description=_("建档立卡/脱贫、防返贫监测、低保、特困、残疾、家庭经济困难、孤儿、事实无人抚养名单："
                      "为学生设置标识并记录来源与日期；查无学籍的适龄儿童按户籍乡镇列入“帮扶对象未入学”。"),
        counts=("unmatched",), order=60, icon="bi-heart"))

