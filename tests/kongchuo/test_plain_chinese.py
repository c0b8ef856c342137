"""What a clerk reads instead of codes: terms, periods, schedules, alert evidence, audit rows,
date inputs, the one highlighted menu item, and the error pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from kongchuo.calendar.schoolyear import period_code, period_label, term_label, today
from kongchuo.jobs.crontab import cron_label
from kongchuo.portal.audit_wording import action_label, detail_text, object_label, outcome_label
from retrieval.models import Alert
from retrieval.sweeps.forms import SweepRunForm
from retrieval.wording import alert_evidence, alert_period


@pytest.fixture(autouse=True)
def _chinese():
    with translation.override("zh-hans"):
        yield


@pytest.mark.parametrize(("value", "words"), [
    ("2026-autumn", "2026年秋季学期"), ("2025-spring", "2025年春季学期"), ("2026-11", "2026年11月"),
    ("2026-12-01", "2026年12月1日"), ("2026", "2026年"), ("fb12", "fb12"),
])
def test_periods_read_as_words(value, words):
    assert period_label(value) == words


def test_a_typed_period_finds_the_code():
    assert period_code("2026年秋季学期") == "2026-autumn"
    assert period_code("2026春") == "2026-spring"
    assert period_code("2026年11月") == "2026-11"
    assert period_code("2026-autumn") == "2026-autumn"
    assert term_label("not a term") == "not a term"


@pytest.mark.parametrize(("cron", "words"), [
    ("10 1 * 2,3,9 *", "每年2、3、9月每日1:10"),
    ("0 2 3 * *", "每月3日2:00"),
    ("20 1 * 5,6 1", "每年5、6月每周一1:20"),
    ("30 6 * * 1-5", "每周一至周五6:30"),
    ("*/10 * * * *", "每10分钟"),
    ("0 8,20 * * *", "每日8:00、20:00"),
])
def test_schedules_read_as_words(cron, words):
    assert cron_label(*cron.split()) == words


def _alert(rule, detail, period="2026-autumn"):
    return Alert(rule=rule, period=period, subject="341522201001011234", detail=detail)


@pytest.mark.parametrize(("rule", "detail", "sentence"), [
    ("absence", {"absence": 15, "start": "2026-12-01", "end": "2026-12-04", "school_days": 4},
     "2026年12月1日至12月4日连续4个上课日缺课，未请假"),
    ("return_check", {"term": "2026-autumn", "last_status": "enrolled"},
     "上学期在读（在读），2026年秋季学期开学后未报到，且无转学、请假或休学记录"),
    ("expiries", {"kind": "deferral", "deferral": 3, "end_date": "2026-11-30", "state": "ended"},
     "延缓入学已于2026年11月30日到期，尚未复学或办理新的手续"),
    ("expiries", {"kind": "suspension", "change": 9, "end_date": "2026-12-20", "state": "ending"},
     "休学将于2026年12月20日到期，请提前安排复学"),
    ("home_teaching", {"month": "2026-11", "visits": 1}, "2026年11月送教上门1次，少于每月2次"),
    ("aid_coverage", {"term": "2026-autumn", "status": "enrolled"},
     "困难家庭学生，2026年秋季学期无“两免一补”资助记录"),
    ("census", {"kind": "grade1", "year": "2026", "birth_date": "2020-03-05", "student_status": None},
     "2020年3月5日出生，2026年秋季应入小学一年级，未查到入学记录"),
])
def test_each_rules_evidence_is_a_sentence(rule, detail, sentence):
    assert alert_evidence(_alert(rule, detail)) == [sentence]


def test_no_rule_shows_a_key_of_its_detail():
    details = {
        "grade9_screening": {"kind": "student", "change": "transfer_out", "absent_days": 5, "since": "2026-03-01"},
        "feedback_verification": {"batch": 1, "row": 7, "problem": "学籍系统显示疑似辍学", "item": 3},
        "overdue": {"kind": "no_attempt", "case": 4, "since": "2026-11-20"},
        "entry": {"kind": "grade7", "year": "2026", "birth_date": "2014-05-01", "student_status": "graduated"},
    }
    for rule, detail in details.items():
        text = " ".join(alert_evidence(_alert(rule, detail)))
        for key in detail:
            assert key not in text, (rule, text)
        assert "transfer_out" not in text and "graduated" not in text


def test_an_overdue_reminder_shows_a_date_not_its_key():
    alert = _alert("overdue", {"kind": "no_attempt", "case": 4, "since": "2026-11-20"}, period="case4-na")
    assert alert_period(alert) == "2026年11月20日"


def test_audit_rows_read_as_words():
    assert action_label("user_create") == "新建用户" and outcome_label("ok") == "成功"
    assert object_label("students.user") == "用户"
    assert detail_text({"role": "township_gov", "username": "u"}) == "角色：属地政府；用户名：u"
    assert detail_text({"sweep": "census", "as_of": "2026-07-15", "township": ""}) == \
        "排查：适龄儿童摸排；基准日期：2026年7月15日；范围：—"


@pytest.mark.parametrize("action", ["rollover", "rollover_revert", "transfer_request", "transfer_confirm",
                                    "transfer_refused", "transfer_withdrawn", "student_create",
                                    "student_update", "student_id_correct", "repeat_record",
                                    "junior_school_set", "school_year_terms"])
def test_school_year_actions_have_words(action):
    assert action_label(action) != action


def test_school_year_audit_details_read_as_words():
    """The rollover's counts, a transfer's side and source, a record's changed fields: the audit
    page showed already_done, graduated_junior, promoted … as they are."""
    import re

    from students.rollover import RolloverResult

    details = [RolloverResult(year=2025, students=10, promoted=8, graduated_primary=1, graduated_junior=1,
                              held_back=0, repeated=0).as_json(),
               {"direction": "out", "source": "import", "count": 3},
               {"student": 1, "from_school": 2, "to_school": 3},
               {"school": 4, "arrival": "transfer_in"},
               {"fields": ["guardian_phone", "class_name"]},
               {"from": 1, "to": 2}, {"date": "2026-12-01", "reason": "x"}]
    for detail in details:
        text = detail_text(detail)
        assert not re.search(r"[a-z]{2,}", text.replace("：x", "")), text
    assert "升级：8" in detail_text(details[0]) and "批量导入" in detail_text(details[1])


@pytest.mark.django_db
def test_the_run_now_date_is_iso_and_today():
    """排查任务's 立即运行 sent "2026/12/07" (Django's zh_Hans input format), which a date input
    cannot show: it rendered empty and blocked the form."""
    html = str(SweepRunForm()["as_of"])
    assert 'type="date"' in html and f'value="{today():%Y-%m-%d}"' in html


def test_any_form_date_field_is_a_native_iso_input():
    from django import forms

    class F(forms.Form):
        day = forms.DateField(initial=dt.date(2026, 12, 7))

    html = str(F()["day"])
    assert 'type="date"' in html and 'value="2026-12-07"' in html
    assert F({"day": "2026/12/07"}).is_valid()  # the slashed form is still read


@pytest.mark.django_db
def test_exactly_one_menu_item_is_highlighted(county, client_as):
    client = client_as(county.township_a)
    for url in (reverse("students:schools"), reverse("students:list"),
                reverse("dashboards:list", args=["in_school"])):
        page = client.get(url).content.decode()
        assert page.count('aria-current="page"') == 1, url
    page = client.get(reverse("dashboards:list", args=["in_school"])).content.decode()
    home = page.split('aria-current="page"', 1)[1][:200]
    assert 'href="/"' in home


@pytest.mark.django_db
def test_filters_say_all_and_forms_say_choose(county, client_as):
    page = client_as(county.school_a).get(reverse("ledgers:family_contact")).content.decode()
    assert "---------" not in page and "全部" in page
    page = client_as(county.school_a).get(reverse("ledgers:new", args=["family_contact"])).content.decode()
    assert "---------" not in page


@pytest.mark.django_db
def test_the_403_page_speaks_one_language(county, client_as):
    page = client_as(county.school_a).get(reverse("retrieval:sweep_list")).content.decode()
    assert "无权访问" in page and "You do not have permission" not in page
