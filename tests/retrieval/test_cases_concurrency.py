"""Two clerks at once (PostgreSQL, real row locks): no double decision, one active case per child."""

from __future__ import annotations

import os
import threading

import pytest
from django.db import connection, connections

from retrieval import workflow
from retrieval.alerts import services as alert_services
from retrieval.models import AlertDecision, RetrievalCase
from tests.retrieval.casefactories import AlertFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _race(*calls):
    """Run the calls in threads released together; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each side got
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        if os.environ.get("CI"):
            pytest.fail("CI must run the row-lock races on PostgreSQL (DATABASE_URL)")
        pytest.skip("row-lock races need PostgreSQL (run with DATABASE_URL=postgres://…)")


def test_same_alert_confirmed_and_dismissed_at_once(county):
    alert = AlertFactory(student=county.s_a)
    results = _race(
        lambda: alert_services.alert_confirm(alert=alert, user=county.school_a),
        lambda: alert_services.alert_dismiss(alert=alert, user=county.township_a, reason="in_school", note="在校"),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], workflow.WorkflowError), results
    assert AlertDecision.objects.filter(alert=alert).count() == 1


def test_two_alerts_of_one_child_confirmed_at_once_make_one_case(county):
    a1 = AlertFactory(student=county.s_a)
    a2 = AlertFactory(student=county.s_a, rule="absence", period="2026-03")
    results = _race(
        lambda: alert_services.alert_confirm(alert=a1, user=county.school_a),
        lambda: alert_services.alert_confirm(alert=a2, user=county.township_a),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    case = RetrievalCase.objects.get()
    assert set(case.alerts.values_list("pk", flat=True)) == {a1.pk, a2.pk}
