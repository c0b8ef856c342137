"""Issue 15 finding 7 (second part): an account that has never signed in shows its TOTP secret
only after its owner chose their own password, however the account was made (the portal's
account pages: tests/students/test_accounts.py; here the operator's add_user and the admin)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from students.models import User

pytestmark = pytest.mark.django_db
ONE_TIME = "an-operator-Typed-99"
OWN = "my own Pa55word-77"


def _first_login_shows_no_secret(username: str) -> Client:
    owner = Client()
    assert owner.post(reverse("login"), {"username": username, "password": ONE_TIME}).status_code == 302
    setup = owner.get(reverse("otp_setup"))
    assert setup.status_code == 302 and setup["Location"] == reverse("password_change")
    assert not TOTPDevice.objects.filter(user__username=username).exists()  # no secret made
    return owner


def test_add_user_account_shows_the_secret_only_after_a_password_change(county, settings, monkeypatch):
    settings.KONGCHUO_REQUIRE_OTP = True
    monkeypatch.setattr("sys.stdin", io.StringIO(ONE_TIME + "\n"))
    call_command("add_user", "chief", "--role", "county", "--password-stdin", stdout=io.StringIO())
    owner = _first_login_shows_no_secret("chief")
    changed = owner.post(reverse("password_change"), {
        "old_password": ONE_TIME, "new_password1": OWN, "new_password2": OWN})
    assert changed.status_code == 302
    page = owner.get(reverse("otp_setup"))
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user__username="chief")
    assert device.config_url.split("secret=")[1].split("&")[0] in page.content.decode()


def test_admin_created_account_must_change_its_password_first(county, settings, client):
    settings.KONGCHUO_REQUIRE_OTP = False  # the staff member's own second factor is not the point
    staff = county.county_user
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    response = client.post(reverse("admin:students_user_add"), {
        "username": "newclerk", "password1": ONE_TIME, "password2": ONE_TIME, "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[:500]
    assert User.objects.get(username="newclerk").must_change_password
    settings.KONGCHUO_REQUIRE_OTP = True
    User.objects.filter(username="newclerk").update(role="county")
    _first_login_shows_no_secret("newclerk")
