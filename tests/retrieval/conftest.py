"""A county with the 劝返 workflow in every state, for the permission matrix tests."""

from __future__ import annotations

import datetime as dt

import pytest

from kongchuo.calendar.schoolyear import today
from retrieval.alerts import services as alert_services
from retrieval.cases import services as case_services
from retrieval.supervision import services as supervision_services
from tests.factories import UserFactory
from tests.retrieval.casefactories import AlertFactory, FeedbackItemFactory, pdf, png


@pytest.fixture
def wf(county):
    """Objects in each state:

    alert        open return_check alert about s_a (school A's)
    dismissed    s_a's alert dismissed by school A with evidence, review pending at township A
    case         s_a's case, escalated to township A's government (escalation pending)
    case_b       s_b's case, open (township B)
    closure      s_a2's case (A's center school), closure requested by township A → county
    item         feedback row about s_a; batch its batch
    visit        a supervision visit of township A with a finding and an open order for school A
    """
    c = county
    c.gov_b = UserFactory(username="u_gov_b", role="township_gov", township=c.tb)
    c.alert = AlertFactory(student=c.s_a, period="2026-spring")
    c.dismissed_alert = AlertFactory(student=c.s_a, period="2025-autumn")
    c.dismissed = alert_services.alert_dismiss(alert=c.dismissed_alert, user=c.school_a,
                                         reason="transferred", note="转往城关小学", files=[pdf()])
    c.evidence = c.dismissed.evidence.get()
    c.case = alert_services.alert_confirm(alert=AlertFactory(student=c.s_a, rule="absence", period="2026-03"),
                                    user=c.school_a, reason="weary").case
    case_services.case_add_attempt(case=c.case, user=c.school_a, attempted_on=today(), people="李老师",
                              method="home_visit", result="家长不同意", outcome="failed")
    c.escalation = case_services.case_escalate(case=c.case, user=c.township_a, version=c.case.version,
                                          note="多次劝返无效", deadline=today() + dt.timedelta(days=15))
    c.case.refresh_from_db()
    c.case_b = alert_services.alert_confirm(alert=AlertFactory(student=c.s_b), user=c.school_b).case
    case_a2 = alert_services.alert_confirm(alert=AlertFactory(student=c.s_a2), user=c.township_a).case
    c.closure = case_services.case_request_closure(case=case_a2, user=c.township_a, version=case_a2.version,
                                              category="elsewhere", note="在外地就读",
                                              effective_date=today(), files=[png()])
    c.case_a2 = case_a2
    c.item = FeedbackItemFactory(student=c.s_a)
    c.batch = c.item.batch
    c.visit = supervision_services.visit_plan(user=c.county_user, title="春季控辍保学督查", section="督导室",
                                  planned_on=today(), township=c.ta)
    c.finding = supervision_services.finding_record(visit=c.visit, user=c.county_user, kind="ledger",
                                        description="劝返台账不完整", school=c.a_primary)
    c.order = supervision_services.rectification_issue(finding=c.finding, user=c.county_user,
                                           requirement="补齐劝返台账", deadline=today() + dt.timedelta(days=20))
    return c
