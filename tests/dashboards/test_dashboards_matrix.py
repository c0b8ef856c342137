"""The scoping matrix over the dashboard URLs, and the dashboards half of issue 7, item 2.

Matrix (item 1): the home page, the drill-down lists and their exports (one metric of every
source), cohort intake and its template — every role, GET/POST/DELETE, with school B and
township B forged into the query string; nothing may write.

Item 2: a township user's dashboard equals the county's row for that township, figure for
figure; every drill-down list of a township (school) user holds exactly the county's rows for
that township (school) — 100% of its own, 0 of the others — in the page and in the xlsx export,
and a forged township / school filter shows nothing.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboards.metrics import METRICS, SOURCES, metric_rows
from dashboards.models import YearFigures
from dashboards.params import parse_params
from kongchuo.calendar.models import SchoolYear
from kongchuo.models import Job
from tests.dashboards.conftest import NOW, TODAY
from tests.security.scoping_matrix import ALL, SAFE, Entry, check_entry
from tests.xlsx_layout import assert_official, read_official

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "DELETE")  # GET stands for HEAD, DELETE for PUT/PATCH
EVERYONE = ("county_user", "township_a", "township_b", "school_a", "school_b", "gov_a")
STAFF = ("county_user", "township_a", "township_b", "school_a", "school_b")
GP = frozenset({"GET", "HEAD", "POST"})


def forged_filters(c) -> str:
    return f"?township={c.tb.pk}&school={c.b_primary.pk}"


def _one_metric_per_source() -> list[str]:
    seen: dict[str, str] = {}
    for key, m in METRICS.items():
        seen.setdefault(m.source, key)
    return list(seen.values())


SAMPLE_METRICS = _one_metric_per_source()

ENTRIES = [
    Entry("home", allow=dict.fromkeys(EVERYONE, ALL), query=forged_filters, read_only=True),
    *[Entry("dashboards:list", lambda c, m=m: {"metric": m}, allow=dict.fromkeys(STAFF, ALL),
            query=forged_filters, read_only=True) for m in SAMPLE_METRICS],
    # The export (a POST to the list, its filters in the query string) is one code path for every
    # metric: two sources here; test_township_exports_hold_no_row_of_another_scope exports every metric.
    *[Entry("dashboards:list", lambda c, m=m: {"metric": m}, allow=dict.fromkeys(STAFF, GP),
            query=forged_filters, read_only=True)
      for m in ("in_school", "alerts_open")],
    # Listing is for every level; importing (POST) only for the county — with no file here.
    Entry("dashboards:cohorts", allow={"county_user": GP, **dict.fromkeys(STAFF[1:], SAFE)},
          read_only=True),
    Entry("dashboards:cohort_template", allow={"county_user": ALL}, read_only=True),
    # The school year (issue 16): the county's pages; the year-end review for county and townships
    # (a township sees its own whatever it forges).
    Entry("dashboards:terms", allow={"county_user": SAFE | {"POST"}},
          data=lambda c: {"year": 2026, "y2026-year": 2026, "y2026-autumn_opens": "2026-08-31"}),
    Entry("dashboards:rollover", allow={"county_user": SAFE | {"POST"}},
          data=lambda c: {"year": 2025, "action": "close"}, read_only=True),  # not ticked: refused
    Entry("dashboards:rollover_job", lambda c: {"pk": _rollover_job(c)}, allow={"county_user": SAFE},
          read_only=True),
    *[Entry(name, allow=dict.fromkeys(("county_user", "township_a", "township_b"), methods),
            query=lambda c: _closed_year(c) + f"&township={c.tb.pk}", read_only=True)
      for name, methods in (("dashboards:review", SAFE), ("dashboards:review_xlsx", {"POST"}))],
]


def _rollover_job(c) -> int:
    return Job.objects.create(kind="school_year_close", created_by=c.county_user,
                              params={"year": 2025, "action": "close"}).pk


def _closed_year(c) -> str:
    """School year 2025 closed, with figures frozen for the county, both townships and school
    B's primary school: the review has something to show."""
    SchoolYear.objects.get_or_create(year=2025, defaults={"closed_at": NOW})
    for unit, level, township, school in (("county", "county", None, None),
                                          (f"t{c.ta.pk}", "township", c.ta, None),
                                          (f"t{c.tb.pk}", "township", c.tb, None),
                                          (f"s{c.b_primary.pk}", "school", None, c.b_primary)):
        YearFigures.objects.get_or_create(year=2025, unit=unit, defaults={
            "level": level, "township": township, "school": school, "frozen_at": NOW,
            "figures": {"enrol_rate": 0.99, "enrolled": 10}})
    return "?year=2025"


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e.url_name}-{i}" for i, e in enumerate(ENTRIES)])
def test_dashboards_matrix(entry, hand):
    check_entry(entry, hand, methods=METHODS)


