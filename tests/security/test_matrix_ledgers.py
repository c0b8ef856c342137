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
from django.urls import reverse

from kongchuo.calendar.schoolyear import term_of, today
from kongchuo.models import Job
from ledgers.registry import KINDS, LEDGER_NAMES
from ledgers.services import EXPORT_JOB_KIND, attachment_add
from tests.ledgers.conftest import make_entries, tiny_png
from tests.security.scoping_matrix import ALL, Entry, check_entries, check_entry

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


def _export_form(c) -> dict:
    return {"school": c.b_primary.pk, "term": term_of(today()).code}


def entries_for_slug(slug: str) -> list[Entry]:
    kind = KINDS[slug]
    out = []
    if slug in LEDGER_NAMES:
        out.append(Entry(f"ledgers:{slug}", allow=dict.fromkeys(STAFF, ALL), read_only=True))
        # ?school= school B: township A and school A get 404, B's levels the school's sheet.
        # (the export form POSTs its fields: the forged school goes in the body as well)
        # The export is a POST only (children's data; audited), the empty template any method.
        for name, methods in (("ledgers:export", POST), ("ledgers:template", ALL)):
            out.append(Entry(name, lambda c, s=slug: {"slug": s}, allow=dict.fromkeys(B, methods),
                             query=_export_query, data=_export_form, read_only=True))
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
    # Each level's own export; the county's (whole county) is queued as a Job. A POST only: a GET
    # must not write (it did before the matrix: GET queued the job) nor export.
    Entry("ledgers:export", lambda c: {"slug": "aid"}, allow=dict.fromkeys(STAFF, POST),
          writers=frozenset({"county_user"})),
]

ENTRIES = [e for slug in KINDS for e in entries_for_slug(slug)] + OTHER


@pytest.mark.parametrize("slug", list(KINDS))
def test_ledger_matrix(slug, lb):
    """Every page of one ledger, every role, GET/POST/DELETE (one login per role for them all)."""
    for rows in check_entries(entries_for_slug(slug), lb, methods=METHODS):
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


# --------------------------------------------------------------------------- item 2


@pytest.fixture
def both(county):
    """Entries of every ledger on both sides, each side's rows carrying its own markers."""
    from ledgers.models import Deferral, FamilyContact, PublicityActivity

    c = county
    type(c.s_a).objects.filter(pk=c.s_a.pk).update(name="甲校学生")
    type(c.s_b).objects.filter(pk=c.s_b.pk).update(name="乙校学生")
    c.s_a.refresh_from_db()
    c.s_b.refresh_from_db()
    c.la = make_entries(c.a_primary, c.s_a, c.school_a)
    c.lb = make_entries(c.b_primary, c.s_b, c.school_b)
    Deferral.objects.filter(pk=c.la["deferrals"].pk).update(name="甲延缓")
    Deferral.objects.filter(pk=c.lb["deferrals"].pk).update(name="乙延缓", id_number=_child_id(3))
    PublicityActivity.objects.filter(pk=c.la["publicity"].pk).update(audience="甲镇家长会")
    PublicityActivity.objects.filter(pk=c.lb["publicity"].pk).update(audience="乙镇家长会")
    FamilyContact.objects.filter(pk=c.la["family_contact"].pk).update(content="甲家访")
    FamilyContact.objects.filter(pk=c.lb["family_contact"].pk).update(content="乙家访")
    for entry in (*c.la.values(), *c.lb.values()):
        entry.refresh_from_db()
    return c


def _child_id(n: int) -> str:
    import datetime as dt

    from kongchuo.access.idnumbers import make_id

    return make_id("341522", dt.date(2018, 3, 7), 700 + n)


B_MARKERS = ("乙校学生", "乙延缓", "乙镇家长会", "乙家访", "乙镇西湖小学")
A_MARKER = {"deferrals": "甲延缓", "publicity": "甲镇家长会", "family_contact": "甲家访"}


def _export_cells(client, slug: str, query: str = "") -> set[str]:
    import io
    from urllib.parse import parse_qsl

    import openpyxl

    response = client.post(reverse("ledgers:export", args=[slug]), dict(parse_qsl(query.lstrip("?"))))
    assert response.status_code == 200, (slug, response.status_code)
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return {str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
            for v in row if v is not None}


def _contains(cells: set[str], marker: str) -> bool:
    return any(marker in cell for cell in cells)


