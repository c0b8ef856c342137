"""The dashboards in a real browser (Playwright + Debian Chromium) against the live server.

A demo county (students.demo.seed_county + every app's demo seeders, plus alerts and 劝返
cases spread over its townships) is shown to county, township and school users. The test
checks that every chart drew something (non-empty SVG), that a figure and the drill-down list
it links to agree, that a chart's table opens, that the county page prints on one A4 page, and
saves the three home pages to docs/screenshots/dashboard_{county,township,school}.png.
"""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from kongchuo import plugins
from kongchuo.calendar.schoolyear import school_year_of, today
from retrieval.models import Alert, PersuasionAttempt, RetrievalCase
from students.demo import seed_county
from students.models import School, Student, Township
from tests.browser.pages import login, shot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]





def _spread_work(rng: random.Random, county_user) -> None:
    """Alerts in every state and cases at every stage, over all townships and the past months
    of this school year, so the trend, funnel, rule and ranking charts all have bars."""
    now = timezone.now()
    year_start = timezone.make_aware(dt.datetime(school_year_of(today()), 9, 1, 9))
    span = max((now - year_start).days, 1)
    students = list(Student.objects.filter(status="enrolled").select_related("school")
                    .order_by("pk")[:: 37][:60])
    rules = ["return_check", "grade9_screening", "census", "absence", "feedback_verification"]
    for i, s in enumerate(students):
        status = ["open", "open", "confirmed", "dismissed", "dismissed", "resolved"][i % 6]
        raised = year_start + dt.timedelta(days=rng.randrange(span))
        alert = Alert.objects.create(rule=rules[i % len(rules)], period="demo", subject=s.id_number,
                                     student=s, name=s.name, school=s.school,
                                     township=s.school.township, status=status)
        closed = raised + dt.timedelta(days=rng.randint(1, 10)) if status != "open" else None
        Alert.objects.filter(pk=alert.pk).update(raised_at=raised, closed_at=min(closed, now) if closed else None)
        if status == "confirmed":
            case_status = ["open", "escalated", "closed", "closed"][i % 4]
            case = RetrievalCase.objects.create(
                student=s, id_number=s.id_number, name=s.name, school=s.school,
                township=s.school.township, grade=s.grade, status=case_status, reason="weary",
                closure_category="returned" if case_status == "closed" else "",
                opened_by=county_user)
            RetrievalCase.objects.filter(pk=case.pk).update(
                opened_at=raised, closed_at=(raised + dt.timedelta(days=rng.randint(5, 25)))
                if case_status == "closed" else None)
            PersuasionAttempt.objects.create(case=case, attempted_on=raised.date(), people="班主任",
                                             method="home_visit", result="已家访", outcome="continuing",
                                             recorded_by=county_user)


@pytest.fixture
def demo(db):
    rng = random.Random(6)
    seed_county(students=1500, seed=6)
    seed_rng = random.Random(7)
    for seed_app in plugins.items("seeder"):
        seed_app(seed_rng, None)
    county_user = UserFactory(username="b_county", role="county", first_name="教育股")
    _spread_work(rng, county_user)
    # The township and school with the most open alerts: their pages have the most to show.
    busiest = (Alert.objects.filter(status="open", school__oversight="township")
               .values("school_id").annotate(n=Count("pk")).order_by("-n", "school_id").first())
    school = School.objects.get(pk=busiest["school_id"])
    township_user = UserFactory(username="b_township", role="township", township=school.township)
    school_user = UserFactory(username="b_school", role="school", school=school)
    # …and a little more waiting on that school: alerts to answer, a case due an attempt.
    pupils = list(Student.objects.filter(school=school, status="enrolled").order_by("pk")[:4])
    for s in pupils[:3]:
        Alert.objects.get_or_create(rule="absence", period="demo", subject=s.id_number, defaults={
            "student": s, "name": s.name, "school": school, "township": school.township})
    if len(pupils) > 3:
        case = RetrievalCase.objects.create(
            student=pupils[3], id_number=pupils[3].id_number, name=pupils[3].name, school=school,
            township=school.township, grade=pupils[3].grade, reason="learning", opened_by=county_user)
        RetrievalCase.objects.filter(pk=case.pk).update(opened_at=timezone.now() - dt.timedelta(days=12))
    cache.clear()
    return county_user, township_user, school_user


