"""对口初中 on the school page and the 留级 list on the student page: who may, what it does."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kongchuo.access.models import AuditEvent
from students.models import StatusChange

pytestmark = pytest.mark.django_db


def test_the_township_names_a_primary_schools_junior_school(two_towns, client_as):
    y = two_towns
    y.primary.junior_school = None
    y.primary.save()
    page = client_as(y.township_user).get(reverse("students:school", args=[y.primary.pk]))
    assert page.status_code == 200 and "保存对口初中" in page.content.decode()
    r = client_as(y.township_user).post(reverse("students:school_junior", args=[y.primary.pk]),
                                        {"junior_school": y.center.pk})
    assert r.status_code == 302
    y.primary.refresh_from_db()
    assert y.primary.junior_school == y.center
    assert AuditEvent.objects.filter(action="junior_school_set").exists()
    # a primary school cannot be a junior school
    client_as(y.township_user).post(reverse("students:school_junior", args=[y.primary.pk]),
                                    {"junior_school": y.b_primary.pk})
    y.primary.refresh_from_db()
    assert y.primary.junior_school == y.center


def test_only_the_level_above_sets_it(two_towns, client_as):
    y = two_towns
    url = reverse("students:school_junior", args=[y.primary.pk])
    assert client_as(y.school_user).post(url, {"junior_school": y.center.pk}).status_code == 403
    assert client_as(y.township_b_user).post(url, {"junior_school": y.center.pk}).status_code == 404
    page = client_as(y.school_user).get(reverse("students:my_school")).content.decode()
    assert "对口初中" in page and "保存对口初中" not in page


def test_a_clerk_puts_a_child_on_the_repeat_list_and_takes_it_off(two_towns, client_as, time_machine):
    time_machine.move_to(dt.datetime(2026, 6, 15, 10, tzinfo=dt.UTC))
    y = two_towns
    client = client_as(y.school_user)
    page = client.get(reverse("students:detail", args=[y.p5.pk])).content.decode()
    assert "学年结转时" in page and "升入六年级" in page and "2025–2026学年" in page
    r = client.post(reverse("students:repeat", args=[y.p5.pk]), {"reason": "家长申请"})
    assert r.status_code == 302
    row = StatusChange.objects.get(student=y.p5, kind="repeat")
    assert (row.effective_date, row.reason) == (dt.date(2026, 6, 15), "家长申请")
    page = client.get(reverse("students:detail", args=[y.p5.pk])).content.decode()
    assert "留级，仍读五年级" in page
    client.post(reverse("students:repeat", args=[y.p5.pk]), {"action": "withdraw"})
    assert not StatusChange.objects.filter(student=y.p5, kind="repeat").exists()
    assert AuditEvent.objects.filter(action__in=("repeat_record", "repeat_withdraw")).count() == 2


def test_repeat_list_is_for_children_at_school_and_in_scope(two_towns, client_as):
    y = two_towns
    client_as(y.school_user).post(reverse("students:repeat", args=[y.suspended.pk]), {"reason": "x"})
    assert not StatusChange.objects.filter(student=y.suspended, kind="repeat").exists()
    r = client_as(y.township_b_user).post(reverse("students:repeat", args=[y.p5.pk]), {"reason": "x"})
    assert r.status_code == 404
    page = client_as(y.school_user).get(reverse("students:detail", args=[y.suspended.pk])).content.decode()
    assert "不升级（休学）" in page
