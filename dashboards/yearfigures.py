"""The figures of a school year, frozen per unit when the rollover closes the year.

At the rollover (`dashboards.yearclose`) the closed year's figures are computed once for every
school, township, the county-direct schools and the county, and stored (`YearFigures`), so the
next years' dashboards and the year-end review (回头看 / 年度考核) compare against what the year
looked like when it ended — not against a recomputation that later corrections would shift.

Computed set-based: the dashboards' own grouped queries (`dashboards.selectors`), grouped by
school (rows routed to a township with no school by township), then summed up into townships
and the county in Python; rates are computed per unit from its sums. The figures the
dashboards define by month or by term are taken over the whole year here: 送教上门 compliance
is the share of (child, teaching month) pairs with at least two visits, aid coverage the share
of poor children on the rolls aided in either term.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import ExtractMonth, ExtractYear
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboards.metrics import census_counts
from dashboards.models import YearFigures
from dashboards.params import Params
from dashboards.selectors import _case_durations, _grouped_counts, _Links, _unit_figures
from kongchuo.access.scoping import OVERSIGHT_COUNTY, Role
from kongchuo.calendar.schoolyear import year_end, year_start, year_terms
from ledgers.models import AidRecord, HomeTeachingPlan, HomeTeachingVisit
from ledgers.selectors import AID_ELIGIBLE, MIN_VISITS_PER_MONTH, POOR
from retrieval.models import RectificationOrder, SupervisionFinding
from students.models import School, StatusChange, Student, Township, User

Kind = StatusChange.Kind
COUNTY, DIRECT = "county", "direct"
TEACHING_MONTHS = (9, 10, 11, 12, 1, 2, 3, 4, 5, 6)  # 送教 months: July and August are holidays


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    kind: str = "int"  # "int", "rate" (0..1 or None), "days" (or None)


#: What is frozen, in the order the report shows it.
FIGURES = (
    Figure("enrol_rate", _("入学率"), "rate"),
    Figure("enrol_num", _("已入学（含外县、中职）")),
    Figure("enrol_den", _("应入学适龄儿童")),
    Figure("retention_rate", _("巩固率"), "rate"),
    Figure("retention_num", _("巩固率分子")),
    Figure("retention_den", _("巩固率分母")),
    Figure("enrolled", _("学年初在籍学生")),
    Figure("left_transfer", _("县内转出")),
    Figure("left_out_of_county", _("转出县外/外县就读")),
    Figure("left_vocational", _("中职就读")),
    Figure("left_graduated_primary", _("小学毕业")),
    Figure("left_graduated_junior", _("初中毕业")),
    Figure("left_death", _("死亡")),
    Figure("left_abroad", _("出国")),
    Figure("left_dropout", _("辍学")),
    Figure("alerts_raised", _("疑似辍学预警")),
    Figure("alerts_dismissed", _("预警已排除")),
    Figure("alerts_confirmed", _("预警已确认")),
    Figure("cases_returned", _("劝返复学")),
    Figure("cases_closed", _("销号")),
    Figure("median_days", _("销号用时中位数（天）"), "days"),
    Figure("ht_rate", _("送教上门达标率"), "rate"),
    Figure("ht_months_ok", _("送教达标人月")),
    Figure("ht_months", _("送教应达标人月")),
    Figure("aid_rate", _("资助覆盖率"), "rate"),
    Figure("aid_ok", _("已资助困难学生")),
    Figure("aid_poor", _("困难家庭学生")),
    Figure("findings", _("督查发现问题")),
    Figure("findings_closed", _("督查问题已整改销号")),
)
LEFT_KEYS = ("left_transfer", "left_out_of_county", "left_vocational", "left_graduated_primary",
             "left_graduated_junior", "left_death", "left_abroad", "left_dropout")


def figure_text(value, kind: str) -> str:
    """A frozen figure as pages and reports show it: "—", "99.50%", "12.5", "1,234"."""
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.2f}%"
    if kind == "days":
        return f"{value}"
    return f"{value:,}"


def county_reader() -> User:
    """An unsaved county-role user: the scope the county's own figures are read in when no one
    is signed in (the `rollover` command, beat). Never saved, never signs in."""
    return User(username="schoolyear", role=Role.COUNTY, is_active=True)


class _UnitKeys:
    """`dashboards.selectors._Units` by school: s<id>, or t<id> for rows routed to a township."""

    def key(self, school_id: int | None, township_id: int | None = None) -> str:
        if school_id is not None:
            return f"s{school_id}"
        return f"t{township_id}" if township_id is not None else COUNTY


def _parents(schools: dict[int, dict]) -> dict[str, tuple[str, ...]]:
    """Where each school's and township's counts are also added."""
    out: dict[str, tuple[str, ...]] = {}
    for sid, s in schools.items():
        up = DIRECT if s["oversight"] == OVERSIGHT_COUNTY else f"t{s['township_id']}"
        out[f"s{sid}"] = (up, COUNTY)
    for tid in Township.objects.values_list("pk", flat=True):
        out[f"t{tid}"] = (COUNTY,)
    return out


def _roll_up(per: dict[str, dict], parents: dict[str, tuple[str, ...]]) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for key, values in per.items():
        for target in (key, *parents.get(key, ())):
            for name, value in values.items():
                out[target][name] += value
    return out


def _left(year: int, schools: dict[int, dict]) -> dict[str, dict]:
    """Children who left a school during the year, by reason (one grouped query)."""
    rows = (StatusChange.objects.filter(effective_date__range=(year_start(year), year_end(year)),
                                        kind__in=(Kind.TRANSFER_OUT, Kind.OUT_OF_COUNTY, Kind.VOCATIONAL,
                                                  Kind.GRADUATE, Kind.DEATH, Kind.ABROAD, Kind.DROPOUT))
            .exclude(from_school__isnull=True).order_by()
            .values("from_school_id", "kind", "from_grade")
            .annotate(n=Count("student_id", distinct=True),
                      in_county=Count("student_id", distinct=True,
                                      filter=Q(to_school__isnull=False))))
    keys = {Kind.OUT_OF_COUNTY: "left_out_of_county", Kind.VOCATIONAL: "left_vocational",
            Kind.DEATH: "left_death", Kind.ABROAD: "left_abroad", Kind.DROPOUT: "left_dropout"}
    per: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        unit = per[f"s{r['from_school_id']}"]
        if r["kind"] == Kind.TRANSFER_OUT:
            unit["left_transfer"] += r["in_county"]
            unit["left_out_of_county"] += r["n"] - r["in_county"]
        elif r["kind"] == Kind.GRADUATE:
            primary = r["from_grade"] == 6 or (
                r["from_grade"] is None and schools.get(r["from_school_id"], {}).get("kind")
                in School.PRIMARY_ONLY)
            unit["left_graduated_primary" if primary else "left_graduated_junior"] += r["n"]
        else:
            unit[keys[r["kind"]]] += r["n"]
    return per


def _home_teaching(year: int, schools: dict[int, dict]) -> dict[str, dict]:
    """送教上门 compliance over the year's teaching months: per child and month of the plan,
    at least MIN_VISITS_PER_MONTH visits (two grouped queries)."""
    first, last = year_start(year), dt.date(year + 1, 6, 30)
    plans = list(HomeTeachingPlan.objects.filter(start_date__lte=last)
                 .filter(Q(end_date__isnull=True) | Q(end_date__gte=first))
                 .values_list("pk", "student__school_id", "start_date", "end_date"))
    visits = {(pk, y, m): n for pk, y, m, n in (
        HomeTeachingVisit.objects.filter(visit_date__range=(first, last)).order_by()
        .annotate(y=ExtractYear("visit_date"), m=ExtractMonth("visit_date"))
        .values_list("plan_id", "y", "m").annotate(n=Count("pk")))}
    per: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for pk, school_id, start, end in plans:
        for month in TEACHING_MONTHS:
            y = year if month >= 9 else year + 1
            month_start = dt.date(y, month, 1)
            month_end = (month_start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            if start > month_end or (end is not None and end < month_start):
                continue
            unit = per[f"s{school_id}"]
            unit["ht_months"] += 1
            unit["ht_months_ok"] += visits.get((pk, y, month), 0) >= MIN_VISITS_PER_MONTH
    return per


def _aid(year: int) -> dict[str, dict]:
    """Poor children on the rolls, and those with a 两免一补 record in either term of the year."""
    terms = [t.code for t in year_terms(year)]
    aided = AidRecord.objects.filter(term__in=terms).values("student_id")
    rows = (Student.objects.filter(POOR, status__in=AID_ELIGIBLE).order_by().values("school_id")
            .annotate(poor=Count("pk"), ok=Count("pk", filter=Q(pk__in=aided))))
    return {f"s{r['school_id']}": {"aid_poor": r["poor"], "aid_ok": r["ok"]} for r in rows}


def _supervision(year: int) -> dict[str, dict]:
    """Findings of the year's supervision visits; closed: every rectification order 销号."""
    start = timezone.make_aware(dt.datetime.combine(year_start(year), dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(year_end(year) + dt.timedelta(days=1), dt.time.min))
    open_orders = RectificationOrder.objects.exclude(status=RectificationOrder.Status.CLOSED)
    any_order = RectificationOrder.objects.all()
    rows = (SupervisionFinding.objects.filter(recorded_at__gte=start, recorded_at__lt=end)
            .order_by().values("school_id", "township_id")
            .annotate(n=Count("pk"),
                      closed=Count("pk", filter=Q(pk__in=any_order.values("finding_id"))
                                   & ~Q(pk__in=open_orders.values("finding_id")))))
    per: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    keys = _UnitKeys()
    for r in rows:
        unit = per[keys.key(r["school_id"], r["township_id"])]
        unit["findings"] += r["n"]
        unit["findings_closed"] += r["closed"]
    return per


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def year_figures_compute(year: int, *, as_of: dt.date) -> dict[str, dict]:
    """Every unit's figures for school year `year` (closed), as of `as_of`: {unit: figures}."""
    reader = county_reader()
    p = Params(year=year, today=as_of, current=year + 1)
    schools = {s["id"]: s for s in School.objects.order_by().values("id", "township_id", "oversight", "kind")}
    keys = _UnitKeys()
    parents = _parents(schools)
    per: dict[str, dict] = defaultdict(dict)
    for source in ("students", "alerts", "cases", "intake"):
        _totals, units = _grouped_counts(source, reader, p, keys)
        for key, values in units.items():
            per[key].update({f"{source}:{k}": v for k, v in values.items()})
    extra: list[dict[str, dict]] = [_left(year, schools), _home_teaching(year, schools), _aid(year),
                                    _supervision(year)]
    for block in extra:
        for key, values in block.items():
            per[key].update(values)
    summed = _roll_up(per, parents)
    durations_by: dict[str, list[float]] = defaultdict(list)
    for key, values in _case_durations(reader, p, keys).items():
        if key == "__all__":
            continue
        for target in (key, *parents.get(key, ())):
            durations_by[target].extend(values)
    census = census_counts(reader, p)
    links = _Links()
    out: dict[str, dict] = {}
    for unit, values in summed.items():
        counts = {k.split(":", 1)[1]: v for k, v in values.items()
                  if k.startswith(("students:", "alerts:", "cases:"))}
        intake = {k.split(":", 1)[1]: v for k, v in values.items() if k.startswith("intake:")}
        unit_census = None
        if unit == COUNTY:
            unit_census = defaultdict(int)
            for township_counts in census.values():
                for k, v in township_counts.items():
                    unit_census[k] += v
        elif unit.startswith("t"):
            unit_census = census.get(int(unit[1:]), {})
        fig = _unit_figures(counts, unit_census, intake, durations_by.get(unit, []), p, links,
                            cohort_ok=unit == COUNTY)
        enrol, retention = fig["enrol"], fig["retention"]
        f = fig["f"]
        row = {
            "enrol_rate": enrol["v"], "enrol_num": f["census_in_school"]["v"] if unit_census else 0,
            "enrol_den": enrol["den"],
            "retention_rate": retention["v"], "retention_mode": retention["mode"],
            "retention_num": (f["grad"]["v"] if retention["mode"] == "cohort" else f["dropouts"]["v"]),
            "retention_den": retention["den"],
            "enrolled": f["roll_start"]["v"],
            "alerts_raised": f["alerts_raised"]["v"], "alerts_dismissed": f["alerts_dismissed"]["v"],
            "alerts_confirmed": f["alerts_confirmed"]["v"], "cases_returned": f["cases_returned"]["v"],
            "cases_closed": f["cases_closed"]["v"], "median_days": fig["median_days"]["v"],
        }
        for key in (*LEFT_KEYS, "ht_months_ok", "ht_months", "aid_ok", "aid_poor", "findings",
                    "findings_closed"):
            row[key] = values.get(key, 0)
        row["ht_rate"] = _rate(row["ht_months_ok"], row["ht_months"])
        row["aid_rate"] = _rate(row["aid_ok"], row["aid_poor"])
        out[unit] = row
    return out


def _level(unit: str) -> str:
    if unit == COUNTY:
        return YearFigures.Level.COUNTY
    if unit == DIRECT:
        return YearFigures.Level.DIRECT
    return YearFigures.Level.TOWNSHIP if unit.startswith("t") else YearFigures.Level.SCHOOL


def year_figures_freeze(*, year: int, as_of: dt.date) -> int:
    """Compute and store the figures of `year` (replacing any frozen before); the rows written.
    Called inside the rollover's transaction."""
    computed = year_figures_compute(year, as_of=as_of)
    now = timezone.now()
    rows = []
    for unit, figures in sorted(computed.items()):
        rows.append(YearFigures(
            year=year, unit=unit, level=_level(unit), figures=figures, frozen_at=now,
            township_id=int(unit[1:]) if unit.startswith("t") else None,
            school_id=int(unit[1:]) if unit.startswith("s") else None))
    YearFigures.objects.filter(year=year).delete()
    YearFigures.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def frozen_for(user, *, year: int, unit: str) -> dict | None:
    """The frozen figures of one unit the user may see, or None."""
    row = YearFigures.objects.visible_to(user).filter(year=year, unit=unit).values("figures").first()
    return row["figures"] if row else None
