"""The year-end rollover (学年结转): close school year Y, moving the county's children on.

Rules (issue 16), for the children on the county's rolls (在读, 送教上门, 休学, 疑似辍学, 辍学,
延缓入学) on the day it runs:

* not moved: 休学, 疑似辍学, 辍学, 延缓入学 (*held back*, the status is the reason), and children
  on the year's 留级 list — a 留级 row (StatusChange kind REPEAT) dated in school year Y, recorded
  by the status-changes import or on the student page (*repeated*);
* grade 9 → 毕业 (compulsory education completed), dated 1 July Y+1;
* grade 6 at a school that does not teach grade 7 (小学, 教学点) → 小学毕业: status 毕业 dated
  1 July Y+1, the school's 对口初中 as the expected junior school (`to_school` of the row);
* every other grade (1–5, 7–8, and 6 at a school teaching grade 7) → grade + 1 at the same school,
  class kept, dated 1 September Y+1. 送教上门 children move with their grade.

Every move is one status-history row (升级 / 毕业, source "rollover", with the grade and status
before and after; a 毕业 also names the school left and, for 小学毕业, the 对口初中) and a
simple_history row of the student; who ran it is recorded on the year and in the audit event
(not on each row: the foreign keys of 200,000 rows would be checked one by one at commit). All
of it set-based (INSERT … SELECT and UPDATE
over the whole county, a fixed number of statements) in one transaction, audited, recorded on
the year (`kongchuo.calendar.models.SchoolYear.closed_at`). Idempotent: a closed year is not closed
again (`already_done`). `rollover_revert` undoes exactly the run's rows and refuses, naming the
children, if anything was recorded for one of them after the run.

The dashboards app wraps these in `dashboards.yearclose` (the figures of the year are frozen in
the same transaction); views and the `rollover` command call that.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from django.db import connection, models, transaction
from django.db.models import Case, Count, F, Q, Value, When
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from kongchuo.access.audit import audit_record
from kongchuo.access.idnumbers import mask_id
from kongchuo.access.scoping import OVERSIGHT_COUNTY
from kongchuo.calendar.models import SchoolYear
from kongchuo.calendar.schoolyear import (
    graduation_day,
    last_closed_year,
    promotion_day,
    school_year_of,
    year_end,
    year_label,
    year_start,
)
from kongchuo.calendar.schoolyear import today as local_today
from kongchuo.imports.bulk import history_insert_for
from students.models import School, StatusChange, Student

Status = Student.Status
Kind = StatusChange.Kind

MOVING = (Status.ENROLLED, Status.HOME_TEACHING)
# A child 转学中 keeps its grade until the receiving school confirms (the request names the
# grade it joins): the preview lists it as held back, so the county can settle transfers first.
HELD = (Status.SUSPENDED, Status.SUSPECTED, Status.DROPPED_OUT, Status.DEFERRED, Status.TRANSFERRING)
ON_ROLL = MOVING + HELD
SOURCE = "rollover"
MOVES = ("promoted", "graduated_primary", "graduated_junior", "repeated", "held_back")
GRADE_NAMES = {1: "一年级", 2: "二年级", 3: "三年级", 4: "四年级", 5: "五年级", 6: "六年级",
               7: "七年级", 8: "八年级", 9: "九年级"}
NAMED_MAX = 20  # children named in a refusal; the rest are counted


class RolloverRefused(Exception):
    """The rollover (or its revert) may not run; the message is bilingual. `children` names
    the ones in the way, if any (name and masked ID)."""

    def __init__(self, message: str, children: list[str] | None = None):
        super().__init__(message)
        self.children = children or []


@dataclass
class RolloverResult:
    """The counts of a run (the `rollover --json` keys, in order)."""

    year: int
    students: int = 0
    promoted: int = 0
    graduated_primary: int = 0
    graduated_junior: int = 0
    held_back: int = 0
    repeated: int = 0
    already_done: bool = False

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class PreviewRow:
    """One (school, grade) of the preview: how many children go where, and who stays, why."""

    township: str
    school_id: int
    school: str
    kind: str
    grade: int
    junior_school: str = ""
    promoted: int = 0
    graduated_primary: int = 0
    graduated_junior: int = 0
    repeated: int = 0
    held: dict[str, int] = field(default_factory=dict)  # status → children

    @property
    def held_back(self) -> int:
        return sum(self.held.values())

    @property
    def total(self) -> int:
        return (self.promoted + self.graduated_primary + self.graduated_junior + self.repeated
                + self.held_back)


@dataclass
class RolloverPreview:
    year: int
    result: RolloverResult
    rows: list[PreviewRow]
    #: Primary schools with grade-6 leavers and no 对口初中 (their graduates are routed to the
    #: township only): a warning, not a refusal.
    no_junior_school: list[str]
    refusal: str = ""  # why it may not run now ("" = it may)


# ----------------------------------------------------------------------------- the rules


def year_range(year: int) -> tuple[dt.date, dt.date]:
    return year_start(year), year_end(year)


def repeat_list(year: int) -> models.QuerySet:
    """Ids of the children on school year `year`'s 留级 list."""
    return (StatusChange.objects.filter(kind=Kind.REPEAT, effective_date__range=year_range(year))
            .values("student_id"))


