"""转学 in the county (issue 16 §3): the receiving side asks, the sending side confirms (or the
other way round), the child is 转学中 on both sides meanwhile and counted by neither as missing,
and a transfer is never lost between two schools: at every step the child is on exactly one
school's roll, a decision is taken once, and refusing or withdrawing brings back what was."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kongchuo.calendar.schoolyear import term_of, today
from retrieval.sweeps.base import Context
from retrieval.sweeps.return_check import not_returned
from students.models import StatusChange, Student, TransferRequest
from students.services import StaleEdit
from students.transfers import (
    transfer_confirm,
    transfer_refuse,
    transfer_request_create,
    transfer_withdraw,
)
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def _ask(county, child=None, **kw):
    """School A asks for school B's child (转入申请)."""
    child = child or county.s_b
    args = {"user": county.school_a, "student": child, "to_school": county.a_primary,
            "direction": "in", "grade": child.grade, "class_name": "3班", "reason": "随父母迁居"}
    args.update(kw)
    return transfer_request_create(**args)


def _roll(child) -> tuple:
    child.refresh_from_db()
    return child.school_id, child.status


def test_the_receiving_school_asks_and_the_sending_school_confirms(county):
    t = _ask(county)
    assert _roll(county.s_b) == (county.b_primary.pk, "transferring")
    # Both sides (and their townships and the county) see it; nobody else does.
    for user in (county.school_a, county.school_b, county.township_a, county.township_b, county.county_user):
        assert TransferRequest.objects.visible_to(user).filter(pk=t.pk).exists(), user
    assert not TransferRequest.objects.visible_to(county.gov_a).exists()
    # The asking side cannot confirm its own request.
    with pytest.raises(PermissionDenied):
        transfer_confirm(user=county.school_a, transfer=t, expected_version=t.version)
    done = transfer_confirm(user=county.school_b, transfer=t, expected_version=t.version)
    assert done.state == "confirmed" and done.decided_by == county.school_b
    county.s_b.refresh_from_db()
    assert (county.s_b.school, county.s_b.status, county.s_b.class_name) == (county.a_primary, "enrolled", "3班")
    kinds = list(StatusChange.objects.filter(student=county.s_b).values_list("kind", "from_status", "to_status"))
    assert kinds == [("transfer_request", "enrolled", "transferring"), ("transfer_out", "transferring", "enrolled")]
    move = StatusChange.objects.get(student=county.s_b, kind="transfer_out")
    assert (move.from_school, move.to_school) == (county.b_primary, county.a_primary)


def test_the_sending_township_may_confirm(county):
    t = _ask(county)
    transfer_confirm(user=county.township_b, transfer=t, expected_version=t.version)
    assert _roll(county.s_b) == (county.a_primary.pk, "enrolled")


def test_another_township_may_not_confirm(county):
    t = _ask(county)
    with pytest.raises(PermissionDenied):
        transfer_confirm(user=county.township_a, transfer=t, expected_version=t.version)
    assert _roll(county.s_b) == (county.b_primary.pk, "transferring")


def test_a_refusal_needs_a_reason_and_restores_the_status(county):
    Student.objects.filter(pk=county.s_b.pk).update(status="suspected")
    county.s_b.refresh_from_db()
    t = _ask(county)
    with pytest.raises(ValidationError):
        transfer_refuse(user=county.school_b, transfer=t, expected_version=t.version, note="  ")
    transfer_refuse(user=county.school_b, transfer=t, expected_version=t.version, note="该生仍在本校就读")
    assert _roll(county.s_b) == (county.b_primary.pk, "suspected")
    t.refresh_from_db()
    assert (t.state, t.decision_note) == ("refused", "该生仍在本校就读")


def test_the_asking_side_withdraws(county):
    t = _ask(county)
    with pytest.raises(PermissionDenied):
        transfer_withdraw(user=county.school_b, transfer=t, expected_version=t.version)
    transfer_withdraw(user=county.school_a, transfer=t, expected_version=t.version)
    assert _roll(county.s_b) == (county.b_primary.pk, "enrolled")


def test_a_decision_is_taken_once(county):
    t = _ask(county)
    seen = t.version
    transfer_confirm(user=county.school_b, transfer=t, expected_version=seen)
    for action, kw in ((transfer_confirm, {}), (transfer_refuse, {"note": "迟了"}), (transfer_withdraw, {})):
        user = county.school_a if action is transfer_withdraw else county.school_b
        with pytest.raises(StaleEdit):
            action(user=user, transfer=t, expected_version=seen, **kw)
    assert _roll(county.s_b) == (county.a_primary.pk, "enrolled")
    assert StatusChange.objects.filter(student=county.s_b, kind="transfer_out").count() == 1


def test_one_pending_transfer_per_child(county):
    _ask(county)
    with pytest.raises(ValidationError, match="待确认"):
        _ask(county, user=county.county_user, to_school=county.a_center)


def test_a_child_cannot_be_asked_for_by_its_own_school(county):
    with pytest.raises(ValidationError):
        _ask(county, child=county.s_a)


def test_a_school_cannot_ask_for_another_school(county):
    with pytest.raises(PermissionDenied):
        _ask(county, to_school=county.b_center)


def test_the_sending_side_records_a_transfer_out_and_the_receiving_side_receives(county):
    t = transfer_request_create(user=county.school_a, student=county.s_a, to_school=county.b_primary,
                                direction="out", grade=4, reason="随迁")
    assert _roll(county.s_a) == (county.a_primary.pk, "transferring")
    with pytest.raises(PermissionDenied):
        transfer_confirm(user=county.school_a, transfer=t, expected_version=t.version)
    transfer_confirm(user=county.school_b, transfer=t, expected_version=t.version)
    assert _roll(county.s_a) == (county.b_primary.pk, "enrolled")


