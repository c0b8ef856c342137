"""Issue 15 finding 4: the admin's views of a child's record mask the ID (a 全国学籍号 is "G" +
the ID) and are audited, like the portal's own reads."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kongchuo.access.idnumbers import mask_id
from kongchuo.access.models import AuditEvent
from retrieval.models import RetrievalCase

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(county, settings, client):
    settings.KONGCHUO_REQUIRE_OTP = False
    staff = county.county_user
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    return client


@pytest.fixture
def child(county):
    s = county.s_a
    s.student_number = "G" + s.id_number
    s._change_reason = f"学籍号更正 {s.id_number[:6]} {s.id_number[6:]}"
    s.save()
    # An ID correction: the history diff holds the old and new IDs.
    s.student_number = "G" + s.id_number.lower()
    s.save()
    return s


def test_student_change_page_masks_the_student_number(county, staff_client, child):
    body = staff_client.get(reverse("admin:students_student_change", args=[child.pk])).content.decode()
    assert child.id_number not in body and child.id_number.lower() not in body
    assert "G" + mask_id(child.id_number) in body


def test_student_history_pages_mask_ids(county, staff_client, child):
    history = staff_client.get(reverse("admin:students_student_history", args=[child.pk]))
    assert history.status_code == 200
    body = history.content.decode()
    assert child.id_number not in body and child.id_number.lower() not in body
    version = child.history.order_by("history_id").first()
    old = staff_client.get(reverse("admin:students_student_simple_history", args=[child.pk, version.pk]))
    assert old.status_code == 200 and child.id_number not in old.content.decode()


def test_admin_reads_of_children_are_audited(county, staff_client, child):
    case = RetrievalCase.objects.create(student=child, school=child.school, township=county.ta,
                                        name=child.name, id_number=child.id_number,
                                        opened_by=county.school_a)
    before = AuditEvent.objects.filter(action="admin_view").count()
    staff_client.get(reverse("admin:students_student_changelist") + f"?q={child.id_number}")
    staff_client.get(reverse("admin:students_student_change", args=[child.pk]))
    staff_client.get(reverse("admin:students_student_history", args=[child.pk]))
    staff_client.get(reverse("admin:retrieval_retrievalcase_change", args=[case.pk]))
    events = list(AuditEvent.objects.filter(action="admin_view").order_by("pk"))[before:]
    assert [(e.object_type, e.detail["view"]) for e in events] == [
        ("students.student", "list"), ("students.student", "change"), ("students.student", "history"),
        ("retrieval.retrievalcase", "change")]
    assert events[1].object_id == str(child.pk) and events[0].username == county.county_user.username
    assert child.id_number not in events[0].detail["q"]  # the search term is masked too
