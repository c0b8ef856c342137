"""Forms and bulk actions that write children's data, checked with the import scope matrix's
fingerprint (tests/imports/scope_fingerprint.py): forged ids of children outside the user's
scope change nothing outside it; 新增学生 with another school's child is a transfer request,
never a move or a rename (the rule the roster import now follows, issue 15)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kongchuo.calendar.schoolyear import term_of, today
from ledgers.models import ReturnReport
from students.models import Student, TransferRequest
from tests.imports.scope_fingerprint import diff, fingerprint, mark

pytestmark = pytest.mark.django_db


def test_return_tick_with_forged_ids_writes_nothing_outside(county, client_as):
    user = county.school_a
    before = fingerprint(user)
    forged = [county.s_b.pk, county.s_a2.pk, county.s_direct.pk]
    response = client_as(user).post(reverse("ledgers:returns_tick"), {
        "term": term_of(today()).code, "reported_on": today().isoformat(), "student": forged})
    assert response.status_code == 200 and not ReturnReport.objects.exists()
    assert diff(before, fingerprint(user)) == []


def _new(county, student, name):
    return {"arrival": "enroll", "school": county.a_primary.pk, "name": name,
            "id_number": student.id_number, "grade": str(student.grade), "class_name": "2班",
            "hukou_address": "霍邱县甲镇新店村", "guardian_name": "王父", "guardian_phone": "13900001111"}


@pytest.mark.parametrize("who", ["school_a", "township_a"])
def test_new_student_form_with_another_scopes_child(county, client_as, who):
    user = getattr(county, who)
    s = county.s_b
    since = mark()
    before = fingerprint(user, asked={s.pk}, since=since)
    client = client_as(user)
    wrong = client.post(reverse("students:new"), _new(county, s, "冒名"))
    assert wrong.status_code == 400 and diff(before, fingerprint(user, asked={s.pk}, since=since)) == []
    asked = client.post(reverse("students:new"), _new(county, s, s.name))
    assert asked.status_code == 302
    assert diff(before, fingerprint(user, asked={s.pk}, since=since)) == []
    s.refresh_from_db()
    assert (s.school_id, s.status) == (county.b_primary.pk, Student.Status.TRANSFERRING)
    assert TransferRequest.objects.get(student=s).to_school_id == county.a_primary.pk
