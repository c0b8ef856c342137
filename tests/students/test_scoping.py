"""Scoping: every role sees exactly its own scope; missing and out-of-scope both answer 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from students.models import School, Student

pytestmark = pytest.mark.django_db


def test_student_visibility_per_role(county):
    c = county
    assert set(Student.objects.visible_to(c.county_user)) == {c.s_a, c.s_a2, c.s_b, c.s_direct}
    # Township A sees its township's schools but not the county-direct school located there.
    assert set(Student.objects.visible_to(c.township_a)) == {c.s_a, c.s_a2}
    assert set(Student.objects.visible_to(c.township_b)) == {c.s_b}
    assert set(Student.objects.visible_to(c.school_a)) == {c.s_a}
    assert list(Student.objects.visible_to(c.gov_a)) == []
    assert list(Student.objects.visible_to(c.no_role)) == []


def test_inactive_user_sees_nothing(county):
    county.school_a.is_active = False
    county.school_a.save()
    assert list(Student.objects.visible_to(county.school_a)) == []


def test_school_visibility(county):
    c = county
    assert set(School.objects.visible_to(c.township_a)) == {c.a_center, c.a_primary}
    assert set(School.objects.visible_to(c.school_b)) == {c.b_primary}
    assert School.objects.visible_to(c.county_user).count() == 5


@pytest.mark.parametrize("who,expected", [
    ("county_user", 200), ("township_a", 200), ("school_a", 200),
    ("township_b", 404), ("school_b", 404), ("gov_a", 404),
])
def test_student_page_scoped(county, client_as, who, expected):
    url = reverse("students:detail", args=[county.s_a.pk])
    assert client_as(getattr(county, who)).get(url).status_code == expected


def test_student_page_anonymous_redirects_to_login(county, client):
    response = client.get(reverse("students:detail", args=[county.s_a.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_missing_student_is_404_like_out_of_scope(county, client_as):
    assert client_as(county.county_user).get(reverse("students:detail", args=[999999])).status_code == 404


def test_student_list_shows_only_scope(county, client_as):
    body = client_as(county.school_a).get(reverse("students:list")).content.decode()
    assert county.s_a.name in body
    assert county.s_b.name not in body
    assert county.s_a.id_number not in body  # masked on the server
    assert county.s_a.id_masked in body


def test_student_list_forbidden_for_township_gov(county, client_as):
    assert client_as(county.gov_a).get(reverse("students:list")).status_code == 403


def test_school_responsibility_edit_by_level_above(county, client_as):
    url = reverse("students:school", args=[county.a_primary.pk])
    data = {"principal_name": "张校长", "principal_phone": "13900000000",
            "clerk_name": "李专干", "clerk_phone": "13900000001"}
    # The school itself cannot edit its own responsibility.
    assert client_as(county.school_a).post(url, data).status_code == 403
    # Township B cannot even see the school.
    assert client_as(county.township_b).post(url, data).status_code == 404
    # Its township center school can.
    assert client_as(county.township_a).post(url, data).status_code == 302
    county.a_primary.refresh_from_db()
    assert county.a_primary.principal_name == "张校长"


def test_center_school_responsibility_is_edited_by_county(county, client_as):
    url = reverse("students:school", args=[county.a_center.pk])
    data = {"principal_name": "王", "principal_phone": "", "clerk_name": "赵", "clerk_phone": ""}
    assert client_as(county.township_a).post(url, data).status_code == 403
    assert client_as(county.county_user).post(url, data).status_code == 302


@pytest.mark.parametrize("who,expected", [
    ("county_user", 200), ("township_a", 403), ("school_a", 403), ("gov_a", 403)])
def test_county_page_and_users_only_for_county(county, client_as, who, expected):
    client = client_as(getattr(county, who))
    assert client.get(reverse("students:county")).status_code == expected
    managers = ("county_user", "township_a")  # 用户管理: the township for its schools' accounts
    assert client.get(reverse("students:users")).status_code == (200 if who in managers else 403)


@pytest.mark.parametrize("who", ["county_user", "township_a", "school_a", "gov_a"])
def test_home_per_role(county, client_as, who):
    response = client_as(getattr(county, who)).get("/")
    assert response.status_code == 200
    assert f"home/{getattr(county, who).role}.html" in [t.name for t in response.templates]


def test_home_without_role_is_refused(county, client_as):
    assert client_as(county.no_role).get("/").status_code == 403


def test_login_page_is_chinese(client, db):
    body = client.get("/accounts/login/").content.decode()
    assert "控辍保学管理平台" in body
    assert 'name="renderer" content="webkit"' in body


def test_login_flow_and_menu(county, client):
    from django.test import Client

    c = Client()
    response = c.post("/accounts/login/", {"username": "u_school_a", "password": "correct-horse-9"},
                      REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 302
    body = c.get("/").content.decode()
    assert "学生名册" in body and "领导小组" not in body
