"""Figures on the hand-built county (tests/dashboards/conftest.py) against hand counts, and every
figure's drill-down list holding exactly as many rows as the figure says."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import resolve

from dashboards.metrics import METRICS, metric_rows
from dashboards.params import parse_params
from dashboards.selectors import dashboard_data, todo_figures
from kongchuo.access.scoping import scope_of
from tests.dashboards.conftest import TODAY

pytestmark = pytest.mark.django_db

# Hand counts for the county user (see the fixture's comments for who is who).
HAND_COUNTY = {
    "in_school": 9, "home_teaching": 2, "ht_ok": 1, "ht_short_last": 1, "ht_short": 2,
    "poor": 2, "aid_ok": 1, "aid_missing": 1, "susp_expiring": 1, "returns_missing": 5,
    "grad": 3, "cohort_in": 1, "cohort_out": 1, "cohort_death": 1, "cohort_abroad": 0,
    "roll_start": 11, "dropouts": 1,
    "alerts_open": 4, "alerts_raised": 6, "alerts_confirmed": 2, "alerts_dismissed": 1,
    "alerts_closed": 1, "todo_alerts": 4,
    "cases_open": 2, "cases_escalated": 1, "cases_returned": 1, "cases_closed": 2,
    "funnel_cases": 5, "funnel_returned": 1, "funnel_escalated": 1, "todo_attempts": 1,
    "deferral_pending": 1, "deferral_expiring": 1, "feedback_overdue": 1, "intake": 15,
    "census_total": 8, "census_deferred": 1, "census_local": 3, "census_out_of_county": 1,
    "census_vocational": 1, "census_unaccounted": 2, "census_in_school": 5, "census_eligible": 7,
}


def data_for(user, **query):
    p = parse_params(query, today=TODAY)
    return dashboard_data(user, scope_of(user), p), p


TODO = ("ht_short", "returns_missing", "todo_alerts", "todo_attempts")


def test_county_figures_match_hand_counts(hand):
    data, _ = data_for(hand.county_user)
    figures = {k: v["v"] for k, v in data["overall"]["f"].items()}
    assert {k: figures[k] for k in HAND_COUNTY if k not in TODO} == {
        k: v for k, v in HAND_COUNTY.items() if k not in TODO}
    assert not set(TODO) & set(figures)  # a school's to-do items are not counted county-wide


def test_county_todo_counts_when_looking_at_the_whole_county_as_one_school_would(hand):
    """The to-do figures themselves, over the whole county (one school's filter at a time)."""
    totals = dict.fromkeys(TODO, 0)
    for school in (hand.a_center, hand.a_primary, hand.b_center, hand.b_primary, hand.direct):
        figures = todo_figures(hand.county_user, parse_params({"school": str(school.pk)}, today=TODAY))
        for key in TODO:
            totals[key] += figures[key]["v"]
    # open alerts at school level: A1, A6, A7 (东岗小学) and A5 (县二中); A4 is the township's
    # todo_alerts: A1, A5, A6 (A7 is a 送教 reminder, not a suspected dropout)
    assert totals == {"ht_short": 2, "returns_missing": 5, "todo_alerts": 3, "todo_attempts": 1}


def test_county_rates(hand):
    data, _ = data_for(hand.county_user)
    o = data["overall"]
    assert o["enrol"]["v"] == pytest.approx(5 / 7)  # deferred child out of both sides
    # Cohort: 3 graduates ÷ (15 intake + 1 transfer in − 1 imported transfer out − 1 moved out
    # of the county − 1 death).
    assert o["retention"]["mode"] == "cohort"
    assert o["retention"]["den"] == 13
    assert o["retention"]["v"] == pytest.approx(3 / 13)
    assert o["ht"]["v"] == pytest.approx(0.5)
    assert o["aid"]["v"] == pytest.approx(0.5)
    assert o["median_days"]["v"] == 20.0  # closed after 10 and 30 days


def test_retention_falls_back_to_proxy_without_intake(hand):
    from dashboards.models import CohortIntake

    CohortIntake.objects.filter(year=2018).delete()
    data, _ = data_for(hand.county_user)
    r = data["overall"]["retention"]
    assert r["mode"] == "proxy"
    assert r["v"] == pytest.approx(1 - 1 / 11)


def test_township_view_is_proxy_and_scoped(hand):
    data, _ = data_for(hand.township_a)
    o = data["overall"]
    f = {k: v["v"] for k, v in o["f"].items()}
    assert data["level"] == "schools"
    assert f["in_school"] == 6
    assert f["alerts_open"] == 3  # two at its schools (one raised last year) + one routed to it
    assert f["cases_open"] == 2 and f["cases_escalated"] == 1
    assert f["census_total"] == 6 and f["census_unaccounted"] == 2
    assert o["enrol"]["v"] == pytest.approx(3 / 5)
    assert o["retention"]["mode"] == "proxy"
    assert o["retention"]["v"] == pytest.approx(1 - 1 / 7)
    assert f["deferral_pending"] == 0
    labels = {u["label"] for u in data["units"]}
    assert labels == {hand.a_center.name, hand.a_primary.name, "乡镇直接办理"}


def test_school_view(hand):
    data, _ = data_for(hand.school_a)
    f = {k: v["v"] for k, v in data["overall"]["f"].items()}
    assert data["level"] == "school"
    assert data["units"] == []
    assert not data["has_census"]
    assert f["in_school"] == 3
    todo = {k: v["v"] for k, v in todo_figures(hand.school_a, parse_params({}, today=TODAY)).items()}
    assert todo == {"todo_alerts": 2,  # two suspected dropouts (the 送教 reminder is not one)
                    "todo_attempts": 1, "ht_short": 2, "returns_missing": 0}
    assert f["feedback_overdue"] == 1
    assert f["census_total"] == 0  # schools hold no census


def test_county_rows_sum_to_totals_and_rank_worst_first(hand):
    data, _ = data_for(hand.county_user)
    rows = {u["key"]: u for u in data["units"]}
    assert set(rows) == {f"t{hand.ta.pk}", f"t{hand.tb.pk}", "direct"}
    for key in ("in_school", "alerts_open", "cases_open", "census_total", "roll_start"):
        assert sum(u["f"][key]["v"] for u in data["units"]) == data["overall"]["f"][key]["v"], key
    # 甲镇: 3 of 5 placed (60%) is the worst 入学率 and comes first.
    assert data["units"][0]["key"] == f"t{hand.ta.pk}"
    assert rows["direct"]["f"]["alerts_open"]["v"] == 1


def test_past_term_filter(hand):
    data, _ = data_for(hand.county_user, year="2025", season="spring")
    f = {k: v["v"] for k, v in data["overall"]["f"].items()}
    assert f["alerts_raised"] == 1  # only A6, raised 2026-03-01
    assert f["alerts_open"] == 1
    assert f["funnel_cases"] == 0


def test_kind_and_township_filters(hand):
    data, _ = data_for(hand.county_user, kind="primary")
    f = {k: v["v"] for k, v in data["overall"]["f"].items()}
    assert f["in_school"] == 4  # s_a, s_ht, s_ht2 at 甲镇东岗小学 + s_b at 乙镇西湖小学
    assert data["overall"]["retention"]["mode"] == "proxy"
    data, _ = data_for(hand.county_user, township="direct")
    f = {k: v["v"] for k, v in data["overall"]["f"].items()}
    assert f["in_school"] == 2 and f["alerts_open"] == 1 and f["census_total"] == 0
    data, _ = data_for(hand.county_user, township=str(hand.tb.pk))
    assert data["level"] == "schools"
    assert {k: v["v"] for k, v in data["overall"]["f"].items()}["census_total"] == 2


def _all_links(data):
    """Every (figure value, url) pair on the page: overall, rows, rules, trend, funnel."""
    pairs = []
    blocks = [data["overall"], *data["units"]]
    for block in blocks:
        for fig in block["f"].values():
            pairs.append((fig["v"], fig["url"]))
    for rule in data["rules"]:
        for key in ("total", "open", "confirmed", "dismissed", "resolved"):
            pairs.append((rule[key]["v"], rule[key]["url"]))
    for month in data["trend"]:
        pairs += [(month["raised"]["v"], month["raised"]["url"]),
                  (month["closed"]["v"], month["closed"]["url"])]
    for run in data["sweeps"]:
        pairs.append((run["created"]["v"], run["created"]["url"]))
    return pairs


def test_todo_lists_match_their_numbers(hand):
    for user in (hand.school_a, hand.school_b):
        for key, fig in todo_figures(user, parse_params({}, today=TODAY)).items():
            query = {k: v[0] for k, v in parse_qs(urlsplit(fig["url"]).query).items()}
            assert metric_rows(METRICS[key], user, parse_params(query, today=TODAY)).count() == fig["v"]


def test_last_sweep_runs(hand):
    data, _ = data_for(hand.county_user)
    assert [(r["label"], r["created"]["v"]) for r in data["sweeps"]] == [("返校核查", 2)]
    data, _ = data_for(hand.township_a)
    assert [r["created"]["v"] for r in data["sweeps"]] == [1]  # A3 is 乙镇's
    data, _ = data_for(hand.school_a)
    assert data["sweeps"] == []


@pytest.mark.parametrize("who", ["county_user", "township_a", "township_b", "school_a"])
def test_every_drilldown_list_matches_its_number(hand, who):
    user = getattr(hand, who)
    data, _ = data_for(user)
    pairs = _all_links(data)
    assert len(pairs) > 40
    for value, url in pairs:
        parts = urlsplit(url)
        match = resolve(parts.path)
        metric = METRICS[match.kwargs["metric"]]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        rows = metric_rows(metric, user, parse_params(query, today=TODAY))
        if metric.source == "intake":
            from django.db.models import Sum

            count = rows.aggregate(n=Sum("grade1_count"))["n"] or 0
        else:
            count = rows.count()
        assert count == value, (url, count, value)


def test_drilldown_page_count_equals_figure(hand, client_as):
    data, _ = data_for(hand.county_user)
    client = client_as(hand.county_user)
    for key in ("alerts_open", "census_unaccounted", "aid_missing", "cases_open", "grad"):
        fig = data["overall"]["f"][key]
        body = client.get(fig["url"]).content.decode()
        assert f'data-drill-count="{fig["v"]}"' in body, key


def test_census_deferred_by_status_or_ledger_counts_once_and_matches_its_lists(hand):
    """The census reconciliation sorts each child by (student status, deferral on file): a
    student record marked 延缓入学, an approved deferral, or both, is one deferred child; a
    student record not at school (疑似辍学) leaves the child unaccounted."""
    import datetime as dt

    from ledgers.models import Deferral
    from tests.factories import CensusEntryFactory, StudentFactory

    c = hand
    born = dt.date(2019, 3, 1)  # six in the census year
    by_status = StudentFactory(school=c.b_primary, hukou_township=c.tb, grade=1, status="deferred")
    both = StudentFactory(school=c.b_primary, hukou_township=c.tb, grade=1, status="deferred")
    suspected = StudentFactory(school=c.b_primary, hukou_township=c.tb, grade=2, status="suspected")
    for student in (by_status, both, suspected):
        CensusEntryFactory(year=2026, township=c.tb, id_number=student.id_number, birth_date=born)
    Deferral.objects.create(school=c.b_primary, id_number=both.id_number, name=both.name,
                            birth_date=born, guardian_name="家长", reason="疾病",
                            certificate="医院证明", start_date=dt.date(2026, 9, 1),
                            end_date=TODAY + dt.timedelta(days=60), review="approved")
    data, p = data_for(c.county_user)
    f = {k: v["v"] for k, v in data["overall"]["f"].items()}
    census = {k: v for k, v in f.items() if k.startswith("census_")}
    assert census == {"census_total": 11, "census_deferred": 3, "census_eligible": 8,
                      "census_local": 3, "census_out_of_county": 1, "census_vocational": 1,
                      "census_unaccounted": 3, "census_in_school": 5}
    township_b = next(u for u in data["units"] if u["key"] == f"t{c.tb.pk}")["f"]
    assert (township_b["census_total"]["v"], township_b["census_deferred"]["v"],
            township_b["census_unaccounted"]["v"]) == (5, 2, 1)
    for key, value in census.items():
        assert metric_rows(METRICS[key], c.county_user, p).count() == value, key
