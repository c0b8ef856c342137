"""The audit log (issue 7, item 11): written for the security events, browsable by county only,
append-only in the database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from kongchuo.access.audit import audit_record
from kongchuo.access.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(county):
    audit_record(action="login", user=county.county_user)
    audit_record(action="login_failed", outcome="failed", detail={"username": "u_school_a"})
    audit_record(action="export", user=county.township_a, detail={"rows": 12})
    audit_record(action="sweep_run", user=county.county_user, detail={"rule": "return_check"})
    audit_record(action="import", user=county.school_a)
    return county


def test_county_browses_and_filters(events, client):
    client.force_login(events.county_user)
    page = client.get("/audit/")
    assert page.status_code == 200
    text = page.content.decode()
    for label in ("登录", "登录失败", "导出", "排查运行", "导入"):
        assert label in text
    failed = client.get("/audit/", {"action": "login_failed"}).content.decode()
    assert "u_school_a" in failed and "导出" not in failed.split("</thead>")[1]
    by_user = client.get("/audit/", {"user": "u_township"}).content.decode()
    assert "行数：12" in by_user and "return_check" not in by_user
    outcome = client.get("/audit/", {"outcome": "failed"}).content.decode()
    assert "共 1 条" in outcome


def test_date_range_filter(events, client):
    client.force_login(events.county_user)
    today = dt.date.today()
    total = AuditEvent.objects.count()  # the fixture's five rows and the login of force_login
    assert f"共 {total} 条" in client.get("/audit/", {"since": today.isoformat()}).content.decode()
    tomorrow = (today + dt.timedelta(days=2)).isoformat()
    assert "共 0 条" in client.get("/audit/", {"since": tomorrow}).content.decode()
    assert "共 0 条" in client.get("/audit/", {"until": (today - dt.timedelta(days=2)).isoformat()}).content.decode()


@pytest.mark.parametrize("who", ["township_a", "school_a", "gov_a", "no_role"])
def test_others_are_refused(who, events, client):
    client.force_login(getattr(events, who))
    assert client.get("/audit/").status_code == 403


def test_anonymous_goes_to_login(client):
    assert client.get("/audit/")["Location"].startswith("/accounts/login/")


def test_audit_page_query_count_is_constant(events, client, django_assert_max_num_queries):
    client.force_login(events.county_user)
    for _ in range(60):
        audit_record(action="export", user=events.school_b)
    with django_assert_max_num_queries(12):
        assert client.get("/audit/").status_code == 200


def test_audit_detail_is_escaped(events, client):
    audit_record(action="reveal_id", user=events.county_user, detail={"reason": "<script>alert(1)</script>"})
    client.force_login(events.county_user)
    body = client.get("/audit/").content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body


def test_application_cannot_update_audit_rows(events):
    row = AuditEvent.objects.first()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=row.pk).update(outcome="tampered")
    with pytest.raises(DatabaseError), transaction.atomic():
        row.outcome = "tampered"
        row.save()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE kongchuo_auditevent SET username = 'x'")
    assert not AuditEvent.objects.filter(outcome="tampered").exists()


def test_application_cannot_delete_audit_rows(events):
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM kongchuo_auditevent")
    assert AuditEvent.objects.count() == count


def test_login_and_logout_are_audited(county, client):
    client.post("/accounts/login/", {"username": "u_school_a", "password": "correct-horse-9"},
                REMOTE_ADDR="192.0.2.10")
    client.post("/accounts/logout/", REMOTE_ADDR="192.0.2.10")
    actions = list(AuditEvent.objects.filter(username="u_school_a").order_by("id")
                   .values_list("action", "ip"))
    assert actions == [("login", "192.0.2.10"), ("logout", "192.0.2.10")]


def test_menu_shows_audit_to_county_only(county, client):
    client.force_login(county.county_user)
    assert 'href="/audit/"' in client.get("/").content.decode()
    client.force_login(county.township_a)
    assert 'href="/audit/"' not in client.get("/").content.decode()
