"""The county's 学年学期 and 学年结转 pages: who may, preview, confirm, revert."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from kongchuo.access.models import AuditEvent
from kongchuo.calendar.models import SchoolYear
from kongchuo.models import Job
from students.models import Student
from tests.schoolyear.conftest import YEAR

pytestmark = pytest.mark.django_db


@pytest.fixture
def july(time_machine):
    time_machine.move_to(dt.datetime(2026, 7, 20, 10, tzinfo=dt.UTC))


@pytest.mark.parametrize("name", ["dashboards:terms", "dashboards:rollover"])
def test_county_only(two_towns, client_as, client, name):
    url = reverse(name)
    assert client.get(url).status_code == 302  # anonymous: to the login page
    for user in (two_towns.township_user, two_towns.school_user):
        assert client_as(user).get(url).status_code == 403
        assert client_as(user).post(url, {"year": YEAR}).status_code == 403
    assert client_as(two_towns.county_user).get(url).status_code == 200


def test_the_county_sets_the_opening_days(two_towns, client_as, july):
    client = client_as(two_towns.county_user)
    page = client.get(reverse("dashboards:terms")).content.decode()
    assert "2025–2026学年 秋季学期" in page and "2026–2027学年 春季学期" in page
    client.post(reverse("dashboards:terms"), {"year": 2026, "y2026-year": 2026,
                                              "y2026-autumn_opens": "2026-08-31",
                                              "y2026-spring_opens": "2027-02-22"})
    record = SchoolYear.objects.get(year=2026)
    assert (record.autumn_opens, record.spring_opens) == (dt.date(2026, 8, 31), dt.date(2027, 2, 22))
    assert AuditEvent.objects.filter(action="school_year_terms").exists()
    r = client.post(reverse("dashboards:terms"), {"year": 2026, "y2026-year": 2026,
                                                  "y2026-autumn_opens": "2026-11-01"}, follow=True)
    assert "开学日期应在" in r.content.decode()
    assert SchoolYear.objects.get(year=2026).autumn_opens == dt.date(2026, 8, 31)


def _count(html: str, key: str) -> int:
    return int(re.search(rf'data-count="{key}">(\d+)<', html).group(1))


def test_preview_then_confirm_then_revert(two_towns, client_as, july, django_capture_on_commit_callbacks):
    client = client_as(two_towns.county_user)
    url = reverse("dashboards:rollover")
    page = client.get(url).content.decode()
    assert "学年结转：2025–2026学年" in page
    assert _count(page, "students") == 21 and _count(page, "promoted") == 9
    assert _count(page, "graduated_primary") == 4 and _count(page, "held_back") == 4
    assert "甲镇西湖教学点" in page  # no 对口初中
    before = sorted(Student.objects.values_list("pk", "grade", "status"))
    r = client.post(url, {"year": YEAR, "action": "close"}, follow=True)  # not ticked
    assert "请先勾选" in r.content.decode()
    assert not SchoolYear.objects.filter(closed_at__isnull=False).exists()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(url, {"year": YEAR, "action": "close", "confirm": "on"})
    r = client.get(r["Location"])
    html = r.content.decode()
    assert "结转完成" in html and "本学年已于" in html
    job = Job.objects.get(kind="school_year_close")
    assert job.status == "succeeded" and job.result["promoted"] == 9
    assert SchoolYear.objects.get(year=YEAR).closed_at is not None
    header = client.get(reverse("home")).content.decode()
    # The header (and the phone menu's header) name the new year's autumn term.
    assert '<span class="text-body-secondary d-none d-md-inline" data-school-term><i class="bi bi-calendar3"></i> 2026–2027学年 秋季学期</span>' in header
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(url, {"year": YEAR, "action": "reopen", "confirm": "on"})
    r = client.get(r["Location"])
    assert "已撤销结转" in r.content.decode()
    assert sorted(Student.objects.values_list("pk", "grade", "status")) == before


def test_too_early_shows_why_and_no_confirm_button(two_towns, client_as, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 20, 10, tzinfo=dt.UTC))
    page = client_as(two_towns.county_user).get(reverse("dashboards:rollover") + "?year=2025").content.decode()
    assert "毕业日" in page and 'id="rollover-submit"' not in page