def move_rules(year: int) -> dict[str, Q]:
    """Each move as a filter on Student (disjoint; together: every child on the rolls)."""
    repeat = Q(pk__in=repeat_list(year))
    moving = Q(status__in=MOVING) & ~repeat
    primary_leaver = Q(grade=6, school__kind__in=School.PRIMARY_ONLY)
    return {
        "held_back": Q(status__in=HELD),
        "repeated": Q(status__in=MOVING) & repeat,
        "graduated_junior": moving & Q(grade=9),
        "graduated_primary": moving & primary_leaver,
        "promoted": moving & ~Q(grade=9) & ~primary_leaver,
    }


def _move_case(year: int) -> Case:
    rules = move_rules(year)
    return Case(*(When(rules[m], then=Value(m)) for m in ("held_back", "repeated",
                                                          "graduated_junior",
                                                          "graduated_primary")),
                default=Value("promoted"), output_field=models.CharField())


def run_rows(year: int) -> models.QuerySet:
    """The status-history rows a rollover of `year` wrote (what a revert removes)."""
    return StatusChange.objects.filter(
        source=SOURCE, kind__in=(Kind.PROMOTE, Kind.GRADUATE),
        effective_date__in=(promotion_day(year), graduation_day(year)))


# ----------------------------------------------------------------------------- checks


def refusal_reason(year: int, *, today: dt.date, revert: bool = False) -> str:
    """Why closing (or reopening) `year` may not happen now; "" if it may."""
    label = year_label(year)
    closed = SchoolYear.objects.filter(year=year, closed_at__isnull=False).exists()
    last = last_closed_year()
    if revert:
        if not closed:
            return gettext("%(year)s尚未结转，无可撤销") % {"year": label}
        if last is not None and last > year:
            return gettext("%(later)s已结转，请先撤销该学年") % {"later": year_label(last)}
        return ""
    if closed:
        return ""  # already done: not a refusal
    if last is not None and last > year:
        return gettext("%(later)s已结转，不能再结转更早的学年") % {"later": year_label(last)}
    if last is not None and year > last + 1:
        return gettext("请先结转%(earlier)s") % {"earlier": year_label(last + 1)}
    if today < graduation_day(year):
        day = graduation_day(year)
        return gettext("%(year)s尚未结束：%(day)s（毕业日）起方可结转") % {
            "year": label, "day": date_format(day, gettext("Y年n月j日"))}
    if year < school_year_of(today) - 1:
        return gettext("%(year)s已过去一年以上，学籍已不是该学年的状态，不能结转") % {"year": label}
    return ""


# ----------------------------------------------------------------------------- preview


