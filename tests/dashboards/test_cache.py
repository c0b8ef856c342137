"""The dashboard cache: reused until data changes; one version bump invalidates every scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboards.cache import data_version
from kongchuo.models import Job
from retrieval.models import Alert
from students.models import Student
from tests.factories import TownshipFactory

pytestmark = pytest.mark.django_db


def _open_alerts(client):
    return client.get(reverse("home")).context["dash"]["overall"]["f"]["alerts_open"]["v"]


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("home")).status_code == 200
    return len(ctx.captured_queries)


def test_second_view_is_served_from_cache(hand, client_as):
    client = client_as(hand.county_user)
    cold = _queries(client)
    warm = _queries(client)
    assert warm < cold - 10  # only session/user queries remain


def test_saving_a_counted_row_invalidates(hand, client_as):
    client = client_as(hand.county_user)
    assert _open_alerts(client) == 4
    Alert.objects.create(rule="return_check", period="2026-autumn", subject="new", school=hand.a_primary)
    assert _open_alerts(client) == 5
    hand.A1.status = "dismissed"
    hand.A1.save()
    assert _open_alerts(client) == 4
    hand.A1.delete()
    assert _open_alerts(client) == 4


def test_bulk_writes_are_caught_by_their_job_row(hand, client_as):
    client = client_as(hand.county_user)
    in_school = client.get(reverse("home")).context["dash"]["overall"]["f"]["in_school"]["v"]
    Student.objects.filter(pk=hand.s_a2.pk).update(status="dropped_out")  # sends no signal
    stale = client.get(reverse("home")).context["dash"]["overall"]["f"]["in_school"]["v"]
    assert stale == in_school  # the cache cannot know yet …
    Job.objects.create(kind="roster_import", status="succeeded")  # … until the import's job row
    fresh = client.get(reverse("home")).context["dash"]["overall"]["f"]["in_school"]["v"]
    assert fresh == in_school - 1


def test_version_bumps_on_save_and_again_on_commit(db, django_capture_on_commit_callbacks):
    before = data_version()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        TownshipFactory(code="341522301")
        TownshipFactory(code="341522302")
    assert len([c for c in callbacks if c.__name__ == "_bump_after_commit"]) == 1
    assert data_version() == before + 3  # two saves + one bump after commit


def test_cache_is_per_scope_and_filters(hand, client_as):
    county = client_as(hand.county_user)
    assert _open_alerts(county) == 4
    township = client_as(hand.township_a)
    assert _open_alerts(township) == 3
    response = township.get(reverse("home"), {"year": "2025", "season": "spring"})
    assert response.context["dash"]["overall"]["f"]["alerts_open"]["v"] == 1


def test_cache_outage_falls_back_to_computing(hand, client_as, monkeypatch):
    from django.core.cache import cache

    def broken(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "set", broken)
    assert _open_alerts(client_as(hand.county_user)) == 4


def test_today_is_part_of_the_key(hand, client_as, time_machine):
    client = client_as(hand.county_user)
    assert client.get(reverse("home")).context["dash"]["periods"]["as_of"] == "2026-11-15"
    time_machine.move_to(dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    client = client_as(hand.county_user)  # the session timed out overnight
    assert client.get(reverse("home")).context["dash"]["periods"]["as_of"] == "2026-11-16"


def _census_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("home")).status_code == 200
    return sum("students_censusentry" in q["sql"] for q in ctx.captured_queries)


def test_census_join_survives_work_on_alerts_but_not_on_students(hand, client_as):
    client = client_as(hand.county_user)
    assert _census_queries(client) == 1
    Alert.objects.create(rule="return_check", period="2026-autumn", subject="x", school=hand.a_primary)
    assert _census_queries(client) == 0  # figures recomputed, census reused
    assert _open_alerts(client) == 5
    hand.c_none.delete()  # the census changed
    assert _census_queries(client) == 1
    hand.s_a2.status = "dropped_out"
    hand.s_a2.save()  # a student changed
    assert _census_queries(client) == 1


def test_school_todo_is_live_even_without_a_signal(hand, client_as):
    """Ticking returns writes with bulk_create (no signal): the to-do list still follows."""
    from ledgers.models import ReturnReport

    client = client_as(hand.school_b)  # 乙镇西湖小学: s_b, back from leave, must be ticked
    hand.s_b.status_changes.filter(kind="leave").delete()
    body = client.get(reverse("home")).content.decode()
    assert 'data-todo="returns_missing"' in body
    assert _todo_count(body, "returns_missing") == 1
    ReturnReport.objects.bulk_create([ReturnReport(student=hand.s_b, term="2026-autumn",
                                                   reported_on=dt.date(2026, 9, 2))])
    assert _todo_count(client.get(reverse("home")).content.decode(), "returns_missing") == 0


def _todo_count(body: str, key: str) -> int:
    import re

    block = body.split(f'data-todo="{key}"', 1)[1].split("</a>", 1)[0]
    badge = re.search(r'dash-todo-count">(?:<i[^>]*></i>\s*)?([\d,]+)<', block)
    return int(badge.group(1).replace(",", ""))
