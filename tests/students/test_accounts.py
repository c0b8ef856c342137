"""用户管理 in the browser (issue 18 §4; issue 19 TOTP reset and unlock; issue 15 item 7).

Allowed / forbidden / anonymous for every view; a township center school manages only its own
schools' accounts (also with forged ids); the account lifecycle end to end: create → password
shown once → forced change at first login → reset → deactivate; the `users` import with its
one-time password download; every action audited.
"""

from __future__ import annotations

import io

import openpyxl
import pytest
import xlsxwriter
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from kongchuo.access.models import AuditEvent
from students.models import User

pytestmark = pytest.mark.django_db


def _actions(user=None) -> list[str]:
    qs = AuditEvent.objects.filter(object_type="students.user")
    if user is not None:
        qs = qs.filter(object_id=str(user.pk))
    return list(qs.order_by("pk").values_list("action", flat=True))


def _login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def _views(c):
    """(name, kwargs, method, data) of every account view, aimed at school A's account."""
    pk = {"pk": c.school_a.pk}
    return [
        ("students:users", {}, "get", None),
        ("students:user_new", {}, "get", None),
        ("students:user", pk, "get", None),
        ("students:user", pk, "post", {"first_name": "改名", "role": "school",
                                       "school": c.a_primary.pk}),
        ("students:user_active", pk, "post", {"active": "0"}),
        ("students:user_password_reset", pk, "post", {}),
        ("students:user_otp_reset", pk, "post", {}),
        ("students:user_unlock", pk, "post", {}),
        ("students:user_password", {}, "get", None),
    ]


COUNTY_ONLY = {"students:user_otp_reset", "students:user_unlock"}


@pytest.mark.parametrize("who", ["county_user", "township_a", "township_b", "school_a", "gov_a",
                                 "no_role", None])
def test_allowed_forbidden_anonymous_for_every_view(county, who):
    client = Client()
    if who:
        client.force_login(getattr(county, who))
    for name, kwargs, method, data in _views(county):
        url = reverse(name, kwargs=kwargs)
        response = getattr(client, method)(url, data or {})
        if who is None:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
        elif who == "county_user":
            assert response.status_code in (200, 302), (url, response.status_code)
        elif who == "township_a":
            expected = (403,) if name in COUNTY_ONLY else (200, 302)
            assert response.status_code in expected, (url, response.status_code)
        elif who == "township_b":  # school A's account is not one of B's schools
            if name in COUNTY_ONLY:
                assert response.status_code == 403, url
            elif "pk" in kwargs:
                assert response.status_code == 404, url
            else:
                assert response.status_code == 200, url
        else:
            assert response.status_code == 403, (who, url, response.status_code)


def test_township_sees_and_creates_only_its_schools_accounts(county, client_as):
    client = client_as(county.township_a)
    body = client.get(reverse("students:users")).content.decode()
    assert "u_school_a" in body and "u_school_b" not in body and "u_county" not in body
    assert 'data-total="1"' in body
    # A forged school id (township B's) in the POST body is refused by the form.
    response = client.post(reverse("students:user_new"), {
        "username": "forged", "first_name": "某", "role": "school", "school": county.b_primary.pk})
    assert response.status_code == 200 and not User.objects.filter(username="forged").exists()
    # A forged role: the township may only create school accounts.
    client.post(reverse("students:user_new"), {
        "username": "forged2", "first_name": "某", "role": "county"})
    assert not User.objects.filter(username="forged2").exists()
    # Editing its own school's account onto another township's school is refused too.
    client.post(reverse("students:user", args=[county.school_a.pk]), {
        "first_name": "改", "role": "school", "school": county.b_primary.pk})
    county.school_a.refresh_from_db()
    assert county.school_a.school_id == county.a_primary.pk
    # Township B may not touch school A's account by id.
    other = Client()
    other.force_login(county.township_b)
    assert other.post(reverse("students:user_password_reset", args=[county.school_a.pk])).status_code == 404
    assert other.post(reverse("students:user_active", args=[county.school_a.pk]),
                      {"active": "0"}).status_code == 404
    county.school_a.refresh_from_db()
    assert county.school_a.is_active


