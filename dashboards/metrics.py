"""Every figure of the dashboards, defined once: a source (the scoped queryset of the rows it
counts) and a condition on those rows.

The home pages count all figures of a source in one grouped query
(`Count("pk", filter=condition)` per figure), and the drill-down list of a figure is
`source.rows(user, params).filter(condition)` — the same queryset, the same condition — so
the list has exactly as many rows as the number that links to it.

Membership tests, and why they look the way they do at county scale (200,000 children):
* "is in a set" is `pk__in=<subquery>`: a semi-join in a list's WHERE, a hashed subplan (built
  once per query) in the grouped count. Those sets stay small enough to hash (aid records of a
  term, this year's leavers, 送教 children), and are DISTINCT to keep them so.
* "is not in a set" is `~Exists(<correlated subquery>)`, never `~Q(pk__in=…)`: NOT IN cannot
  become an anti-join, and once its set outgrows work_mem (a term's 返校报到, the county's
  学籍 for the census) PostgreSQL rescans it for every row. In a list it is a hash anti-join;
  in a grouped count it is an index probe, and only for rows past the cheap tests before it.
* Where a grouped count would probe too many rows, the figure is derived instead
  (`Metric.derived`: 未资助 = 困难家庭学生 − 已资助), while its list keeps the direct condition.

The cheap, selective test comes first in each condition (`Q(status=…) &
Q(pk__in=…)`, never `Q(status=…, pk__in=…)`, whose keywords Django sorts): the database stops
at the first false term, so the set lookup runs for the few rows that pass the status test.

The one exception is the census (户籍 vs 学籍), which has no foreign key to students: its
aggregate is one SQL statement joining on the ID number (`census_counts`), its lists are ORM
filters with (NOT) EXISTS on the ID number; tests hold the two to the same hand-counted county.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboards.models import CohortIntake
from dashboards.params import Params
from kongchuo.access.scoping import OVERSIGHT_COUNTY
from kongchuo.calendar.schoolyear import school_age_birth_range
from ledgers.models import AidRecord, Deferral, HomeTeachingVisit, ReturnReport
from ledgers.selectors import AID_ELIGIBLE, EXPIRY_WARNING_DAYS, MIN_VISITS_PER_MONTH, POOR
from retrieval.cases.selectors import ATTEMPT_INTERVAL_DAYS
from retrieval.models import Alert, Escalation, FeedbackItem, PersuasionAttempt, RetrievalCase
from students.models import CensusEntry, School, StatusChange, Student

Status = Student.Status
Kind = StatusChange.Kind

# 转学中: between two schools of the county, on the sending school's roll until confirmed.
IN_SCHOOL_NOW = (Status.ENROLLED, Status.HOME_TEACHING, Status.TRANSFERRING)  # at a county school today (在校)
ROLL = (Status.ENROLLED, Status.SUSPENDED, Status.HOME_TEACHING, Status.SUSPECTED, Status.TRANSFERRING)  # on the roll today
LEFT = (Status.TRANSFERRED, Status.OUT_OF_COUNTY, Status.VOCATIONAL, Status.GRADUATED, Status.DECEASED, Status.ABROAD,
        Status.DROPPED_OUT)
LEAVE_KINDS = (Kind.TRANSFER_OUT, Kind.OUT_OF_COUNTY, Kind.VOCATIONAL, Kind.GRADUATE, Kind.DEATH, Kind.ABROAD,
               Kind.DROPOUT)
# Census reconciliation: what a child on the 户籍 list with a 学籍 here is doing.
CENSUS_LOCAL = (Status.ENROLLED, Status.SUSPENDED, Status.HOME_TEACHING, Status.GRADUATED)
CENSUS_OUT_OF_COUNTY = (Status.OUT_OF_COUNTY,)
CENSUS_VOCATIONAL = (Status.VOCATIONAL,)


def day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# --------------------------------------------------------------------------- sources


def _path(qs: QuerySet, field: str) -> str:
    return f"{qs.school_path}__{field}" if qs.school_path else field


def narrow(qs: QuerySet, p: Params) -> QuerySet:
    """Apply the township / county-direct / kind / school filters through the queryset's own
    scoping methods (`in_township`, `in_school`), so 'township X' means here what it means in
    `visible_to`."""
    if p.noschool:
        if not qs.school_path:
            return qs.none()
        qs = qs.filter(**{f"{qs.school_path}__isnull": True})
    if p.school:
        qs = qs.in_school(p.school)
    if p.direct:
        qs = qs.filter(**{_path(qs, "oversight"): OVERSIGHT_COUNTY})
    elif p.township:
        qs = qs.in_township(p.township)
    if p.kind:
        qs = qs.filter(**{_path(qs, "kind"): p.kind})
    return qs


@dataclass(frozen=True)
class Source:
    key: str
    model: type
    group: tuple[str, ...]  # fields the home pages group by (school_id, township_id)
    rows: Callable[[object, Params], QuerySet]  # scoped + filtered rows


def _students(user, p: Params) -> QuerySet:
    return narrow(Student.objects.visible_to(user), p)


def _alerts(user, p: Params) -> QuerySet:
    return narrow(Alert.objects.visible_to(user), p)


def _cases(user, p: Params) -> QuerySet:
    return narrow(RetrievalCase.objects.visible_to(user), p)


def _deferrals(user, p: Params) -> QuerySet:
    return narrow(Deferral.objects.visible_to(user), p)


def _feedback(user, p: Params) -> QuerySet:
    return narrow(FeedbackItem.objects.visible_to(user), p)


def _intake(user, p: Params) -> QuerySet:
    return narrow(CohortIntake.objects.visible_to(user), p).filter(year=p.cohort_year)


def _census(user, p: Params) -> QuerySet:
    """School-age children (6–15) on the year's 户籍 list. The census is kept per township, not
    per school: a school or county-direct filter leaves no census rows, a kind filter none."""
    qs = CensusEntry.objects.visible_to(user)
    if p.school or p.direct or p.noschool:
        return qs.none()
    if p.township:
        qs = qs.filter(township_id=p.township)
    born_from, born_to = school_age_birth_range(p.census_year)
    return qs.filter(year=p.census_year, birth_date__range=(born_from, born_to))


def _schools(user, p: Params) -> QuerySet:
    return narrow(School.objects.visible_to(user), p)


SOURCES = {s.key: s for s in (
    Source("students", Student, ("school_id",), _students),
    Source("alerts", Alert, ("school_id", "township_id"), _alerts),
    Source("cases", RetrievalCase, ("school_id", "township_id"), _cases),
    Source("deferrals", Deferral, ("school_id",), _deferrals),
    Source("feedback", FeedbackItem, ("school_id", "township_id"), _feedback),
    Source("intake", CohortIntake, ("school_id",), _intake),
    Source("census", CensusEntry, ("township_id",), _census),
    Source("schools", School, ("id",), _schools),
)}


# --------------------------------------------------------------------------- id sets


def _ids(qs: QuerySet, field: str = "student_id") -> QuerySet:
    return qs.values(field).distinct()


def _absent(qs: QuerySet, field: str = "student_id", outer: str = "pk") -> Q:
    """NOT EXISTS a row of `qs` whose `field` is this row's `outer` (see the module notes)."""
    return ~Q(Exists(qs.filter(**{field: OuterRef(outer)})))


