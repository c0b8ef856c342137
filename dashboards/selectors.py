"""The dashboard of one scope: every figure, by unit (township or school), with the link to the
list behind it.

`dashboard_data(user, scope, params)` runs a fixed set of queries whatever the county's size
(one grouped query per source, plus the census join, the rule table, two trend queries, the
sweep list and the closed-case durations) and returns plain dicts and strings, so the result
can be cached (see `dashboards.cache`) and rendered without touching the database again.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from django.db.models import Aggregate, Count, Max, Q, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboards.cache import cached_census
from dashboards.metrics import (
    METRICS,
    SOURCES,
    census_counts,
    day_start,
)
from dashboards.models import YearFigures
from dashboards.params import DIRECT, Params
from kongchuo.access.scoping import OVERSIGHT_COUNTY, Role, Scope
from kongchuo.calendar.schoolyear import year_label
from retrieval.models import Alert, SweepRun
from retrieval.sweeps import SWEEP_NAMES, get_sweep
from students.models import School, Township, User

RETENTION_TARGET = 0.99
ENROLMENT_TARGET = 1.0
INTAKE_FIELDS = ("grade1_count", "transfers_in", "transfers_out", "deaths", "abroad")

# Figures counted per source in the grouped query (census and schools are handled apart).
_GROUPED = defaultdict(list)
for _metric in METRICS.values():
    if _metric.aggregate:
        _GROUPED[_metric.source].append(_metric)


# --------------------------------------------------------------------------- units


def unit_level(scope: Scope, p: Params) -> str:
    """What the ranking table lists: townships (county overview), the schools of a township,
    or nothing (one school's own page)."""
    if scope.role == Role.SCHOOL or p.school:
        return "school"
    if scope.role == Role.TOWNSHIP or p.township or p.direct:
        return "schools"
    return "townships"


class _Units:
    """Maps grouped rows (school_id, township_id) to the unit keys of the ranking table."""

    def __init__(self, level: str, schools: dict[int, dict]):
        self.level = level
        self.schools = schools

    def key(self, school_id: int | None, township_id: int | None = None) -> str:
        if self.level == "school":
            return "self"
        if school_id is not None:
            school = self.schools.get(school_id)
            if self.level == "schools":
                return f"s{school_id}"
            if school is None:
                return "other"
            if school["oversight"] == OVERSIGHT_COUNTY:
                return DIRECT
            return f"t{school['township_id']}"
        if township_id is not None:
            return "township" if self.level == "schools" else f"t{township_id}"
        return "county"


# --------------------------------------------------------------------------- queries


def _grouped_counts(source: str, user: User, p: Params, units: _Units) -> tuple[dict, dict]:
    """One grouped query for all figures of `source`: (totals, per unit). A school's to-do
    items are not among them: `todo_figures` counts them live for one school."""
    metrics = [m for m in _GROUPED[source] if not m.todo and not m.derived]
    qs = SOURCES[source].rows(user, p).order_by()
    ann: dict[str, Aggregate]
    if source == "intake":
        ann = {f: Sum(f) for f in INTAKE_FIELDS}
    else:
        ann = {m.key: Count("pk", filter=m.where(p)) for m in metrics}
    group = SOURCES[source].group
    totals: dict[str, int] = defaultdict(int)
    per_unit: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in qs.values(*group).annotate(**ann):
        key = units.key(row.get("school_id"), row.get("township_id"))
        for name in ann:
            value = row[name] or 0
            totals[name] += value
            per_unit[key][name] += value
    for m in _GROUPED[source]:
        if m.derived and m.key not in ann:
            plus, minus = m.derived
            totals[m.key] = totals.get(plus, 0) - totals.get(minus, 0)
            for values in per_unit.values():
                values[m.key] = values.get(plus, 0) - values.get(minus, 0)
    if source == "intake":  # the figure "intake" is the grade-1 count
        totals["intake"] = totals.get("grade1_count", 0)
        for values in per_unit.values():
            values["intake"] = values.get("grade1_count", 0)
    return totals, per_unit


def _case_durations(user: User, p: Params, units: _Units) -> dict[str, list[float]]:
    """Days from opening to 销号 of the cases closed in the period, per unit and in total."""
    metric = METRICS["cases_closed"]
    rows = (SOURCES["cases"].rows(user, p).filter(metric.where(p)).order_by()
            .values_list("school_id", "township_id", "opened_at", "closed_at"))
    out: dict[str, list[float]] = defaultdict(list)
    for school_id, township_id, opened, closed in rows:
        days = max((closed - opened).total_seconds() / 86400, 0)
        out[units.key(school_id, township_id)].append(days)
        out["__all__"].append(days)
    return out


def _rule_rows(user: User, p: Params) -> list[dict]:
    alerts = SOURCES["alerts"].rows(user, p).filter(METRICS["alerts_all"].where(p))
    rows = (alerts.order_by().values("rule").annotate(
        total=Count("pk"),
        open=Count("pk", filter=Q(status=Alert.Status.OPEN)),
        confirmed=Count("pk", filter=Q(status=Alert.Status.CONFIRMED)),
        dismissed=Count("pk", filter=Q(status=Alert.Status.DISMISSED)),
        resolved=Count("pk", filter=Q(status=Alert.Status.RESOLVED)),
    ))
    return list(rows)


def _trend(user: User, p: Params) -> tuple[dict, dict]:
    """Suspected-dropout alerts raised and resolved (confirmed, dismissed or cleared) per month."""
    alerts = SOURCES["alerts"].rows(user, p).filter(rule__in=sorted(Alert.SUSPECTED_RULES)).order_by()
    start = day_start(p.period_start)
    end = day_start(p.period_end) + dt.timedelta(days=1)
    raised = (alerts.filter(raised_at__gte=start, raised_at__lt=end)
              .annotate(m=TruncMonth("raised_at")).values("m").annotate(n=Count("pk")))
    closed = (alerts.filter(closed_at__gte=start, closed_at__lt=end).exclude(status=Alert.Status.OPEN)
              .annotate(m=TruncMonth("closed_at")).values("m").annotate(n=Count("pk")))

    def by_month(rows: Iterable[Mapping[str, Any]]) -> dict:
        return {(r["m"].year, r["m"].month): r["n"] for r in rows if r["m"] is not None}

    return by_month(raised), by_month(closed)


def _sweep_label(name: str) -> str:
    return str(get_sweep(name).label) if name in SWEEP_NAMES else name


def _last_sweeps(user: User, p: Params, township_code: str | None) -> list[dict]:
    """The latest run of each sweep over the user's area (the county, or for a township the
    county-wide runs and its own), with the alerts it raised that this user may see."""
    runs_qs = SweepRun.objects.all()
    if township_code is not None:
        runs_qs = runs_qs.filter(township_code__in=("", township_code))
    latest = runs_qs.values("sweep").annotate(last=Max("pk")).values("last")
    # The run's own totals (created / already_open / resolved) are county-wide for a county-wide
    # run: a township sees only the alerts of the run it may see, counted below.
    runs = list(SweepRun.objects.filter(pk__in=latest).order_by("sweep").values(
        "pk", "sweep", "as_of", "period", "status", "started_at", "finished_at", "trigger"))
    counts = dict(SOURCES["alerts"].rows(user, p).order_by()
                  .filter(sweep_run_id__in=latest)
                  .values("sweep_run_id").annotate(n=Count("pk")).values_list("sweep_run_id", "n"))
    return [{**r, "alerts": counts.get(r["pk"], 0)} for r in runs]


# --------------------------------------------------------------------------- payload


def _fig(value: object, url: str) -> dict:
    return {"v": value, "url": url}


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _pct(rate: float | None) -> str:
    if rate is None:
        return "—"
    return f"{rate * 100:.2f}%"


class _Links:
    def __init__(self) -> None:
        self.base = {key: reverse("dashboards:list", args=[key]) for key in METRICS}
        self.home = reverse("home")
        self._queries: dict[Params, str] = {}

    def list(self, key: str, p: Params, **extra: Any) -> str:
        if extra:
            return f"{self.base[key]}?{p.query(**extra)}"
        query = self._queries.get(p)
        if query is None:  # one unit's ~45 figures share its query string
            query = self._queries[p] = p.query()
        return f"{self.base[key]}?{query}"


def _unit_figures(values: dict, census: dict | None, intake: dict, durations: list[float],
                  p: Params, links: _Links, *, cohort_ok: bool = False) -> dict:
    """The figures of one unit (or the whole scope) with links, rates and the cohort basis."""

    def f(key: str) -> dict:
        source = METRICS[key].source
        if source == "census":
            value = (census or {}).get(key, 0)
        elif source == "intake":
            value = intake.get(key, 0)
        else:
            value = values.get(key, 0)
        return _fig(value, links.list(key, p))

    figs = {key: f(key) for key, m in METRICS.items()
            if (m.aggregate or m.source == "census") and not m.todo}
    if census is not None:
        figs["census_in_school"]["v"] = (census.get("census_local", 0)
                                         + census.get("census_out_of_county", 0)
                                         + census.get("census_vocational", 0))
    out: dict = {"f": figs}
    # 入学率: in school anywhere ÷ school-age, deferred excluded from both.
    if census is not None and census.get("census_total"):
        den = figs["census_eligible"]["v"]  # school-age less deferred
        out["enrol"] = {"v": _rate(figs["census_in_school"]["v"], den), "den": den,
                        "url": figs["census_unaccounted"]["url"]}
    else:
        out["enrol"] = {"v": None, "den": 0, "url": figs["census_total"]["url"]}
    out["enrol"]["pct"] = _pct(out["enrol"]["v"])
    # 巩固率: the cohort definition where a whole cohort is in view and its grade-1 intake is
    # on file; else the in-year proxy.
    intake_total = intake.get("grade1_count", 0)
    if cohort_ok and intake_total:
        adj_in = intake.get("transfers_in", 0) + figs["cohort_in"]["v"]
        adj_out = (intake.get("transfers_out", 0) + figs["cohort_out"]["v"]
                   + intake.get("deaths", 0) + figs["cohort_death"]["v"]
                   + intake.get("abroad", 0) + figs["cohort_abroad"]["v"])
        den = intake_total + adj_in - adj_out
        rate = _rate(figs["grad"]["v"], den)
        out["retention"] = {"mode": "cohort", "v": rate, "den": den, "url": figs["grad"]["url"],
                            "imported": {k: intake.get(k, 0) for k in INTAKE_FIELDS}}
    else:
        roll = figs["roll_start"]["v"]
        rate = 1 - figs["dropouts"]["v"] / roll if roll else None
        out["retention"] = {"mode": "proxy", "v": rate, "den": roll, "url": figs["dropouts"]["url"]}
    out["retention"]["pct"] = _pct(out["retention"]["v"])
    out["retention"]["below"] = rate is not None and rate < RETENTION_TARGET
    out["enrol"]["below"] = out["enrol"]["v"] is not None and out["enrol"]["v"] < ENROLMENT_TARGET
    ht = _rate(figs["ht_ok"]["v"], figs["home_teaching"]["v"])
    out["ht"] = {"v": ht, "pct": _pct(ht), "url": figs["ht_short_last"]["url"]}
    aid = _rate(figs["aid_ok"]["v"], figs["poor"]["v"])
    out["aid"] = {"v": aid, "pct": _pct(aid), "url": figs["aid_missing"]["url"]}
    median = statistics.median(durations) if durations else None
    out["median_days"] = {"v": None if median is None else round(median, 1),
                          "url": figs["cases_closed"]["url"], "n": len(durations)}
    return out


def _sort_key(unit: dict) -> tuple:
    enrol = unit["enrol"]["v"]
    retention = unit["retention"]["v"]
    f = unit["f"]
    return (
        2.0 if enrol is None else enrol,
        2.0 if retention is None else retention,
        -f["alerts_open"]["v"], -f["cases_open"]["v"] - f["cases_escalated"]["v"],
        unit["label"],
    )


def _last_year(user: User, scope: Scope, p: Params, level: str) -> dict | None:
    """The frozen figures of the year before `p.year` for the unit the page shows (one query),
    or None: no closed year before it, or a view no frozen unit matches (a school-kind filter)."""
    if p.kind or p.noschool:
        return None
    if level == "school":
        unit = f"s{p.school or scope.school_id}"
    elif p.direct:
        unit = DIRECT
    elif p.township or scope.role == Role.TOWNSHIP:
        unit = f"t{p.township or scope.township_id}"
    else:
        unit = "county"
    row = (YearFigures.objects.visible_to(user).filter(year=p.year - 1, unit=unit)
           .values("figures").first())
    if row is None:
        return None
    return {"year": p.year - 1, "label": year_label(p.year - 1), "f": row["figures"]}


def dashboard_data(user: User, scope: Scope, p: Params) -> dict:
    """Every figure of the page for `user`'s scope under filters `p` (plain, cacheable)."""
    schools = {s["id"]: s for s in School.objects.visible_to(user).order_by().values(
        "id", "name", "township_id", "oversight", "kind", "is_center")}
    townships = list(Township.objects.visible_to(user).values("id", "name", "code"))
    level = unit_level(scope, p)
    units = _Units(level, schools)
    links = _Links()

    totals: dict[str, int] = {}
    per_unit: dict[str, dict[str, int]] = defaultdict(dict)
    for source in ("students", "alerts", "cases", "deferrals", "feedback"):
        t, u = _grouped_counts(source, user, p, units)
        totals.update(t)
        for key, values in u.items():
            per_unit[key].update(values)
    intake_total, intake_units = _grouped_counts("intake", user, p, units)
    census = cached_census(scope, p, lambda: census_counts(user, p))
    census_total: dict[str, int] = defaultdict(int)
    for values in census.values():
        for k, v in values.items():
            census_total[k] += v
    durations = _case_durations(user, p, units)
    rules = _rule_rows(user, p)
    raised, closed = _trend(user, p)
    own_code = next((t["code"] for t in townships if t["id"] == scope.township_id), "")
    sweeps = (_last_sweeps(user, p, own_code if scope.role == Role.TOWNSHIP else None)
              if scope.role in (Role.COUNTY, Role.TOWNSHIP) else [])

    has_census = scope.role in (Role.COUNTY, Role.TOWNSHIP) and not (p.school or p.direct)
    # A cohort moves between schools (primary → junior, township → county-direct school), so
    # only the county as a whole holds one from grade 1 to grade 9: the cohort definition is
    # used there, and every narrower view (a township, a school, a school kind) shows the proxy.
    cohort_ok = scope.role == Role.COUNTY and not (p.township or p.direct or p.school or p.kind)
    overall = _unit_figures(totals, census_total if has_census else None, intake_total,
                            durations.get("__all__", []), p, links, cohort_ok=cohort_ok)

    # --- ranking table rows
    rows: list[dict] = []
    if level == "townships":
        candidates = [(f"t{t['id']}", t["name"], {"township": t["id"]}) for t in townships]
        if any(s["oversight"] == OVERSIGHT_COUNTY for s in schools.values()):
            candidates.append((DIRECT, _("县直学校"), {"direct": True}))
    elif level == "schools":
        candidates = [(f"s{sid}", s["name"], {"school": sid}) for sid, s in schools.items()
                      if (not p.kind or s["kind"] == p.kind)
                      and (not p.township or (s["township_id"] == p.township
                                              and s["oversight"] != OVERSIGHT_COUNTY))
                      and (not p.direct or s["oversight"] == OVERSIGHT_COUNTY)]
        if per_unit.get("township"):
            candidates.append(("township", _("乡镇直接办理"), {"noschool": True}))
    else:
        candidates = []
    for key, label, unit in candidates:
        up = p.with_unit(unit)
        census_unit = None
        if level == "townships" and key.startswith("t") and has_census:
            census_unit = census.get(int(key[1:]), {})
        figures = _unit_figures(per_unit.get(key, {}), census_unit, intake_units.get(key, {}),
                                durations.get(key, []), up, links)
        figures["label"] = label
        figures["key"] = key
        figures["home"] = "" if unit.get("noschool") else f"{links.home}?{up.query()}"
        if level == "schools" and key.startswith("s"):
            school = schools[int(key[1:])]
            figures["kind"] = school["kind"]
            figures["is_center"] = school["is_center"]
        rows.append(figures)
    rows.sort(key=_sort_key)

    return {
        "level": level,
        "overall": overall,
        "units": rows,
        "has_census": has_census,
        "census_year": p.census_year,
        "rules": _rules_payload(rules, p, links),
        "trend": _trend_payload(raised, closed, p, links),
        "funnel": _funnel_payload(overall, p, links),
        "sweeps": _sweeps_payload(sweeps, p, links),
        "townships": [(t["id"], t["name"]) for t in townships],
        "schools": [(sid, s["name"]) for sid, s in schools.items()],
        "periods": {
            "start": p.period_start.isoformat(), "end": p.period_end.isoformat(),
            "as_of": p.as_of.isoformat(), "aid_term": p.aid_term.label,
            "last_month": p.last_month[0].strftime("%Y-%m"),
            "this_month": p.this_month[0].strftime("%Y-%m"),
            "cohort_year": p.cohort_year,
        },
        "last_year": _last_year(user, scope, p, level),
        "generated_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    }


def todo_figures(user: User, p: Params) -> dict[str, dict]:
    """One school's to-do counts (alerts to answer, attempts due, 送教 visits missing this
    month, returns not ticked), counted live on every view — three small queries over one
    school — so a tick or a decision shows at once, even one written by a bulk path that
    sends no signal (the cached figures wait for their invalidation)."""
    links = _Links()
    out: dict[str, dict] = {}
    for source in ("students", "alerts", "cases"):
        metrics = [m for m in _GROUPED[source] if m.todo]
        counts = SOURCES[source].rows(user, p).order_by().aggregate(
            **{m.key: Count("pk", filter=m.where(p)) for m in metrics})
        for m in metrics:
            out[m.key] = _fig(counts[m.key], links.list(m.key, p))
    return out


def _rules_payload(rows: list[dict], p: Params, links: _Links) -> list[dict]:
    labels = dict(Alert.Rule.choices)
    out = []
    for r in sorted(rows, key=lambda r: -r["total"]):
        decided = r["confirmed"] + r["dismissed"]
        rp = replace(p, rule=r["rule"])
        out.append({
            "rule": r["rule"], "label": str(labels.get(r["rule"], r["rule"])),
            "dropout": r["rule"] in Alert.SUSPECTED_RULES,
            "total": _fig(r["total"], links.list("alerts_all", rp)),
            "open": _fig(r["open"], links.list("alerts_all", rp, status="open")),
            "confirmed": _fig(r["confirmed"], links.list("alerts_all", rp, status="confirmed")),
            "dismissed": _fig(r["dismissed"], links.list("alerts_all", rp, status="dismissed")),
            "resolved": _fig(r["resolved"], links.list("alerts_all", rp, status="resolved")),
            "precision": _pct(_rate(r["confirmed"], decided)),
        })
    return out


def _trend_payload(raised: dict, closed: dict, p: Params, links: _Links) -> list[dict]:
    out = []
    for month in p.months:
        key = (month.year, month.month)
        mp = replace(p, month=month.strftime("%Y-%m"))
        out.append({
            "month": month.strftime("%Y-%m"),
            "raised": _fig(raised.get(key, 0), links.list("alerts_raised", mp)),
            "closed": _fig(closed.get(key, 0), links.list("alerts_closed", mp)),
        })
    return out


def _funnel_payload(overall: dict, p: Params, links: _Links) -> list[dict]:
    f = overall["f"]
    steps = ("alerts_raised", "alerts_confirmed", "funnel_cases", "funnel_returned",
             "funnel_escalated")
    return [{"key": k, "label": str(METRICS[k].label), **f[k]} for k in steps]


def _sweeps_payload(runs: list[dict], p: Params, links: _Links) -> list[dict]:
    out = []
    for r in runs:
        rp = replace(p, run=r["pk"])
        out.append({
            "sweep": r["sweep"], "label": _sweep_label(r["sweep"]),
            "as_of": r["as_of"].isoformat(), "period": r["period"], "status": r["status"],
            "started_at": timezone.localtime(r["started_at"]).strftime("%Y-%m-%d %H:%M"),
            "created": _fig(r["alerts"], links.list("sweep_alerts", rp)),
            "trigger": r["trigger"],
        })
    return out
