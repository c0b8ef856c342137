"""Migration 0006: existing census + entry alerts of one child become one alert."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from retrieval.alerts import services as alert_services
from retrieval.models import Alert

merge = importlib.import_module("retrieval.migrations.0006_merge_census_entry_alerts").merge


def _pair(county, subject, *, census_status="open", entry_status="open"):
    kw = {"period": "2026", "subject": subject, "name": "某某", "township": county.ta,
          "level": "township"}
    census = Alert.objects.create(rule="census", status=census_status, detail={"kind": "census"}, **kw)
    entry = Alert.objects.create(rule="entry", status=entry_status, detail={"kind": "grade1"}, **kw)
    return census, entry


@pytest.mark.django_db
def test_open_pair_becomes_the_census_alert_with_both_reasons(county):
    census, entry = _pair(county, "341522202008310011")
    other = Alert.objects.create(rule="census", period="2026", subject="341522201408310011",
                                 township=county.ta, level="township")
    merge(apps, None)
    census.refresh_from_db()
    entry.refresh_from_db()
    assert census.status == "open" and census.detail["also"] == [{"rule": "entry", "kind": "grade1"}]
    assert entry.status == "resolved" and entry.detail["merged_into"] == census.pk
    assert entry.closed_at is not None
    other.refresh_from_db()
    assert "also" not in other.detail
    merge(apps, None)  # running it again changes nothing
    census.refresh_from_db()
    assert len(census.detail["also"]) == 1


@pytest.mark.django_db
def test_the_alert_being_worked_carries_the_child(county):
    census, entry = _pair(county, "341522202008310022")
    alert_services.alert_confirm(alert=entry, user=county.township_a, reason="weary")
    merge(apps, None)
    census.refresh_from_db()
    entry.refresh_from_db()
    assert census.status == "resolved" and census.detail["merged_into"] == entry.pk
    assert entry.status == "confirmed" and entry.detail["also"][0]["rule"] == "census"


@pytest.mark.django_db
def test_two_worked_alerts_are_left_alone(county):
    census, entry = _pair(county, "341522202008310033", census_status="dismissed",
                          entry_status="confirmed")
    merge(apps, None)
    assert {a.status for a in Alert.objects.filter(subject="341522202008310033")} == {
        "dismissed", "confirmed"}