def _present(qs: QuerySet, field: str, outer: str) -> Q:
    return Q(Exists(qs.filter(**{field: OuterRef(outer)})))


def _changes_in_year(p: Params, **filters) -> QuerySet:
    return _ids(StatusChange.objects.filter(effective_date__range=(p.year_start, p.year_end),
                                            **filters))


def _visits_ok(first: dt.date, last: dt.date) -> QuerySet:
    """Children with at least MIN_VISITS_PER_MONTH 送教 visits between first and last."""
    return (HomeTeachingVisit.objects.filter(visit_date__range=(first, last))
            .values("plan__student_id").annotate(n=Count("pk")).filter(n__gte=MIN_VISITS_PER_MONTH)
            .values("plan__student_id"))


def _cohort_window(p: Params) -> Q:
    """Status changes of the cohort that entered grade 1 in autumn Y-8: a child who left in
    school year Z was then in grade Z-(Y-8)+1 (the grade is frozen when a child leaves)."""
    return reduce(operator.or_, (
        Q(effective_date__range=(dt.date(z, 9, 1), dt.date(z + 1, 8, 31)),
          student__grade=z - p.cohort_year + 1)
        for z in range(p.cohort_year, p.year + 1)))


def graduating(p: Params) -> Q:
    """Grade-9 students of school year Y who graduated (a 毕业 change dated in Y) or, in the
    running school year, are still at school to graduate."""
    q = Q(status=Status.GRADUATED) & Q(pk__in=_changes_in_year(p, kind=Kind.GRADUATE))
    if p.is_current_year:
        q |= Q(status__in=IN_SCHOOL_NOW)
    return Q(grade=9) & q


