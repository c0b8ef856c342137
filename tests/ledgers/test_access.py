"""Who may open which ledger page: allowed / forbidden / anonymous for every view.

Scope rules (DESIGN.md §2): county sees all, township its township's schools, school its own;
township_gov sees no ledger (403); out of scope and missing are both 404; writes belong to the
owning school (403 for the levels above).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from kongchuo.access.models import AuditEvent
from ledgers.registry import KINDS, LEDGER_NAMES

pytestmark = pytest.mark.django_db

SUB_PARENT = {"home_teaching_visits": "home_teaching", "learning_support_notes": "learning_support"}
ANYONE = ["county_user", "township_a", "school_a"]


def _login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("slug", LEDGER_NAMES)
@pytest.mark.parametrize("who,expected", [
    ("county_user", 200), ("township_a", 200), ("school_a", 200), ("gov_a", 403), ("no_role", 403),
])
def test_list_pages(county, entries, client_as, slug, who, expected):
    response = client_as(getattr(county, who)).get(reverse(f"ledgers:{slug}"))
    assert response.status_code == expected


@pytest.mark.parametrize("slug", LEDGER_NAMES)
def test_list_anonymous_redirects(client, slug):
    assert _login_redirect(client.get(reverse(f"ledgers:{slug}")))


@pytest.mark.parametrize("slug", list(KINDS))
@pytest.mark.parametrize("who,expected", [
    ("county_user", 200), ("township_a", 200), ("school_a", 200),
    ("township_b", 404), ("school_b", 404), ("gov_a", 403), ("no_role", 403),
])
def test_detail_scoped(county, entries, client_as, slug, who, expected):
    url = reverse("ledgers:detail", args=[slug, entries.a[slug].pk])
    assert client_as(getattr(county, who)).get(url).status_code == expected


@pytest.mark.parametrize("slug", list(KINDS))
def test_detail_anonymous_and_missing(county, entries, client, client_as, slug):
    assert _login_redirect(client.get(reverse("ledgers:detail", args=[slug, entries.a[slug].pk])))
    missing = reverse("ledgers:detail", args=[slug, 987654])
    assert client_as(county.county_user).get(missing).status_code == 404


def test_unknown_ledger_is_404(county, client_as):
    assert client_as(county.county_user).get("/ledgers/nonsense/1/").status_code == 404


@pytest.mark.parametrize("slug", [s for s, k in KINDS.items() if k.editable])
@pytest.mark.parametrize("who,expected", [
    ("school_a", 200), ("township_a", 403), ("county_user", 403), ("school_b", 404), ("gov_a", 403),
])
def test_edit_only_by_owning_school(county, entries, client_as, slug, who, expected):
    url = reverse("ledgers:edit", args=[slug, entries.a[slug].pk])
    assert client_as(getattr(county, who)).get(url).status_code == expected


def test_status_changes_are_not_editable(county, entries, client_as):
    url = reverse("ledgers:edit", args=["status_changes", entries.a["status_changes"].pk])
    assert client_as(county.school_a).get(url).status_code == 403


@pytest.mark.parametrize("slug", [s for s in KINDS if s not in SUB_PARENT and s != "returns"])
@pytest.mark.parametrize("who,expected", [
    ("school_a", 200), ("township_a", 403), ("county_user", 403), ("gov_a", 403),
])
def test_new_only_for_school_users(county, client_as, slug, who, expected):
    assert client_as(getattr(county, who)).get(reverse("ledgers:new", args=[slug])).status_code == expected


@pytest.mark.parametrize("slug", list(SUB_PARENT))
@pytest.mark.parametrize("who,expected", [("school_a", 200), ("school_b", 404), ("township_a", 403)])
def test_new_sub_entry_needs_own_plan(county, entries, client_as, slug, who, expected):
    plan = entries.a[SUB_PARENT[slug]]
    url = reverse("ledgers:new", args=[slug]) + f"?plan={plan.pk}"
    assert client_as(getattr(county, who)).get(url).status_code == expected


def test_new_returns_goes_to_tick_sheet(county, client_as):
    response = client_as(county.school_a).get(reverse("ledgers:new", args=["returns"]))
    assert response.status_code == 302 and response["Location"] == reverse("ledgers:returns_tick")


def test_new_with_foreign_student_prefill_is_404(county, client_as):
    url = reverse("ledgers:new", args=["aid"]) + f"?student={county.s_b.pk}"
    assert client_as(county.school_a).get(url).status_code == 404


@pytest.mark.parametrize("who,expected", [
    ("school_a", 200), ("township_a", 403), ("county_user", 403), ("gov_a", 403),
])
def test_returns_tick_is_for_schools(county, client_as, who, expected):
    assert client_as(getattr(county, who)).get(reverse("ledgers:returns_tick")).status_code == expected


@pytest.mark.parametrize("name", ["ledgers:returns_missing", "ledgers:aid_uncovered", "ledgers:returns_tick"])
def test_gap_pages_anonymous(client, name):
    assert _login_redirect(client.get(reverse(name)))


@pytest.mark.parametrize("name", ["ledgers:returns_missing", "ledgers:aid_uncovered"])
@pytest.mark.parametrize("who,expected", [
    ("county_user", 200), ("township_a", 200), ("school_a", 200), ("gov_a", 403), ("no_role", 403),
])
def test_gap_pages(county, client_as, name, who, expected):
    assert client_as(getattr(county, who)).get(reverse(name)).status_code == expected


@pytest.mark.parametrize("who,expected", [
    ("school_a", 200), ("township_a", 200), ("county_user", 200), ("school_b", 404),
    ("township_b", 404), ("gov_a", 403),
])
def test_manual_scoped(county, entries, client_as, who, expected):
    url = reverse("ledgers:manual", args=[entries.a["home_teaching"].pk])
    assert client_as(getattr(county, who)).get(url).status_code == expected


def test_manual_anonymous(entries, client):
    assert _login_redirect(client.get(reverse("ledgers:manual", args=[entries.a["home_teaching"].pk])))


@pytest.mark.parametrize("slug", LEDGER_NAMES)
@pytest.mark.parametrize("view", ["export", "template"])
@pytest.mark.parametrize("who,expected", [
    ("county_user", 200), ("township_a", 200), ("school_a", 200), ("gov_a", 403),
])
def test_export_and_template(county, entries, client_as, slug, view, who, expected):
    client, url = client_as(getattr(county, who)), reverse(f"ledgers:{view}", args=[slug])
    if who == "county_user" and view == "export":  # the whole county: written by the worker
        assert client.get(url).status_code == 405  # queued by POST only
        response = client.post(url)
        assert response.status_code == 302 and "/ledgers/exports/" in response["Location"]
        return
    response = (client.post if view == "export" else client.get)(url)  # an export is a POST
    assert response.status_code == expected
    if expected == 200:
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        assert b"".join(response.streaming_content)[:2] == b"PK"


@pytest.mark.parametrize("view", ["export", "template"])
def test_export_anonymous(client, view):
    assert _login_redirect(client.get(reverse(f"ledgers:{view}", args=["aid"])))


def test_export_is_never_a_get(county, client_as):
    """Exporting children's data takes the list's POST form; a GET (a link, a prefetch) exports
    nothing and leaves no audit row."""
    response = client_as(county.school_a).get(reverse("ledgers:export", args=["aid"]))
    assert response.status_code == 405 and not AuditEvent.objects.filter(action="export").exists()


def test_sub_logs_have_no_export(county, client_as):
    url = reverse("ledgers:export", args=["home_teaching_visits"])
    assert client_as(county.county_user).post(url).status_code == 404


def test_export_of_foreign_school_is_404(county, client_as):
    url = reverse("ledgers:export", args=["aid"])
    assert client_as(county.township_a).post(url, {"school": county.b_primary.pk}).status_code == 404


@pytest.mark.parametrize("who", ["township_a", "school_a"])
def test_full_export_is_county_only(county, client_as, who):
    url = reverse("ledgers:export", args=["aid"])
    assert client_as(getattr(county, who)).post(url, {"full": "on", "reason": "核查"}).status_code == 403


@pytest.mark.parametrize("who,expected", [
    ("school_a", 302), ("township_a", 403), ("county_user", 403), ("school_b", 404), ("gov_a", 403),
])
def test_attachment_upload_only_by_owner(county, entries, client_as, png, who, expected):
    url = reverse("ledgers:attach", args=["publicity", entries.a["publicity"].pk])
    response = client_as(getattr(county, who)).post(url, {"file": png})
    assert response.status_code == expected


def test_attachment_upload_anonymous(entries, client, png):
    url = reverse("ledgers:attach", args=["publicity", entries.a["publicity"].pk])
    assert _login_redirect(client.post(url, {"file": png}))


@pytest.mark.parametrize("who,expected", [
    ("school_a", 200), ("township_a", 200), ("county_user", 200), ("school_b", 404),
    ("township_b", 404), ("gov_a", 403),
])
def test_attachment_download_scoped(county, attachment, client_as, who, expected):
    url = reverse("ledgers:attachment", args=[attachment.pk])
    assert client_as(getattr(county, who)).get(url).status_code == expected


def test_attachment_download_anonymous(attachment, client):
    assert _login_redirect(client.get(reverse("ledgers:attachment", args=[attachment.pk])))


@pytest.mark.parametrize("who,expected", [
    ("school_a", 302), ("township_a", 403), ("school_b", 404), ("gov_a", 403),
])
def test_attachment_delete_only_by_owner(county, attachment, client_as, who, expected):
    url = reverse("ledgers:attachment_delete", args=[attachment.pk])
    assert client_as(getattr(county, who)).post(url).status_code == expected


@pytest.mark.parametrize("who,expected", [
    ("township_a", 302), ("township_b", 404), ("school_a", 403), ("county_user", 403), ("gov_a", 403),
])
def test_deferral_review_by_township_center(county, entries, client_as, who, expected):
    deferral = entries.a["deferrals"]
    url = reverse("ledgers:deferral_review", args=[deferral.pk])
    data = {"decision": "approve", "review_note": "同意", "version": deferral.version}
    assert client_as(getattr(county, who)).post(url, data).status_code == expected


def test_deferral_review_anonymous(entries, client):
    url = reverse("ledgers:deferral_review", args=[entries.a["deferrals"].pk])
    assert _login_redirect(client.post(url, {"decision": "approve", "version": 1}))


def test_menu_lists_the_eleven_ledgers_for_staff_only(county, client_as):
    body = client_as(county.school_a).get(reverse("ledgers:aid")).content.decode()
    for slug in LEDGER_NAMES:
        assert f'href="{reverse(f"ledgers:{slug}")}"' in body
    gov_home = client_as(county.gov_a).get("/").content.decode()
    assert reverse("ledgers:aid") not in gov_home
