"""`overdue_case_ids` / `overdue_cases` (for the `overdue` sweep) and the inbox per role."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from kongchuo.calendar.schoolyear import today
from retrieval.alerts import services as alert_services
from retrieval.cases import services as case_services
from retrieval.cases.selectors import overdue_case_ids, overdue_cases
from retrieval.inbox import inbox_for
from tests.retrieval.casefactories import AlertFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def _case(student, user):
    return alert_services.alert_confirm(alert=AlertFactory(student=student), user=user).case


def test_no_attempt_for_seven_days_boundary(county):
    with time_machine.travel(T0, tick=False):
        case = _case(county.s_a, county.school_a)  # opened 2026-03-02
    opened = dt.date(2026, 3, 2)
    assert overdue_case_ids(opened + dt.timedelta(days=6))["no_attempt"] == []
    assert overdue_case_ids(opened + dt.timedelta(days=7))["no_attempt"] == [case.pk]
    # An attempt resets the clock; one dated after as-of does not count for that day.
    with time_machine.travel(T0 + dt.timedelta(days=5), tick=False):
        case_services.case_add_attempt(case=case, user=county.school_a, attempted_on=dt.date(2026, 3, 7),
                                  people="李老师", method="phone", result="未接通", outcome="continuing")
    assert overdue_case_ids(dt.date(2026, 3, 13))["no_attempt"] == []
    assert overdue_case_ids(dt.date(2026, 3, 14))["no_attempt"] == [case.pk]
    assert overdue_case_ids(dt.date(2026, 3, 1))["no_attempt"] == []  # not opened yet
    rows = overdue_cases(dt.date(2026, 3, 14))
    assert rows == [{"kind": "no_attempt", "case_id": case.pk, "id_number": county.s_a.id_number,
                     "name": case.name, "student_id": county.s_a.pk, "school_id": county.a_primary.pk,
                     "township_id": county.ta.pk, "since": dt.date(2026, 3, 7), "level": "township"}]


def test_escalation_unanswered_past_deadline(county):
    with time_machine.travel(T0, tick=False):
        case = _case(county.s_a, county.school_a)
        case_services.case_add_attempt(case=case, user=county.school_a, attempted_on=today(), people="李老师",
                                  method="home_visit", result="拒绝", outcome="failed")
        esc = case_services.case_escalate(case=case, user=county.township_a, version=case.version, note="无效",
                                     deadline=dt.date(2026, 3, 12))
    # Escalated cases are no longer 'no attempt' cases; the government's deadline counts.
    assert overdue_case_ids(dt.date(2026, 3, 12)) == {"no_attempt": [], "escalation_unanswered": []}
    assert overdue_case_ids(dt.date(2026, 3, 13))["escalation_unanswered"] == [case.pk]
    assert overdue_cases(dt.date(2026, 3, 13))[0]["level"] == "county"
    with time_machine.travel(T0 + dt.timedelta(days=12), tick=False):
        case_services.escalation_answer(escalation=esc, user=county.gov_a, measure="talk",
                                   measure_date=today(), note="已约谈监护人")
    assert overdue_case_ids(dt.date(2026, 3, 20))["escalation_unanswered"] == []


def test_county_direct_school_overdue_goes_to_county(county):
    direct_user = type(county.school_a).objects.create(username="u_d", role="school", school=county.direct)
    with time_machine.travel(T0, tick=False):
        case = _case(county.s_direct, direct_user)
    rows = overdue_cases(dt.date(2026, 3, 20))
    assert [(r["case_id"], r["level"]) for r in rows] == [(case.pk, "county")]


def test_overdue_is_set_based(county, django_assert_num_queries):
    with time_machine.travel(T0, tick=False):
        for s in (county.s_a, county.s_a2, county.s_b):
            _case(s, county.county_user)
    with django_assert_num_queries(2):
        ids = overdue_case_ids(dt.date(2026, 4, 1))
    assert len(ids["no_attempt"]) == 3


def _counts(user):
    return {s.key: s.count for s in inbox_for(user, today())}


def test_inbox_per_role(wf):
    c = wf
    school = _counts(c.school_a)
    assert school["alerts"] == 1  # the open return_check alert
    assert "reviews" not in school and "closures" not in school
    assert school["feedback"] == 1 and school["rectifications"] == 1

    township = _counts(c.township_a)
    assert township["reviews"] == 1  # school A's dismissal
    assert township["closures"] == 0  # the township's own request waits for the county
    assert township["alerts"] == 0  # school-level alerts are the schools' to answer
    assert township["feedback"] == 0  # routed to the school

    county = _counts(c.county_user)
    assert county["closures"] == 1 and county["reviews"] == 0
    assert county["rectifications"] == 0  # nothing reported back yet

    assert _counts(c.township_b)["reviews"] == 0
    assert _counts(c.gov_a) == {"escalations": 1, "gov_late": 0}
    assert _counts(c.gov_b) == {"escalations": 0, "gov_late": 0}


def test_inbox_shows_failed_cases_waiting_for_escalation(wf):
    case_services.case_add_attempt(case=wf.case_b, user=wf.school_b, attempted_on=today(), people="班主任",
                              method="phone", result="拒绝返校", outcome="failed")
    assert _counts(wf.township_b)["to_escalate"] == 1
    assert _counts(wf.township_a)["to_escalate"] == 0


def test_inbox_page_lists_sections(wf, client_as):
    body = client_as(wf.township_a).get("/retrieval/inbox/").content.decode()
    assert "待复核的排除申请" in body and wf.s_a.name in body
