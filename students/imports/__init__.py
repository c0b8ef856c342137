"""The core app's import kinds, one module each (schools, roster, census, support, users; the
roster's PostgreSQL plan and write: students/imports/roster_pg.py), registered from StudentsConfig.ready().

Here is what they share, and the ledgers' and retrieval's kinds with them: the ID column, the
county's schools and townships as one lookup, a row's school in the importer's scope, the
birth date and sex a Chinese ID fixes, pinyin initials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_noop

from kongchuo.access.idnumbers import birth_date_of
from kongchuo.access.scoping import Role, scope_covers_school
from kongchuo.calendar.schoolyear import Term, parse_term
from kongchuo.imports import parsers
from kongchuo.imports.base import Field, ImportContext, ImportRefused
from kongchuo.imports.cells import Text, quoted
from students.models import School, Township
from students.pinyin import name_initials

ID_LABELS = ("身份证件号", "身份证号", "公民身份号码", "证件号码", "身份证号码", "身份证件号码",
             "公民身份证号")
ID_FIELD = Field("id_number", ID_LABELS, parsers.id_number(), required=True, text=True)
STAFF = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)  # every role that keeps students' records


def term_option(ctx: ImportContext) -> Term | None:
    """The term named by --term (2024-spring, 2024-autumn), or None when none is named."""
    raw = ctx.options.get("term")
    try:
        return parse_term(str(raw)) if raw else None
    except ValueError as exc:
        raise ImportRefused("option_invalid", Text(gettext_noop("学期格式应为 2024-spring 或 2024-autumn：%(value)s"),
                                                   value=raw)) from exc


def text_field(key: str, labels: tuple[str, ...], max_length: int, *, required: bool = False,
               **options: Any) -> Field:
    """A column of text (`required`: the header must have it and every row a value)."""
    return Field(key, labels, parsers.text(required=required, max_length=max_length), required=required,
                 **options)


def flag_field(key: str, labels: tuple[str, ...], **options: Any) -> Field:
    """A 是/否 column."""
    return Field(key, labels, parsers.boolean(), memo=True, **options)


@dataclass
class SchoolIndex:
    """The county's schools by 学校标识码 and by normalised name (names may repeat), and its
    townships by code and by normalised name; what a file names is looked up once per import."""

    by_code: dict[str, School]
    by_name: dict[str, list[School]]
    townships: dict[str, Township] = field(default_factory=dict)
    township_codes: dict[str, Township] = field(default_factory=dict)
    cache: dict[tuple[str, str], tuple[School | None, Text | None]] = field(default_factory=dict)
    hits: dict[tuple[str, str], tuple] = field(default_factory=dict)  # row_school's, in the scope
    towns_named: dict[str, Township | None] = field(default_factory=dict)

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
            hit = self.cache[key] = self._resolve(*key)
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
        """The township of a cell: its code, or its name with or without the county's before it."""
        if value not in self.towns_named:
            key = parsers.norm_key(value)
            short = key.removeprefix(parsers.norm_key(settings.KONGCHUO_COUNTY_NAME))
            self.towns_named[value] = (self.township_codes.get(key) or self.townships.get(key)
                                       or self.townships.get(short)) if key else None
        return self.towns_named[value]


def row_school(row: Any, ctx: ImportContext, code: str, name: str) -> int | None:
    """The id of the row's school (by 学校标识码, else by name; a loose match warns) when the
    importer acts for it; else None, the row rejected. Below the county, a school outside the
    scope and one that does not exist read alike: the file's code or name, never the stored
    name (no oracle for the county's school codes)."""
    index: SchoolIndex = ctx.state["schools"]
    key = (code or "", name or "")
    hit = index.hits.get(key)
    if hit is None:
        hit = index.hits[key] = _school_hit(*key, ctx)
    school_id, column, error, hint = hit
    if school_id is None:
        ctx.reject(row.row, column, error, hint=hint or "")
    elif hint:
        ctx.warn(row.row, column, "school_matched", hint)
    return school_id


def _school_hit(code: str, name: str, ctx: ImportContext) -> tuple[int | None, str, str, Text | str | None]:
    column = "school_code" if code else "school_name"
    school, warning = ctx.state["schools"].resolve(code, name)
    if school is None and not code and not name:
        return None, column, "required_missing", None
    if school is None or not scope_covers_school(ctx.scope, school):
        shown = code or name
        hint = (quoted(shown, len(shown)) if ctx.is_county
                else Text(gettext_noop("“%(school)s”不在您的管辖范围内"), school=shown))
        return None, column, "school_unknown", hint
    return school.pk, column, "", warning


def row_township(row: Any, ctx: ImportContext) -> Township | None:
    """The row's 户籍乡镇 cell (name or code) as a Township; None, the row rejected, if none."""
    town = ctx.state["schools"].township(row.township)
    if town is None:
        ctx.reject(row.row, "township", "value_invalid",
                   hint=Text(gettext_noop("户籍乡镇不存在“%(township)s”"), township=row.township))
    return town


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


def assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set `values` on a stored row; whether any of them changed it."""
    changed = False
    for k, v in values.items():
        if getattr(obj, k) != v:
            setattr(obj, k, v)
            changed = True
    return changed


class InitialsCache:
    """Pinyin initials for name search, computed once per distinct name of an import ("-" for
    a blank name), and written with the row itself: filling them afterwards would rewrite
    every new row. students.pinyin's own LRU is too small for a county.
    """

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        got = self.known.get(name)
        if got is None:
            got = self.known[name] = name_initials(name) or "-"
        return got


def initials_for(ctx: ImportContext) -> InitialsCache:
    """The import's one InitialsCache."""
    cache = ctx.state.get("initials")
    if cache is None:
        cache = ctx.state["initials"] = InitialsCache()
    return cache
