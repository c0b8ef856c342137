"""The sweep pages: county users only; run now; the progress fragment htmx polls."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kongchuo.access.models import AuditEvent
from retrieval.models import SweepRun
from retrieval.sweeps.runner import sweep_run_create
from tests.retrieval.sweepkit import run

pytestmark = pytest.mark.django_db

OTHERS = ["township_a", "school_a", "gov_a", "no_role"]


def _post(client, **data):
    payload = {"sweep": "return_check", "as_of": "2026-03-02", "township": ""}
    payload.update(data)
    return client.post(reverse("retrieval:sweep_start"), payload)


# ----------------------------------------------------------------------------- who


def test_county_sees_the_sweep_calendar(county, client_as, django_assert_max_num_queries):
    run("return_check", dt.date(2026, 3, 2))
    client = client_as(county.county_user)
    with django_assert_max_num_queries(20):
        resp = client.get(reverse("retrieval:sweep_list"))
    assert resp.status_code == 200
    html = resp.content.decode()
    for label in ("返校核查", "适龄儿童摸排", "九年级排查", "立即运行", "2,3,9"):
        assert label in html
    assert reverse("retrieval:sweep_run", args=[SweepRun.objects.get().pk]) in html


@pytest.mark.parametrize("who", OTHERS)
def test_other_roles_are_forbidden(county, client_as, who):
    client = client_as(getattr(county, who))
    assert client.get(reverse("retrieval:sweep_list")).status_code == 403
    assert _post(client).status_code == 403
    r = sweep_run_create(sweep="return_check", as_of=dt.date(2026, 3, 2))
    assert client.get(reverse("retrieval:sweep_run", args=[r.pk])).status_code == 403
    assert not SweepRun.objects.exclude(pk=r.pk).exists()


def test_anonymous_is_sent_to_login(county, client):
    r = sweep_run_create(sweep="return_check", as_of=dt.date(2026, 3, 2))
    for resp in (client.get(reverse("retrieval:sweep_list")), _post(client),
                 client.get(reverse("retrieval:sweep_run", args=[r.pk]))):
        assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]
    assert SweepRun.objects.count() == 1


def test_menu_entry_only_for_county(county, client_as):
    url = reverse("retrieval:sweep_list")
    assert url in client_as(county.county_user).get(reverse("home")).content.decode()
    assert url not in client_as(county.school_a).get(reverse("home")).content.decode()


# ----------------------------------------------------------------------------- run now


def test_run_now_starts_a_run_and_shows_its_progress(county, client_as, django_capture_on_commit_callbacks):
    client = client_as(county.county_user)
    with django_capture_on_commit_callbacks(execute=True):
        resp = _post(client, township=county.ta.code)
    r = SweepRun.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse("retrieval:sweep_run", args=[r.pk])
    assert (r.status, r.triggered_by, r.trigger, r.township_code, r.created) == (
        "succeeded", county.county_user, "manual", county.ta.code, 2)
    assert AuditEvent.objects.filter(action="sweep_run", object_id=str(r.pk)).exists()
    page = client.get(resp["Location"]).content.decode()
    assert "甲镇" in page and "本次新增的预警" in page
    assert county.s_a.id_number not in page  # IDs are masked
    assert county.s_a.id_number[:6] in page and "hx-trigger" not in page  # done: no polling


@pytest.mark.parametrize("data", [{"sweep": "nonsense"}, {"as_of": "2026-02-30"},
                                  {"township": "999999999"}])
def test_bad_input_is_refused(county, client_as, data):
    resp = _post(client_as(county.county_user), **data)
    assert resp.status_code == 400
    assert not SweepRun.objects.exists()


def test_get_is_not_allowed_on_the_start_url(county, client_as):
    assert client_as(county.county_user).get(reverse("retrieval:sweep_start")).status_code == 405


def test_progress_fragment_polls_while_running(county, client_as):
    r = sweep_run_create(sweep="return_check", as_of=dt.date(2026, 3, 2))
    client = client_as(county.county_user)
    url = reverse("retrieval:sweep_run", args=[r.pk])
    resp = client.get(url, headers={"HX-Request": "true"})
    html = resp.content.decode()
    assert resp.status_code == 200 and "<html" not in html
    assert 'hx-trigger="every 2s"' in html and f'hx-get="{url}"' in html
    assert 'value="0" max="3"' in html
    full = client.get(url).content.decode()
    assert "<html" in full and 'hx-trigger="every 2s"' in full


def test_unknown_run_is_404(county, client_as):
    assert client_as(county.county_user).get(reverse("retrieval:sweep_run", args=[999])).status_code == 404
