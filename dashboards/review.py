"""回头看 / 年度考核 (work plan, November–December): the year-end review of a closed school year,
for the county (its townships ranked, the county-direct schools, the county) or for one township
(its schools), with the figures frozen at the rollover, last year's beside them, and the open
items the new year inherits. One reader for the printable page and the xlsx in the official
layout (`kongchuo.portal.xlsxout.write_official_workbook`).

Open items are counted live (today): open and escalated 劝返 cases, approved 延缓入学 whose end
has passed with the child in no school. More kinds register in `OPEN_ITEMS` (a counter per
unit and a detail list), e.g. the roster's unexplained missing children.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dashboards.models import YearFigures
from dashboards.yearfigures import COUNTY, DIRECT, FIGURES, LEFT_KEYS
from dashboards.yearfigures import figure_text as fmt
from kongchuo.access.idnumbers import mask_id
from kongchuo.access.scoping import OVERSIGHT_COUNTY, OVERSIGHT_TOWNSHIP, Role, scope_of
from kongchuo.calendar.models import SchoolYear
from kongchuo.calendar.schoolyear import parse_term, year_label
from kongchuo.portal.xlsxout import LedgerColumn, OfficialSheet
from ledgers.models import Deferral
from retrieval.models import RetrievalCase
from students.models import RosterGap, School, Student, Township
from students.selectors import roster_unexplained

FIGURE = {f.key: f for f in FIGURES}
#: Figures shown with last year beside them; the rest show this year only.
COMPARED = ("enrol_rate", "retention_rate", "enrolled", "alerts_raised", "alerts_confirmed",
            "cases_returned", "median_days", "ht_rate", "aid_rate")
SHOWN = ("enrol_rate", "retention_rate", "enrolled", *LEFT_KEYS, "alerts_raised",
         "alerts_dismissed", "alerts_confirmed", "cases_returned", "median_days", "ht_rate",
         "aid_rate", "findings", "findings_closed")


def rank_key(f: dict) -> tuple:
    """考核排名: 入学率, then 巩固率 (higher first), fewer confirmed dropouts, better 送教 and aid."""
    def rate(key: str) -> float:
        value = f.get(key)
        return -1.0 if value is None else value

    return (-rate("enrol_rate"), -rate("retention_rate"), f.get("alerts_confirmed", 0),
            -rate("ht_rate"), -rate("aid_rate"))


# ----------------------------------------------------------------------------- open items


@dataclass(frozen=True)
class OpenItem:
    """A kind of unfinished business carried into the new year: counted per unit (school ids
    and township-routed rows) and listed child by child."""

    key: str
    label: str
    rows: Callable[[dt.date], list[dict]]  # each: name, id_masked, school_id, township_id, note


def _open_cases(day: dt.date) -> list[dict]:
    labels = dict(RetrievalCase.Status.choices)
    qs = (RetrievalCase.objects.exclude(status=RetrievalCase.Status.CLOSED)
          .order_by("township_id", "school_id", "opened_at")
          .values("name", "id_number", "school_id", "township_id", "status", "opened_at"))
    return [{"name": r["name"], "id_masked": mask_id(r["id_number"]), "school_id": r["school_id"],
             "township_id": r["township_id"],
             "note": _("%(status)s，%(day)s立案") % {"status": labels.get(r["status"], r["status"]),
                                                      "day": f"{r['opened_at']:%Y-%m-%d}"}}
            for r in qs]


def _expired_deferrals(day: dt.date) -> list[dict]:
    in_school = Student.objects.filter(id_number=OuterRef("id_number"), status__in=Student.IN_SCHOOL)
    later = Deferral.objects.filter(id_number=OuterRef("id_number"), review=Deferral.Review.APPROVED,
                                    end_date__gt=OuterRef("end_date"))
    qs = (Deferral.objects.filter(review=Deferral.Review.APPROVED, end_date__lt=day)
          .filter(~Exists(in_school)).filter(~Exists(later))
          .order_by("school_id", "end_date")
          .values("name", "id_number", "school_id", "school__township_id", "end_date"))
    return [{"name": r["name"], "id_masked": mask_id(r["id_number"]), "school_id": r["school_id"],
             "township_id": r["school__township_id"], "note": _("%(day)s到期") % {"day": f"{r['end_date']:%Y-%m-%d}"}}
            for r in qs]


def _roster_gaps(day: dt.date) -> list[dict]:
    """Children missing from a term's roster with nothing on file to explain it (the worklist
    of 学籍维护: students.RosterGap / students.selectors.roster_unexplained)."""
    gaps = (roster_unexplained(RosterGap.objects.all(), day)
            .order_by("school_id", "term", "student__name")
            .values("student__name", "student__id_number", "school_id", "school__township_id", "term"))
    return [{"name": g["student__name"], "id_masked": mask_id(g["student__id_number"]),
             "school_id": g["school_id"], "township_id": g["school__township_id"],
             "note": _("%(term)s名册缺失，未说明原因") % {"term": parse_term(g["term"]).full_label}}
            for g in gaps]


OPEN_ITEMS: list[OpenItem] = [
    OpenItem("open_cases", gettext_lazy("未销号劝返案件"), _open_cases),
    OpenItem("expired_deferrals", gettext_lazy("延缓入学已到期未入学"), _expired_deferrals),
    OpenItem("roster_gaps", gettext_lazy("名册缺失未说明"), _roster_gaps),
]


def register_open_item(item: OpenItem) -> None:
    """Another kind of carried-over item (e.g. children missing from the new term's roster)."""
    if all(i.key != item.key for i in OPEN_ITEMS):
        OPEN_ITEMS.append(item)


# ----------------------------------------------------------------------------- the report


@dataclass
class ReviewRow:
    unit: str
    label: str
    this: dict
    last: dict | None
    open: dict[str, int] = field(default_factory=dict)
    rank: int | None = None


@dataclass
class Review:
    year: int
    title: str
    unit_label: str  # 填报单位
    level: str  # "county" | "township"
    rows: list[ReviewRow]  # units, ranked (county: townships then 县直; township: schools)
    total: ReviewRow
    rank_of: tuple[int, int] | None  # a township's place among the county's townships
    open_items: list[tuple[str, str]]  # (key, label)
    details: list[dict]  # every open item, child by child


def closed_years() -> list[int]:
    return list(SchoolYear.objects.filter(closed_at__isnull=False).order_by("-year")
                .values_list("year", flat=True))


def _frozen(year: int, units: list[str]) -> dict[str, dict]:
    return dict(YearFigures.objects.filter(year=year, unit__in=units).values_list("unit", "figures"))


def review_data(*, year: int, township: Township | None, today: dt.date) -> Review:
    """The review of school year `year` for the county (township None) or one township.
    Scope is the caller's business (the view lets a township user see only its own)."""
    schools = {s["id"]: s for s in School.objects.order_by("township__code", "code").values(
        "id", "name", "township_id", "oversight")}
    if township is None:
        towns = list(Township.objects.order_by("code").values("id", "name"))
        units = [(f"t{t['id']}", t["name"]) for t in towns]
        if any(s["oversight"] == OVERSIGHT_COUNTY for s in schools.values()):
            units.append((DIRECT, _("县直学校")))
        total_unit, total_label = COUNTY, _("全县")
        unit_label = _("县教育局")
    else:
        units = [(f"s{sid}", s["name"]) for sid, s in schools.items()
                 if s["township_id"] == township.pk and s["oversight"] == OVERSIGHT_TOWNSHIP]
        total_unit, total_label = f"t{township.pk}", township.name
        unit_label = _("%(township)s中心学校") % {"township": township.name}
    keys = [u for u, _label in units] + [total_unit]
    this, last = _frozen(year, keys), _frozen(year - 1, keys)
    rows = [ReviewRow(unit=u, label=label, this=this.get(u, {}), last=last.get(u))
            for u, label in units if u in this]
    details = []
    for item in OPEN_ITEMS:
        for d in item.rows(today):
            school = schools.get(d["school_id"]) if d["school_id"] else None
            if school is not None:
                unit_key = (f"s{d['school_id']}" if township is not None else
                            DIRECT if school["oversight"] == OVERSIGHT_COUNTY else f"t{school['township_id']}")
            else:
                unit_key = f"t{d['township_id']}" if d["township_id"] else COUNTY
            if township is not None and not (
                    (school is not None and school["township_id"] == township.pk
                     and school["oversight"] == OVERSIGHT_TOWNSHIP)
                    or (school is None and d["township_id"] == township.pk)):
                continue
            details.append({**d, "key": item.key, "kind": str(item.label), "unit": unit_key,
                            "school": school["name"] if school else ""})
    total = ReviewRow(unit=total_unit, label=total_label, this=this.get(total_unit, {}),
                      last=last.get(total_unit))
    by_unit = {r.unit: r for r in rows}
    for d in details:
        key = d["key"]
        total.open[key] = total.open.get(key, 0) + 1
        if d["unit"] in by_unit:
            by_unit[d["unit"]].open[key] = by_unit[d["unit"]].open.get(key, 0) + 1
    ranked = sorted((r for r in rows if r.unit != DIRECT), key=lambda r: rank_key(r.this))
    for place, r in enumerate(ranked, start=1):
        r.rank = place
    rows = ranked + [r for r in rows if r.unit == DIRECT]
    rank_of = None
    if township is not None:
        everyone = _frozen(year, [f"t{t}" for t in Township.objects.values_list("pk", flat=True)])
        order = sorted(everyone, key=lambda u: rank_key(everyone[u]))
        if total_unit in order:
            rank_of = (order.index(total_unit) + 1, len(order))
    title = _("%(year)s控辍保学工作回头看（年度考核）统计表") % {"year": year_label(year)}
    return Review(year=year, title=title, unit_label=unit_label,
                  level="county" if township is None else "township", rows=rows, total=total,
                  rank_of=rank_of, open_items=[(i.key, str(i.label)) for i in OPEN_ITEMS],
                  details=details)


# ----------------------------------------------------------------------------- xlsx


def _figure_columns(review: Review) -> list[LedgerColumn]:
    cols = [LedgerColumn(_("单位"), "label", 18)]
    for key in SHOWN:
        f = FIGURE[key]
        if key in COMPARED:
            cols += [LedgerColumn(_("本学年"), f"{key}", 10, group=str(f.label)),
                     LedgerColumn(_("上学年"), f"{key}__last", 10, group=str(f.label))]
        else:
            cols.append(LedgerColumn(str(f.label), key, 9, kind="text"))
    cols.append(LedgerColumn(_("排名"), "rank", 6, kind="int"))
    return cols


def _figure_record(row: ReviewRow) -> dict:
    out: dict = {"label": row.label, "rank": row.rank}
    for key in SHOWN:
        kind = FIGURE[key].kind
        out[key] = fmt(row.this.get(key), kind)
        if key in COMPARED:
            out[f"{key}__last"] = fmt((row.last or {}).get(key), kind) if row.last else "—"
    return out


def review_sheets(review: Review, *, fill_date: dt.date) -> list[OfficialSheet]:
    figures = OfficialSheet(
        title=review.title, unit=review.unit_label, fill_date=fill_date,
        columns=_figure_columns(review), rows=[_figure_record(r) for r in review.rows],
        total_row=_figure_record(review.total) | {"label": review.total.label, "rank": None},
        sheet_name=_("年度考核"))
    open_cols = [LedgerColumn(_("单位"), "label", 18)] + [
        LedgerColumn(label, key, 14, kind="int") for key, label in review.open_items]
    open_rows = [{"label": r.label, **{k: r.open.get(k, 0) for k, _l in review.open_items}}
                 for r in review.rows]
    carried = OfficialSheet(
        title=_("%(year)s结转至新学年的未办结事项") % {"year": year_label(review.year)},
        unit=review.unit_label, fill_date=fill_date, columns=open_cols, rows=open_rows,
        total_row={k: review.total.open.get(k, 0) for k, _l in review.open_items},
        sheet_name=_("结转事项"), landscape=False)
    detail = OfficialSheet(
        title=_("未办结事项明细"), unit=review.unit_label, fill_date=fill_date,
        columns=[LedgerColumn(_("事项"), "kind", 20), LedgerColumn(_("姓名"), "name", 10),
                 LedgerColumn(_("身份证件号"), "id_masked", 22), LedgerColumn(_("学校"), "school", 24),
                 LedgerColumn(_("情况"), "note", 24)],
        rows=review.details, sheet_name=_("事项明细"), landscape=False)
    return [figures, carried, detail]


def township_choices(year: int) -> list[tuple[int, str]]:
    have = set(YearFigures.objects.filter(year=year, level="township").values_list("township_id", flat=True))
    return [(t.pk, t.name) for t in Township.objects.order_by("code") if t.pk in have]


def visible_township(user, township_id: int | None) -> Township | None:
    """The township a user may review: a township user its own; the county any (or none)."""
    scope = scope_of(user)
    if scope.role == Role.TOWNSHIP:
        return Township.objects.get(pk=scope.township_id)
    if township_id:
        return Township.objects.filter(pk=township_id).first()
    return None


__all__ = ["OPEN_ITEMS", "OpenItem", "Review", "closed_years", "register_open_item", "review_data",
           "review_sheets", "township_choices", "visible_township"]
