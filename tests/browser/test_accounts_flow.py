"""Accounts in a real browser (Playwright + Debian Chromium) against the live server.

The county opens 用户管理, creates a school clerk's account, reads the one-time password (gone
on reload), the clerk logs in with it and is made to choose their own password before anything
else; the county resets it (a new one-time password, the old one no longer works) and
deactivates the account. The pages are looked at at 1440 px and at 390 px. Screenshots land in
$KONGCHUO_SCREENSHOTS (docs/screenshots/ by default) as accounts_*.png.
"""

from __future__ import annotations

import pytest

from students.models import User
from tests.browser.pages import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Clerk own pass 2026"


def _login_with(browser, live_server, username, password, *, width=1440):
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click(".login-box button[type=submit]")
    return page


def _content_fits(page) -> bool:
    """The page's own content does not overflow its main area sideways."""
    return page.evaluate("(() => { const m = document.querySelector('main');"
                         " return m.scrollWidth <= m.clientWidth + 1; })()")


def test_create_show_once_forced_change_reset_deactivate(browser, live_server, county):
    base = live_server.url
    admin = login(browser, live_server, county.county_user.username, width=1440)
    admin.goto(f"{base}/students/users/")
    assert "u_school_a" in admin.inner_text("#users")
    admin.click("#user-new")
    admin.fill("#id_username", "clerk_dg")
    admin.fill("#id_first_name", "王芳")
    admin.fill("#id_phone", "13900000001")
    admin.select_option("#id_role", "school")
    admin.select_option("#id_school", str(county.a_primary.pk))
    shot(admin, "accounts_new")
    admin.click("#account-form button[type=submit]")
    admin.wait_for_selector("#one-time-password")
    password = admin.inner_text("#password").strip()
    assert len(password) == 19
    shot(admin, "accounts_password_once")
    admin.reload()
    assert "已不能再次查看" in admin.inner_text("main")

    clerk = _login_with(browser, live_server, "clerk_dg", password)
    clerk.wait_for_selector("#forced-change")
    assert clerk.url.endswith("/accounts/password/change/")
    clerk.goto(f"{base}/students/")  # anything else leads back to the change
    clerk.wait_for_selector("#forced-change")
    shot(clerk, "accounts_forced_change")
    clerk.fill("#id_old_password", password)
    clerk.fill("#id_new_password1", NEW_PASSWORD)
    clerk.fill("#id_new_password2", NEW_PASSWORD)
    clerk.click("#password-change-form button[type=submit]")
    clerk.wait_for_url(f"{base}/")
    assert not User.objects.get(username="clerk_dg").must_change_password

    user = User.objects.get(username="clerk_dg")
    admin.goto(f"{base}/students/users/{user.pk}/")
    shot(admin, "accounts_detail")
    admin.click("#reset-password")
    admin.wait_for_selector("#one-time-password")
    reset = admin.inner_text("#password").strip()
    assert reset != password
    old = _login_with(browser, live_server, "clerk_dg", NEW_PASSWORD)
    assert "/accounts/login/" in old.url  # the clerk's own password no longer works
    again = _login_with(browser, live_server, "clerk_dg", reset)
    again.wait_for_selector("#forced-change")

    admin.goto(f"{base}/students/users/{user.pk}/")
    admin.click("#deactivate")
    admin.wait_for_selector("#activate")
    assert not User.objects.get(username="clerk_dg").is_active

    phone = login(browser, live_server, county.county_user.username, width=390)
    for path in ("/students/users/", f"/students/users/{user.pk}/", "/students/users/new/"):
        phone.goto(f"{base}{path}")
        assert _content_fits(phone), path
    shot(phone, "accounts_new_phone")


def test_township_manages_only_its_schools(browser, live_server, county):
    page = login(browser, live_server, county.township_a.username, width=1440)
    page.goto(f"{live_server.url}/students/users/")
    rows = page.inner_text("#users")
    assert "u_school_a" in rows and "u_school_b" not in rows
    page.click("#user-new")
    schools = page.locator("#id_school option").all_inner_texts()
    assert county.a_primary.name in schools and county.b_primary.name not in schools
    assert page.locator("#id_role option").all_inner_texts()[1:] == ["学校"]
    shot(page, "accounts_township_new")
