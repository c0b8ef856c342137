"""The scoping matrix (tests/security/scoping_matrix.py) over every 劝返 workflow URL.

Objects belong to township B / school B. Every role is tried with GET, POST and DELETE: pairs not allowed
must answer 403/404/405 (anonymous: the login page) and change nothing; GET and HEAD never write.
"""

from __future__ import annotations

import datetime as dt

import pytest

from kongchuo.calendar.schoolyear import today
from retrieval.alerts import services as alert_services
from retrieval.cases import services as case_services
from retrieval.supervision import services as supervision_services
from tests.retrieval.casefactories import AlertFactory, FeedbackItemFactory, png
from tests.security.scoping_matrix import SAFE, Entry, check_entry

pytestmark = pytest.mark.django_db

POST = frozenset({"POST"})
# GET stands for HEAD, DELETE for PUT/PATCH (same code paths): half the requests, same coverage.
METHODS = ("GET", "POST", "DELETE")
EVERYONE = ("county_user", "township_a", "township_b", "school_a", "school_b", "gov_a")
STAFF = ("county_user", "township_a", "township_b", "school_a", "school_b")
B = ("county_user", "township_b", "school_b")


@pytest.fixture
def bside(county):
    c = county
    c.alert_b = AlertFactory(student=c.s_b)
    c.decision_b = alert_services.alert_dismiss(alert=AlertFactory(student=c.s_b, period="2025-autumn"),
                                          user=c.school_b, reason="transferred", note="转学",
                                          files=[png()])
    c.evidence_b = c.decision_b.evidence.get()
    c.case_b = alert_services.alert_confirm(alert=AlertFactory(student=c.s_b, rule="absence", period="2026-03"),
                                      user=c.school_b).case
    c.closure_b = case_services.case_request_closure(case=c.case_b, user=c.school_b, version=c.case_b.version,
                                                category="abroad", note="出国", effective_date=today(),
                                                files=[png()])
    other = StudentFactory_b(c)
    c.case_esc = alert_services.alert_confirm(alert=AlertFactory(student=other), user=c.school_b).case
    case_services.case_add_attempt(case=c.case_esc, user=c.school_b, attempted_on=today(), people="班主任",
                              method="phone", result="拒绝", outcome="failed")
    c.escalation_b = case_services.case_escalate(case=c.case_esc, user=c.township_b, version=c.case_esc.version,
                                            note="无效", deadline=today() + dt.timedelta(days=9))
    c.item_b = FeedbackItemFactory(student=c.s_b)
    c.visit = supervision_services.visit_plan(user=c.county_user, title="乙镇督查", section="督导室", planned_on=today(),
                                  township=c.tb)
    c.finding_b = supervision_services.finding_record(visit=c.visit, user=c.county_user, kind="ledger",
                                          description="台账缺失", school=c.b_primary)
    c.order_b = supervision_services.rectification_issue(finding=c.finding_b, user=c.county_user, requirement="补台账",
                                             deadline=today() + dt.timedelta(days=9))
    return c


def StudentFactory_b(c):  # noqa: N802 - reads like the factory it wraps
    from tests.factories import StudentFactory

    return StudentFactory(school=c.b_primary, hukou_township=c.tb)


def _pk(attr):
    return lambda c: {"pk": getattr(c, attr).pk}