def rollover_preview(year: int, *, today: dt.date | None = None) -> RolloverPreview:
    """What closing `year` would do, per township / school / grade (two queries). A year
    already closed: what its rollover did (`already_done`), no rows."""
    today = today or local_today()
    record = SchoolYear.objects.filter(year=year, closed_at__isnull=False).first()
    if record is not None:
        done = RolloverResult(**{**record.close_result, "year": year})
        done.already_done = True
        return RolloverPreview(year=year, result=done, rows=[], no_junior_school=[])
    counts = (Student.objects.filter(status__in=ON_ROLL).order_by()
              .annotate(move=_move_case(year))
              .values("school_id", "grade", "status", "move").annotate(n=Count("pk")))
    schools = {s["id"]: s for s in School.objects.order_by().values(
        "id", "name", "kind", "township__name", "township__code", "code", "junior_school__name",
        "oversight")}
    direct = gettext("县直学校")
    rows: dict[tuple[int, int], PreviewRow] = {}
    total = RolloverResult(year=year)
    for c in counts:
        school = schools[c["school_id"]]
        row = rows.get((c["school_id"], c["grade"]))
        if row is None:
            row = rows[(c["school_id"], c["grade"])] = PreviewRow(
                township=direct if school["oversight"] == OVERSIGHT_COUNTY else school["township__name"],
                school_id=c["school_id"], school=school["name"],
                kind=school["kind"], grade=c["grade"],
                junior_school=school["junior_school__name"] or "")
        n = c["n"]
        if c["move"] == "held_back":
            row.held[c["status"]] = row.held.get(c["status"], 0) + n
        else:
            setattr(row, c["move"], getattr(row, c["move"]) + n)
        setattr(total, c["move"], getattr(total, c["move"]) + n)
        total.students += n
    # townships in code order, the county-direct schools last
    order = {sid: (s["oversight"] == OVERSIGHT_COUNTY, s["township__code"], s["code"])
             for sid, s in schools.items()}
    ordered = sorted(rows.values(), key=lambda r: (order[r.school_id], r.grade))
    missing = sorted({r.school for r in ordered if r.graduated_primary and not r.junior_school})
    return RolloverPreview(year=year, result=total, rows=ordered, no_junior_school=missing,
                           refusal=refusal_reason(year, today=today))


# ----------------------------------------------------------------------------- apply


def _const(value, output_field: models.Field):
    """A typed constant: PostgreSQL must know a literal's type inside INSERT … SELECT."""
    return Cast(Value(value, output_field=output_field), output_field)


def _reason(prefix: str, grades: dict[int, str]) -> Case:
    return Case(*(When(grade=g, then=Value(f"{prefix}{text}")) for g, text in grades.items()),
                default=Value(prefix), output_field=models.CharField())


_COLUMNS = ("student_id", "kind", "effective_date", "end_date", "from_status", "to_status",
            "from_school_id", "to_school_id", "to_school_name", "to_county", "from_grade",
            "to_grade", "reason", "approved_by", "source", "created_by_id", "created_at")


def _insert_changes(qs: models.QuerySet, **columns) -> int:
    """INSERT INTO statuschange … SELECT the annotated `qs` (one statement)."""
    qs = qs.order_by().annotate(**{f"x_{k}": v for k, v in columns.items()})
    sql, params = qs.values(*[f"x_{c}" for c in _COLUMNS]).query.sql_with_params()
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in _COLUMNS)
    picks = ", ".join(f"x_{c}" for c in _COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {qn(StatusChange._meta.db_table)} ({cols}) "
                       f"SELECT {picks} FROM ({sql}) q", params)
        return cursor.rowcount


