"""The 劝返 workflow end to end through the services: alert → case → escalation → 销号."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from kongchuo.calendar.schoolyear import today
from retrieval import workflow
from retrieval.alerts import services as alert_services
from retrieval.cases import services as case_services
from retrieval.models import Alert, AlertDecision, ClosureRequest, Escalation, RetrievalCase
from students import services as student_services
from students.models import StatusChange, Student
from tests.retrieval.casefactories import AlertFactory, pdf, png

pytestmark = pytest.mark.django_db


def test_whole_lifecycle_school_township_gov_county(county):
    c = county
    alert = AlertFactory(student=c.s_a)
    # School confirms: a case opens and the student becomes 疑似辍学, with a dated history row.
    decision = alert_services.alert_confirm(alert=alert, user=c.school_a, reason="weary",
                                      dropout_date=today() - dt.timedelta(days=3), note="连续未到校")
    case = decision.case
    alert.refresh_from_db()
    c.s_a.refresh_from_db()
    assert alert.status == Alert.Status.CONFIRMED and alert.closed_at is not None
    assert case.status == RetrievalCase.Status.OPEN and case.reason == "weary"
    assert case.school == c.a_primary and case.township == c.ta and case.opened_by == c.school_a
    assert list(case.alerts.all()) == [alert]
    assert c.s_a.status == Student.Status.SUSPECTED
    sc = StatusChange.objects.get(student=c.s_a, kind=StatusChange.Kind.SUSPECTED)
    assert sc.created_by == c.school_a and sc.source == "retrieval"

    # The school edits the responsible people (version-checked) and records a failed attempt.
    case = case_services.case_update(case=case, user=c.school_a, version=case.version,
                                teacher_name="李老师", village_cadre_name="张主任")
    assert case.version == 2
    case_services.case_add_attempt(case=case, user=c.school_a, attempted_on=today(), people="李老师、张主任",
                              method="home_visit", result="家长拒绝送孩子返校", outcome="failed")
    # A primary school under township oversight does not report to the government itself.
    with pytest.raises(PermissionDenied):
        case_services.case_escalate(case=case, user=c.school_a, version=case.version, note="x",
                               deadline=today() + dt.timedelta(days=15))
    esc = case_services.case_escalate(case=case, user=c.township_a, version=case.version,
                                 note="三次劝返无效", deadline=today() + dt.timedelta(days=15))
    case.refresh_from_db()
    assert case.status == RetrievalCase.Status.ESCALATED and esc.township == c.ta
    # Only the government of that township answers.
    with pytest.raises(PermissionDenied):
        case_services.escalation_answer(escalation=esc, user=c.township_a, measure="notice",
                                   measure_date=today(), note="x")
    case_services.escalation_answer(escalation=esc, user=c.gov_a, measure="notice", measure_date=today(),
                               notice_number="甲政控辍〔2026〕3号", return_by=today() + dt.timedelta(days=7),
                               note="已送达限期复学通知书", files=[pdf()])
    esc.refresh_from_db()
    assert esc.status == Escalation.Status.ANSWERED and esc.answered_by == c.gov_a
    assert esc.evidence.count() == 1

    # The child comes back: placement applies the status change.
    case.refresh_from_db()
    case = case_services.case_place(case=case, user=c.school_a, version=case.version, placement="regular",
                               placement_date=today())
    c.s_a.refresh_from_db()
    assert c.s_a.status == Student.Status.ENROLLED
    assert StatusChange.objects.filter(student=c.s_a, kind=StatusChange.Kind.RETURNED).exists()

    # 销号: requested by the school with evidence; an escalated case is approved by the county.
    closure = case_services.case_request_closure(case=case, user=c.school_a, version=case.version,
                                            category="returned", note="已返校就读",
                                            effective_date=today(), files=[png()])
    assert closure.approver_level == "county"
    case.refresh_from_db()
    assert case.status == RetrievalCase.Status.CLOSURE_REQUESTED
    with pytest.raises(PermissionDenied):
        case_services.closure_decide(closure=closure, user=c.township_a, approve=True)
    case_services.closure_decide(closure=closure, user=c.county_user, approve=True, note="同意")
    case.refresh_from_db()
    assert case.status == RetrievalCase.Status.CLOSED and case.closure_category == "returned"
    assert case.closed_by == c.county_user
    # Every step kept: history rows of the case, the attempt, escalation, closure.
    assert case.history.count() >= 5
    assert case.attempts.count() == 1 and case.closures.count() == 1


def test_school_closure_is_approved_by_township_and_county_direct_by_county(county):
    c = county
    case = alert_services.alert_confirm(alert=AlertFactory(student=c.s_a), user=c.school_a).case
    cr = case_services.case_request_closure(case=case, user=c.school_a, version=case.version,
                                       category="data_error", note="学籍信息错误", effective_date=today(),
                                       files=[png()])
    assert cr.approver_level == "township"
    case_services.closure_decide(closure=cr, user=c.township_a, approve=True)
    c.s_a.refresh_from_db()
    # 信息错误 undoes 疑似辍学.
    assert c.s_a.status == Student.Status.ENROLLED

    direct_user = type(c.school_a).objects.create(username="u_direct", role="school", school=c.direct)
    d_alert = AlertFactory(student=c.s_direct)
    d_case = alert_services.alert_confirm(alert=d_alert, user=direct_user).case
    cr2 = case_services.case_request_closure(case=d_case, user=direct_user, version=d_case.version,
                                        category="deceased", note="因病去世", effective_date=today(),
                                        files=[pdf()])
    assert cr2.approver_level == "county"


def test_closure_refused_without_evidence_or_by_requester_or_same_level(county):
    c = county
    case = alert_services.alert_confirm(alert=AlertFactory(student=c.s_a), user=c.school_a).case
    with pytest.raises(workflow.WorkflowError, match="证明材料"):
        case_services.case_request_closure(case=case, user=c.school_a, version=case.version,
                                      category="abroad", note="出国", effective_date=today())
    with pytest.raises(workflow.WorkflowError, match="安置"):
        case_services.case_request_closure(case=case, user=c.school_a, version=case.version,
                                      category="returned", note="回来了", effective_date=today(),
                                      files=[png()])
    cr = case_services.case_request_closure(case=case, user=c.school_a, version=case.version,
                                       category="abroad", note="随父母出国", effective_date=today(),
                                       files=[png()])
    # The school cannot approve its own request; nor can the county for a township-level one.
    for user in (c.school_a, c.county_user, c.township_b):
        with pytest.raises(PermissionDenied):
            case_services.closure_decide(closure=cr, user=user, approve=True)
    with pytest.raises(workflow.WorkflowError, match="审批意见"):
        case_services.closure_decide(closure=cr, user=c.township_a, approve=False)
    case_services.closure_decide(closure=cr, user=c.township_a, approve=False, note="缺护照复印件")
    case.refresh_from_db()
    cr.refresh_from_db()
    assert case.status == RetrievalCase.Status.OPEN and cr.status == ClosureRequest.Status.REJECTED
    with pytest.raises(workflow.WorkflowError, match="已审批"):
        case_services.closure_decide(closure=cr, user=c.township_a, approve=True)


def test_county_request_needs_another_county_user(county):
    c = county
    case = alert_services.alert_confirm(alert=AlertFactory(student=c.s_a), user=c.school_a).case
    cr = case_services.case_request_closure(case=case, user=c.county_user, version=case.version,
                                       category="missing", note="全家失联", effective_date=today(),
                                       files=[png()])
    assert cr.approver_level == "county"
    with pytest.raises(PermissionDenied):
        case_services.closure_decide(closure=cr, user=c.county_user, approve=True)
    other = type(c.county_user).objects.create(username="u_county2", role="county")
    case_services.closure_decide(closure=cr, user=other, approve=True)
    c.s_a.refresh_from_db()
    assert c.s_a.status == Student.Status.DROPPED_OUT


def test_dismissal_reviewed_and_wrong_dismissal_reopens(county):
    c = county
    alert = AlertFactory(student=c.s_a)
    with pytest.raises(workflow.WorkflowError, match="证明材料"):
        alert_services.alert_dismiss(alert=alert, user=c.school_a, reason="out_of_county")
    d = alert_services.alert_dismiss(alert=alert, user=c.school_a, reason="out_of_county",
                               note="在合肥某校就读", files=[pdf("在读证明.pdf")])
    alert.refresh_from_db()
    assert alert.status == Alert.Status.DISMISSED
    assert d.review_status == "pending" and d.review_level == "township"
    assert d.evidence.get().original_name == "在读证明.pdf"
    # Not the county (wrong level), not the other township's center school, not the dismisser.
    for user in (c.county_user, c.school_a):
        with pytest.raises(PermissionDenied):
            alert_services.decision_review(decision=d, user=user, uphold=False, note="x")
    alert_services.decision_review(decision=d, user=c.township_a, uphold=False, note="证明系伪造，请重新核实")
    d.refresh_from_db()
    alert.refresh_from_db()
    assert d.review_status == AlertDecision.Review.OVERTURNED and d.reviewed_by == c.township_a
    assert alert.status == Alert.Status.OPEN and alert.closed_at is None
    # The overturned dismissal is kept; the school decides again.
    decision2 = alert_services.alert_confirm(alert=alert, user=c.school_a)
    assert alert.decisions.count() == 2 and decision2.case is not None


def test_dismissal_of_county_direct_school_is_reviewed_by_county(county):
    c = county
    direct_user = type(c.school_a).objects.create(username="u_direct", role="school", school=c.direct)
    d = alert_services.alert_dismiss(alert=AlertFactory(student=c.s_direct), user=direct_user,
                               reason="in_school", note="每天到校")
    assert d.review_level == "county"
    with pytest.raises(PermissionDenied):
        alert_services.decision_review(decision=d, user=c.township_a, uphold=True)
    alert_services.decision_review(decision=d, user=c.county_user, uphold=True)
    d.refresh_from_db()
    assert d.review_status == "upheld"


def test_county_dismissal_needs_no_review(county):
    d = alert_services.alert_dismiss(alert=AlertFactory(student=county.s_b), user=county.county_user,
                               reason="data_error", note="重复数据")
    assert d.review_status == "not_required"


def test_school_cannot_decide_other_school_or_county_level_alert(county):
    c = county
    with pytest.raises(PermissionDenied):
        alert_services.alert_confirm(alert=AlertFactory(student=c.s_b), user=c.school_a)
    with pytest.raises(PermissionDenied):
        alert_services.alert_confirm(alert=AlertFactory(student=c.s_a, rule="grade9_screening", level="county"),
                               user=c.school_a)
    with pytest.raises(PermissionDenied):
        alert_services.alert_confirm(alert=AlertFactory(student=c.s_a, period="2025-autumn"), user=c.gov_a)


def test_decided_alert_cannot_be_decided_again(county):
    alert = AlertFactory(student=county.s_a)
    alert_services.alert_confirm(alert=alert, user=county.school_a)
    with pytest.raises(workflow.WorkflowError, match="已处理"):
        alert_services.alert_dismiss(alert=alert, user=county.school_a, reason="in_school")


def test_second_alert_joins_the_active_case(county):
    c = county
    case = alert_services.alert_confirm(alert=AlertFactory(student=c.s_a), user=c.school_a).case
    d2 = alert_services.alert_confirm(alert=AlertFactory(student=c.s_a, rule="absence", period="2026-03"),
                                user=c.school_a)
    assert d2.case == case and case.alerts.count() == 2
    assert RetrievalCase.objects.count() == 1


def test_census_child_without_student_opens_township_case(county):
    c = county
    alert = AlertFactory(rule="census", period="2026", subject="341522201301015678", name="无学籍儿童",
                         school=None, township=c.ta, level="township")
    case = alert_services.alert_confirm(alert=alert, user=c.township_a, reason="work").case
    assert case.student is None and case.school is None and case.township == c.ta
    assert case.id_number == "341522201301015678"
    assert RetrievalCase.objects.visible_to(c.township_a).filter(pk=case.pk).exists()
    assert not RetrievalCase.objects.visible_to(c.township_b).filter(pk=case.pk).exists()


def test_non_dropout_rule_is_acknowledged_without_case(county):
    alert = AlertFactory(student=county.s_a, rule="aid_coverage")
    d = alert_services.alert_confirm(alert=alert, user=county.school_a)
    assert d.case is None and RetrievalCase.objects.count() == 0
    county.s_a.refresh_from_db()
    assert county.s_a.status == Student.Status.ENROLLED


def test_stale_case_edit_is_refused(county):
    c = county
    case = alert_services.alert_confirm(alert=AlertFactory(student=c.s_a), user=c.school_a).case
    opened_with = case.version
    case_services.case_update(case=case, user=c.township_a, version=opened_with, teacher_name="王老师")
    with pytest.raises(student_services.StaleEdit):
        case_services.case_update(case=case, user=c.school_a, version=opened_with, teacher_name="李老师")
    case.refresh_from_db()
    assert case.teacher_name == "王老师"
    with pytest.raises(student_services.StaleEdit):
        case_services.case_escalate(case=case, user=c.township_a, version=opened_with, note="x",
                               deadline=today() + dt.timedelta(days=5))


def test_escalation_needs_failed_attempt_and_future_deadline(county):
    c = county
    case = alert_services.alert_confirm(alert=AlertFactory(student=c.s_a), user=c.school_a).case
    with pytest.raises(workflow.WorkflowError, match="劝返无效"):
        case_services.case_escalate(case=case, user=c.township_a, version=case.version, note="x",
                               deadline=today() + dt.timedelta(days=5))
    case_services.case_add_attempt(case=case, user=c.school_a, attempted_on=today(), people="李老师",
                              method="phone", result="不接电话", outcome="failed")
    with pytest.raises(workflow.WorkflowError, match="期限"):
        case_services.case_escalate(case=case, user=c.township_a, version=case.version, note="x",
                               deadline=today())


def test_closure_waits_for_the_government_answer(county):
    c = county
    case = alert_services.alert_confirm(alert=AlertFactory(student=c.s_a), user=c.school_a).case
    case_services.case_add_attempt(case=case, user=c.school_a, attempted_on=today(), people="李老师",
                              method="interview", result="拒绝", outcome="failed")
    case_services.case_escalate(case=case, user=c.township_a, version=case.version, note="无效",
                           deadline=today() + dt.timedelta(days=10))
    case.refresh_from_db()
    with pytest.raises(workflow.WorkflowError, match="属地政府"):
        case_services.case_request_closure(case=case, user=c.school_a, version=case.version,
                                      category="abroad", note="x", effective_date=today(), files=[png()])


def test_placements_apply_status_changes(county):
    c = county
    from tests.factories import SchoolFactory

    special = SchoolFactory(township=c.ta, kind="special", oversight="county", name="霍邱县特殊教育学校")
    case = alert_services.alert_confirm(alert=AlertFactory(student=c.s_a), user=c.school_a).case
    with pytest.raises(workflow.WorkflowError, match="特殊教育学校"):
        case_services.case_place(case=case, user=c.school_a, version=case.version,
                            placement="special_school", placement_date=today(), placement_school=c.b_primary)
    case_services.case_place(case=case, user=c.school_a, version=case.version, placement="special_school",
                        placement_date=today(), placement_school=special)
    c.s_a.refresh_from_db()
    assert c.s_a.school == special and c.s_a.status == Student.Status.ENROLLED

    case_b = alert_services.alert_confirm(alert=AlertFactory(student=c.s_b), user=c.school_b).case
    case_services.case_place(case=case_b, user=c.school_b, version=case_b.version, placement="vocational",
                        placement_date=today())
    c.s_b.refresh_from_db()
    assert c.s_b.status == Student.Status.VOCATIONAL
    case_b.refresh_from_db()
    with pytest.raises(workflow.WorkflowError, match="已安置"):
        case_services.case_place(case=case_b, user=c.school_b, version=case_b.version, placement="regular",
                            placement_date=today())


def test_evidence_type_and_size_are_checked(county, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    c = county
    alert = AlertFactory(student=c.s_a)
    fake = SimpleUploadedFile("proof.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    with pytest.raises(workflow.WorkflowError, match="JPG"):
        alert_services.alert_dismiss(alert=alert, user=c.school_a, reason="transferred", files=[fake])
    settings.KONGCHUO_ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(workflow.WorkflowError, match="过大"):
        alert_services.alert_dismiss(alert=alert, user=c.school_a, reason="transferred", files=[png()])
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN  # the whole step rolled back