def _leavers(p: Params, kinds: Q, statuses: tuple) -> Q:
    changes = StatusChange.objects.filter(kinds).filter(_cohort_window(p))
    return Q(status__in=statuses) & Q(pk__in=_ids(changes))


def _roll_start(p: Params) -> Q:
    """On the roll when school year Y began: on it today, or left during Y."""
    left_in_year = _changes_in_year(p, kind__in=LEAVE_KINDS)
    return Q(status__in=ROLL) | (Q(status__in=LEFT) & Q(pk__in=left_in_year))


def _returns_missing(p: Params) -> Q:
    """返校报到 not ticked: 在读 children with no report this term, no leave on file for the
    term, who were not newly enrolled or transferred in after the term began."""
    term = p.current_term
    leave = (StatusChange.objects.filter(kind=Kind.LEAVE, effective_date__lte=term.end)
             .filter(Q(end_date__isnull=True) | Q(end_date__gte=term.start)))
    joined = StatusChange.objects.filter(kind__in=(Kind.ENROLL, Kind.TRANSFER_IN),
                                         effective_date__gt=term.start)
    return (Q(status=Status.ENROLLED) & _absent(ReturnReport.objects.filter(term=term.code))
            & _absent(leave) & _absent(joined))


def _aid_ids(p: Params) -> QuerySet:
    return _ids(AidRecord.objects.filter(term=p.aid_term.code))


def _suspensions_expiring(p: Params) -> QuerySet:
    until = p.as_of + dt.timedelta(days=EXPIRY_WARNING_DAYS)
    return _ids(StatusChange.objects.filter(kind=Kind.SUSPEND, end_date__range=(p.as_of, until)))


# --------------------------------------------------------------------------- alert / case sets


def _raised_in(p: Params) -> Q:
    return Q(raised_at__gte=day_start(p.period_start),
             raised_at__lt=day_start(p.period_end + dt.timedelta(days=1)))


def _by_period_end(field: str, p: Params) -> Q:
    return Q(**{f"{field}__lt": day_start(p.period_end + dt.timedelta(days=1))})


def _closed_in(p: Params) -> Q:
    return Q(closed_at__gte=day_start(p.period_start),
             closed_at__lt=day_start(p.period_end + dt.timedelta(days=1)))


def _opened_in(p: Params) -> Q:
    return Q(opened_at__gte=day_start(p.period_start),
             opened_at__lt=day_start(p.period_end + dt.timedelta(days=1)))


def _alerts_all(p: Params) -> Q:
    """Alerts of every rule raised in the period, narrowed by the rule table's cell."""
    q = _raised_in(p)
    if p.rule:
        q &= Q(rule=p.rule)
    if p.status:
        q &= Q(status=p.status)
    return q