@transaction.atomic
def rollover_apply(*, year: int, user=None, today: dt.date | None = None) -> RolloverResult:
    """Close school year `year` (see the module notes). Returns the counts; a year already
    closed returns its recorded counts with `already_done` and changes nothing.

    Locks the year's SchoolYear row first: two rollovers of one year serialise, and the second
    finds the year closed.
    """
    today = today or local_today()
    SchoolYear.objects.get_or_create(year=year)
    record = SchoolYear.objects.select_for_update().get(year=year)
    if record.closed_at is not None:
        done = RolloverResult(**{**record.close_result, "year": year})
        done.already_done = True
        return done
    reason = refusal_reason(year, today=today)
    if reason:
        raise RolloverRefused(reason)
    preview = rollover_preview(year, today=today)
    now = timezone.now()
    user_id = getattr(user, "pk", None)
    rules = move_rules(year)
    label = f"{year}–{year + 1}学年结转："  # stored data: Chinese whatever the UI language
    # Who ran it is on the year (closed_by) and in the audit event, not on each of the 200,000
    # rows: every foreign key a row fills is checked, row by row, when the transaction commits.
    common = {
        "end_date": _const(None, models.DateField()), "from_status": F("status"),
        "to_school_name": _const("", models.CharField()),
        "to_county": _const("", models.CharField()), "from_grade": F("grade"),
        "approved_by": _const("", models.CharField()), "source": _const(SOURCE, models.CharField()),
        "created_by_id": _const(None, models.BigIntegerField()),
        "created_at": _const(now, models.DateTimeField()),
    }
    promoted = _insert_changes(
        Student.objects.filter(status__in=ON_ROLL).filter(rules["promoted"]),
        student_id=F("pk"), kind=_const(Kind.PROMOTE.value, models.CharField()),
        effective_date=_const(promotion_day(year), models.DateField()), to_status=F("status"),
        # the child stays at the school: neither school is named (see `common`)
        from_school_id=_const(None, models.BigIntegerField()),
        to_school_id=_const(None, models.BigIntegerField()), to_grade=F("grade") + 1,
        reason=_reason(label, {g: f"{GRADE_NAMES[g]}升入{GRADE_NAMES[g + 1]}" for g in range(1, 9)}),
        **common)
    primary = _insert_changes(
        Student.objects.filter(status__in=ON_ROLL).filter(rules["graduated_primary"]),
        student_id=F("pk"), kind=_const(Kind.GRADUATE.value, models.CharField()),
        effective_date=_const(graduation_day(year), models.DateField()),
        to_status=_const(Status.GRADUATED.value, models.CharField()), from_school_id=F("school_id"),
        to_school_id=F("school__junior_school_id"), to_grade=F("grade"),
        reason=_const(f"{label}小学毕业", models.CharField()), **common)
    junior = _insert_changes(
        Student.objects.filter(status__in=ON_ROLL).filter(rules["graduated_junior"]),
        student_id=F("pk"), kind=_const(Kind.GRADUATE.value, models.CharField()),
        effective_date=_const(graduation_day(year), models.DateField()),
        to_status=_const(Status.GRADUATED.value, models.CharField()), from_school_id=F("school_id"),
        to_school_id=_const(None, models.BigIntegerField()), to_grade=F("grade"),
        reason=_const(f"{label}初中毕业（完成义务教育）", models.CharField()), **common)
    rows = run_rows(year)
    _students_follow(rows, side="to", now=now)
    history_insert_for(Student, pks=rows.values("student_id"), user=None, reason="学年结转",
                       history_type="~", when=now)
    result = preview.result
    result.promoted, result.graduated_primary, result.graduated_junior = promoted, primary, junior
    result.students = promoted + primary + junior + result.repeated + result.held_back
    result.already_done = False
    record.closed_at, record.closed_by_id = now, user_id
    record.close_result = result.as_json()
    record.save(update_fields=["closed_at", "closed_by", "close_result", "updated_at"])
    audit_record(action="rollover", user=user, obj=record, detail=result.as_json())
    return result


# ----------------------------------------------------------------------------- revert


def touched_after(year: int) -> models.QuerySet:
    """Children the rollover of `year` moved who have changed since: a later status-history
    row (a higher id than the run's rows: ids are handed out in insertion order, clocks may
    disagree: every move to another school writes one), or a grade or status other than the
    one the rollover left."""
    rows = run_rows(year)
    last = rows.aggregate(last=models.Max("pk"))["last"] or 0
    later = StatusChange.objects.filter(student_id=models.OuterRef("student_id"), pk__gt=last)
    moved_off = ~Q(student__grade=F("to_grade")) | ~Q(student__status=F("to_status"))
    return rows.filter(Q(models.Exists(later)) | moved_off)