def _page(browser, live_server, username: str, width: int = 1440):
    page = login(browser, live_server, username, width=width, timeout=20000)
    page.wait_for_selector("html[data-charts-ready]", state="attached")
    return page


def _charts_drawn(page) -> dict[str, int]:
    """Drawn shapes per chart: SVG paths/rects/texts inside each [data-chart] element."""
    return page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('[data-chart]')].map(el => [
            el.dataset.chart,
            el.querySelectorAll('svg path, svg rect, svg text').length]))""")


def _number(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def _shot(page, name: str) -> None:
    shot(page, f"dashboard_{name}")


def test_county_dashboard_in_the_browser(demo, live_server, browser):
    county_user, _, _ = demo
    page = _page(browser, live_server, county_user.username)
    drawn = _charts_drawn(page)
    assert set(drawn) == {"ranking", "trend", "funnel", "rules"}
    # axes, labels and bars (five funnel steps with their labels), not an empty frame
    assert drawn["ranking"] > 60 and drawn["trend"] > 20 and drawn["rules"] > 20, drawn
    assert drawn["funnel"] >= 10, drawn
    assert page.locator("#dash-rank-table tbody tr").count() == Township.objects.count() + 1  # + 县直
    _shot(page, "county")

    # A chart is also a table.
    page.click("[data-bs-target='#dash-rules-table']")
    page.wait_for_selector("#dash-rules-table.show")
    assert page.locator("#dash-rules-table tbody tr").count() >= 3

    # The county page prints as one A4 page.
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 1
    page.emulate_media(media="screen")

    # Figures and the lists behind them agree.
    for figure in ("alerts_open", "census_unaccounted", "in_school", "cases_open"):
        link = page.locator(f"[data-figure='{figure}']").first
        shown = _number(link.inner_text())
        link.click()
        page.wait_for_selector("[data-drill-count]")
        assert int(page.get_attribute("[data-drill-count]", "data-drill-count")) == shown, figure
        page.go_back()
        page.wait_for_selector("html[data-charts-ready]", state="attached")

    # A bar of the ranking chart opens that township's page.
    page.locator("[data-chart='ranking'] svg path").nth(40).click(force=True)
    page.wait_for_load_state()


def test_township_and_school_dashboards_in_the_browser(demo, live_server, browser):
    _, township_user, school_user = demo
    page = _page(browser, live_server, township_user.username)
    drawn = _charts_drawn(page)
    assert set(drawn) == {"ranking", "trend", "funnel", "rules"}
    assert all(n > 10 for n in drawn.values()), drawn
    assert page.locator("text=户籍与学籍比对").count() == 1
    _shot(page, "township")
    link = page.locator("[data-figure='census_unaccounted_box']")
    shown = _number(link.inner_text())
    link.click()
    page.wait_for_selector("[data-drill-count]")
    assert int(page.get_attribute("[data-drill-count]", "data-drill-count")) == shown

    page = _page(browser, live_server, school_user.username)
    assert page.locator("[data-todo]").count() == 8  # the to-do list comes first
    drawn = _charts_drawn(page)
    assert drawn.get("trend", 0) > 10 and drawn.get("funnel", 0) > 5
    _shot(page, "school")
    item = page.locator("[data-todo='returns_missing']")
    shown = _number(item.locator(".dash-todo-count").inner_text())
    item.click()
    page.wait_for_selector("[data-drill-count]")
    assert int(page.get_attribute("[data-drill-count]", "data-drill-count")) == shown