def _dropout_rules() -> Q:
    """Suspected dropouts only: work reminders (资助未覆盖, 送教不足, expiries, overdue) are
    not counted as 疑似辍学 anywhere (retrieval.inbox)."""
    return Q(rule__in=sorted(Alert.SUSPECTED_RULES))


def _attempt_due(p: Params) -> Q:
    """Open (not escalated) cases with no persuasion attempt in the last 7 days — the same
    rule as `retrieval.cases.selectors.cases_needing_attempt`."""
    cutoff = p.as_of - dt.timedelta(days=ATTEMPT_INTERVAL_DAYS)
    recent = _ids(PersuasionAttempt.objects.filter(attempted_on__gt=cutoff), "case_id")
    any_attempt = _ids(PersuasionAttempt.objects.all(), "case_id")
    return (Q(status=RetrievalCase.Status.OPEN) & ~Q(pk__in=recent)
            & (Q(pk__in=any_attempt) | Q(opened_at__lt=day_start(cutoff + dt.timedelta(days=1)))))


# --------------------------------------------------------------------------- census


def _deferred_sets(p: Params) -> tuple[QuerySet, QuerySet]:
    """Deferred (延缓入学): a student record so marked or an approved deferral covering the day."""
    day = p.as_of
    return (Student.objects.filter(status=Status.DEFERRED),
            Deferral.objects.filter(review=Deferral.Review.APPROVED, start_date__lte=day,
                                    end_date__gte=day))


def _census_deferred(p: Params) -> Q:
    """Both sets are small (a few hundred a county), so IN on them hashes."""
    by_status, by_ledger = _deferred_sets(p)
    return (Q(id_number__in=by_status.values("id_number"))
            | Q(id_number__in=by_ledger.values("id_number").distinct()))


def _census_not_deferred(p: Params) -> Q:
    """The complement as two NOT EXISTS, not NOT (… IN … OR … IN …): the planner takes each
    NOT IN to keep half the rows and, thinking 200,000 census rows are 50,000, joins them to
    students by a hash of the whole roll; anti-joins it estimates right (a merge in ID order)."""
    by_status, by_ledger = _deferred_sets(p)
    return (_absent(by_status, "id_number", "id_number")
            & _absent(by_ledger, "id_number", "id_number"))


def _census_status(p: Params, statuses: tuple) -> Q:
    return _census_not_deferred(p) & _present(Student.objects.filter(status__in=statuses),
                                               "id_number", "id_number")


def _census_unaccounted(p: Params) -> Q:
    placed = CENSUS_LOCAL + CENSUS_OUT_OF_COUNTY + CENSUS_VOCATIONAL
    return _census_not_deferred(p) & _absent(Student.objects.filter(status__in=placed),
                                             "id_number", "id_number")