def _students_follow(rows: models.QuerySet, *, side: str, now) -> int:
    """Set each child's grade and status to what its rollover row says: the row's `to_*`
    values (the rollover) or its `from_*` values (the revert). One UPDATE … FROM for all the
    rows (PostgreSQL and SQLite ≥ 3.33 alike): the row itself says what the child becomes."""
    sub, params = (rows.order_by().values("student_id", "from_grade", "to_grade", "from_status",
                                          "to_status").query.sql_with_params())
    qn = connection.ops.quote_name
    table = qn(Student._meta.db_table)
    stamp = models.DateTimeField().get_db_prep_save(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET grade = r.{side}_grade, status = r.{side}_status, "
            f"version = {table}.version + 1, updated_at = %s "
            f"FROM ({sub}) r WHERE r.student_id = {table}.id", [stamp, *params])
        return cursor.rowcount


def _delete(rows: models.QuerySet) -> None:
    """DELETE the rows in one statement. QuerySet.delete() would load every row to send the
    post_delete signals the dashboards' cache listens to (the year's save bumps it instead)."""
    sub, params = rows.order_by().values("pk").query.sql_with_params()
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {qn(StatusChange._meta.db_table)} WHERE {qn('id')} IN "
                       f"(SELECT * FROM ({sub}) q)", params)


def _named(changes: models.QuerySet) -> tuple[list[str], int]:
    """The first children of `changes` by name (masked IDs), and how many there are: counted
    only when there is any (the usual answer, none, costs one query)."""
    picked = changes.select_related("student").order_by("student__school_id", "student__name")
    first = list(picked[:NAMED_MAX + 1])
    total = len(first) if len(first) <= NAMED_MAX else picked.count()
    names = [f"{c.student.name}（{mask_id(c.student.id_number)}）" for c in first[:NAMED_MAX]]
    return names, total


@transaction.atomic
def rollover_revert(*, year: int, user=None, dry_run: bool = False) -> RolloverResult:
    """Undo the rollover of `year`: every child it moved goes back to the grade and status it
    had, its rows are removed, the year is open again. Refuses (RolloverRefused, naming the
    children) if any of them changed after the run. `dry_run`: check and count, write nothing."""
    SchoolYear.objects.get_or_create(year=year)
    record = SchoolYear.objects.select_for_update().get(year=year)
    reason = refusal_reason(year, today=local_today(), revert=True)
    if reason:
        raise RolloverRefused(reason)
    names, total = _named(touched_after(year))
    if total:
        message = (gettext("结转后等%(total)d名学生的学籍已有新变动，不能撤销：%(names)s") if total > len(names)
                   else gettext("结转后%(total)d名学生的学籍已有新变动，不能撤销：%(names)s"))
        raise RolloverRefused(message % {"total": total, "names": "、".join(names)}, children=names)
    rows = run_rows(year)
    now = timezone.now()
    counts = defaultdict(int)
    for kind, from_grade, n in (rows.order_by().values_list("kind", "from_grade")
                                .annotate(n=Count("pk"))):
        key = ("promoted" if kind == Kind.PROMOTE else
               "graduated_junior" if from_grade == 9 else "graduated_primary")
        counts[key] += n
    result = RolloverResult(year=year, promoted=counts["promoted"],
                            graduated_primary=counts["graduated_primary"],
                            graduated_junior=counts["graduated_junior"])
    result.students = result.promoted + result.graduated_primary + result.graduated_junior
    if dry_run:
        return result
    _students_follow(rows, side="from", now=now)
    history_insert_for(Student, pks=rows.values("student_id"), user=None, reason="学年结转撤销",
                       history_type="~", when=now)
    _delete(rows)
    record.closed_at, record.closed_by, record.close_result = None, None, {}
    record.save(update_fields=["closed_at", "closed_by", "close_result", "updated_at"])
    audit_record(action="rollover_revert", user=user, obj=record, detail=result.as_json())
    return result
