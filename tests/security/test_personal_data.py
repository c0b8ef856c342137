"""Masking and the audited full-ID reveal (issue 7, item 10)."""

from __future__ import annotations

import pytest

from kongchuo.access.models import AuditEvent
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def _full_values(county):
    return [s.id_number for s in (county.s_a, county.s_a2, county.s_b, county.s_direct)] + [
        county.s_a.guardian_phone]


@pytest.mark.parametrize("who", ["county_user", "township_a", "school_a"])
def test_full_ids_and_phones_absent_from_pages_by_default(who, county, client):
    client.force_login(getattr(county, who))
    pages = ["/students/", "/students/?q=" + county.s_a.id_number[-4:], f"/students/{county.s_a.pk}/",
             "/students/schools/" if who != "school_a" else "/students/schools/mine/"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content
        for value in _full_values(county):
            assert value.encode() not in body, (url, "full value leaked")
    detail = client.get(f"/students/{county.s_a.pk}/").content.decode()
    assert county.s_a.id_masked in detail and "********" in county.s_a.id_masked
    assert county.s_a.guardian_phone_masked in detail


def test_student_number_embedding_the_id_is_masked(county, client):
    """A 全国学籍号 is usually G + the ID number: shown as is, it would show the ID."""
    s = county.s_a
    s.student_number = f"G{s.id_number}"
    s.save(update_fields=["student_number"])
    client.force_login(county.county_user)
    body = client.get(f"/students/{s.pk}/").content.decode()
    assert s.id_number not in body
    assert f"G{s.id_masked}" in body


def test_search_by_full_id_does_not_echo_it(county, client):
    client.force_login(county.county_user)
    response = client.get("/students/", {"q": county.s_a.id_number})
    assert response.status_code == 200
    body = response.content.decode()
    assert county.s_a.name in body  # found…
    # …and shown masked. The user's own query is echoed back in the search box and the language
    # switch's `next` field (their input, their URL); nowhere else may the full value appear.
    echoes = body.count(f'value="{county.s_a.id_number}"') + body.count(f"?q={county.s_a.id_number}")
    assert body.count(county.s_a.id_number) == echoes
    assert county.s_a.id_masked in body


def test_county_reveals_a_full_id_once_with_a_reason(county, client):
    client.force_login(county.county_user)
    url = f"/students/{county.s_b.pk}/reveal/"
    response = client.post(url, {"field": "id_number", "reason": "核对学籍信息"})
    assert response.status_code == 200
    assert county.s_b.id_number.encode() in response.content
    assert county.s_b.guardian_phone.encode() not in response.content  # only what was asked for
    assert response["Cache-Control"] == "no-store"
    event = AuditEvent.objects.get(action="reveal_id")
    assert event.username == "u_county"
    assert event.object_id == str(county.s_b.pk)
    assert event.detail == {"field": "id_number", "reason": "核对学籍信息"}
    assert county.s_b.id_number not in str(event.detail) + event.object_repr
    # Shown once: the page itself stays masked.
    assert county.s_b.id_number.encode() not in client.get(f"/students/{county.s_b.pk}/").content


def test_reveal_phone(county, client):
    client.force_login(county.county_user)
    response = client.post(f"/students/{county.s_a.pk}/reveal/",
                           {"field": "guardian_phone", "reason": "联系监护人劝返"})
    assert county.s_a.guardian_phone.encode() in response.content
    assert county.s_a.id_number.encode() not in response.content


def test_reveal_needs_a_reason(county, client):
    client.force_login(county.county_user)
    response = client.post(f"/students/{county.s_b.pk}/reveal/", {"field": "id_number", "reason": ""})
    assert response.status_code == 200
    assert county.s_b.id_number.encode() not in response.content
    assert not AuditEvent.objects.filter(action="reveal_id").exists()


def test_reveal_form_shown_only_to_those_who_may(county, client):
    client.force_login(county.county_user)
    assert b"/reveal/" in client.get(f"/students/{county.s_a.pk}/").content
    client.force_login(county.school_a)
    assert b"/reveal/" not in client.get(f"/students/{county.s_a.pk}/").content


@pytest.mark.parametrize("who,status", [("township_b", 403), ("school_b", 403), ("school_a", 404),
                                        ("township_a", 404), ("gov_a", 404)])
def test_reveal_refused_without_the_right(who, status, county, client):
    client.force_login(getattr(county, who))
    response = client.post(f"/students/{county.s_b.pk}/reveal/", {"field": "id_number", "reason": "想看看"})
    assert response.status_code == status
    assert county.s_b.id_number.encode() not in response.content
    assert not AuditEvent.objects.filter(action="reveal_id").exists()
    if status == 403:
        assert AuditEvent.objects.filter(action="forbidden", username=getattr(county, who).username).exists()


def test_reveal_anonymous_and_get(county, client):
    url = f"/students/{county.s_b.pk}/reveal/"
    assert client.post(url, {"field": "id_number", "reason": "核对"})["Location"].startswith("/accounts/login/")
    client.force_login(county.county_user)
    assert client.get(url).status_code == 405


def test_student_list_masks_every_row(county, client):
    StudentFactory.create_batch(15, school=county.a_primary)
    client.force_login(county.township_a)
    body = client.get("/students/").content.decode()
    from students.models import Student

    for s in Student.objects.visible_to(county.township_a):
        assert s.id_number not in body
