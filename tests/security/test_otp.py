"""Second factor (issue 7, item 6): county users and the admin site need a verified TOTP device."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from kongchuo.access.models import AuditEvent

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _token(device, at: dt.datetime) -> str:
    """The code an authenticator app shows at `at` (time is frozen by the caller)."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, 0):06d}"


@pytest.fixture
def otp_on(settings):
    settings.KONGCHUO_REQUIRE_OTP = True
    return settings


def test_county_user_without_device_is_sent_to_setup(otp_on, county, client):
    client.force_login(county.county_user)
    response = client.get("/students/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/otp/setup/?next=%2Fstudents%2F"


def test_setup_shows_the_secret_and_confirms_with_a_token(otp_on, county, client):
    client.force_login(county.county_user)
    with time_machine.travel(T0, tick=False):
        page = client.get("/accounts/otp/setup/?next=/students/")
        assert page.status_code == 200
        device = TOTPDevice.objects.get(user=county.county_user, confirmed=False)
        assert "otpauth://totp/" in page.content.decode()
        wrong = client.post("/accounts/otp/setup/", {"token": "000000", "next": "/students/"})
        assert wrong.status_code == 200 and "验证码错误".encode() in wrong.content
        assert AuditEvent.objects.filter(action="otp_failed").count() == 1
    later = T0 + dt.timedelta(seconds=5)  # django-otp throttles for a second after a failure
    with time_machine.travel(later, tick=False):
        ok = client.post("/accounts/otp/setup/", {"token": _token(device, later), "next": "/students/"})
        assert ok.status_code == 302 and ok["Location"] == "/students/"
        assert client.get("/students/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action="otp_setup", username="u_county").exists()


def test_next_login_asks_for_a_token(otp_on, county, client):
    device = TOTPDevice.objects.create(user=county.county_user, name="TOTP", confirmed=True)
    client.force_login(county.county_user)
    with time_machine.travel(T0, tick=False):
        response = client.get("/")
        assert response["Location"] == "/accounts/otp/verify/?next=%2F"
        assert client.get("/accounts/otp/setup/")["Location"].startswith("/accounts/otp/verify/")
        assert client.post("/accounts/otp/verify/", {"token": "123456"}).status_code == 200
        assert client.get("/students/").status_code == 302
    later = T0 + dt.timedelta(seconds=5)
    with time_machine.travel(later, tick=False):
        ok = client.post("/accounts/otp/verify/", {"token": _token(device, later), "next": "/students/"})
        assert ok["Location"] == "/students/"
        assert client.get("/students/").status_code == 200


def test_a_used_token_cannot_be_replayed(otp_on, county, client):
    device = TOTPDevice.objects.create(user=county.county_user, name="TOTP", confirmed=True)
    with time_machine.travel(T0, tick=False):
        token = _token(device, T0)
        client.force_login(county.county_user)
        assert client.post("/accounts/otp/verify/", {"token": token})["Location"] == "/"
        other = type(client)()
        other.force_login(county.county_user)
        assert other.post("/accounts/otp/verify/", {"token": token}).status_code == 200  # refused


def test_open_redirect_is_refused(otp_on, county, client):
    device = TOTPDevice.objects.create(user=county.county_user, name="TOTP", confirmed=True)
    client.force_login(county.county_user)
    with time_machine.travel(T0, tick=False):
        ok = client.post("/accounts/otp/verify/", {"token": _token(device, T0), "next": "https://evil.example/"})
    assert ok["Location"] == "/"


@pytest.mark.parametrize("who", ["township_a", "school_a", "gov_a"])
def test_other_roles_need_no_second_factor(otp_on, county, client, who):
    client.force_login(getattr(county, who))
    assert client.get("/").status_code == 200


def test_switch_off_lets_county_in_without_device(settings, county, client):
    settings.KONGCHUO_REQUIRE_OTP = False
    client.force_login(county.county_user)
    assert client.get("/students/").status_code == 200


def test_otp_pages_need_login(client):
    for url in ("/accounts/otp/setup/", "/accounts/otp/verify/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_logout_stays_reachable_before_the_second_factor(otp_on, county, client):
    client.force_login(county.county_user)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"


def test_htmx_requests_are_redirected_by_header(otp_on, county, client):
    client.force_login(county.county_user)
    response = client.get("/students/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/accounts/otp/setup/")


# -- the admin site ---------------------------------------------------------------------------------


@pytest.fixture
def staff(county):
    user = county.county_user
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


def test_admin_needs_a_verified_device(otp_on, staff, client):
    device = TOTPDevice.objects.create(user=staff, name="TOTP", confirmed=True)
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/otp/verify/")
    with time_machine.travel(T0, tick=False):
        client.post("/accounts/otp/verify/", {"token": _token(device, T0)})
        assert client.get("/admin/").status_code == 200


def test_staff_school_user_needs_otp_for_anything(otp_on, county, client):
    user = county.school_a
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert client.get("/admin/")["Location"].startswith("/accounts/otp/setup/")


def test_admin_without_switch_is_plain(settings, staff, client):
    settings.KONGCHUO_REQUIRE_OTP = False
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_admin_refuses_non_staff_and_sends_anonymous_to_portal_login(county, client):
    client.force_login(county.township_a)
    assert client.get("/admin/", follow=True).status_code == 403
    assert AuditEvent.objects.filter(action="forbidden", username="u_township_a").exists()
    anonymous = type(client)()
    response = anonymous.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")


def test_admin_site_is_otp_aware():
    from django.contrib import admin
    from django_otp.admin import OTPAdminSite

    assert isinstance(admin.site, OTPAdminSite)


# -- the switch's defaults ----------------------------------------------------------------------------


def _setting(env_extra: dict) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_DEBUG", "KONGCHUO_REQUIRE_OTP"}}
    env.update({"DJANGO_SETTINGS_MODULE": "kongchuo.settings", **env_extra})
    code = "from django.conf import settings; print(settings.KONGCHUO_REQUIRE_OTP)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_otp_required_by_default_in_production():
    prod = {"DJANGO_DEBUG": "0", "SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "kcbx.example"}
    assert _setting(prod) == "True"
    assert _setting({**prod, "KONGCHUO_REQUIRE_OTP": "0"}) == "False"


def test_otp_off_by_default_in_quick_start():
    assert _setting({}) == "False"
    assert _setting({"KONGCHUO_REQUIRE_OTP": "1"}) == "True"