ENTRIES = [
    Entry("retrieval:inbox", allow=dict.fromkeys(EVERYONE, SAFE), read_only=True),
    Entry("retrieval:inbox_list", lambda c: {"key": "attempts"}, allow=dict.fromkeys(STAFF, SAFE),
          read_only=True),
    Entry("retrieval:approvals", allow=dict.fromkeys(("county_user", "township_a", "township_b"), SAFE),
          read_only=True),
    Entry("retrieval:alerts", allow=dict.fromkeys(STAFF, SAFE), read_only=True),
    Entry("retrieval:alert", _pk("alert_b"), allow=dict.fromkeys(B, SAFE), read_only=True),
    Entry("retrieval:alert_confirm", _pk("alert_b"), allow=dict.fromkeys(B, POST),
          data=lambda c: {"reason": "weary"}),
    Entry("retrieval:alert_dismiss", _pk("alert_b"), allow=dict.fromkeys(B, POST),
          data=lambda c: {"reason": "in_school", "note": "在校"}),
    Entry("retrieval:decision_review", _pk("decision_b"), allow={"township_b": POST},
          data=lambda c: {"verdict": "uphold"}),
    Entry("retrieval:rule_quality", allow={"county_user": SAFE}, read_only=True),
    # Issue 16: the support-list children found in no school, per township.
    Entry("retrieval:support_unenrolled",
          allow=dict.fromkeys(("county_user", "township_a", "township_b"), SAFE), read_only=True),
    Entry("retrieval:cases", allow=dict.fromkeys(EVERYONE, SAFE), read_only=True),
    Entry("retrieval:case", _pk("case_b"), allow=dict.fromkeys(B, SAFE), read_only=True),
    Entry("retrieval:case_edit", _pk("case_esc"), allow=dict.fromkeys(B, SAFE | POST),
          data=lambda c: {"version": c.case_esc.version, "reason": "poverty"}),
    Entry("retrieval:case_attempt", _pk("case_esc"), allow=dict.fromkeys(B, POST),
          data=lambda c: {"attempted_on": today().isoformat(), "method": "phone", "people": "x",
                          "result": "x", "outcome": "continuing"}),
    Entry("retrieval:case_place", _pk("case_esc"), allow=dict.fromkeys(B, POST),
          data=lambda c: {"version": c.case_esc.version, "placement": "regular",
                          "placement_date": today().isoformat()}),
    Entry("retrieval:case_escalate", _pk("case_esc"), allow={"county_user": POST, "township_b": POST},
          data=lambda c: {"version": c.case_esc.version, "note": "x",
                          "deadline": (today() + dt.timedelta(days=5)).isoformat()}),
    Entry("retrieval:case_closure", _pk("case_esc"), allow=dict.fromkeys(B, POST),
          data=lambda c: {"version": c.case_esc.version, "category": "abroad", "note": "x",
                          "effective_date": today().isoformat()}),
    Entry("retrieval:case_evidence", _pk("case_esc"), allow=dict.fromkeys(B, POST)),
    Entry("retrieval:case_notice", _pk("case_esc"), allow=dict.fromkeys(B, SAFE), read_only=True),
    Entry("retrieval:escalation_answer", _pk("escalation_b"), allow={},  # only gov_b may
          data=lambda c: {"measure": "notice", "measure_date": today().isoformat(), "note": "x"}),
    Entry("retrieval:closure_decide", _pk("closure_b"), allow={"township_b": POST},
          data=lambda c: {"verdict": "approve"}),
    Entry("retrieval:evidence", _pk("evidence_b"), allow=dict.fromkeys(B, SAFE), read_only=True),
    Entry("retrieval:feedback", allow=dict.fromkeys(STAFF, SAFE), read_only=True),
    Entry("retrieval:feedback_batch", lambda c: {"pk": c.item_b.batch_id}, allow=dict.fromkeys(B, SAFE),
          read_only=True),
    Entry("retrieval:feedback_export", lambda c: {"pk": c.item_b.batch_id},
          allow=dict.fromkeys(B, POST), read_only=True),
    Entry("retrieval:feedback_item", _pk("item_b"), allow=dict.fromkeys(B, SAFE | POST),
          data=lambda c: {"version": c.item_b.version, "result": "in_school", "explanation": "在校",
                          "verified_on": today().isoformat()}),
    Entry("retrieval:supervision", allow={"county_user": SAFE | POST},
          data=lambda c: {"title": "x", "section": "x", "planned_on": today().isoformat()}),
    Entry("retrieval:visit", _pk("visit"), allow={"county_user": SAFE}, read_only=True),
    Entry("retrieval:visit_sample", _pk("visit"), allow={"county_user": POST},
          data=lambda c: {"n_cases": 1, "n_alerts": 1}),
    Entry("retrieval:visit_finding", _pk("visit"), allow={"county_user": POST},
          data=lambda c: {"kind": "other", "description": "x"}),
    Entry("retrieval:visit_complete", _pk("visit"), allow={"county_user": POST},
          data=lambda c: {"visited_on": today().isoformat(), "summary": "x"}),
    Entry("retrieval:finding_order", _pk("finding_b"), allow={"county_user": POST},
          data=lambda c: {"requirement": "x", "deadline": (today() + dt.timedelta(days=3)).isoformat()}),
    Entry("retrieval:rectifications", allow=dict.fromkeys(STAFF, SAFE), read_only=True),
    Entry("retrieval:rectification", _pk("order_b"),
          allow={"county_user": SAFE, "township_b": SAFE | POST, "school_b": SAFE | POST},
          data=lambda c: {"version": c.order_b.version, "report": "已整改"}),
    Entry("retrieval:rectification_close", _pk("order_b"), allow={"county_user": POST},
          data=lambda c: {"verdict": "accept"}),
]


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e.url_name}-{i}" for i, e in enumerate(ENTRIES)])
def test_retrieval_scoping_matrix(entry, bside):
    check_entry(entry, bside, methods=METHODS)


def test_sample_check_matrix(bside):
    (sample,) = supervision_services.visit_draw_sample(visit=bside.visit, user=bside.county_user, n_cases=0, n_alerts=1)
    bside.sample = sample
    check_entry(Entry("retrieval:sample_check", _pk("sample"), allow={"county_user": POST},
                      data=lambda c: {"result": "ok"}), bside, methods=METHODS)


def test_every_retrieval_workflow_url_is_in_the_matrix():
    from retrieval.urls import urlpatterns

    covered = {e.url_name.split(":", 1)[1] for e in ENTRIES} | {"sample_check"}
    mine = {p.name for p in urlpatterns if not p.name.startswith("sweep")}
    assert mine <= covered, sorted(mine - covered)
