"""The building blocks every sweep shares: partitions, findings, SQL expressions.

A *sweep* (one module per sweep in this package) names its period and yields *findings*: one
per alert rule it raises. A finding computes, for one partition of the county, the set of alert
rows that should exist — as an annotated QuerySet (the database does the work: NOT EXISTS,
correlated subqueries, no Python loop per student) or, for a handful of rows, as a list.
`retrieval.sweeps.runner` turns that set into alerts with one `INSERT … SELECT … ON CONFLICT DO
NOTHING` per partition and resolves the alerts whose condition no longer holds.

Partitions: one per township (the schools it oversees, and rows routed to the township itself)
plus one for the county level (county-direct schools and rows routed to the county). A row's
partition is where it is *routed* (see `retrieval.querysets.RoutedQuerySet`), so the union of
per-partition runs is exactly the whole-county run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.db.models import Case, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kongchuo.access.scoping import OVERSIGHT_TOWNSHIP
from students.models import School, StatusChange, Township
from students.selectors import RESUME_KINDS, absence_covering  # noqa: F401 - used by the sweeps

CANDIDATES = "kc_sweep_candidates"  # the temporary table of a rule's candidate alert rows
DIRECT = "direct"  # the partition key of the county level (县直学校 and county-routed rows)


class SweepError(ValueError):
    """A bad request for a sweep (unknown name, township or date); the message is for the user."""


@dataclass(frozen=True)
class Partition:
    key: str  # township code, or DIRECT
    township_id: int | None
    label: str
    #: The schools of the partition (a township's schools under its oversight, or the
    #: county-direct ones): filtering by id lets the database read only their students.
    school_ids: tuple[int, ...] = ()

    @property
    def is_direct(self) -> bool:
        return self.key == DIRECT

    # --- filters on the ORM path `path` of a row ---------------------------------------------
    def schools(self, path: str) -> Q:
        """Rows whose school (the School FK at `path`) belongs to this partition."""
        return Q(**{f"{path}__in": self.school_ids})

    def township(self, path: str) -> Q:
        """Rows whose township id (the column at `path`, e.g. "township_id") is this partition's;
        the county partition takes the rows with no township."""
        if self.is_direct:
            return Q(**{f"{path}__isnull": True})
        return Q(**{path: self.township_id})

    def routed(self, school: str = "school", township: str = "township_id") -> Q:
        """RoutedQuerySet's rule as a filter: routed to a school of this partition, or (no
        school) to this partition's township, or (neither, county partition) to the county."""
        return (Q(**{f"{school}__isnull": False}) & self.schools(school)) | (
            Q(**{f"{school}__isnull": True}) & self.township(township))


def _school_ids() -> dict[str, tuple[int, ...]]:
    by_key: dict[str, list[int]] = {}
    for pk, code, oversight in School.objects.order_by("pk").values_list(
            "pk", "township__code", "oversight"):
        by_key.setdefault(code if oversight == OVERSIGHT_TOWNSHIP else DIRECT, []).append(pk)
    return {k: tuple(v) for k, v in by_key.items()}


DIRECT_LABEL = _("县直学校及县级")


def county_partitions() -> list[Partition]:
    ids = _school_ids()
    parts = [Partition(t.code, t.pk, t.name, ids.get(t.code, ()))
             for t in Township.objects.order_by("code")]
    parts.append(Partition(DIRECT, None, str(DIRECT_LABEL), ids.get(DIRECT, ())))
    return parts


def partition_for(key: str) -> Partition:
    if key == DIRECT:
        return Partition(DIRECT, None, str(DIRECT_LABEL), _school_ids().get(DIRECT, ()))
    township = Township.objects.filter(code=key).first()
    if township is None:
        raise SweepError(gettext("未知乡镇代码：%(code)s") % {"code": key})
    ids = tuple(School.objects.filter(township=township, oversight=OVERSIGHT_TOWNSHIP)
                .order_by("pk").values_list("pk", flat=True))
    return Partition(township.code, township.pk, township.name, ids)


@dataclass(frozen=True)
class Context:
    as_of: dt.date
    period: str
    run_id: int | None
    now: dt.datetime


# ----------------------------------------------------------------------------- alert rows

#: The columns a finding supplies for each alert row (all other Alert columns get constants).
ROW_KEYS = ("period", "subject", "student_id", "name", "school_id", "township_id", "level",
            "detail", "due_date")


@dataclass
class Rows:
    """One source of a finding's candidate set for one partition.

    `query` is a QuerySet of any model annotated with `x_<key>` for every key of ROW_KEYS (built
    with `annotate_alert`); `rows` is the alternative for small sets computed in Python (a list
    of dicts with the same keys, e.g. one per school). A finding may have several sources
    (the union is its candidate set).
    """

    query: models.QuerySet | None = None
    rows: list[dict] | None = None


