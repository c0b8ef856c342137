"""The sweep pages in English (language cookie `en`): every word of the page is translated;
only data (township, school and child names) stays Chinese."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.urls import reverse

from retrieval.models import SweepRun
from students.models import School, Student, Township
from tests.retrieval.sweepkit import run, student

pytestmark = pytest.mark.django_db

HAN = re.compile(r"[^<>\n]*[\u4e00-\u9fff][^<>\n]*")


def _untranslated(html: str) -> set[str]:
    """Chinese text in the page's main area that is not a name from the database."""
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<script.*?</script>", "", main, flags=re.S)
    names = {*Township.objects.values_list("name", flat=True),
             *School.objects.values_list("name", flat=True),
             *Student.objects.values_list("name", flat=True)}
    return {m.group(0).strip() for m in HAN.finditer(main)} - names


@pytest.fixture
def en_county(county, client_as):
    student(county.a_primary)
    run("return_check", dt.date(2026, 3, 2))  # trigger "cli": the run's page says who started it
    client = client_as(county.county_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_sweep_list_in_english(en_county):
    html = en_county.get(reverse("retrieval:sweep_list")).content.decode()
    assert '<html lang="en">' in html
    assert "Command line" in html  # the trigger of the recent run
    assert _untranslated(html) == set()


def test_sweep_run_page_and_progress_fragment_in_english(en_county):
    url = reverse("retrieval:sweep_run", args=[SweepRun.objects.get().pk])
    for html in (en_county.get(url).content.decode(),
                 en_county.get(url, HTTP_HX_REQUEST="true").content.decode()):
        assert "County-run schools and county level" in html  # the county-level partition
        assert "Command line" in html or "sweep-progress" in html
    full = en_county.get(url).content.decode()
    assert _untranslated(full) == set()
    fragment = en_county.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert _untranslated(f"<main>{fragment}</main>") == set()


@pytest.mark.parametrize("trigger,english", [("manual", "Manual (web page)"), ("beat", "Schedule"),
                                             ("seed", "Demo data"), ("import", "List import")])
def test_every_trigger_has_an_english_label(en_county, trigger, english):
    SweepRun.objects.update(trigger=trigger)
    assert english in en_county.get(reverse("retrieval:sweep_list")).content.decode()
