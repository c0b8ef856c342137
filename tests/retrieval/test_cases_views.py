"""Every page and action of the 劝返 workflow: allowed / forbidden / anonymous for every role.

Out of scope answers 404 (as missing); a role that may never act answers 403; anonymous users
are sent to the login page.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kongchuo.calendar.schoolyear import today
from retrieval.models import (
    Alert,
    AlertDecision,
    ClosureRequest,
    Escalation,
    FeedbackItem,
    PersuasionAttempt,
    RectificationOrder,
    RetrievalCase,
    SupervisionFinding,
)
from tests.retrieval.casefactories import pdf, png

pytestmark = pytest.mark.django_db

ROLES = ["county_user", "township_a", "township_b", "school_a", "school_b", "gov_a", "gov_b", "no_role"]


def _url(wf, name):
    args = {
        "alert": [wf.alert.pk], "case": [wf.case.pk], "case_edit": [wf.case.pk],
        "case_notice": [wf.case.pk], "evidence": [wf.evidence.pk],
        "feedback_batch": [wf.batch.pk], "feedback_item": [wf.item.pk],
        "feedback_export": [wf.batch.pk], "visit": [wf.visit.pk],
        "rectification": [wf.order.pk],
    }.get(name, [])
    return reverse(f"retrieval:{name}", args=args)


# page → expected status per role (county, township A, township B, school A, school B, gov A,
# gov B, no role)
PAGES = {
    "inbox":           [200, 200, 200, 200, 200, 200, 200, 403],
    "approvals":       [200, 200, 200, 403, 403, 403, 403, 403],
    "alerts":          [200, 200, 200, 200, 200, 403, 403, 403],
    "alert":           [200, 200, 404, 200, 404, 403, 403, 403],
    "rule_quality":    [200, 403, 403, 403, 403, 403, 403, 403],
    "cases":           [200, 200, 200, 200, 200, 200, 200, 403],
    "case":            [200, 200, 404, 200, 404, 200, 404, 403],
    "case_edit":       [200, 200, 404, 200, 404, 403, 403, 403],
    "case_notice":     [200, 200, 404, 200, 404, 200, 404, 403],
    "evidence":        [200, 200, 404, 200, 404, 404, 404, 403],
    "feedback":        [200, 200, 200, 200, 200, 403, 403, 403],
    "feedback_batch":  [200, 200, 404, 200, 404, 403, 403, 403],
    "feedback_item":   [200, 200, 404, 200, 404, 403, 403, 403],
    "feedback_export": [200, 200, 404, 200, 404, 403, 403, 403],
    "supervision":     [200, 403, 403, 403, 403, 403, 403, 403],
    "visit":           [200, 403, 403, 403, 403, 403, 403, 403],
    "rectifications":  [200, 200, 200, 200, 200, 403, 403, 403],
    "rectification":   [200, 200, 404, 200, 404, 403, 403, 403],
}
# Exports of children's data are POSTs (CSRF-checked, audited); a GET is refused.
POSTED = {"feedback_export"}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_per_role(wf, client, page):
    url = _url(wf, page)
    got = []
    for role in ROLES:
        client.force_login(getattr(wf, role))
        got.append((client.post if page in POSTED else client.get)(url).status_code)
        client.logout()
    assert got == PAGES[page], dict(zip(ROLES, got, strict=True))


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_anonymous_redirects_to_login(wf, client, page):
    response = (client.post if page in POSTED else client.get)(_url(wf, page))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_pages_never_show_full_id_numbers(wf, client_as):
    for role in ("county_user", "township_a", "school_a", "gov_a"):
        client = client_as(getattr(wf, role))
        for page in ("alerts", "alert", "cases", "case", "case_notice", "feedback_batch", "feedback_item",
                     "inbox", "approvals", "rectification"):
            if PAGES[page][ROLES.index(role)] != 200:
                continue
            body = client.get(_url(wf, page)).content.decode()
            assert wf.s_a.id_number not in body, (role, page)


def test_township_gov_sees_only_cases_escalated_to_it(wf, client_as):
    body = client_as(wf.gov_a).get(reverse("retrieval:cases")).content.decode()
    assert wf.case.name in body
    assert wf.case_b.name not in body and wf.case_a2.name not in body
    assert list(RetrievalCase.objects.visible_to(wf.gov_a)) == [wf.case]
    assert list(RetrievalCase.objects.visible_to(wf.gov_b)) == []
    # Still no students, alerts or feedback for the government.
    from students.models import Student

    assert not Student.objects.visible_to(wf.gov_a).exists()
    assert not Alert.objects.visible_to(wf.gov_a).exists()
    assert not FeedbackItem.objects.visible_to(wf.gov_a).exists()


def test_evidence_served_with_sandbox_headers(wf, client_as):
    response = client_as(wf.township_a).get(_url(wf, "evidence"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_full_id_export_only_for_county(wf, client_as):
    url = _url(wf, "feedback_export")
    assert client_as(wf.school_a).post(url, {"ids": "full"}).status_code == 403
    assert client_as(wf.county_user).post(url, {"ids": "full"}).status_code == 200
    assert client_as(wf.county_user).get(url).status_code == 405  # never a GET


# --------------------------------------------------------------------------- actions


def _anon(client):
    """`client_as` logs the shared test client in; anonymous checks log it out first."""
    client.logout()
    return client


def _post(client, url, data=None):
    return client.post(url, data or {})


def test_alert_confirm_allowed_forbidden_anonymous(wf, client, client_as):
    url = reverse("retrieval:alert_confirm", args=[wf.alert.pk])
    data = {"reason": "weary", "dropout_date": "", "note": ""}
    assert _post(_anon(client), url, data)["Location"].startswith("/accounts/login/")
    assert _post(client_as(wf.school_b), url, data).status_code == 404
    assert _post(client_as(wf.township_b), url, data).status_code == 404
    assert _post(client_as(wf.gov_a), url, data).status_code == 403
    assert _post(client_as(wf.no_role), url, data).status_code == 403
    wf.alert.refresh_from_db()
    assert wf.alert.status == "open"
    # s_a already has an active case: confirming joins it.
    response = _post(client_as(wf.school_a), url, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("retrieval:case", args=[wf.case.pk])
    wf.alert.refresh_from_db()
    assert wf.alert.status == "confirmed"
    assert client_as(wf.school_a).get(url).status_code == 405


def test_alert_dismiss_allowed_forbidden_anonymous(wf, client, client_as):
    url = reverse("retrieval:alert_dismiss", args=[wf.alert.pk])
    assert _post(_anon(client), url, {"reason": "in_school"}).status_code == 302
    assert _post(client_as(wf.school_b), url, {"reason": "in_school"}).status_code == 404
    assert _post(client_as(wf.gov_a), url, {"reason": "in_school"}).status_code == 403
    # Missing proof for 外县就读: refused with the reason shown, nothing changes.
    response = _post(client_as(wf.school_a), url, {"reason": "out_of_county", "note": "x"})
    assert response.status_code == 400
    assert "证明材料" in response.content.decode()
    wf.alert.refresh_from_db()
    assert wf.alert.status == "open"
    response = client_as(wf.school_a).post(url, {"reason": "out_of_county", "note": "合肥就读",
                                                 "files": [pdf("在读证明.pdf"), png("照片.png")]})
    assert response.status_code == 302
    wf.alert.refresh_from_db()
    assert wf.alert.status == "dismissed"
    decision = wf.alert.decisions.get()
    assert decision.evidence.count() == 2 and decision.review_status == "pending"


def test_decision_review_allowed_forbidden_anonymous(wf, client, client_as):
    url = reverse("retrieval:decision_review", args=[wf.dismissed.pk])
    data = {"verdict": "overturn", "note": "转学手续不全"}
    assert _post(_anon(client), url, data).status_code == 302  # to login
    assert _post(client_as(wf.school_a), url, data).status_code == 403
    assert _post(client_as(wf.county_user), url, data).status_code == 403  # not its level
    assert _post(client_as(wf.township_b), url, data).status_code == 404
    assert _post(client_as(wf.gov_a), url, data).status_code == 403
    wf.dismissed.refresh_from_db()
    assert wf.dismissed.review_status == "pending"
    response = _post(client_as(wf.township_a), url, {**data, "next": "approvals"})
    assert response["Location"] == reverse("retrieval:approvals")
    wf.dismissed.refresh_from_db()
    wf.dismissed_alert.refresh_from_db()
    assert wf.dismissed.review_status == AlertDecision.Review.OVERTURNED
    assert wf.dismissed_alert.status == "open"


def test_case_edit_post_and_stale_edit(wf, client, client_as):
    url = reverse("retrieval:case_edit", args=[wf.case.pk])
    data = {"version": wf.case.version, "reason": "learning", "teacher_name": "王老师",
            "dropout_date": "", "reason_note": "", "head_teacher_name": "", "village_cadre_name": "",
            "township_official_name": ""}
    assert _post(_anon(client), url, data).status_code == 302
    assert _post(client_as(wf.gov_a), url, data).status_code == 403
    assert _post(client_as(wf.school_b), url, data).status_code == 404
    assert _post(client_as(wf.school_a), url, data).status_code == 302
    wf.case.refresh_from_db()
    assert wf.case.teacher_name == "王老师" and wf.case.reason == "learning"
    # The same form posted again carries the old version: refused, nothing overwritten.
    response = _post(client_as(wf.township_a), url, {**data, "teacher_name": "赵老师"})
    assert response.status_code == 409
    wf.case.refresh_from_db()
    assert wf.case.teacher_name == "王老师"


def test_case_attempt_allowed_forbidden_anonymous(wf, client, client_as):
    url = reverse("retrieval:case_attempt", args=[wf.case_b.pk])
    data = {"attempted_on": today().isoformat(), "method": "phone", "people": "班主任",
            "result": "家长答应下周返校", "outcome": "continuing"}
    assert _post(_anon(client), url, data).status_code == 302
    assert _post(client_as(wf.school_a), url, data).status_code == 404
    assert _post(client_as(wf.gov_b), url, data).status_code == 403  # governments never do this
    assert PersuasionAttempt.objects.filter(case=wf.case_b).count() == 0
    future = {**data, "attempted_on": (today() + dt.timedelta(days=1)).isoformat()}
    assert _post(client_as(wf.school_b), url, future).status_code == 400
    assert _post(client_as(wf.school_b), url, data).status_code == 302
    assert PersuasionAttempt.objects.filter(case=wf.case_b, recorded_by=wf.school_b).count() == 1


def test_case_escalate_allowed_forbidden_anonymous(wf, client, client_as):
    from retrieval.cases import services as case_services

    case_services.case_add_attempt(case=wf.case_b, user=wf.school_b, attempted_on=today(), people="班主任",
                              method="home_visit", result="拒绝", outcome="failed")
    url = reverse("retrieval:case_escalate", args=[wf.case_b.pk])
    data = {"version": wf.case_b.version, "deadline": (today() + dt.timedelta(days=15)).isoformat(),
            "note": "劝返无效"}
    assert _post(_anon(client), url, data).status_code == 302
    assert _post(client_as(wf.school_b), url, data).status_code == 403  # a primary school
    assert _post(client_as(wf.township_a), url, data).status_code == 404
    assert _post(client_as(wf.gov_b), url, data).status_code == 403
    assert not Escalation.objects.filter(case=wf.case_b).exists()
    assert _post(client_as(wf.township_b), url, data).status_code == 302
    assert Escalation.objects.get(case=wf.case_b).township == wf.tb
    # Now the government of township B sees it.
    assert client_as(wf.gov_b).get(reverse("retrieval:case", args=[wf.case_b.pk])).status_code == 200


def test_escalation_answer_allowed_forbidden_anonymous(wf, client, client_as):
    url = reverse("retrieval:escalation_answer", args=[wf.escalation.pk])
    data = {"measure": "notice", "measure_date": today().isoformat(), "notice_number": "甲政〔2026〕1号",
            "return_by": "", "note": "已送达通知书"}
    assert _post(_anon(client), url, data).status_code == 302
    assert _post(client_as(wf.township_a), url, data).status_code == 403
    assert _post(client_as(wf.county_user), url, data).status_code == 403
    assert _post(client_as(wf.gov_b), url, data).status_code == 404
    wf.escalation.refresh_from_db()
    assert wf.escalation.status == "pending"
    assert _post(client_as(wf.gov_a), url, data).status_code == 302
    wf.escalation.refresh_from_db()
    assert wf.escalation.status == "answered" and wf.escalation.answered_by == wf.gov_a


def test_case_place_allowed_forbidden_anonymous(wf, client, client_as):
    url = reverse("retrieval:case_place", args=[wf.case_b.pk])
    data = {"version": wf.case_b.version, "placement": "home_teaching",
            "placement_date": today().isoformat(), "note": "每月送教两次"}
    assert _post(_anon(client), url, data).status_code == 302
    assert _post(client_as(wf.school_a), url, data).status_code == 404
    assert _post(client_as(wf.gov_b), url, data).status_code == 403
    assert _post(client_as(wf.school_b), url, data).status_code == 302
    wf.s_b.refresh_from_db()
    assert wf.s_b.status == "home_teaching"


def test_case_closure_and_decide_allowed_forbidden_anonymous(wf, client, client_as):
    url = reverse("retrieval:case_closure", args=[wf.case_b.pk])
    data = {"version": wf.case_b.version, "category": "abroad", "effective_date": today().isoformat(),
            "note": "随父母出国"}
    assert _post(_anon(client), url, data).status_code == 302
    assert _post(client_as(wf.school_a), url, data).status_code == 404
    # Without evidence: refused with the reason, status unchanged.
    response = _post(client_as(wf.school_b), url, data)
    assert response.status_code == 400 and "证明材料" in response.content.decode()
    response = client_as(wf.school_b).post(url, {**data, "files": [pdf("护照.pdf")]})
    assert response.status_code == 302
    closure = ClosureRequest.objects.get(case=wf.case_b)
    assert closure.approver_level == "township"

    decide = reverse("retrieval:closure_decide", args=[closure.pk])
    ok = {"verdict": "approve", "note": ""}
    assert _post(_anon(client), decide, ok).status_code == 302
    assert _post(client_as(wf.school_b), decide, ok).status_code == 403
    assert _post(client_as(wf.county_user), decide, ok).status_code == 403
    assert _post(client_as(wf.township_a), decide, ok).status_code == 404
    assert _post(client_as(wf.township_b), decide, ok).status_code == 302
    wf.case_b.refresh_from_db()
    assert wf.case_b.status == "closed"


def test_county_decides_township_closure_from_approvals_page(wf, client_as):
    client = client_as(wf.county_user)
    body = client.get(reverse("retrieval:approvals")).content.decode()
    assert wf.case_a2.name in body
    url = reverse("retrieval:closure_decide", args=[wf.closure.pk])
    assert client_as(wf.township_a).post(url, {"verdict": "approve"}).status_code == 403
    response = client_as(wf.county_user).post(url, {"verdict": "approve", "next": "approvals"})
    assert response["Location"] == reverse("retrieval:approvals")
    wf.s_a2.refresh_from_db()
    assert wf.s_a2.status == "out_of_county"


def test_case_evidence_upload(wf, client, client_as):
    url = reverse("retrieval:case_evidence", args=[wf.case_b.pk])
    assert client.post(url, {"files": [png()]}).status_code == 302
    assert client_as(wf.school_a).post(url, {"files": [png()]}).status_code == 404
    assert client_as(wf.school_b).post(url, {"files": [png()]}).status_code == 302
    assert wf.case_b.evidence.count() == 1


def test_feedback_item_answer_allowed_forbidden(wf, client, client_as):
    url = _url(wf, "feedback_item")
    data = {"version": wf.item.version, "result": "in_school", "explanation": "经核实在校就读",
            "verified_on": today().isoformat()}
    assert _post(_anon(client), url, data).status_code == 302
    assert _post(client_as(wf.school_b), url, data).status_code == 404
    assert _post(client_as(wf.gov_a), url, data).status_code == 403
    assert _post(client_as(wf.school_a), url, data).status_code == 302
    wf.item.refresh_from_db()
    assert wf.item.result == "in_school" and wf.item.verified_by == wf.school_a
    # The same stale form again is refused.
    assert _post(client_as(wf.township_a), url, {**data, "result": "dropout"}).status_code == 302
    wf.item.refresh_from_db()
    assert wf.item.result == "in_school" and wf.item.version == 2


def test_supervision_actions_county_only(wf, client, client_as):
    sample_url = reverse("retrieval:visit_sample", args=[wf.visit.pk])
    finding_url = reverse("retrieval:visit_finding", args=[wf.visit.pk])
    complete_url = reverse("retrieval:visit_complete", args=[wf.visit.pk])
    order_url = reverse("retrieval:finding_order", args=[wf.finding.pk])
    finding = {"kind": "teacher_conduct", "school": wf.a_primary.pk, "teacher_name": "某老师",
               "description": "体罚导致学生辍学"}
    for user in (None, wf.township_a, wf.school_a, wf.gov_a):
        client = client_as(user) if user else client
        expected = 302 if user is None else 403
        assert client.post(sample_url, {"n_cases": 2, "n_alerts": 2}).status_code == expected
        assert client.post(finding_url, finding).status_code == expected
        assert client.post(complete_url, {"visited_on": today().isoformat(), "summary": "x"}).status_code == expected
        assert client.post(order_url, {"requirement": "x", "deadline": "2099-01-01"}).status_code == expected
        client.logout()
    assert SupervisionFinding.objects.count() == 1
    county = client_as(wf.county_user)
    assert county.post(sample_url, {"n_cases": 2, "n_alerts": 2}).status_code == 302
    assert county.post(finding_url, finding).status_code == 302
    assert SupervisionFinding.objects.filter(kind="teacher_conduct").count() == 1
    assert county.post(order_url, {"requirement": "补台账",
                                   "deadline": (today() + dt.timedelta(days=9)).isoformat()}).status_code == 302
    assert county.post(complete_url, {"visited_on": today().isoformat(), "summary": "总体较好"}).status_code == 302
    body = county.get(reverse("retrieval:supervision")).content.decode()
    assert 'id="teacher-conduct-count">1<' in body


def test_sample_check_county_only(wf, client_as):
    from retrieval.supervision import services as supervision_services

    samples = supervision_services.visit_draw_sample(visit=wf.visit, user=wf.county_user, n_cases=5, n_alerts=5)
    assert samples  # the dismissed alert at least
    url = reverse("retrieval:sample_check", args=[samples[0].pk])
    assert client_as(wf.township_a).post(url, {"result": "ok"}).status_code == 403
    assert client_as(wf.county_user).post(url, {"result": "problem", "note": "证明材料与实际不符"}).status_code == 302
    samples[0].refresh_from_db()
    assert samples[0].result == "problem" and samples[0].checked_by == wf.county_user


def test_rectification_report_and_close(wf, client, client_as):
    url = _url(wf, "rectification")
    data = {"version": wf.order.version, "report": "已补齐台账"}
    assert _post(_anon(client), url, data).status_code == 302
    assert _post(client_as(wf.school_b), url, data).status_code == 404
    assert _post(client_as(wf.county_user), url, data).status_code == 403
    assert _post(client_as(wf.gov_a), url, data).status_code == 403
    assert _post(client_as(wf.school_a), url, data).status_code == 302
    wf.order.refresh_from_db()
    assert wf.order.status == RectificationOrder.Status.REPORTED
    close = reverse("retrieval:rectification_close", args=[wf.order.pk])
    assert _post(client_as(wf.school_a), close, {"verdict": "accept"}).status_code == 403
    assert _post(_anon(client), close, {"verdict": "accept"}).status_code == 302
    assert _post(client_as(wf.county_user), close, {"verdict": "accept", "note": "合格"}).status_code == 302
    wf.order.refresh_from_db()
    assert wf.order.status == RectificationOrder.Status.CLOSED and wf.order.closed_by == wf.county_user
    assert wf.order.history.count() == 3


def test_evidence_upload_without_a_file_is_refused(wf, client_as):
    url = reverse("retrieval:case_evidence", args=[wf.case_b.pk])
    response = client_as(wf.school_b).post(url, {})
    assert response.status_code == 400
    assert wf.case_b.evidence.count() == 0
