"""A case closed as 信息错误 (the record was wrong) withdraws the 疑似辍学 mark with a row of
its own kind: no 复学 row, and no figure counts the child as having come back to school."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from kongchuo.calendar.schoolyear import today
from retrieval.alerts import services as alert_services
from retrieval.cases import services as case_services
from retrieval.cases.selectors import case_counts
from retrieval.sweeps.base import RESUME_KINDS, absence_covering, status_was
from students.models import StatusChange, Student
from students.services import student_change_status
from tests.retrieval.casefactories import AlertFactory, png

pytestmark = pytest.mark.django_db

K = StatusChange.Kind


def _close_as_data_error(c, student):
    case = alert_services.alert_confirm(alert=AlertFactory(student=student, rule="absence", period="2026-03"),
                                  user=c.school_a, reason="weary").case
    closure = case_services.case_request_closure(case=case, user=c.school_a, version=case.version,
                                            category="data_error", note="缺课记录录错了学生",
                                            effective_date=today(), files=[png()])
    case_services.closure_decide(closure=closure, user=c.township_a, approve=True)
    case.refresh_from_db()
    student.refresh_from_db()
    return case


def test_data_error_closure_writes_a_withdrawal_not_a_resumption(county):
    c = county
    case = _close_as_data_error(c, c.s_a)
    assert case.closure_category == "data_error"
    assert c.s_a.status == Student.Status.ENROLLED
    kinds = list(StatusChange.objects.filter(student=c.s_a).values_list("kind", flat=True))
    assert kinds == [K.SUSPECTED, K.SUSPICION_VOID]
    void = StatusChange.objects.get(student=c.s_a, kind=K.SUSPICION_VOID)
    assert (void.from_status, void.to_status, void.source) == ("suspected", "enrolled", "retrieval")
    assert void.get_kind_display() == "撤销疑似辍学"
    assert not StatusChange.objects.filter(student=c.s_a, kind__in=RESUME_KINDS).exists()


def test_withdrawal_restores_the_status_before_the_mark(county):
    """A child taught at home, wrongly flagged, goes back to 送教上门, not to 在读."""
    c = county
    student_change_status(student=c.s_a, kind=K.HOME_TEACHING, user=c.school_a,
                          effective_date=today() - dt.timedelta(days=40))
    _close_as_data_error(c, c.s_a)
    assert c.s_a.status == Student.Status.HOME_TEACHING
    void = StatusChange.objects.get(student=c.s_a, kind=K.SUSPICION_VOID)
    assert (void.from_status, void.to_status) == ("suspected", "home_teaching")
    # The dated history agrees: on the day of the withdrawal the child is 送教上门 again.
    assert status_was(Student.objects.filter(pk=c.s_a.pk), today(), "home_teaching").exists()


def test_withdrawal_does_not_end_a_leave_as_a_resumption_would(county):
    c = county
    student_change_status(student=c.s_a, kind=K.LEAVE, user=c.school_a,
                          effective_date=today() - dt.timedelta(days=5))
    _close_as_data_error(c, c.s_a)
    assert Student.objects.filter(pk=c.s_a.pk).filter(absence_covering(today())).exists()


def test_no_return_is_counted(county):
    from dashboards.metrics import METRICS, metric_rows
    from dashboards.params import parse_params
    from dashboards.selectors import dashboard_data
    from kongchuo.access.scoping import scope_of

    c = county
    _close_as_data_error(c, c.s_a)
    counts = case_counts(c.county_user)
    assert (counts["closed"], counts["returned"]) == (1, 0)
    cache.clear()
    p = parse_params({}, today=today())
    for key in ("cases_returned", "funnel_returned", "dropouts"):
        assert metric_rows(METRICS[key], c.county_user, p).count() == 0, key
    assert metric_rows(METRICS["cases_closed"], c.county_user, p).count() == 1
    data = dashboard_data(c.county_user, scope_of(c.county_user), p)
    assert data["overall"]["f"]["cases_returned"]["v"] == 0
    assert data["overall"]["retention"]["v"] == 1.0
    cache.clear()


def test_withdrawal_is_not_a_ledger_resumption(county, client_as):
    """The school's 学籍变动 ledger lists no 复学 for the child."""
    from django.urls import reverse

    c = county
    _close_as_data_error(c, c.s_a)
    client = client_as(c.school_a)
    url = reverse("ledgers:status_changes")
    assert "撤销疑似辍学" in client.get(url).content.decode()
    assert c.s_a.name not in client.get(url, {"kind": "resume"}).content.decode()
