"""The sweep page in a real browser (Playwright + Debian Chromium): a county user runs the 返校核查
by hand for a date and watches the run; a run still in progress is polled by htmx until its
workers finish. Screenshots: docs/screenshots/sweeps_*.png.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from ledgers.models import ReturnReport
from retrieval.models import Alert, SweepRun
from retrieval.sweeps.runner import partition_run, sweep_run_create
from tests.browser.pages import login, shot
from tests.factories import StudentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]






def _shot(page, name: str) -> None:
    shot(page, f"sweeps_{name}")


def test_county_runs_the_return_check_by_hand_and_watches_it(county, live_server, browser):
    c = county
    for school in (c.a_primary, c.a_center, c.b_primary, c.direct):
        for i in range(4):
            s = StudentFactory(school=school, hukou_township=school.township)
            if i:
                ReturnReport.objects.create(student=s, term="2026-spring", reported_on=dt.date(2026, 2, 24))
    page = login(browser, live_server, c.county_user.username)

    page.click("text=排查任务")
    page.wait_for_url(f"{live_server.url}{reverse('retrieval:sweep_list')}")
    assert page.locator("h1").inner_text().startswith("排查任务")
    page.select_option("#id_sweep", "return_check")
    page.fill("#id_as_of", "2026-03-02")
    _shot(page, "list")
    page.click("#sweep-run-form button[type=submit]")

    run = SweepRun.objects.get()
    page.wait_for_url(f"{live_server.url}{reverse('retrieval:sweep_run', args=[run.pk])}")
    page.locator("#sweep-progress .badge", has_text="已完成").first.wait_for()
    run.refresh_from_db()
    assert (run.status, run.created, run.triggered_by_id) == ("succeeded", 8, c.county_user.pk)
    body = page.locator("main").inner_text()
    assert "2026年春季学期" in body and "2026-spring" not in body and "甲镇" in body and "乙镇" in body
    assert c.s_a.id_number not in page.content()  # masked on the page
    assert page.locator("table").last.locator("tbody tr").count() == Alert.objects.count() == 8
    _shot(page, "run")


def test_a_running_sweep_is_polled_until_its_partitions_finish(county, live_server, browser):
    run = sweep_run_create(sweep="census", as_of=dt.date(2026, 7, 15), user=county.county_user)
    page = login(browser, live_server, county.county_user.username)
    page.goto(f"{live_server.url}{reverse('retrieval:sweep_run', args=[run.pk])}")
    assert page.locator("#sweep-progress").get_attribute("hx-trigger") == "every 2s"
    assert "进行中" in page.locator("#sweep-progress").inner_text()
    _shot(page, "running")
    for key in list(run.per_township):  # the workers finish, one partition after another
        partition_run(run.pk, key, worker="test")
    page.locator("#sweep-progress .badge", has_text="已完成").first.wait_for(timeout=20000)
    assert page.locator("#sweep-progress").get_attribute("hx-trigger") is None  # polling stopped
    assert page.locator("progress.sweep-progress").get_attribute("value") == "3"
