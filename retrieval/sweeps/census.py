"""适龄儿童摸排 (Jul–Aug) and 两一 entry gaps.

Rule (issue 5): year Y = the as-of date's year; school age = aged 6–15 on 31 August of Y, i.e.
born 1 Sep (Y−16) … 31 Aug (Y−6) (`kongchuo.calendar.schoolyear.school_age_birth_range`). Alert every
child on year Y's census (CensusEntry) whose 身份证件号 is not a student of the county with status
— on the as-of date — 在读, 休学, 送教上门 or 延缓入学, not 外县就读 or 中职就读, and not dead or
abroad. Two readings of ours, stated here so they can be argued with: a child with an approved
延缓入学 (Deferral) still in force is not alerted either (the deferral ledger holds children who
are no students yet), and a *graduated* student is not a census alert (a grade-9 graduate has
completed compulsory education; a primary graduate is the 两一 rule's business, below).

两一 entry gaps (rule ``entry``): (a) census children of primary entry age (aged 6 on 31 August:
born 1 Sep (Y−7) … 31 Aug (Y−6)) who are not such a student, i.e. not enrolled in grade 1 by
31 August; routed to the township of the 户籍 (school empty, township set, level township).
(b) from the day the autumn term of Y opens (`kongchuo.calendar.schoolyear.term_opens`; the sweep runs in
September too): primary graduates of school age — a 毕业 in grade 6, the year-end rollover's
小学毕业 — found in no grade 7, i.e. still 毕业 on the as-of date (a junior school's roster moves
a child it enrols to 在读), or 外县就读 without evidence (no 外县就读 record with its 在读证明, no
acceptance letter attached to the transfer). Routed to the expected junior school (the 毕业
row's 对口初中, else the primary school's; level school, then its township), or, with none
known, to the township of the 户籍 (else the school's). Both periods = Y.

帮扶对象未入学 (rule ``support_unenrolled``, issue 16; the plan's 保障脱贫家庭子女全部入学): a child on
any support list (students.SupportMark: 建档立卡/脱贫, 监测, 低保, 特困, 残疾, 家庭经济困难, 孤儿,
事实无人抚养), of school age in Y by the birth date in the ID, accounted for nowhere by the census
rule's own test (`not_accounted_for`). One alert per child (whatever the number of lists), period
Y, routed to the list's 户籍乡镇, else the child's census township of Y, else the county.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.db.models import BigIntegerField, Case, CharField, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce, JSONObject, Substr
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import Term, school_age_birth_range, term_opens
from ledgers.models import Attachment, Deferral, OutOfCountyRecord
from retrieval.models import Alert, Level
from retrieval.sweeps.base import (
    Context,
    Finding,
    Partition,
    Rows,
    Sweep,
    annotate_alert,
    due,
    status_was,
    text,
)
from students.models import CensusEntry, School, StatusChange, Student, SupportMark

DUE_DAYS = 15

#: A census child who is a student with one of these statuses on the as-of date is accounted for.
ACCOUNTED = (
    Student.Status.ENROLLED, Student.Status.SUSPENDED, Student.Status.HOME_TEACHING,
    Student.Status.DEFERRED, Student.Status.OUT_OF_COUNTY, Student.Status.VOCATIONAL,
    Student.Status.DECEASED, Student.Status.ABROAD, Student.Status.GRADUATED,
    # Between two schools of the county: the 转出未接收 rule watches it, not the census.
    Student.Status.TRANSFERRING,
)


def year_of(ctx: Context) -> int:
    return ctx.as_of.year


def entry_age_range(year: int) -> tuple[dt.date, dt.date]:
    """Born 1 Sep (Y−7) … 31 Aug (Y−6): aged 6 on 31 August of `year`."""
    return dt.date(year - 7, 9, 1), dt.date(year - 6, 8, 31)


def not_accounted_for(qs, as_of: dt.date):
    """Rows of `qs` (any model with an `id_number`) whose child is found nowhere they should
    be on `as_of`: no student of the county with an ACCOUNTED status on that day, no approved
    延缓入学 in force. The one rule of the census and of the support lists."""
    accounted = status_was(Student.objects.filter(id_number=OuterRef("id_number")), as_of,
                           ACCOUNTED)
    deferred = Deferral.objects.filter(id_number=OuterRef("id_number"),
                                       review=Deferral.Review.APPROVED,
                                       start_date__lte=as_of, end_date__gte=as_of)
    return qs.filter(~Exists(accounted)).filter(~Exists(deferred))


def unaccounted(ctx: Context, partition: Partition | None, born: tuple[dt.date, dt.date]):
    """Census rows of the year, born in `born`, of children found nowhere they should be."""
    year = year_of(ctx)
    qs = CensusEntry.objects.filter(year=year, birth_date__range=born)
    if partition is not None:
        if partition.is_direct:
            return qs.none()
        qs = qs.filter(township_id=partition.township_id)
    return not_accounted_for(qs, ctx.as_of)


def support_route(year: int):
    """The township a support-list child is looked for in: the list's 户籍乡镇, else the
    child's census row of `year`; none (the county) when neither is known. (The census of the
    year: its (year, id_number) index answers each child with one probe.)"""
    census = CensusEntry.objects.filter(year=year, id_number=OuterRef("id_number")).values("township_id")[:1]
    return Coalesce(F("township_id"), Subquery(census), output_field=BigIntegerField())


def support_unaccounted(as_of: dt.date, *, township_id: int | None = None, direct: bool = False,
                        marks=None):
    """Children on a support list (one row per child: their first list row) of school age in
    the year of `as_of`, found in no school (not_accounted_for), annotated `route` (their
    township id, or None). `township_id` / `direct` narrow to one township / to the county's;
    `marks` is the list rows to start from (a user's `visible_to`; all of them by default)."""
    lo, hi = school_age_birth_range(as_of.year)
    first = SupportMark.objects.filter(id_number=OuterRef("id_number"), pk__lt=OuterRef("pk"))
    base = SupportMark.objects.all() if marks is None else marks
    qs = (base.filter(~Exists(first))
          .annotate(born=Substr("id_number", 7, 8))
          .filter(born__gte=f"{lo:%Y%m%d}", born__lte=f"{hi:%Y%m%d}")
          .annotate(route=support_route(as_of.year)))
    if township_id is not None:
        qs = qs.filter(route=township_id)
    elif direct:
        qs = qs.filter(route__isnull=True)
    return not_accounted_for(qs, as_of)


def _census_rows(ctx: Context, qs, kind: str) -> Rows:
    student = Student.objects.filter(id_number=OuterRef("id_number"))
    return Rows(query=annotate_alert(
        qs,
        period=text(ctx.period),
        subject=F("id_number"),
        student_id=Subquery(student.values("pk")[:1], output_field=BigIntegerField()),
        name=F("name"),
        school_id=Cast(None, BigIntegerField()),
        township_id=F("township_id"),
        level=text(Level.TOWNSHIP),
        detail=JSONObject(
            kind=text(kind), year=text(ctx.period),
            birth_date=Cast("birth_date", CharField()),
            student_status=Subquery(student.values("status")[:1], output_field=CharField()),
        ),
        due_date=due(ctx, DUE_DAYS),
    ))


def build_census(ctx: Context, partition: Partition) -> list[Rows]:
    qs = unaccounted(ctx, partition, school_age_birth_range(year_of(ctx)))
    return [_census_rows(ctx, qs, "census")]


def build_entry(ctx: Context, partition: Partition) -> list[Rows]:
    year = year_of(ctx)
    grade1 = _census_rows(ctx, unaccounted(ctx, partition, entry_age_range(year)), "grade1")
    if ctx.as_of < term_opens(Term(year, "autumn")):
        return [grade1]  # a primary graduate is on holiday until the autumn term opens
    return [grade1, _grade7_rows(ctx, partition)]


def _out_of_county_evidence():
    """A 外县就读 record with its 在读证明, or a file attached to the child's 外县就读 / 转出 row."""
    letters = Attachment.objects.filter(
        content_type=ContentType.objects.get_for_model(StatusChange),
        object_id__in=StatusChange.objects.filter(
            student_id=OuterRef(OuterRef("pk")),
            kind__in=(StatusChange.Kind.OUT_OF_COUNTY, StatusChange.Kind.TRANSFER_OUT),
        ).values("pk"))
    record = OutOfCountyRecord.objects.filter(student_id=OuterRef("pk")).exclude(proof="")
    return Exists(record) | Exists(letters)


def _grade7_rows(ctx: Context, partition: Partition) -> Rows:
    lo, hi = school_age_birth_range(year_of(ctx))
    # Cheap filters first: only a child with a 毕业 on file, or 毕业 now, can have been 毕业 on
    # the as-of date; the dated-status subqueries then run for those few.
    graduations = StatusChange.objects.filter(kind=StatusChange.Kind.GRADUATE)
    graduated_ever = Q(status=Student.Status.GRADUATED) | Q(pk__in=graduations.values("student_id"))
    last = graduations.filter(student_id=OuterRef("pk")).order_by("-effective_date", "-pk")
    expected = Coalesce(Subquery(last.values("to_school_id")[:1]), F("school__junior_school_id"),
                        output_field=BigIntegerField())
    graduates = (Student.objects.filter(grade=6, birth_date__range=(lo, hi)).filter(graduated_ever)
                 .annotate(expected=expected,
                           route=Coalesce(F("hukou_township_id"), F("school__township_id"))))
    # Routed to the expected junior school when there is one (that school's partition), else
    # to a township (a township's partition; the county partition has none of those).
    where = Q(expected__isnull=False, expected__in=partition.school_ids)
    if not partition.is_direct:
        where |= Q(expected__isnull=True, route=partition.township_id)
    graduates = graduates.filter(where)
    missing = status_was(graduates, ctx.as_of, Student.Status.GRADUATED)
    unproven = (status_was(graduates, ctx.as_of, Student.Status.OUT_OF_COUNTY)
                .filter(~_out_of_county_evidence()))
    candidates = graduates.filter(Q(pk__in=missing.values("pk")) | Q(pk__in=unproven.values("pk")))
    junior = School.objects.filter(pk=OuterRef("expected"))
    return Rows(query=annotate_alert(
        candidates,
        period=text(ctx.period),
        subject=F("id_number"),
        student_id=F("pk"),
        name=F("name"),
        school_id=F("expected"),
        township_id=Coalesce(Subquery(junior.values("township_id")[:1]), F("route"),
                             output_field=BigIntegerField()),
        level=Case(When(expected__isnull=True, then=Value(Level.TOWNSHIP)),
                   default=Value(Level.SCHOOL), output_field=CharField()),
        detail=JSONObject(kind=text("grade7"), year=text(ctx.period),
                          birth_date=Cast("birth_date", CharField()),
                          student_status=F("status"),
                          expected_school=Subquery(junior.values("name")[:1],
                                                   output_field=CharField())),
        due_date=due(ctx, DUE_DAYS),
    ))


def build_support(ctx: Context, partition: Partition) -> list[Rows]:
    """帮扶对象未入学: support-list children of school age found in no school (the plan:
    保障脱贫家庭子女全部入学). Routed like the census rule: the township of the 户籍."""
    if partition.is_direct:
        qs = support_unaccounted(ctx.as_of, direct=True)
    else:
        qs = support_unaccounted(ctx.as_of, township_id=partition.township_id)
    student = Student.objects.filter(id_number=OuterRef("id_number"))
    level = Case(When(route__isnull=True, then=text(Level.COUNTY)), default=text(Level.TOWNSHIP),
                 output_field=CharField())
    return [Rows(query=annotate_alert(
        qs,
        period=text(ctx.period),
        subject=F("id_number"),
        student_id=Subquery(student.values("pk")[:1], output_field=BigIntegerField()),
        name=F("name"),
        school_id=Cast(None, BigIntegerField()),
        township_id=F("route"),
        level=level,
        detail=JSONObject(kind=text("support"), year=text(ctx.period), list=F("kind"),
                          student_status=Subquery(student.values("status")[:1], output_field=CharField())),
        due_date=due(ctx, DUE_DAYS),
    ))]


SWEEP = Sweep(
    name="census",
    label=_("适龄儿童摸排"),
    window=_("7–9月，每周（9月起含小学毕业生未升入七年级）"),
    period=lambda as_of: str(as_of.year),
    findings=(Finding(Alert.Rule.CENSUS, build_census), Finding(Alert.Rule.ENTRY, build_entry),
              Finding(Alert.Rule.SUPPORT_UNENROLLED, build_support)),
)


