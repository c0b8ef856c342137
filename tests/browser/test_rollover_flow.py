"""The county closes a school year in a real browser (Playwright + Debian Chromium): the
学年结转 preview by township / school / grade, the confirmation, the result; then the year-end
review of the closed year. At 1440 px and at 390 px (no sideways scrolling). Screenshots:
schoolyear_*.png."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kongchuo.calendar.models import SchoolYear
from kongchuo.calendar.schoolyear import current_term, school_year_of, today, year_label
from students.models import Student
from students.rollover import rollover_preview
from tests.browser.pages import login, shot
from tests.schoolyear.conftest import add_second_township, build_years

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.fixture
def county_years(db):
    return add_second_township(build_years())


def test_the_county_previews_and_confirms_the_rollover(county_years, live_server, browser):
    y = county_years
    year = school_year_of(today()) - 1  # always closeable: its graduation day has passed
    expected = rollover_preview(year).result
    url = f"{live_server.url}{reverse('dashboards:rollover')}?year={year}"

    page = login(browser, live_server, y.county_user.username, width=1440)
    page.click("a.nav-link:has-text('学年结转')")
    page.goto(url)
    page.wait_for_selector("#rollover-counts")
    assert page.inner_text("h1").endswith(year_label(year))
    for key in ("students", "promoted", "graduated_primary", "graduated_junior", "held_back", "repeated"):
        assert page.inner_text(f'[data-count="{key}"]') == str(getattr(expected, key))
    assert "甲镇西湖教学点" in page.inner_text("#rollover-no-junior")
    assert page.locator("table.rollover-preview").first.is_visible()
    shot(page, "schoolyear_rollover_preview")

    phone = login(browser, live_server, y.county_user.username, width=390)
    phone.goto(url)
    phone.wait_for_selector("#rollover-counts")
    _no_sideways_scroll(phone)
    shot(phone, "schoolyear_rollover_preview_phone")

    page.click("#rollover-submit")  # not ticked: the browser keeps the form
    assert not SchoolYear.objects.filter(year=year, closed_at__isnull=False).exists()
    page.check("#rollover-confirm")
    page.click("#rollover-submit")
    page.wait_for_selector("#rollover-done")
    assert "结转完成" in page.inner_text("#rollover-done")
    page.wait_for_selector("#rollover-closed")
    shot(page, "schoolyear_rollover_done")
    assert SchoolYear.objects.get(year=year).closed_at is not None
    y.p5.refresh_from_db()
    y.j9.refresh_from_db()
    assert (y.p5.grade, y.j9.status) == (6, Student.Status.GRADUATED)
    assert page.locator("#revert-submit").is_visible()

    # the header names the current school year and term in words
    page.goto(f"{live_server.url}/")
    assert current_term().full_label in page.inner_text("[data-school-term]")

    # the year-end review of the closed year, printable, at both widths
    page.goto(f"{live_server.url}{reverse('dashboards:review')}?year={year}")
    page.wait_for_selector("#review-figures")
    assert year_label(year) in page.inner_text("h1.review-title")
    assert page.locator('#review-figures tr[data-unit="county"]').count() == 1
    shot(page, "schoolyear_review")
    phone.goto(f"{live_server.url}{reverse('dashboards:review')}?year={year}")
    phone.wait_for_selector("#review-figures")
    _no_sideways_scroll(phone)
    shot(phone, "schoolyear_review_phone")
