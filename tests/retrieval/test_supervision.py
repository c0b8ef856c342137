"""督查: plan, weighted re-check sample, findings (teacher conduct counted), rectification."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied

from kongchuo.calendar.schoolyear import today
from retrieval import workflow
from retrieval.alerts import services as alert_services
from retrieval.cases import services as case_services
from retrieval.models import RectificationOrder, SupervisionSample
from retrieval.supervision import services as supervision_services
from retrieval.supervision.selectors import teacher_conduct_counts
from tests.factories import StudentFactory
from tests.retrieval.casefactories import AlertFactory, png

pytestmark = pytest.mark.django_db


def _closed_case(student, county):
    case = alert_services.alert_confirm(alert=AlertFactory(student=student), user=county.county_user).case
    cr = case_services.case_request_closure(case=case, user=county.township_a, version=case.version,
                                       category="hukou", note="户籍已迁出", effective_date=today(),
                                       files=[png()])
    case_services.closure_decide(closure=cr, user=county.county_user, approve=True)
    return case


def test_only_county_plans_and_draws(county):
    for user in (county.township_a, county.school_a, county.gov_a):
        with pytest.raises(PermissionDenied):
            supervision_services.visit_plan(user=user, title="x", section="督导室", planned_on=today())
    visit = supervision_services.visit_plan(user=county.county_user, title="x", section="督导室", planned_on=today())
    with pytest.raises(PermissionDenied):
        supervision_services.visit_draw_sample(visit=visit, user=county.township_a, n_cases=1, n_alerts=1)


def test_sample_is_scoped_reproducible_and_drawn_once(county):
    c = county
    for _ in range(6):
        alert_services.alert_dismiss(alert=AlertFactory(student=StudentFactory(school=c.a_primary)),
                               user=c.county_user, reason="in_school", note="在校")
    for _ in range(3):
        alert_services.alert_dismiss(alert=AlertFactory(student=StudentFactory(school=c.b_primary)),
                               user=c.county_user, reason="in_school", note="在校")
    AlertFactory(student=StudentFactory(school=c.a_primary))  # open: never sampled
    visit = supervision_services.visit_plan(user=c.county_user, title="甲镇督查", section="督导室",
                                planned_on=today(), township=c.ta)
    samples = supervision_services.visit_draw_sample(visit=visit, user=c.county_user, n_cases=3, n_alerts=4, seed=7)
    assert len(samples) == 4  # no closed cases yet; 4 of the 6 dismissed alerts of township A
    assert all(s.alert.school == c.a_primary and s.alert.status == "dismissed" for s in samples)
    visit.refresh_from_db()
    assert visit.sample_seed == 7
    with pytest.raises(workflow.WorkflowError, match="已抽样"):
        supervision_services.visit_draw_sample(visit=visit, user=c.county_user, n_cases=1, n_alerts=1)
    again = supervision_services.visit_plan(user=c.county_user, title="复查", section="督导室", planned_on=today(),
                                township=c.ta)
    same = supervision_services.visit_draw_sample(visit=again, user=c.county_user, n_cases=3, n_alerts=4, seed=7)
    assert [s.alert_id for s in same] == [s.alert_id for s in samples]


def test_sample_weighted_toward_poor_aided_and_special(county):
    """With 1 poor child among 10, a weight of 3 makes it drawn far more often than 1 in 10."""
    c = county
    poor = StudentFactory(school=c.a_primary, is_poor=True)
    alert_services.alert_dismiss(alert=AlertFactory(student=poor), user=c.county_user, reason="in_school", note="x")
    for _ in range(9):
        alert_services.alert_dismiss(alert=AlertFactory(student=StudentFactory(school=c.a_primary)),
                               user=c.county_user, reason="in_school", note="x")
    hits = Counter()
    for seed in range(200):
        visit = supervision_services.visit_plan(user=c.county_user, title=f"v{seed}", section="督导室",
                                    planned_on=today())
        (sample,) = supervision_services.visit_draw_sample(visit=visit, user=c.county_user, n_cases=0, n_alerts=1,
                                               seed=seed)
        hits[sample.alert.student_id == poor.pk] += 1
        if sample.alert.student_id == poor.pk:
            assert sample.weight == 3.0 and sample.weight_reasons == "困难家庭"
    # Expected share 3/12 = 25 % vs 10 % unweighted; 200 seeded draws are deterministic.
    assert hits[True] >= 35


def test_closed_cases_sampled_with_focus_reasons(county):
    c = county
    special = StudentFactory(school=c.a_primary, disability_category="肢体残疾", is_dibao=True)
    _closed_case(special, c)
    visit = supervision_services.visit_plan(user=c.county_user, title="特教专项", section="特教", planned_on=today())
    (s,) = supervision_services.visit_draw_sample(visit=visit, user=c.county_user, n_cases=5, n_alerts=0)
    assert s.case.student == special
    assert s.weight == 5.0 and s.weight_reasons == "困难家庭、特教"


def test_findings_and_rectification_to_closure(county):
    c = county
    visit = supervision_services.visit_plan(user=c.county_user, title="规范办学行为督查", section="教育股",
                                planned_on=today(), school=c.a_primary)
    assert visit.township == c.ta
    with pytest.raises(workflow.WorkflowError, match="教师"):
        supervision_services.finding_record(visit=visit, user=c.county_user, kind="teacher_conduct",
                                description="变相劝退学困生")
    f = supervision_services.finding_record(visit=visit, user=c.county_user, kind="teacher_conduct",
                                teacher_name="某某", description="以成绩差为由劝学生退学")
    assert f.is_teacher_conduct and f.school == c.a_primary and f.township == c.ta
    assert teacher_conduct_counts() == [{"tname": "甲镇", "n": 1}]
    with pytest.raises(workflow.WorkflowError, match="期限"):
        supervision_services.rectification_issue(finding=f, user=c.county_user, requirement="整改", deadline=today())
    order = supervision_services.rectification_issue(finding=f, user=c.county_user, requirement="严肃处理并全校通报",
                                         deadline=today() + dt.timedelta(days=15))
    assert set(RectificationOrder.objects.visible_to(c.school_a)) == {order}
    assert set(RectificationOrder.objects.visible_to(c.township_a)) == {order}
    assert not RectificationOrder.objects.visible_to(c.school_b).exists()
    with pytest.raises(PermissionDenied):
        supervision_services.rectification_report(order=order, user=c.school_b, version=order.version, report="x")
    supervision_services.rectification_report(order=order, user=c.school_a, version=order.version,
                                  report="已处分涉事教师并通报", files=[png()])
    order.refresh_from_db()
    with pytest.raises(workflow.WorkflowError, match="意见"):
        supervision_services.rectification_close(order=order, user=c.county_user, accept=False)
    supervision_services.rectification_close(order=order, user=c.county_user, accept=False, note="缺处分文件")
    order.refresh_from_db()
    assert order.status == RectificationOrder.Status.OPEN
    supervision_services.rectification_report(order=order, user=c.school_a, version=order.version,
                                  report="补充处分文件")
    order.refresh_from_db()
    supervision_services.rectification_close(order=order, user=c.county_user, accept=True, note="同意销号")
    order.refresh_from_db()
    assert order.status == RectificationOrder.Status.CLOSED
    assert [h.status for h in order.history.order_by("history_date")] == [
        "open", "reported", "open", "reported", "closed"]


def test_finding_from_sample_takes_its_school_and_child(county):
    c = county
    alert = AlertFactory(student=c.s_b)
    alert_services.alert_dismiss(alert=alert, user=c.school_b, reason="transferred", note="转学", files=[png()])
    visit = supervision_services.visit_plan(user=c.county_user, title="回头看", section="督导室", planned_on=today())
    (s,) = supervision_services.visit_draw_sample(visit=visit, user=c.county_user, n_cases=0, n_alerts=3)
    supervision_services.sample_check(sample=s, user=c.county_user, result=SupervisionSample.Result.PROBLEM,
                          note="转学手续不存在")
    f = supervision_services.finding_record(visit=visit, user=c.county_user, kind="false_dismissal",
                                description="虚假转学排除", sample=s)
    assert f.school == c.b_primary and f.student == c.s_b and f.township == c.tb
