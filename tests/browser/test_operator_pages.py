"""Routine operator work without the Django admin, in a real browser (Playwright + Debian
Chromium), on a desktop (1440 px) and a phone (390 px): 排查计划 (the year's sweeps in words, a
schedule changed), 校历调整 (a holiday week and a make-up day), and a sweep run whose worker died
(已中断, then 已重发). Screenshots: operator_*.png.
"""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from kongchuo.access.models import AuditEvent
from kongchuo.calendar.models import CalendarDay
from retrieval.models import SweepRun
from retrieval.sweeps.runner import partition_run, sweep_run_create, sweep_runs_resume
from tests.browser.pages import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = {"desktop": 1440, "phone": 390}


def _schedule():
    """The migration's beat rows (a transactional test's flush removed them)."""
    if not PeriodicTask.objects.filter(task="retrieval.tasks.sweep_scheduled").exists():
        importlib.import_module("retrieval.migrations.0004_sweep_schedule").create(apps, None)
        importlib.import_module("retrieval.migrations.0008_transfer_unreceived_schedule").create(apps, None)
        importlib.import_module("retrieval.migrations.0009_census_runs_in_september").forward(apps, None)


def _open(browser, live_server, user, size: str, path: str):
    page = login(browser, live_server, user.username, width=SIZES[size])
    if size == "phone":
        page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}{path}")
    return page


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("size", list(SIZES))
def test_county_changes_a_sweeps_schedule(county, live_server, browser, size):
    _schedule()
    page = _open(browser, live_server, county.county_user, size, reverse("retrieval:sweep_schedule"))
    assert page.locator("h1").inner_text().startswith("排查计划")
    assert page.locator("#sweep-calendar [data-month]").count() == 12
    assert "每年2、3、9月每日1:10" in page.locator("#sweep-schedules").inner_text()
    _no_sideways_scroll(page)
    shot(page, f"operator_schedule_{size}")
    page.locator('[data-sweep="census"] a', has_text="修改").click()
    page.locator("#sweep-schedule-form").wait_for()
    page.uncheck("#id_months_8")  # 9月 off (7月 and 8月 stay ticked)
    page.check("#id_weekdays_3")  # 周四 (周一 is already ticked)
    page.fill("#id_time", "03:45")
    _no_sideways_scroll(page)
    shot(page, f"operator_schedule_edit_{size}")
    page.click("#sweep-schedule-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{reverse('retrieval:sweep_schedule')}")
    assert "每年7、8月每周一、周四3:45" in page.locator("#sweep-schedules").inner_text()
    assert AuditEvent.objects.filter(action="sweep_schedule", user=county.county_user).count() == 1


@pytest.mark.parametrize("size", list(SIZES))
def test_county_keeps_the_school_calendar(county, live_server, browser, size):
    _schedule()
    page = _open(browser, live_server, county.county_user, size, reverse("school_calendar") + "?year=2026")
    assert page.locator("h1").inner_text() == "校历调整"
    page.fill("#id_first", "2026-10-01")
    page.fill("#id_last", "2026-10-07")
    page.fill("#id_note", "国庆节")
    page.click("#calendar-form button[type=submit]")
    page.locator("#calendar-days [data-date='2026-10-07']").wait_for()
    page.select_option("#id_kind", "makeup")
    page.fill("#id_first", "2026-10-10")
    page.fill("#id_note", "国庆调休上课")
    page.click("#calendar-form button[type=submit]")
    page.locator("#calendar-days [data-date='2026-10-10']").wait_for()
    assert CalendarDay.objects.count() == 6
    page.select_option("#id_kind", "makeup")
    page.fill("#id_first", "2026-10-12")  # a Monday: refused in Chinese
    page.click("#calendar-form button[type=submit]")
    assert "周一至周五本来就上课" in page.locator("#calendar-form").inner_text()
    _no_sideways_scroll(page)
    shot(page, f"operator_calendar_{size}")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_run_whose_worker_died_shows_interrupted_then_resent(county, live_server, browser, size,
                                                              monkeypatch):
    _schedule()
    monkeypatch.setattr("retrieval.sweeps.runner.sweep_partitions_enqueue", lambda run_id, keys: None)  # no worker
    run = sweep_run_create(sweep="return_check", as_of=dt.date(2026, 3, 2), user=county.county_user)
    first, second, third = list(run.per_township)
    partition_run(run.pk, first, worker="w1:1")
    ago = (timezone.now() - dt.timedelta(seconds=95)).isoformat()
    r = SweepRun.objects.get(pk=run.pk)
    r.per_township[second].update(state="running", by="w1:2", attempts=1, at=ago, beat=ago)
    r.save(update_fields=["per_township"])
    SweepRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - dt.timedelta(minutes=3))
    page = _open(browser, live_server, county.county_user, size, reverse("retrieval:sweep_run", args=[run.pk]))
    assert "已中断" in page.locator("#sweep-progress").inner_text()
    _no_sideways_scroll(page)
    shot(page, f"operator_run_interrupted_{size}")
    assert sweep_runs_resume(stalled_after=dt.timedelta(seconds=60)) == [run.pk]  # the watchdog
    page.locator("#sweep-progress .badge", has_text="已重发 1 次").wait_for(timeout=10000)
    shot(page, f"operator_run_resent_{size}")
    page.goto(f"{live_server.url}/")
    assert "1 个分区已重发" in page.locator("#home-sweeps").inner_text()
    shot(page, f"operator_home_{size}")