def test_every_source_is_sampled():
    assert {METRICS[k].source for k in SAMPLE_METRICS} == {m.source for m in METRICS.values()}
    assert set(SOURCES) <= {METRICS[k].source for k in SAMPLE_METRICS}


# --------------------------------------------------------------------------- item 2


def _figures(part: dict) -> dict:
    out = {k: v["v"] for k, v in part["f"].items()}
    out.update({name: part[name]["v"] for name in ("enrol", "ht", "aid")})
    return out


def _home_dash(client, **query):
    response = client.get(reverse("home"), query)
    assert response.status_code == 200
    return response.context["dash"]


@pytest.mark.parametrize("who,township", [("township_a", "ta"), ("township_b", "tb")])
def test_township_dashboard_equals_the_county_row(hand, client_as, who, township):
    """Every figure of a township's home page is the county's figure for that township."""
    from retrieval.models import Alert

    # Grade-9 screening alerts are the county's alone (the township may be the accused): the
    # county's row counts them, the township never sees them. Set them aside to compare.
    assert Alert.objects.filter(Alert.objects.county_only()).delete()[0] >= 1
    tid = getattr(hand, township).pk
    county = _home_dash(client_as(hand.county_user))
    row = next(u for u in county["units"] if u["key"] == f"t{tid}")
    # The county's own drill into that township shows the same numbers too.
    drilled = _home_dash(client_as(hand.county_user), township=tid)["overall"]
    mine = _home_dash(client_as(getattr(hand, who)))["overall"]
    assert _figures(mine) == _figures(row)
    assert _figures(mine) == _figures(drilled)
    assert mine["f"]["in_school"]["v"] > 0  # not a vacuous comparison


def _pks(metric, user, *, below_county: bool = False, **query) -> set:
    """Row ids of a list; `below_county`: without the rows only the county may see (grade-9
    screening alerts, by design hidden from the accused school and its township)."""
    rows = metric_rows(metric, user, parse_params(query, today=TODAY))
    hidden = getattr(rows, "county_only", lambda: None)() if below_county else None
    if hidden is not None:
        rows = rows.exclude(hidden)
    return set(rows.values_list("pk", flat=True))


@pytest.mark.parametrize("key", list(METRICS))
def test_township_and_school_lists_hold_exactly_their_own_rows(hand, key):
    """100% of the own township (school), 0 of the others, and a forged filter finds nothing."""
    m = METRICS[key]
    c = hand
    for user, own in ((c.township_a, {"township": c.ta.pk}), (c.township_b, {"township": c.tb.pk}),
                      (c.school_a, {"school": c.a_primary.pk}), (c.school_b, {"school": c.b_primary.pk})):
        assert _pks(m, user) == _pks(m, c.county_user, below_county=True, **own), (key, user.username)
    assert not _pks(m, c.township_a, township=c.tb.pk)
    assert not _pks(m, c.township_a, school=c.b_primary.pk)
    assert not _pks(m, c.school_a, school=c.b_primary.pk)
    assert not _pks(m, c.school_a, school=c.a_center.pk)  # a colleague school of the township


