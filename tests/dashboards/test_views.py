"""Who may open what: home pages, drill-down lists and exports, cohort intake pages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kongchuo.access.models import AuditEvent
from tests.xlsx_layout import assert_official, read_official

pytestmark = pytest.mark.django_db

LIST = "dashboards:list"


@pytest.mark.parametrize("who,template,marker", [
    ("county_user", "home/county.html", "各乡镇排名"),
    ("township_a", "home/township.html", "各校排名"),
    ("school_a", "home/school.html", "待办事项"),
])
def test_home_pages_render_the_dashboard(hand, client_as, who, template, marker):
    response = client_as(getattr(hand, who)).get(reverse("home"))
    assert response.status_code == 200
    assert template in [t.name for t in response.templates]
    body = response.content.decode()
    assert marker in body
    assert 'id="dash-charts"' in body  # chart data for static/js/dashboards.js
    assert "<script>" not in body.replace('<script src=', '')  # no inline script (CSP)
    assert hand.s_a.id_number not in body


def test_home_gov_and_anonymous(hand, client, client_as):
    assert client.get(reverse("home")).status_code == 302
    body = client_as(hand.gov_a).get(reverse("home")).content.decode()
    assert "dash-charts" not in body  # the government has its own work page
    assert client_as(hand.no_role).get(reverse("home")).status_code == 403


def test_township_page_shows_only_its_schools(hand, client_as):
    body = client_as(hand.township_a).get(reverse("home")).content.decode()
    assert hand.a_primary.name in body
    assert hand.b_primary.name not in body
    assert "户籍与学籍比对" in body and "待本级审核" in body


def test_county_filter_by_township_lists_its_schools(hand, client_as):
    body = client_as(hand.county_user).get(reverse("home"), {"township": hand.tb.pk}).content.decode()
    assert hand.b_primary.name in body
    assert hand.a_primary.name not in body


@pytest.mark.parametrize("who,status", [
    ("county_user", 200), ("township_a", 200), ("school_a", 200), ("gov_a", 403), ("no_role", 403),
])
def test_drilldown_access(hand, client_as, who, status):
    url = reverse(LIST, args=["alerts_open"])
    assert client_as(getattr(hand, who)).get(url).status_code == status


def test_drilldown_anonymous_and_unknown(hand, client, client_as):
    url = reverse(LIST, args=["alerts_open"])
    assert client.get(url).status_code == 302
    assert client_as(hand.county_user).get(reverse(LIST, args=["nope"])).status_code == 404


def test_drilldown_is_scoped(hand, client_as):
    url = reverse(LIST, args=["in_school"])
    body = client_as(hand.school_b).get(url).content.decode()
    assert 'data-drill-count="1"' in body  # only s_b of 乙镇西湖小学 (s_susp is 休学)
    assert hand.s_b.name in body and hand.s_a.name not in body
    # a township id outside the user's scope matches nothing rather than leaking
    body = client_as(hand.township_a).get(url, {"township": hand.tb.pk}).content.decode()
    assert 'data-drill-count="0"' in body


def test_drilldown_masks_ids(hand, client_as):
    body = client_as(hand.county_user).get(reverse(LIST, args=["census_unaccounted"])).content.decode()
    assert hand.c_none.id_number not in body
    assert hand.c_none.id_number[-4:] in body
    assert "无学籍" in body


def test_export_matches_list_and_is_audited(hand, client_as):
    client = client_as(hand.county_user)
    assert "xlsx" not in client.get(reverse(LIST, args=["in_school"]), {"format": "xlsx"})["Content-Type"]
    assert not AuditEvent.objects.filter(action="dashboard_export").exists()  # a GET only reads
    response = client.post(reverse(LIST, args=["in_school"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    doc = read_official(b"".join(response.streaming_content))
    assert_official(doc)
    assert doc.title.startswith("在校学生") and "数据截至" in doc.title
    assert doc.info.startswith("填报单位：县教育局")
    assert doc.header[1] == "姓名"
    assert len(doc.rows) == 9  # the county's in-school figure
    ids = {r[2] for r in doc.rows}
    assert hand.s_a.id_number not in ids and any(i.endswith(hand.s_a.id_number[-4:]) for i in ids)
    event = AuditEvent.objects.get(action="dashboard_export")
    assert event.detail["rows"] == 9 and event.username == "u_county"


def test_export_forbidden_for_gov(hand, client_as):
    response = client_as(hand.gov_a).post(reverse(LIST, args=["in_school"]))
    assert response.status_code == 403


@pytest.mark.parametrize("who,status", [
    ("county_user", 200), ("township_a", 200), ("school_a", 200), ("gov_a", 403),
])
def test_cohorts_page_access(hand, client_as, who, status):
    assert client_as(getattr(hand, who)).get(reverse("dashboards:cohorts")).status_code == status


def test_cohorts_page_scoped(hand, client_as):
    body = client_as(hand.township_b).get(reverse("dashboards:cohorts")).content.decode()
    assert hand.b_primary.name in body and hand.a_primary.name not in body


def test_cohort_upload_only_for_county(hand, client, client_as):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def upload():
        return {"file": SimpleUploadedFile("c.csv", "入学年份,学校标识码,一年级入学人数\n".encode())}

    assert client_as(hand.township_a).post(reverse("dashboards:cohorts"), upload()).status_code == 403
    client.logout()
    assert client.post(reverse("dashboards:cohorts"), upload()).status_code == 302


@pytest.mark.parametrize("who,status", [("county_user", 200), ("township_a", 403), ("school_a", 403)])
def test_cohort_template_download(hand, client_as, who, status):
    assert client_as(getattr(hand, who)).get(reverse("dashboards:cohort_template")).status_code == status


def test_english_page_is_cached_apart(hand, client_as):
    """Charts take their language from <html lang>; the cached page is per language."""
    client = client_as(hand.county_user)
    assert '<html lang="zh-hans">' in client.get(reverse("home")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(reverse("home")).content.decode()
    assert '<html lang="en">' in body
    assert 'id="dash-charts"' in body
    # Not served from the Chinese entry (the figures were rendered again in English), while
    # the census counts, which hold no words, were reused.
    sql = [q["sql"] for q in ctx.captured_queries]
    assert any('FROM "students_student"' in q and "GROUP BY" in q for q in sql)
    assert not any("students_censusentry" in q for q in sql)


def test_last_sweeps_carry_no_county_wide_totals_to_a_township(county):
    """A county-wide run's totals count other townships' alerts: only the visible alerts go out."""
    import datetime as dt

    from dashboards.params import parse_params
    from dashboards.selectors import dashboard_data
    from kongchuo.access.scoping import scope_of
    from kongchuo.calendar.schoolyear import today
    from retrieval.models import Alert, SweepRun

    run = SweepRun.objects.create(sweep="return_check", as_of=dt.date(2026, 3, 2), period="2026-spring",
                                  status="succeeded", created=2, resolved=7, already_open=3)
    for s in (county.s_a, county.s_b):
        Alert.objects.create(rule="return_check", period="2026-spring", subject=s.id_number, student=s,
                             name=s.name, school=s.school, township=s.school.township, sweep_run=run)
    user = county.township_a
    sweeps = dashboard_data(user, scope_of(user), parse_params({}, today=today()))["sweeps"]
    assert [s["created"]["v"] for s in sweeps] == [1]
    assert all(set(s) == {"sweep", "label", "as_of", "period", "status", "started_at", "created", "trigger"}
               for s in sweeps)