@dataclass
class Finding:
    """One alert rule of a sweep: how to compute its rows and which existing alerts it answers for.

    `build(ctx, partition)` returns a list of Rows for the partition. `existing(ctx)` is a filter
    on Alert narrowing the rule's alerts to the periods this run is responsible for (default:
    the run's period): an open one of those, routed to the partition, that is no longer a
    candidate is resolved.
    """

    rule: str
    build: Callable[[Context, Partition], list[Rows]]
    existing: Callable[[Context], Q] | None = None

    def period_filter(self, ctx: Context) -> Q:
        if self.existing is not None:
            return self.existing(ctx)
        return Q(period=ctx.period)


@dataclass(frozen=True)
class Sweep:
    """A sweep of the yearly calendar (DESIGN.md §3)."""

    name: str
    label: str
    window: str  # when it runs, in words, for the sweep page
    period: Callable[[dt.date], str]
    findings: tuple[Finding, ...]
    #: Set-based work done once per run before the partitions (e.g. routing feedback items).
    prepare: Callable[[Context], dict] | None = None
    #: Set-based work per partition after its alerts are written (e.g. reminders); returns counts.
    after: Callable[[Context, Partition], dict] | None = None


def const(value, output_field: models.Field):
    """A typed constant: PostgreSQL must know a NULL's or literal's type inside INSERT … SELECT."""
    return Cast(Value(value, output_field=output_field), output_field)


def text(value: str):
    return const(value, models.CharField())


def annotate_alert(qs: models.QuerySet, **columns) -> models.QuerySet:
    """Annotate `qs` with the x_* columns of an alert row; missing keys raise (a contract)."""
    missing = set(ROW_KEYS) - set(columns)
    if missing:
        raise TypeError(f"alert row lacks {sorted(missing)}")
    return qs.annotate(**{f"x_{k}": v for k, v in columns.items()})


# ----------------------------------------------------------------------------- status history

# Kinds that do not move a student's status (请假 keeps the child 在读; a correction edits data;
# 升级/留级 move or keep the grade at the year-end rollover). A 升级 row is dated 1 September
# and may be written in July: read as a status it would hide a change recorded in between.
NON_STATUS_KINDS = (StatusChange.Kind.LEAVE, StatusChange.Kind.CORRECTION,
                    StatusChange.Kind.PROMOTE, StatusChange.Kind.REPEAT)
ENTRY_KINDS = (StatusChange.Kind.ENROLL, StatusChange.Kind.TRANSFER_IN)


def status_on(day: dt.date, student: str = "pk", current: str = "status"):
    """The status a student had on `day`, from the dated history (a change after `day` does
    not count): the `to_status` of the last change effective on or before `day`; failing that,
    the `from_status` of the first change after it; failing that, the current status. 请假 and
    信息更正 rows do not move the status and are skipped."""
    changes = (StatusChange.objects.filter(student_id=OuterRef(student))
               .exclude(kind__in=NON_STATUS_KINDS))
    last = (changes.filter(effective_date__lte=day).exclude(to_status="")
            .order_by("-effective_date", "-id").values("to_status")[:1])
    # A blank from_status on an entry (入学/转入) means "not a student here yet"; elsewhere it
    # says nothing, and the current status decides.
    before = Case(When(kind__in=ENTRY_KINDS, then=F("from_status")),
                  default=NullIf(F("from_status"), Value("")), output_field=models.CharField())
    first_after = (changes.filter(effective_date__gt=day).order_by("effective_date", "id")
                   .annotate(before=before).values("before")[:1])
    return Coalesce(Subquery(last), Subquery(first_after), F(current),
                    output_field=models.CharField())


def status_was(qs: models.QuerySet, day: dt.date, statuses) -> models.QuerySet:
    """Students of `qs` whose status on `day` (see `status_on`) was one of `statuses`.

    Most children have no status history: their current status decides, and the dated
    subqueries run only for those who have one (the OR short-circuits on a hashed IN).
    """
    statuses = [statuses] if isinstance(statuses, str) else list(statuses)
    has_history = Q(pk__in=StatusChange.objects.exclude(kind__in=NON_STATUS_KINDS)
                    .values("student_id"))
    return qs.annotate(st=status_on(day)).filter(
        (~has_history & Q(status__in=statuses)) | (has_history & Q(st__in=statuses)))


def due(ctx: Context, days: int):
    return const(ctx.as_of + dt.timedelta(days=days), models.DateField())


def student_rows(qs: models.QuerySet, ctx: Context, *, level: str, detail, due_days: int,
                 period=None, prefix: str = "") -> Rows:
    """Alert rows for a queryset of students (or of rows reaching a student through `prefix`,
    e.g. "student__"), routed to the student's school."""
    return Rows(query=annotate_alert(
        qs,
        period=period if period is not None else text(ctx.period),
        subject=F(f"{prefix}id_number"),
        student_id=F(f"{prefix}pk") if prefix else F("pk"),
        name=F(f"{prefix}name"),
        school_id=F(f"{prefix}school_id"),
        township_id=F(f"{prefix}school__township_id"),
        level=text(level),
        detail=detail,
        due_date=due(ctx, due_days),
    ))