def census_counts(user, p: Params) -> dict[int, dict[str, int]]:
    """Per 户籍 township: total, deferred, local, out_of_county, vocational, unaccounted —
    one statement joining the census to students on the ID number (no FK links them).

    The database only counts children per (township, 学籍 status, deferral on file); which
    status is 'local' or 'deferred' is decided here, on those few dozen rows, instead of in
    five CASE expressions per child. With the covering indexes on (year, id_number, …) and
    id_number (the unique one, carrying status) PostgreSQL joins the two lists as a merge of
    two index-only scans, already in ID-number order: no hash table of 200,000 ID numbers, no
    spill to disk.
    """
    base = _census(user, p).values("township_id", "id_number").order_by()
    try:
        census_sql, census_params = base.query.sql_with_params()
    except EmptyResultSet:
        return {}
    student_table = Student._meta.db_table
    deferral_table = Deferral._meta.db_table
    sql = f"""
        SELECT c.township_id, s.status, d.id_number IS NOT NULL, COUNT(*)
        FROM ({census_sql}) c
        LEFT JOIN {student_table} s ON s.id_number = c.id_number
        LEFT JOIN (SELECT DISTINCT id_number FROM {deferral_table}
                   WHERE review = %s AND start_date <= %s AND end_date >= %s) d
               ON d.id_number = c.id_number
        GROUP BY c.township_id, s.status, d.id_number IS NOT NULL
    """  # noqa: S608 - table names come from model meta, values are parameters
    params = [*census_params, str(Deferral.Review.APPROVED), p.as_of, p.as_of]
    keys = ("census_total", "census_deferred", "census_local", "census_out_of_county",
            "census_vocational")
    out: dict[int, dict[str, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for tid, status, on_ledger, n in cursor.fetchall():
            counts = out.setdefault(tid, dict.fromkeys(keys, 0))
            counts["census_total"] += n
            if on_ledger or status == Status.DEFERRED:
                counts["census_deferred"] += n
            elif status in CENSUS_LOCAL:
                counts["census_local"] += n
            elif status in CENSUS_OUT_OF_COUNTY:
                counts["census_out_of_county"] += n
            elif status in CENSUS_VOCATIONAL:
                counts["census_vocational"] += n
    for counts in out.values():
        placed = (counts["census_local"] + counts["census_out_of_county"]
                  + counts["census_vocational"])
        counts["census_eligible"] = counts["census_total"] - counts["census_deferred"]
        counts["census_unaccounted"] = counts["census_eligible"] - placed
    return out


# --------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class Metric:
    key: str
    source: str
    label: str
    where: Callable[[Params], Q]
    aggregate: bool = True  # counted in the source's grouped query (census: by SQL above)
    todo: bool = False  # a school's to-do item: counted on one school's page only
    derived: tuple[str, str] | None = None  # counted as figure a − figure b (same rows)


def _m(key, source, label, where, aggregate=True, todo=False, derived=None) -> Metric:
    return Metric(key, source, label, where, aggregate, todo, derived)


METRICS: dict[str, Metric] = {m.key: m for m in (
    # students
    _m("in_school", "students", _("在校学生"), lambda p: Q(status__in=IN_SCHOOL_NOW)),
    _m("home_teaching", "students", _("送教上门学生"), lambda p: Q(status=Status.HOME_TEACHING)),
    _m("ht_ok", "students", _("上月送教达标"),
       lambda p: Q(status=Status.HOME_TEACHING) & Q(pk__in=_visits_ok(*p.last_month))),
    _m("ht_short_last", "students", _("上月送教不足"),
       lambda p: Q(status=Status.HOME_TEACHING) & ~Q(pk__in=_visits_ok(*p.last_month)),
       derived=("home_teaching", "ht_ok")),
    _m("ht_short", "students", _("本月送教不足2次"),
       lambda p: Q(status=Status.HOME_TEACHING) & ~Q(pk__in=_visits_ok(*p.this_month)), todo=True),
    _m("poor", "students", _("困难家庭在校学生"), lambda p: POOR & Q(status__in=AID_ELIGIBLE)),
    _m("aid_ok", "students", _("已资助"),
       lambda p: POOR & Q(status__in=AID_ELIGIBLE) & Q(pk__in=_aid_ids(p))),
    _m("aid_missing", "students", _("未资助"),
       lambda p: POOR & Q(status__in=AID_ELIGIBLE)
       & _absent(AidRecord.objects.filter(term=p.aid_term.code)),
       derived=("poor", "aid_ok")),
    _m("susp_expiring", "students", _("休学即将到期"),
       lambda p: Q(status=Status.SUSPENDED) & Q(pk__in=_suspensions_expiring(p))),
    _m("returns_missing", "students", _("未返校报到"), _returns_missing, todo=True),
    _m("grad", "students", _("应届九年级毕业生"), graduating),
    _m("cohort_in", "students", _("县外转入"),
       lambda p: graduating(p) & Q(pk__in=_ids(StatusChange.objects.filter(
           kind=Kind.TRANSFER_IN, from_school__isnull=True)))),
    _m("cohort_out", "students", _("转出县外/外县就读"),
       lambda p: _leavers(p, Q(kind=Kind.TRANSFER_OUT, to_school__isnull=True) | Q(kind=Kind.OUT_OF_COUNTY),
                          (Status.OUT_OF_COUNTY, Status.TRANSFERRED))),
    _m("cohort_death", "students", _("死亡"), lambda p: _leavers(p, Q(kind=Kind.DEATH), (Status.DECEASED,))),
    _m("cohort_abroad", "students", _("出国"), lambda p: _leavers(p, Q(kind=Kind.ABROAD), (Status.ABROAD,))),
    _m("roll_start", "students", _("学年初在籍学生"), _roll_start),
    _m("dropouts", "students", _("本学年确认辍学"),
       lambda p: Q(status=Status.DROPPED_OUT) & Q(pk__in=_changes_in_year(p, kind=Kind.DROPOUT))),
    # alerts (suspected dropouts) and all open work items
    _m("alerts_open", "alerts", _("疑似辍学待核实"),
       lambda p: _dropout_rules() & Q(status=Alert.Status.OPEN) & _by_period_end("raised_at", p)),
    _m("alerts_raised", "alerts", _("疑似辍学预警"), lambda p: _dropout_rules() & _raised_in(p)),
    _m("alerts_confirmed", "alerts", _("已确认辍学"),
       lambda p: _dropout_rules() & Q(status=Alert.Status.CONFIRMED) & _raised_in(p)),
    _m("alerts_dismissed", "alerts", _("已排除"),
       lambda p: _dropout_rules() & Q(status=Alert.Status.DISMISSED) & _raised_in(p)),
    _m("alerts_closed", "alerts", _("疑似辍学已办结"),
       lambda p: _dropout_rules() & ~Q(status=Alert.Status.OPEN) & _closed_in(p)),
    _m("alerts_all", "alerts", _("预警"), _alerts_all, aggregate=False),
    _m("sweep_alerts", "alerts", _("本次排查产生的预警"), lambda p: Q(sweep_run_id=p.run),
       aggregate=False),
    _m("todo_alerts", "alerts", _("待本校核实的预警"),
       # The school's inbox section "alerts" (retrieval.inbox): suspected, not feedback rows.
       lambda p: _dropout_rules() & ~Q(rule=Alert.Rule.FEEDBACK)
       & Q(status=Alert.Status.OPEN, level="school") & _by_period_end("raised_at", p), todo=True),
    # 劝返 cases
    _m("cases_open", "cases", _("劝返中"),
       lambda p: Q(status__in=(RetrievalCase.Status.OPEN, RetrievalCase.Status.CLOSURE_REQUESTED))
       & _by_period_end("opened_at", p)),
    _m("cases_escalated", "cases", _("已上报属地政府"),
       lambda p: Q(status=RetrievalCase.Status.ESCALATED) & _by_period_end("opened_at", p)),
    _m("cases_returned", "cases", _("已劝返复学"),
       lambda p: Q(status=RetrievalCase.Status.CLOSED,
                   closure_category=RetrievalCase.Closure.RETURNED) & _closed_in(p)),
    _m("cases_closed", "cases", _("本期销号"),
       lambda p: Q(status=RetrievalCase.Status.CLOSED) & _closed_in(p)),
    _m("funnel_cases", "cases", _("立案劝返"), _opened_in),
    _m("funnel_returned", "cases", _("复学销号"),
       lambda p: _opened_in(p) & Q(status=RetrievalCase.Status.CLOSED,
                                   closure_category=RetrievalCase.Closure.RETURNED)),
    _m("funnel_escalated", "cases", _("上报属地政府"),
       lambda p: _opened_in(p) & Q(pk__in=_ids(Escalation.objects.all(), "case_id"))),
    _m("todo_attempts", "cases", _("应开展劝返"), _attempt_due, todo=True),
    # ledgers
    _m("deferral_pending", "deferrals", _("延缓入学待审核"),
       lambda p: Q(review=Deferral.Review.PENDING)),
    _m("deferral_expiring", "deferrals", _("延缓入学即将到期"),
       lambda p: Q(review=Deferral.Review.APPROVED,
                   end_date__range=(p.as_of, p.as_of + dt.timedelta(days=EXPIRY_WARNING_DAYS)))),
    _m("feedback_overdue", "feedback", _("反馈核查逾期"),
       lambda p: Q(result="", due_date__lt=p.as_of)),
    _m("intake", "intake", _("入学队列（一年级入学人数）"), lambda p: Q()),
    # census (户籍 vs 学籍), aggregated by census_counts
    _m("census_total", "census", _("适龄儿童（户籍）"), lambda p: Q(), aggregate=False),
    _m("census_deferred", "census", _("延缓入学"), _census_deferred, aggregate=False),
    _m("census_eligible", "census", _("应入学适龄儿童（不含延缓入学）"),
       _census_not_deferred, aggregate=False),
    _m("census_local", "census", _("本县学籍"), lambda p: _census_status(p, CENSUS_LOCAL),
       aggregate=False),
    _m("census_out_of_county", "census", _("外县就读"),
       lambda p: _census_status(p, CENSUS_OUT_OF_COUNTY), aggregate=False),
    _m("census_vocational", "census", _("中职就读"),
       lambda p: _census_status(p, CENSUS_VOCATIONAL), aggregate=False),
    _m("census_unaccounted", "census", _("未落实"), _census_unaccounted, aggregate=False),
    _m("census_in_school", "census", _("已入学（含外县、中职）"),
       lambda p: _census_status(p, CENSUS_LOCAL + CENSUS_OUT_OF_COUNTY + CENSUS_VOCATIONAL),
       aggregate=False),
    # schools (the list behind a unit row)
    _m("schools", "schools", _("学校"), lambda p: Q(), aggregate=False),
)}


def metric_rows(metric: Metric, user, p: Params) -> QuerySet:
    """The rows behind a figure: scoped, filtered exactly like the aggregate that counts them."""
    qs = SOURCES[metric.source].rows(user, p)
    return qs.filter(metric.where(p))


# What each list holds, in a sentence, shown above it (the 口径 a county officer asks about).
HELP = {
    "in_school": _("本县学校在读及送教上门的学生。"),
    "census_total": _("当年户籍名单中6–15周岁（当年8月31日）的儿童。"),
    "census_eligible": _("户籍适龄儿童中除延缓入学外的儿童：入学率的分母。"),
    "census_in_school": _("本县学籍在读、休学、送教上门或已毕业，或外县就读、中职就读的户籍适龄儿童（延缓入学除外）：入学率的分子。"),
    "census_unaccounted": _("户籍适龄儿童中无本县学籍、或学籍不在学（辍学、疑似辍学等），且不是外县就读、中职就读或延缓入学的儿童。"),
    "roll_start": _("学年初在籍：目前在读、休学、送教上门、疑似辍学，或在本学年内才离校（转出、毕业、死亡、辍学等）的学生。"),
    "dropouts": _("本学年内确认辍学且至今未复学的学生。"),
    "grad": _("九年级应届毕业生：本学年已毕业，或本学年在读待毕业。"),
    "alerts_open": _("疑似辍学类规则的预警，截至期末仍待核实。"),
    "aid_missing": _("建档立卡/脱贫/监测/低保/特困家庭的在校学生，本学期没有资助记录。"),
    "ht_short_last": _("送教上门学生上月送教不足2次。"),
    "ht_short": _("送教上门学生本月送教不足2次。"),
    "returns_missing": _("在读学生本学期未勾选返校报到，且无请假、非本学期新入学或转入。"),
    "todo_attempts": _("劝返中的案件，7天内没有劝返记录。"),
    "cases_closed": _("本期销号的案件；销号用时为立案到销号的天数。"),
}
