"""The scoping matrix over the site's own URLs (issue 7, items 1 and 3): accounts (login,
logout), the second-factor pages, health, language switch, the sweep control pages — and the
admin site as one family covering every admin URL pattern.

What each role gets, as the entries state it:

* login: anonymous may GET/POST it (PUT is FormView's POST; PATCH/DELETE 405); a signed-in user
  of any role is sent home (302) whatever the method. Nothing is written (a failed login leaves
  only lockout counters and audit rows — bookkeeping).
* logout: POST only, for everybody (GET 405 in Django 5).
* OTP setup / verify: any signed-in user (anonymous → login); no data beyond the pending
  TOTP device (bookkeeping).
* healthz and the language switch: everybody, anonymous too; they write nothing.
* sweeps (list, run now, a run's progress): the county only; every other role 403.
* admin: every admin URL answers anonymous with the portal login and every signed-in user
  without admin rights with 403 (after the admin's own login redirect); none writes. Only an
  active staff user passes `AdminSite.has_permission`, and with KONGCHUO_REQUIRE_OTP only once
  their TOTP device is verified in this session (kongchuo/security/admin.py). No portal role
  is staff by itself: staff is granted per user by the operators.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, reverse

from kongchuo.calendar.schoolyear import today
from retrieval.models import SweepRun
from tests.security.scoping_matrix import (
    ALL,
    ROLES,
    SAFE,
    Entry,
    assert_db_unchanged,
    check_entry,
    client_for,
    db_fingerprint,
)

pytestmark = pytest.mark.django_db

SIGNED_IN = ("county_user", "township_a", "township_b", "school_a", "school_b", "gov_a", "no_role")
GP = frozenset({"GET", "HEAD", "POST"})
POST = frozenset({"POST"})
NOT_COUNTY = ("township_a", "township_b", "school_a", "school_b", "gov_a", "no_role")


@pytest.fixture
def site(county):
    county.run_b = SweepRun.objects.create(sweep="return_check", as_of=today(), period="2026-autumn",
                                           township_code=county.tb.code, status="succeeded",
                                           per_township={county.tb.code: {"state": "done"}})
    return county


ENTRIES = [
    Entry("login", allow={**dict.fromkeys(SIGNED_IN, ALL), "anonymous": GP | {"PUT"}},
          data=lambda c: {"username": "u_school_b", "password": "wrong"}, read_only=True),
    Entry("logout", allow=dict.fromkeys(ROLES, POST), read_only=True),
    Entry("otp_setup", allow=dict.fromkeys(SIGNED_IN, GP), data=lambda c: {"token": "000000"},
          read_only=True),
    Entry("otp_verify", allow=dict.fromkeys(SIGNED_IN, GP), data=lambda c: {"token": "000000"},
          read_only=True),
    Entry("password_change", allow=dict.fromkeys(SIGNED_IN, GP),
          data=lambda c: {"old_password": "wrong", "new_password1": "x", "new_password2": "x"},
          read_only=True),
    Entry("healthz", allow=dict.fromkeys(ROLES, ALL), read_only=True),
    Entry("set_language", allow=dict.fromkeys(ROLES, ALL), data=lambda c: {"language": "en", "next": "/"},
          read_only=True),
    Entry("retrieval:sweep_list", allow={"county_user": SAFE}, read_only=True),
    Entry("retrieval:sweep_start", allow={"county_user": POST}, read_only=True,
          data=lambda c: {"sweep": "no_such_sweep", "township": c.tb.code}),
    Entry("retrieval:sweep_run", lambda c: {"pk": c.run_b.pk}, allow={"county_user": SAFE},
          read_only=True),
    # 排查计划 and 校历调整 (issue 19): the county's, no admin needed
    Entry("retrieval:sweep_schedule", allow={"county_user": SAFE}, read_only=True),
    Entry("retrieval:sweep_schedule_edit", lambda c: {"pk": _scheduled_sweep()}, allow={"county_user": GP},
          data=lambda c: {"enabled": "on", "months": ["1", "2"], "frequency": "daily", "time": "03:05"}),
    Entry("school_calendar", allow={"county_user": GP},
          data=lambda c: {"kind": "holiday", "first": "2026-10-05", "note": "国庆"}),
    Entry("school_calendar_delete", lambda c: {"day": _holiday()}, allow={"county_user": POST}),
]


def _scheduled_sweep() -> int:
    from django_celery_beat.models import PeriodicTask

    return PeriodicTask.objects.filter(task="retrieval.tasks.sweep_scheduled").order_by("pk").first().pk


def _holiday() -> str:
    from kongchuo.calendar.models import CalendarDay

    return CalendarDay.objects.get_or_create(date=dt.date(2026, 10, 6), defaults={"note": "国庆"})[0].date.isoformat()


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e.url_name}-{i}" for i, e in enumerate(ENTRIES)])
def test_site_matrix(entry, site):
    check_entry(entry, site, methods=("GET", "POST", "DELETE"))


@pytest.mark.parametrize("url_name,method", [
    ("retrieval:sweep_list", "get"), ("retrieval:sweep_start", "post"), ("retrieval:sweep_run", "get"),
    ("students:county", "post"), ("retrieval:sweep_schedule", "get"), ("school_calendar", "get"),
    ("school_calendar", "post"),
])
def test_sweep_control_and_user_management_answer_403(site, url_name, method, client_as):
    """Item 3: roles that do not own sweep control or user management get 403, not a page."""
    kwargs = {"pk": site.run_b.pk} if url_name == "retrieval:sweep_run" else {}
    url = reverse(url_name, kwargs=kwargs)
    for who in NOT_COUNTY:
        response = getattr(client_as(getattr(site, who)), method)(url)
        assert response.status_code == 403, (who, url, response.status_code)


def test_user_management_answers_403_below_the_township(site, client_as):
    """用户管理 is the county's and the township center schools' (their schools' accounts)."""
    for who in ("school_a", "school_b", "gov_a", "no_role"):
        response = client_as(getattr(site, who)).get(reverse("students:users"))
        assert response.status_code == 403, who


# --------------------------------------------------------------------------- the admin family


def admin_urls(county) -> list[str]:
    """One URL per admin pattern, object ids pointing at school B's student (or pk 1)."""
    out = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                route = route.replace("<path:object_id>", str(county.s_b.pk))
                route = route.replace("<int:user_id>", str(county.school_b.pk))
                route = re.sub(r"\(\?P<app_label>[^)]*\)", "students", route)
                route = route.replace("<id>", str(county.s_b.pk))
                route = re.sub(r"<(?:\w+:)?pk>", "1", route)
                route = route.replace("(?P<url>.*)$", "nowhere/")  # the catch-all
                route = route.replace("([^/]+)", str(county.s_b.pk)).replace("^", "").replace("$", "")
                route = re.sub(r"<(?:\w+:)?content_type_id>", "1", route)
                assert "<" not in route and "(" not in route, route
                out.append("/" + route)

    walk(admin.site.urls[0], "admin/")
    return sorted(set(out))


# Who reaches admin_view is decided by is_active / is_staff / the verified device alone, never by
# the portal role, so the sweep over every admin URL uses one user per kind of answer: anonymous,
# a county user (second factor required), a school user and a user without a role.
ADMIN_ROLES = ("anonymous", "county_user", "school_b", "no_role")
ADMIN_LOGIN = "/admin/login/"


def test_admin_family_refuses_every_portal_role(site, settings):
    """Every admin URL, GET and POST: anonymous is sent to a login page, a signed-in portal user
    gets 403 or the admin's login (which answers them 403, below); the database unchanged."""
    settings.KONGCHUO_REQUIRE_OTP = True
    urls = admin_urls(site)
    assert len(urls) > 60  # changelist/add/change/delete/history of every model, and the rest
    assert ADMIN_LOGIN in urls
    clients = {role: client_for(role, site) for role in ADMIN_ROLES}
    before = db_fingerprint()
    for url in urls:
        for role, client in clients.items():
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                where = f"{method.upper()} {url} as {role}"
                if response.status_code in (301, 302):
                    target = response["Location"]
                    allowed = [settings.LOGIN_URL] if role == "anonymous" else []
                    # the admin's own pages (its login, its index) are themselves in the sweep
                    allowed += ["/admin/"] + (["/accounts/otp/"] if role == "county_user" else [])
                    assert any(target.startswith(a) for a in allowed), f"{where}: {target}"
                else:
                    assert role != "anonymous" and response.status_code in (403, 405), \
                        f"{where}: {response.status_code}"
    assert_db_unchanged(before, "the admin family")


@pytest.mark.parametrize("role", ROLES)
def test_admin_login_and_index_per_role(site, settings, role):
    """Every role, every method, following redirects: 403, or a login page for anonymous."""
    settings.KONGCHUO_REQUIRE_OTP = True
    client = client_for(role, site)
    for url in ("/admin/", ADMIN_LOGIN, "/admin/students/student/", f"/admin/students/student/{site.s_b.pk}/change/"):
        for method in ("get", "head", "post", "put", "patch", "delete"):
            response = getattr(client, method)(url, follow=True)
            final = response.redirect_chain[-1][0] if response.redirect_chain else url
            where = f"{method.upper()} {url} as {role}"
            if role == "anonymous":
                assert final.startswith(settings.LOGIN_URL), f"{where}: {final}"
            elif role == "county_user" and final.startswith("/accounts/otp/"):
                continue  # county staff meet the second factor first; the admin stays shut
            else:
                assert response.status_code in (403, 405), f"{where}: {response.status_code}"


def test_admin_opens_only_for_otp_verified_staff(site, settings, client):
    """The one role the admin opens for: an active staff user with a verified second factor."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.KONGCHUO_REQUIRE_OTP = True
    staff = site.county_user
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    response = client.get("/admin/students/student/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/otp/")
    device = TOTPDevice.objects.create(user=staff, name="TOTP", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    assert client.get("/admin/students/student/").status_code == 200