def test_account_lifecycle_end_to_end(county, client_as):
    admin = client_as(county.county_user)
    response = admin.post(reverse("students:user_new"), {
        "username": "clerk_a", "first_name": "王专干", "phone": "13800000000", "role": "school",
        "school": county.a_primary.pk})
    assert response.status_code == 302 and response["Location"] == reverse("students:user_password")
    page = admin.get(reverse("students:user_password")).content.decode()
    password = page.split('id="password">')[1].split("<")[0]
    assert len(password) == 19 and "王专干" in page
    assert "已不能再次查看" in admin.get(reverse("students:user_password")).content.decode()
    clerk = User.objects.get(username="clerk_a")
    assert clerk.must_change_password and clerk.school == county.a_primary
    assert _actions(clerk) == ["user_create", "account_create"]
    assert "王专干" in admin.get(reverse("students:users")).content.decode()  # 姓名 shown

    # First login: every page leads to the password change, the OTP secret is not shown.
    owner = Client()
    assert _login(owner, "clerk_a", password).status_code == 302
    assert owner.get("/")["Location"] == reverse("password_change")
    assert owner.get(reverse("otp_setup"))["Location"] == reverse("password_change")
    assert not TOTPDevice.objects.filter(user=clerk).exists()
    form = owner.get(reverse("password_change")).content.decode()
    assert 'id="forced-change"' in form
    response = owner.post(reverse("password_change"), {
        "old_password": password, "new_password1": "my own Pa55word", "new_password2": "my own Pa55word"})
    assert response.status_code == 302
    clerk.refresh_from_db()
    assert not clerk.must_change_password
    assert owner.get("/").status_code == 200

    # Reset: a new one-time password, the old sessions end, the change is forced again.
    admin.post(reverse("students:user_password_reset", args=[clerk.pk]))
    new = admin.get(reverse("students:user_password")).content.decode().split('id="password">')[1].split("<")[0]
    assert owner.get("/").status_code == 302  # logged out
    clerk.refresh_from_db()
    assert clerk.must_change_password and clerk.check_password(new)
    assert not clerk.check_password("my own Pa55word")

    # Edit and deactivate.
    admin.post(reverse("students:user", args=[clerk.pk]), {
        "first_name": "王二", "phone": "", "role": "school", "school": county.a_primary.pk})
    clerk.refresh_from_db()
    assert clerk.first_name == "王二"
    admin.post(reverse("students:user_active", args=[clerk.pk]), {"active": "0"})
    clerk.refresh_from_db()
    assert not clerk.is_active
    assert _login(Client(), "clerk_a", new).status_code == 200  # the login form again
    admin.post(reverse("students:user_active", args=[clerk.pk]), {"active": "1"})
    clerk.refresh_from_db()
    assert clerk.is_active
    assert _actions(clerk) == ["user_create", "account_create", "password_change",
                               "account_password_reset", "account_update", "user_deactivate",
                               "account_deactivate", "account_activate"]


def test_nobody_deactivates_their_own_account(county, client_as):
    client_as(county.county_user).post(reverse("students:user_active", args=[county.county_user.pk]),
                                       {"active": "0"})
    county.county_user.refresh_from_db()
    assert county.county_user.is_active


def test_county_resets_totp_and_unlocks(county, client_as):
    target = county.township_a
    TOTPDevice.objects.create(user=target, name="TOTP", confirmed=True)
    AccessAttempt.objects.create(username=target.username, ip_address="10.0.0.1", user_agent="x",
                                 failures_since_start=5, get_data="", post_data="",
                                 http_accept="", path_info="/accounts/login/")
    admin = client_as(county.county_user)
    page = admin.get(reverse("students:user", args=[target.pk])).content.decode()
    assert 'id="otp-reset"' in page and 'id="unlock"' in page
    admin.post(reverse("students:user_otp_reset", args=[target.pk]))
    admin.post(reverse("students:user_unlock", args=[target.pk]))
    assert not TOTPDevice.objects.filter(user=target).exists()
    assert not AccessAttempt.objects.filter(username=target.username).exists()
    assert _actions(target)[-2:] == ["account_otp_reset", "account_unlock"]
    # The township's page for its school account has neither button.
    page = Client()
    page.force_login(county.township_a)
    page = page.get(reverse("students:user", args=[county.school_a.pk]))
    assert 'id="otp-reset"' not in page.content.decode()


