"""Locked-out accounts are found from the account list (已锁定 filter and badge), unlocked on the
account's page by the county, audited — no Django admin needed."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from kongchuo.access.models import AuditEvent

pytestmark = pytest.mark.django_db


def _lock(user, failures=5):
    AccessAttempt.objects.create(username=user.username, ip_address="10.0.0.1", user_agent="x",
                                 failures_since_start=failures, get_data="", post_data="",
                                 http_accept="", path_info="/accounts/login/")


def test_the_county_finds_locked_accounts_and_unlocks_them(county, client_as):
    _lock(county.school_b)
    _lock(county.school_a, failures=2)  # below the limit: not locked
    client = client_as(county.county_user)
    users = reverse("students:users")
    assert f'href="{users}"' in client.get("/").content.decode()  # 系统管理 → 用户管理
    html = client.get(users + "?state=locked").content.decode()
    assert "u_school_b" in html and "u_school_a" not in html and "登录已锁定" in html
    html = client.get(users).content.decode()
    assert html.count('badge text-bg-danger">登录已锁定') == 1
    page = client.get(reverse("students:user", args=[county.school_b.pk])).content.decode()
    assert 'id="unlock"' in page and 'id="otp-reset"' not in page  # no device bound
    client.post(reverse("students:user_unlock", args=[county.school_b.pk]))
    assert "u_school_b" not in client.get(users + "?state=locked").content.decode()
    event = AuditEvent.objects.get(action="account_unlock")
    assert event.user == county.county_user and event.object_id == str(county.school_b.pk)


def test_the_township_sees_its_schools_lock_but_cannot_unlock(county, client_as):
    _lock(county.school_a)
    client = client_as(county.township_a)
    assert "u_school_a" in client.get(reverse("students:users") + "?state=locked").content.decode()
    assert client.post(reverse("students:user_unlock", args=[county.school_a.pk])).status_code == 403
    assert AccessAttempt.objects.filter(username="u_school_a").exists()
    assert client_as(county.school_a).get(reverse("students:users")).status_code == 403
