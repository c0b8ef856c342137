"""排查计划: the county reads the year's sweeps in words and changes a sweep's schedule without the
admin; other roles are refused; every change is audited; bad input is refused in Chinese."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

from kongchuo.access.models import AuditEvent
from kongchuo.portal.audit_wording import action_label, detail_text, object_label
from retrieval.sweeps.schedule import shape_of
from retrieval.sweeps.selectors import SCHEDULED_TASK

pytestmark = pytest.mark.django_db
OTHERS = ["township_a", "school_a", "gov_a", "no_role"]


def _task(sweep: str) -> PeriodicTask:
    return PeriodicTask.objects.select_related("crontab").get(task=SCHEDULED_TASK, kwargs__contains=f'"{sweep}"')


def _edit(client, task, **data):
    payload = {"enabled": "on", "months": ["2", "3", "9"], "frequency": "daily", "time": "01:10"}
    payload.update(data)
    return client.post(reverse("retrieval:sweep_schedule_edit", args=[task.pk]), payload)


def test_county_reads_the_year_in_words(county, client_as):
    html = client_as(county.county_user).get(reverse("retrieval:sweep_schedule")).content.decode()
    # the migration's calendar, in words: every month's card lists what runs in it
    assert "每年2、3、9月每日1:10" in html and "每年5、6月每周一1:20" in html
    assert "每月3日2:00" in html and "连续缺课" in html
    assert html.count('data-month="') == 12
    assert reverse("retrieval:sweep_schedule_edit", args=[_task("census").pk]) in html


def test_others_are_refused(county, client_as):
    task = _task("census")
    for who in OTHERS:
        client = client_as(getattr(county, who))
        assert client.get(reverse("retrieval:sweep_schedule")).status_code == 403, who
        assert client.get(reverse("retrieval:sweep_schedule_edit", args=[task.pk])).status_code == 403, who
        assert _edit(client, task, time="05:00").status_code == 403, who
    assert _task("census").crontab.hour == "1"
    assert not AuditEvent.objects.filter(action="sweep_schedule").exists()


def test_county_changes_a_schedule_and_beat_is_told(county, client_as):
    task = _task("census")  # every Monday in September (migration 0009)
    shared = task.crontab_id
    before = PeriodicTasks.last_change()
    client = client_as(county.county_user)
    form = client.get(reverse("retrieval:sweep_schedule_edit", args=[task.pk])).content.decode()
    assert 'type="time"' in form and 'value="01:30"' in form
    resp = _edit(client, task, months=["7", "8"], frequency="weekly", weekdays=["1", "4"], time="03:45")
    assert resp.status_code == 302 and resp["Location"] == reverse("retrieval:sweep_schedule")
    task = _task("census")
    c = task.crontab
    assert (c.minute, c.hour, c.day_of_month, c.month_of_year, c.day_of_week) == ("45", "3", "*", "7,8", "1,4")
    assert str(c.timezone) == "Asia/Shanghai"
    assert CrontabSchedule.objects.filter(pk=shared).exists()  # shared rows are never edited in place
    assert PeriodicTasks.last_change() and PeriodicTasks.last_change() != before
    event = AuditEvent.objects.get(action="sweep_schedule")
    assert event.user == county.county_user and event.object_id == str(task.pk)
    assert event.detail["schedule"] == "每年7、8月每周一、周四3:45" and event.detail["enabled"] is True
    assert action_label(event.action) == "修改排查计划" and object_label(event.object_type) == "排查计划"
    assert "运行计划：每年7、8月每周一、周四3:45" in detail_text(event.detail)
    page = client.get(reverse("retrieval:sweep_schedule")).content.decode()
    assert "每年7、8月每周一、周四3:45" in page


def test_disable_and_monthly(county, client_as):
    task = _task("aid_coverage")
    client = client_as(county.county_user)
    assert _edit(client, task, enabled="", months=[str(m) for m in range(1, 13)], frequency="monthly",
                 days="15，1", time="02:10").status_code == 302
    task = _task("aid_coverage")
    assert not task.enabled
    assert (task.crontab.day_of_month, task.crontab.month_of_year, task.crontab.day_of_week) == ("1,15", "*", "*")
    html = client.get(reverse("retrieval:sweep_schedule")).content.decode()
    months = html.split('data-month="')[1:]
    assert all("资助覆盖" not in m for m in months)  # disabled: not on the calendar
    assert "停用" in html


@pytest.mark.parametrize("data,field,message", [
    ({"months": []}, "months", "请至少选择一个月份"),
    ({"frequency": "weekly", "weekdays": []}, "weekdays", "每周运行时请至少选择一天"),
    ({"frequency": "monthly", "days": ""}, "days", "每月运行时请填写日期"),
    ({"frequency": "monthly", "days": "31"}, "days", "每月日期应为1至28之间的整数"),
    ({"frequency": "monthly", "days": "1,x"}, "days", "每月日期应为1至28之间的整数"),
    ({"time": "25:00"}, "time", "时间格式应为 时:分"),
    ({"time": ""}, "time", "请填写运行时间"),
    ({"frequency": "hourly"}, "frequency", "hourly"),
])
def test_bad_input_is_refused_in_chinese_and_nothing_changes(county, client_as, data, field, message):
    task = _task("return_check")
    resp = _edit(client_as(county.county_user), task, **data)
    assert resp.status_code == 400
    assert field in resp.context["form"].errors
    assert message in resp.content.decode()
    c = _task("return_check").crontab
    assert (c.minute, c.hour, c.month_of_year) == ("10", "1", "2,3,9")
    assert not AuditEvent.objects.filter(action="sweep_schedule").exists()


def test_only_sweep_rows_are_editable(county, client_as):
    other = PeriodicTask.objects.create(name="其他任务", task="security.prune_sessions",
                                        crontab=CrontabSchedule.objects.create(minute="0", hour="3"))
    client = client_as(county.county_user)
    assert client.get(reverse("retrieval:sweep_schedule_edit", args=[other.pk])).status_code == 404
    assert _edit(client, other).status_code == 404


@pytest.mark.parametrize("fields,custom", [
    (("10", "1", "*", "2,3,9", "*"), False),
    (("0", "2", "3", "*", "*"), False),
    (("20", "1", "*", "5-6", "1"), False),
    (("*/5", "*", "*", "*", "*"), True),
    (("0", "2", "31", "*", "*"), True),
    (("0", "2", "1", "*", "1"), True),
])
def test_shapes_read_from_cron_fields(fields, custom):
    c = CrontabSchedule(minute=fields[0], hour=fields[1], day_of_month=fields[2], month_of_year=fields[3],
                        day_of_week=fields[4])
    shape = shape_of(c)
    assert shape.custom is custom
    if not custom:
        assert shape.cron() == dict(zip(("minute", "hour", "day_of_month", "month_of_year", "day_of_week"),
                                        [f.replace("5-6", "5,6") for f in fields], strict=True))
        assert shape.time == dt.time(int(fields[1]), int(fields[0]))
