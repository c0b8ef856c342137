"""The scoping matrix over every ledger URL (issue 7, item 1): all eleven ledgers and the two
sub-logs — list, new, detail, edit, attachments, export, template — and the 返校报到 tick sheet,
the gap lists, deferral review, the 送教 manual, export jobs and attachment files.

Objects belong to school B (township B). Ledger entries are kept by the owning school only, so
writes are allowed to school_b alone; a school_a POST carries school B's student, plan and
school ids (forged) and must write nothing. GET stands for HEAD, DELETE for PUT/PATCH.
"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from kongchuo.models import Job
from kongchuo.schoolyear import term_of, today
from ledgers.registry import KINDS, LEDGER_NAMES
from ledgers.services import EXPORT_JOB_KIND, attachment_add
from tests.ledgers.conftest import make_entries, tiny_png
from tests.security.scoping_matrix import ALL, Entry, check_entry, clients_for

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "DELETE")  # GET stands for HEAD, DELETE for PUT/PATCH
STAFF = ("county_user", "township_a", "township_b", "school_a", "school_b")
B = ("county_user", "township_b", "school_b")
GP = frozenset({"GET", "HEAD", "POST"})
POST = frozenset({"POST"})
SUB = {"home_teaching_visits", "learning_support_notes"}
SCHOOL_B = frozenset({"school_b"})


@pytest.fixture
def lb(county):
    """School B's entry of every ledger, an attachment, and school B's finished export job."""
    c = county
    c.lb = make_entries(c.b_primary, c.s_b, c.school_b)
    upload = SimpleUploadedFile("现场照片.png", tiny_png(), content_type="image/png")
    c.attachment_b = attachment_add(entry=c.lb["publicity"], user=c.school_b, upload=upload)
    job = Job(kind=EXPORT_JOB_KIND, created_by=c.school_b, status=Job.Status.SUCCEEDED,
              params={"ledger": "aid"}, result={"filename": "资助台账.xlsx", "rows": 1})
    job.output.save("export.xlsx", ContentFile(b"PK\x03\x04 not really a workbook"), save=False)
    job.save()
    c.export_job_b = job
    return c


def forged(c) -> dict:
    """School B's ids in every field a form might take them from."""
    return {"student": c.s_b.pk, "school": c.b_primary.pk, "school_id": c.b_primary.pk,
            "township": c.tb.pk, "plan": c.lb["home_teaching"].pk, "reported_on": today().isoformat(),
            "start_date": today().isoformat(), "content": "x", "version": 1}


def _slug_pk(slug):
    return lambda c: {"slug": slug, "pk": c.lb[slug].pk}


def _plan_query(slug):
    parent = KINDS[slug].parent
    return lambda c: f"?plan={c.lb[parent].pk}"


def _export_query(c) -> str:
    return f"?school={c.b_primary.pk}&term={term_of(today()).code}"


def entries_for_slug(slug: str) -> list[Entry]:
    kind = KINDS[slug]
    out = []
    if slug in LEDGER_NAMES:
        out.append(Entry(f"ledgers:{slug}", allow=dict.fromkeys(STAFF, ALL), read_only=True))
        # ?school= school B: township A and school A get 404, B's levels the school's sheet.
        for name in ("ledgers:export", "ledgers:template"):
            out.append(Entry(name, lambda c, s=slug: {"slug": s}, allow=dict.fromkeys(B, ALL),
                             query=_export_query, read_only=True))
    if slug in SUB:  # a visit / note hangs under school B's plan: school A gets 404
        out.append(Entry("ledgers:new", lambda c, s=slug: {"slug": s}, allow={"school_b": GP},
                         query=_plan_query(slug), data=forged, writers=SCHOOL_B))
    else:  # school A's forged POST names school B's student: refused, nothing written
        out.append(Entry("ledgers:new", lambda c, s=slug: {"slug": s},
                         allow={"school_a": GP, "school_b": GP}, data=forged, writers=SCHOOL_B))
    out.append(Entry("ledgers:detail", _slug_pk(slug), allow=dict.fromkeys(B, ALL), read_only=True))
    out.append(Entry("ledgers:edit", _slug_pk(slug), allow={"school_b": GP} if kind.editable else {},
                     data=forged, writers=SCHOOL_B))
    out.append(Entry("ledgers:attach", _slug_pk(slug), allow={"school_b": POST}, writers=SCHOOL_B))
    return out


OTHER = [
    Entry("ledgers:returns_tick", allow={"school_a": GP, "school_b": GP}, writers=SCHOOL_B,
          data=lambda c: {"term": term_of(today()).code, "reported_on": today().isoformat(),
                          "student": [c.s_b.pk], "class": f"{c.s_b.grade}|{c.s_b.class_name}"}),
    Entry("ledgers:returns_missing", allow=dict.fromkeys(STAFF, ALL), read_only=True),
    Entry("ledgers:aid_uncovered", allow=dict.fromkeys(STAFF, ALL), read_only=True),
    Entry("ledgers:returns_withdraw", lambda c: {"pk": c.lb["returns"].pk}, allow={"school_b": POST},
          data=lambda c: {"version": c.lb["returns"].version}),
    Entry("ledgers:deferral_review", lambda c: {"pk": c.lb["deferrals"].pk},
          allow={"township_b": POST},
          data=lambda c: {"decision": "approve", "review_note": "同意", "version": c.lb["deferrals"].version}),
    Entry("ledgers:manual", lambda c: {"pk": c.lb["home_teaching"].pk}, allow=dict.fromkeys(B, ALL),
          read_only=True),
    # An export file is private to whoever asked for it: not even the county sees school B's.
    Entry("ledgers:export_job", lambda c: {"pk": c.export_job_b.pk}, allow={"school_b": ALL},
          read_only=True),
    Entry("ledgers:export_job_file", lambda c: {"pk": c.export_job_b.pk}, allow={"school_b": ALL},
          read_only=True),
    Entry("ledgers:attachment", lambda c: {"pk": c.attachment_b.pk}, allow=dict.fromkeys(B, ALL),
          read_only=True),
    Entry("ledgers:attachment_delete", lambda c: {"pk": c.attachment_b.pk}, allow={"school_b": POST}),
]

ENTRIES = [e for slug in KINDS for e in entries_for_slug(slug)] + OTHER


@pytest.mark.parametrize("slug", list(KINDS))
def test_ledger_matrix(slug, lb):
    """Every page of one ledger, every role, GET/POST/DELETE (one login per role for them all)."""
    clients = clients_for(lb)
    for entry in entries_for_slug(slug):
        rows = check_entry(entry, lb, methods=METHODS, clients=clients)
        assert len(rows) == 8 * len(METHODS)


@pytest.mark.parametrize("entry", OTHER, ids=[f"{e.url_name}-{i}" for i, e in enumerate(OTHER)])
def test_ledger_pages_matrix(entry, lb):
    check_entry(entry, lb, methods=METHODS)


def test_every_ledger_has_every_page(lb):
    """The eleven ledgers each have list, export and template entries; all thirteen kinds
    (with the sub-logs) new, detail, edit and attach."""
    names = [(e.url_name, e.kwargs(lb).get("slug")) for e in ENTRIES]
    assert len(LEDGER_NAMES) == 11
    for slug in LEDGER_NAMES:
        assert {(f"ledgers:{slug}", None), ("ledgers:export", slug), ("ledgers:template", slug)} <= set(names)
    for slug in KINDS:
        for page in ("new", "detail", "edit", "attach"):
            assert (f"ledgers:{page}", slug) in names