@pytest.mark.parametrize("slug", LEDGER_NAMES)
@pytest.mark.parametrize("who,query", [("township_a", ""), ("school_a", ""),
                                        ("county_user", "?school={a_primary}")])
def test_ledger_exports_hold_no_row_of_another_scope(both, client_as, slug, who, query):
    """Every ledger's browser export for township A, school A and the county narrowed to school A:
    A's row is there (100%), no cell names a child, applicant, activity or school of B, and no
    ID number of B appears, masked or not."""
    from kongchuo.access.idnumbers import mask_id

    c = both
    cells = _export_cells(client_as(getattr(c, who)), slug, query.format(a_primary=c.a_primary.pk))
    assert not [m for m in B_MARKERS if _contains(cells, m)], slug
    for id_number in (c.s_b.id_number, c.lb["deferrals"].id_number):
        assert not _contains(cells, id_number) and mask_id(id_number) not in cells
    expected = A_MARKER.get(slug, "甲校学生")
    assert _contains(cells, expected), (slug, expected)


def test_ledger_lists_show_exactly_the_own_rows(both, client_as):
    """Lists: every ledger page of township A / school A lists A's entry and none of B's."""
    c = both
    for who in ("township_a", "school_a"):
        client = client_as(getattr(c, who))
        for slug in LEDGER_NAMES:
            body = client.get(reverse(f"ledgers:{slug}")).content.decode()
            assert not [m for m in B_MARKERS if m in body], (who, slug)
            detail_a = reverse("ledgers:detail", args=[slug, c.la[slug].pk])
            detail_b = reverse("ledgers:detail", args=[slug, c.lb[slug].pk])
            assert detail_a in body and detail_b not in body, (who, slug)


FORGED_FIELDS = ("school", "school_id", "township", "township_id")


def _valid_form(slug: str, c, student) -> dict:
    day = today().isoformat()
    return {
        "publicity": {"activity_date": day, "kind": "banner", "audience": "伪造家长会", "participants": 30,
                      "description": "x"},
        "family_contact": {"kind": "home_visit", "contact_date": day, "student": student.pk,
                           "staff": "王老师", "content": "伪造家访", "outcome": "x"},
        "deferrals": {"id_number": _child_id(5), "name": "伪造延缓", "birth_date": "2018-03-07",
                      "guardian_name": "张三", "guardian_phone": "13800000000", "reason": "病",
                      "certificate": "医院证明", "start_date": day,
                      "end_date": (today().replace(day=1) + __import__("datetime").timedelta(days=200)).isoformat()},
        "aid": {"student": student.pk, "term": term_of(today()).code, "kind": "living", "amount": 500,
                "granted_on": day, "source": "x"},
    }[slug]


@pytest.mark.parametrize("slug", ["publicity", "family_contact", "deferrals"])
def test_a_forged_school_id_in_a_ledger_post_moves_nothing(both, client_as, slug):
    """School A posts a valid entry of a ledger kept per school, with school B's ids forged into
    every school / township field: the entry is school A's, school B's ledger is untouched."""
    c = both
    model = KINDS[slug].model
    b_before = set(model.objects.filter(school=c.b_primary).values_list("pk", flat=True))
    data = {**_valid_form(slug, c, c.s_a),
            **dict.fromkeys(("school", "school_id"), c.b_primary.pk),
            **dict.fromkeys(("township", "township_id"), c.tb.pk)}
    response = client_as(c.school_a).post(reverse("ledgers:new", args=[slug]), data)
    assert response.status_code == 302, (response.context["form"].errors if response.context else
                                         response.status_code)
    created = model.objects.order_by("-pk").first()
    assert created.school_id == c.a_primary.pk
    assert set(model.objects.filter(school=c.b_primary).values_list("pk", flat=True)) == b_before


@pytest.mark.parametrize("slug", ["aid", "family_contact"])
def test_a_forged_student_of_another_school_is_refused(both, client_as, slug):
    """The same valid form naming school B's child: refused on the student field, nothing kept
    (and the same form with school A's own child is accepted: the refusal is the scope)."""
    c = both
    model = KINDS[slug].model
    before = model.objects.count()
    client = client_as(c.school_a)
    response = client.post(reverse("ledgers:new", args=[slug]), _valid_form(slug, c, c.s_b))
    assert response.status_code == 400
    assert "student" in response.context["form"].errors
    assert model.objects.count() == before
    ok = client.post(reverse("ledgers:new", args=[slug]), _valid_form(slug, c, c.s_a))
    assert ok.status_code == 302 and model.objects.count() == before + 1
