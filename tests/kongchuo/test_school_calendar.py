"""校历调整 on a county page: holidays and make-up days that the absence sweep's school-day count
uses; other roles refused; audited; bad input refused in Chinese."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kongchuo.access.models import AuditEvent
from kongchuo.calendar.models import CalendarDay
from kongchuo.calendar.schoolyear import SchoolCalendar
from kongchuo.portal.audit_wording import action_label, detail_text

pytestmark = pytest.mark.django_db
D = dt.date
OTHERS = ["township_a", "school_a", "gov_a", "no_role"]
URL = "/calendar/"


def _post(client, **data):
    payload = {"kind": "holiday", "first": "2026-10-01", "last": "2026-10-07", "note": "国庆节"}
    payload.update(data)
    return client.post(reverse("school_calendar"), payload)


def test_the_url_and_the_menu(county, client_as):
    assert reverse("school_calendar") == URL
    html = client_as(county.county_user).get(URL + "?year=2026").content.decode()
    assert "校历调整" in html and "本学年没有校历调整" in html
    assert f'href="{URL}"' in html  # the menu's 系统管理 → 校历调整
    assert f'href="{URL}"' not in client_as(county.township_a).get("/").content.decode()


def test_a_holiday_week_is_recorded_as_its_weekdays_and_counted_by_the_sweeps(county, client_as):
    client = client_as(county.county_user)
    resp = _post(client)
    assert resp.status_code == 302 and resp["Location"] == URL + "?year=2026"
    # 1–7 October 2026: Thu, Fri, (Sat, Sun), Mon, Tue, Wed — weekends are no school days anyway
    assert list(CalendarDay.objects.values_list("date", "school_day", "note")) == [
        (D(2026, 10, d), False, "国庆节") for d in (1, 2, 5, 6, 7)]
    assert _post(client, kind="makeup", first="2026-10-10", last="", note="调休上课").status_code == 302
    days = SchoolCalendar.load(D(2026, 9, 28), D(2026, 10, 16))
    assert days.school_days_after(D(2026, 9, 30), 1) == D(2026, 10, 8)  # the holiday is skipped
    assert days.school_days_after(D(2026, 10, 9), 1) == D(2026, 10, 10)  # a Saturday with classes
    events = list(AuditEvent.objects.filter(action="calendar_day_set").order_by("pk"))
    assert [e.detail["dates"] for e in events] == [
        ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"], ["2026-10-10"]]
    assert events[0].user == county.county_user and events[1].detail["school_day"] is True
    assert action_label("calendar_day_set") == "登记校历调整"
    assert "日期：2026年10月1日、2026年10月2日" in detail_text(events[0].detail)
    html = client.get(resp["Location"]).content.decode()
    assert html.count('data-date="') == 6 and "调休上课" in html and "周六" in html


def test_a_day_is_replaced_not_doubled_and_deleted(county, client_as):
    client = client_as(county.county_user)
    _post(client, first="2027-01-04", last="", note="停课")
    _post(client, first="2027-01-04", last="", note="雪灾停课")
    assert list(CalendarDay.objects.values_list("date", "note")) == [(D(2027, 1, 4), "雪灾停课")]
    resp = client.post(reverse("school_calendar_delete", args=["2027-01-04"]))
    assert resp.status_code == 302 and resp["Location"] == URL + "?year=2026"
    assert not CalendarDay.objects.exists()
    event = AuditEvent.objects.get(action="calendar_day_delete")
    assert event.detail == {"dates": ["2027-01-04"], "school_day": False, "note": "雪灾停课"}
    assert client.post(reverse("school_calendar_delete", args=["2027-01-04"])).status_code == 404
    assert client.post(reverse("school_calendar_delete", args=["not-a-day"])).status_code == 404
    assert client.get(reverse("school_calendar_delete", args=["2027-01-04"])).status_code == 405


@pytest.mark.parametrize("data,message", [
    ({"first": ""}, "请填写日期"),
    ({"first": "2026-13-01"}, "日期格式应为 YYYY-MM-DD"),
    ({"last": "2026-09-30"}, "结束日期早于开始日期"),
    ({"last": "2026-12-31"}, "一次最多登记31天"),
    ({"first": "2026-10-03", "last": "2026-10-04"}, "周六、周日本来就不上课，放假只需登记周一至周五"),
    ({"kind": "makeup", "first": "2026-10-05", "last": ""}, "周一至周五本来就上课，调休上课只需登记周六、周日"),
    ({"kind": "sometimes"}, "sometimes"),
])
def test_bad_input_is_refused_in_chinese_and_nothing_is_written(county, client_as, data, message):
    resp = _post(client_as(county.county_user), **data)
    assert resp.status_code == 400
    assert message in resp.content.decode()
    assert not CalendarDay.objects.exists()
    assert not AuditEvent.objects.filter(action="calendar_day_set").exists()


def test_others_are_refused(county, client_as):
    CalendarDay.objects.create(date=D(2026, 10, 8), note="国庆节")
    for who in OTHERS:
        client = client_as(getattr(county, who))
        assert client.get(URL).status_code == 403, who
        assert _post(client).status_code == 403, who
        assert client.post(reverse("school_calendar_delete", args=["2026-10-08"])).status_code == 403, who
    assert CalendarDay.objects.count() == 1
    assert not AuditEvent.objects.filter(action__startswith="calendar_day").exists()
    assert client_as(county.county_user).get(URL + "?year=1990").status_code == 404