def _other_side_names(c) -> set[str]:
    """Names of children, alerts and cases outside township A (township B and county-direct)."""
    from retrieval.models import Alert, RetrievalCase
    from students.models import CensusEntry, Student

    names = set(Student.objects.exclude(school__township=c.ta, school__oversight="township")
                .values_list("name", flat=True))
    names |= set(Alert.objects.exclude(school__township=c.ta, school__oversight="township")
                 .exclude(school__isnull=True, township=c.ta).values_list("name", flat=True))
    names |= set(RetrievalCase.objects.exclude(school__township=c.ta, school__oversight="township")
                 .values_list("name", flat=True))
    names |= set(CensusEntry.objects.exclude(township=c.ta).values_list("name", flat=True))
    # Generated names repeat (two children called 李玉, one on each side): a name A may show is
    # not evidence of a leak, so only names found solely outside A count.
    inside = set(Student.objects.filter(school__township=c.ta, school__oversight="township")
                 .values_list("name", flat=True))
    inside |= set(Alert.objects.filter(township=c.ta).values_list("name", flat=True))
    inside |= set(RetrievalCase.objects.filter(township=c.ta).values_list("name", flat=True))
    inside |= set(CensusEntry.objects.filter(township=c.ta).values_list("name", flat=True))
    return {n for n in names - inside if n}


def test_township_exports_hold_no_row_of_another_scope(hand, client_as):
    """Every drill-down export of township A: as many data rows as its list, none of B's names."""
    from students.models import Student

    c = hand
    Student.objects.filter(pk=c.s_b.pk).update(name="乙镇独有名")
    c.s_b.refresh_from_db()
    outside = _other_side_names(c)
    assert c.s_b.name in outside and c.s_a.name not in outside
    client = client_as(c.township_a)
    checked = 0
    for key, m in METRICS.items():
        response = client.post(reverse("dashboards:list", args=[key]))
        assert response.status_code == 200, key
        doc = read_official(b"".join(response.streaming_content))
        assert_official(doc)
        rows = [r[1:] for r in doc.rows]
        cells = {str(v) for r in rows for v in r if v is not None}
        assert not cells & outside, (key, cells & outside)
        expected = metric_rows(m, c.township_a, parse_params({}, today=TODAY)).count()
        assert len(rows) == expected, (key, len(rows), expected)
        checked += len(rows)
    assert checked > 20


def test_forged_filters_on_the_home_page_show_nothing_of_b(hand, client_as):
    """Township A / school A asking their home page for township B or school B: no B school,
    no B figure (the page is their own scope, narrowed to nothing)."""
    for who in ("township_a", "school_a"):
        client = client_as(getattr(hand, who))
        for query in ({"township": hand.tb.pk}, {"school": hand.b_primary.pk}):
            response = client.get(reverse("home"), query)
            assert response.status_code == 200
            body = response.content.decode()
            assert hand.b_primary.name not in body and hand.b_center.name not in body, (who, query)
            figures = _figures(response.context["dash"]["overall"])
            assert not any(v for v in figures.values() if isinstance(v, int)), \
                (who, query, {k: v for k, v in figures.items() if v})


@pytest.mark.parametrize("who", ["township_a", "township_b", "school_a", "school_b", "gov_a", "no_role"])
def test_cohort_import_and_template_answer_403_below_the_county(hand, client_as, who):
    """Item 3: importing grade-1 intakes (a POST with a file) and its template are the county's."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from dashboards.models import CohortIntake

    client = client_as(getattr(hand, who))
    before = CohortIntake.objects.count()
    upload = SimpleUploadedFile("intake.csv", "年份,学校标识码\n2018,x\n".encode(), content_type="text/csv")
    assert client.post(reverse("dashboards:cohorts"), {"file": upload}).status_code == 403
    assert client.get(reverse("dashboards:cohort_template")).status_code == 403
    assert CohortIntake.objects.count() == before