def test_a_child_moved_meanwhile_only_closes_the_request(county):
    t = _ask(county)
    Student.objects.filter(pk=county.s_b.pk).update(school=county.a_primary, status="enrolled")
    transfer_confirm(user=county.school_b, transfer=t, expected_version=t.version)
    assert not StatusChange.objects.filter(student=county.s_b, kind="transfer_out").exists()
    t.refresh_from_db()
    assert t.state == "confirmed"


def test_a_second_request_on_the_day_of_a_withdrawal_waits(county):
    t = _ask(county)
    transfer_withdraw(user=county.school_a, transfer=t, expected_version=t.version)
    with pytest.raises(ValidationError, match="明天"):
        _ask(county)
    assert _roll(county.s_b) == (county.b_primary.pk, "enrolled")


def test_a_transfer_is_never_lost_between_two_schools(county):
    """Every sequence of steps leaves the child on exactly one roll, visible to both sides while
    pending, and either back where they were or at the receiving school when decided."""
    outcomes = []
    for decide in ("confirm", "refuse", "withdraw"):
        child = StudentFactory(school=county.b_primary, grade=3, name=f"转学{decide}")
        t = _ask(county, child=child)
        for user in (county.school_a, county.school_b):
            assert TransferRequest.objects.visible_to(user).filter(pk=t.pk, state="pending").exists()
        # Pending: on the sending school's roll only, missing from neither.
        assert Student.objects.filter(pk=child.pk, school=county.b_primary).exists()
        if decide == "confirm":
            transfer_confirm(user=county.school_b, transfer=t, expected_version=t.version)
        elif decide == "refuse":
            transfer_refuse(user=county.school_b, transfer=t, expected_version=t.version, note="不同意")
        else:
            transfer_withdraw(user=county.school_a, transfer=t, expected_version=t.version)
        outcomes.append((decide, *_roll(child)))
        assert Student.objects.filter(id_number=child.id_number).count() == 1
    assert outcomes == [("confirm", county.a_primary.pk, "enrolled"),
                        ("refuse", county.b_primary.pk, "enrolled"),
                        ("withdraw", county.b_primary.pk, "enrolled")]


def test_a_child_in_transfer_is_not_missing_for_the_return_check(county):
    _ask(county)
    as_of = today()  # the request is dated the day it is made
    ctx = Context(as_of=as_of, period=term_of(as_of).code, run_id=None, now=None)
    missing = set(not_returned(ctx).values_list("pk", flat=True))
    assert county.s_b.pk not in missing and county.s_a.pk in missing


# --------------------------------------------------------------------------- pages


def test_the_pages_walk_a_request_to_its_confirmation(county, client_as):
    t = _ask(county)
    a = client_as(county.school_a)
    page = a.get(reverse("students:transfer", args=[t.pk]))
    assert page.status_code == 200 and page.context["may_withdraw"] and not page.context["may_answer"]
    assert a.post(reverse("students:transfer_confirm", args=[t.pk]), {"version": t.version}).status_code == 403
    b = client_as(county.school_b)
    listing = b.get(reverse("students:transfers"))
    assert listing.context["waiting_me"] == 1
    r = b.post(reverse("students:transfer_confirm", args=[t.pk]), {"version": t.version, "note": "同意"})
    assert r.status_code == 302
    assert _roll(county.s_b) == (county.a_primary.pk, "enrolled")
    # The sending school no longer sees the child, but still sees the finished transfer.
    assert b.get(reverse("students:detail", args=[county.s_b.pk])).status_code == 404
    assert b.get(reverse("students:transfer", args=[t.pk])).status_code == 200


def test_a_stale_confirmation_is_refused_on_the_page(county, client_as):
    t = _ask(county)
    b = client_as(county.school_b)
    b.post(reverse("students:transfer_refuse", args=[t.pk]), {"version": t.version, "note": "不同意"})
    r = b.post(reverse("students:transfer_confirm", args=[t.pk]), {"version": t.version})
    assert r.status_code == 302
    assert _roll(county.s_b) == (county.b_primary.pk, "enrolled")


def test_the_transfer_out_page(county, client_as):
    c = client_as(county.school_a)
    url = reverse("students:transfer_out", args=[county.s_a.pk])
    assert c.get(url).status_code == 200
    old = today() - dt.timedelta(days=61)
    r = c.post(url, {"to_school": county.b_primary.pk, "requested_on": f"{old:%Y-%m-%d}", "grade": "4",
                     "reason": "随迁"})
    assert r.status_code == 400 and not TransferRequest.objects.exists()  # too far back
    day = today() - dt.timedelta(days=3)
    r = c.post(url, {"to_school": county.b_primary.pk, "requested_on": f"{day:%Y-%m-%d}", "grade": "4",
                     "reason": "随迁"})
    t = TransferRequest.objects.get()
    assert r.status_code == 302 and (t.direction, t.requested_on) == ("out", day)
    assert client_as(county.school_b).get(reverse("students:transfer_out", args=[county.s_a.pk])).status_code == 404


def test_the_transfer_list_reads_a_fixed_number_of_queries(county, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(county.township_b)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("students:transfers") + "?state=all").status_code == 200
        return len(ctx.captured_queries)

    for _i in range(2):
        _ask(county, child=StudentFactory(school=county.b_primary))
    count()  # the first request of a session also reads what later ones find cached
    few = count()
    for _i in range(8):
        _ask(county, child=StudentFactory(school=county.b_primary))
    assert count() == few
