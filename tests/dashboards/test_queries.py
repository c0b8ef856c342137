"""The dashboards run a fixed number of SQL queries, whatever the county's size."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboards.params import parse_params
from dashboards.selectors import dashboard_data
from kongchuo.access.scoping import scope_of
from retrieval.models import Alert, RetrievalCase
from tests.dashboards.conftest import TODAY
from tests.factories import CensusEntryFactory, SchoolFactory, StudentFactory, TownshipFactory

pytestmark = pytest.mark.django_db

# schools, townships, 6 grouped sources, census, case durations, rule table, 2 trend, last
# sweeps + their alert counts, last year's frozen figures. A school has no census and no
# sweep list.
DASHBOARD_QUERIES = {"county_user": 16, "township_a": 16, "school_a": 13}


def _grow(hand, n: int) -> None:
    """Add n townships, each with two schools, students, census rows, alerts and cases."""
    for i in range(n):
        t = TownshipFactory(code=f"3415229{i:02d}", name=f"新增{i}镇")
        center = SchoolFactory(township=t, is_center=True, kind="nine_year")
        primary = SchoolFactory(township=t, kind="primary")
        for k in range(6):
            s = StudentFactory(school=primary if k % 2 else center, hukou_township=t,
                               grade=9 if k == 0 else 3, status="home_teaching" if k == 5 else "enrolled")
            CensusEntryFactory(year=2026, township=t, id_number=s.id_number, birth_date=s.birth_date)
        Alert.objects.create(rule="return_check", period="2026-autumn", subject=f"g{i}", school=primary)
        RetrievalCase.objects.create(id_number=f"3415222012010{i:05d}", name="新增", school=center,
                                     township=t, opened_by=hand.county_user)


@pytest.mark.parametrize("who", ["county_user", "township_a", "school_a"])
def test_dashboard_queries_do_not_grow_with_the_county(hand, who, django_assert_num_queries):
    user = getattr(hand, who)
    p = parse_params({}, today=TODAY)
    with django_assert_num_queries(DASHBOARD_QUERIES[who]):
        dashboard_data(user, scope_of(user), p)
    _grow(hand, 12)
    with django_assert_num_queries(DASHBOARD_QUERIES[who]):
        data = dashboard_data(user, scope_of(user), p)
    if who == "county_user":
        assert len(data["units"]) == 2 + 12 + 1  # townships + 县直


def test_county_home_page_queries_are_constant(hand, client_as):
    client = client_as(hand.county_user)

    def page_queries() -> int:
        """Queries of a cold page, less the session bookkeeping (whether the session row is
        rewritten depends on the request history, not on the county)."""
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("home")).status_code == 200
        return len([q for q in ctx.captured_queries if not _bookkeeping(q["sql"])])

    small = page_queries()
    _grow(hand, 15)
    assert page_queries() == small
    # and the home page does not re-run the dashboard when it is cached
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("home"))
    warm = [q for q in ctx.captured_queries if not _bookkeeping(q["sql"])]
    assert len(warm) <= small - DASHBOARD_QUERIES["county_user"]


def _bookkeeping(sql: str) -> bool:
    return "django_session" in sql or sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))


def test_growth_changes_the_figures(hand):
    """Guard against a test that cannot fail: the grown county really counts more."""
    before = dashboard_data(hand.county_user, scope_of(hand.county_user), parse_params({}, today=TODAY))
    _grow(hand, 3)
    after = dashboard_data(hand.county_user, scope_of(hand.county_user), parse_params({}, today=TODAY))
    f0, f1 = before["overall"]["f"], after["overall"]["f"]
    assert f1["in_school"]["v"] == f0["in_school"]["v"] + 18
    assert f1["census_total"]["v"] == f0["census_total"]["v"] + 18
    assert f1["alerts_open"]["v"] == f0["alerts_open"]["v"] + 3
    assert dt.date.today() == TODAY  # frozen clock in this module
