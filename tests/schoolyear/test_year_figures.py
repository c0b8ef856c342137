"""The year's figures frozen at the rollover, per unit, and shown beside this year's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from dashboards.models import CohortIntake, YearFigures
from dashboards.yearclose import school_year_close, school_year_reopen
from dashboards.yearfigures import frozen_for
from tests.schoolyear.conftest import JULY, YEAR

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed(two_towns):
    # the cohort that entered grade 1 in autumn 2017 graduates in 2025–2026: two children
    CohortIntake.objects.create(year=YEAR - 8, school=two_towns.center, grade1_count=2)
    school_year_close(year=YEAR, user=two_towns.county_user, today=JULY)
    return two_towns


def _fig(unit: str) -> dict:
    return YearFigures.objects.get(year=YEAR, unit=unit).figures


def test_the_year_is_frozen_per_unit(closed):
    y = closed
    county = _fig("county")
    assert county["enrolled"] == 19  # on the rolls at the start of the year (left during it: the graduates)
    assert (county["left_graduated_primary"], county["left_graduated_junior"]) == (4, 2)
    # 巩固率 counts the real 毕业 rows: 2 grade-9 graduates ÷ 2 entered in 2017 — not the
    # children who have just moved up into grade 9 (the year is closed)
    assert (county["retention_num"], county["retention_den"], county["retention_rate"],
            county["retention_mode"]) == (2, 2, 1.0, "cohort")
    a, b = _fig(f"t{y.t.pk}"), _fig(f"t{y.tb.pk}")
    assert (a["left_graduated_primary"], a["left_graduated_junior"], b["left_graduated_primary"]) == (3, 2, 1)
    assert a["retention_mode"] == "proxy" and a["retention_rate"] == 1.0
    assert _fig(f"s{y.point.pk}")["left_graduated_primary"] == 1
    assert _fig("direct")["enrolled"] == 2
    assert YearFigures.objects.filter(year=YEAR, level="school").count() == 7


def test_frozen_figures_are_scoped(closed):
    y = closed
    assert frozen_for(y.township_b_user, year=YEAR, unit=f"t{y.tb.pk}") is not None
    assert frozen_for(y.township_b_user, year=YEAR, unit=f"t{y.t.pk}") is None
    assert frozen_for(y.township_b_user, year=YEAR, unit="county") is None
    assert frozen_for(y.school_user, year=YEAR, unit=f"s{y.primary.pk}") is not None
    assert frozen_for(y.school_user, year=YEAR, unit=f"s{y.junior.pk}") is None


def test_revert_drops_them_and_a_new_close_freezes_again(closed):
    school_year_reopen(year=YEAR, user=closed.county_user)
    assert not YearFigures.objects.exists()
    school_year_close(year=YEAR, user=closed.county_user, today=JULY)
    assert _fig("county")["enrolled"] == 19


def test_dashboards_show_last_year_beside_this_year(closed, client_as, time_machine):
    time_machine.move_to(dt.datetime(2026, 10, 9, 10, tzinfo=dt.UTC))
    y = closed
    html = client_as(y.county_user).get(reverse("home")).content.decode()
    assert "上学年在籍 19" in html and "上学年 100.00%" in html
    html = client_as(y.township_b_user).get(reverse("home")).content.decode()
    assert "上学年在籍 2" in html
    # a year with no closed year before it shows no comparison
    html = client_as(y.county_user).get(reverse("home") + "?year=2025").content.decode()
    assert "data-last-year" not in html