def _users_file(rows) -> io.BytesIO:
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out)
    ws = wb.add_worksheet()
    text = wb.add_format({"num_format": "@"})
    for c, label in enumerate(["学校标识码", "姓名", "电话"]):
        ws.write_string(0, c, label)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            ws.write_string(r, c, value, text)
    wb.close()
    out.seek(0)
    out.name = "账号.xlsx"
    return out


def test_users_import_creates_one_clerk_per_school_with_a_one_time_password_list(
        county, client_as, django_capture_on_commit_callbacks):
    admin = client_as(county.county_user)
    response = admin.post(reverse("imports:kind", args=["users"]), {
        "file": _users_file([[county.a_primary.code, "甲专干", "13900000001"],
                             [county.b_primary.code, "乙专干", ""]])})
    job_url = response["Location"]
    job_pk = int(job_url.rstrip("/").split("/")[-1])
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("imports:confirm", args=[job_pk]))
    created = User.objects.filter(username__in=[county.a_primary.code, county.b_primary.code])
    assert {u.first_name for u in created} == {"甲专干", "乙专干"}
    assert all(u.must_change_password and u.role == "school" for u in created)
    page = admin.get(job_url).content.decode()
    assert 'id="one-time-output"' in page
    # Only the importer, once.
    other = Client()
    other.force_login(county.township_a)
    assert other.post(reverse("imports:output", args=[job_pk])).status_code in (403, 404)
    response = admin.post(reverse("imports:output", args=[job_pk]))
    assert response.status_code == 200, response.content.decode()[-3000:]
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert ws["A1"].value == "学校控辍保学专干账号初始密码"
    assert ws["A2"].value.startswith("填报单位：县教育局")
    assert [c.value for c in ws[3]][:3] == ["序号", "乡镇", "学校"]
    rows = {r[4]: r[6] for r in ws.iter_rows(min_row=4, max_row=5, values_only=True)}
    for user in created:
        assert user.check_password(rows[user.username])
    again = admin.post(reverse("imports:output", args=[job_pk]))
    assert again.status_code == 302
    assert "初始密码表已下载" in admin.get(job_url).content.decode()
    assert AuditEvent.objects.filter(action="import_output_download").count() == 1
    assert AuditEvent.objects.filter(action="account_import").count() == 1


def test_one_time_output_goes_to_one_of_two_requests_at_once(county, client_as, django_capture_on_commit_callbacks,
                                                             monkeypatch):
    """Two downloads in flight together both read the file; only the one whose UPDATE clears
    the job's output gets the passwords (the other is told it was taken), and one is audited."""
    from django.core.files.storage import default_storage

    from kongchuo.imports.runner import import_output_take
    from kongchuo.models import Job

    admin = client_as(county.county_user)
    response = admin.post(reverse("imports:kind", args=["users"]), {
        "file": _users_file([[county.a_primary.code, "甲专干", ""]])})
    job_pk = int(response["Location"].rstrip("/").split("/")[-1])
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("imports:confirm", args=[job_pk]))
    first, second = Job.objects.get(pk=job_pk), Job.objects.get(pk=job_pk)  # both see the file
    monkeypatch.setattr(default_storage, "delete", lambda name: None)  # the file outlives the first
    assert import_output_take(job=first) is not None
    assert import_output_take(job=second) is None
    assert AuditEvent.objects.filter(action="import_output_download").count() == 1


def test_users_import_by_a_township_refuses_other_schools(county, client_as):
    client = client_as(county.township_a)
    response = client.post(reverse("imports:kind", args=["users"]), {
        "file": _users_file([[county.a_primary.code, "甲专干", ""],
                             [county.b_primary.code, "乙专干", ""]])})
    job_pk = int(response["Location"].rstrip("/").split("/")[-1])
    from kongchuo.models import Job

    result = Job.objects.get(pk=job_pk).result
    assert result["rejected"] == 1 and result["created"] == 1
    assert "school_unknown" in str(result["issues"]) and "不在您的管辖范围内" in str(result["issues"])
    client.post(reverse("imports:confirm", args=[job_pk]))
    assert not User.objects.filter(username=county.b_primary.code).exists()
    assert not User.objects.filter(username=county.a_primary.code).exists()  # all or nothing
    for who in ("school_a", "gov_a"):
        assert client_as(getattr(county, who)).get(
            reverse("imports:kind", args=["users"])).status_code == 403
