"""The scoping matrix over every import URL (issue 7, items 1 and 3): the kinds list, each
kind's upload page and template, the history, a job's status, its confirmation and its error
workbook — every role, GET/POST/DELETE.

The job is school B's roster preview (one good row, one bad): its page and error workbook are
for school B, township B and the county; only its uploader may confirm it (county and township B:
403); school A / township A get 404. Kinds answer 403 to roles that do not own them.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from kongchuo.imports.base import all_kinds
from kongchuo.imports.runner import import_job_create, import_job_run
from kongchuo.models import Job
from students.models import Student
from tests.imports.conftest import new_id, roster_row
from tests.security.scoping_matrix import SAFE, Entry, check_entry

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "DELETE")  # GET stands for HEAD, DELETE for PUT/PATCH
STAFF = ("county_user", "township_a", "township_b", "school_a", "school_b")
B = ("county_user", "township_b", "school_b")
GP = frozenset({"GET", "HEAD", "POST"})
USERS_OF_ROLE = {"county": ("county_user",), "township": ("township_a", "township_b"),
                 "school": ("school_a", "school_b")}


@pytest.fixture
def jb(county, files):
    """School B's roster preview with one error: a job with an error workbook."""
    path = files.roster("乙校名册.xlsx", [roster_row(1, county.b_primary, id_number=new_id(1)),
                                       roster_row(2, county.b_primary, id_number=new_id(2), grade="十年级")])
    job = import_job_create(kind="roster", user=county.school_b, source=path, filename="乙校名册.xlsx")
    import_job_run(job, write=False)
    job.refresh_from_db()
    assert job.result.get("issues") and job.result.get("phase") in ("dry_run", "rejected")
    county.job_b = job
    return county


def _owners(kind) -> tuple[str, ...]:
    return tuple(user for role in kind.roles for user in USERS_OF_ROLE.get(str(role), ()))


def kind_entries() -> list[Entry]:
    out = []
    for kind in all_kinds():
        owners = _owners(kind)
        # No file in the POST: the form is refused and no job is kept.
        out.append(Entry("imports:kind", lambda c, s=kind.slug: {"slug": s},
                         allow=dict.fromkeys(owners, GP), read_only=True))
        out.append(Entry("imports:template", lambda c, s=kind.slug: {"slug": s},
                         allow=dict.fromkeys(owners, SAFE), read_only=True))
    return out


ENTRIES = [
    Entry("imports:index", allow=dict.fromkeys(STAFF, SAFE), read_only=True),
    Entry("imports:history", allow=dict.fromkeys(STAFF, SAFE), read_only=True),
    *kind_entries(),
    Entry("imports:job", lambda c: {"pk": c.job_b.pk}, allow=dict.fromkeys(B, SAFE), read_only=True),
    Entry("imports:confirm", lambda c: {"pk": c.job_b.pk}, allow={"school_b": frozenset({"POST"})},
          data=lambda c: {"mode": "skip_invalid"}),
    Entry("imports:errors", lambda c: {"pk": c.job_b.pk}, allow=dict.fromkeys(B, SAFE), read_only=True),
    # A roster job has no one-time output: refused to everyone (its owner 403, others 404).
    Entry("imports:output", lambda c: {"pk": c.job_b.pk}, read_only=True),
]


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e.url_name}-{i}" for i, e in enumerate(ENTRIES)])
def test_imports_matrix(entry, jb):
    check_entry(entry, jb, methods=METHODS)


def test_every_kind_is_in_the_matrix():
    slugs = {k.slug for k in all_kinds()}
    assert len(slugs) >= 7
    for name in ("imports:kind", "imports:template"):
        assert {e.kwargs(None)["slug"] for e in ENTRIES if e.url_name == name} == slugs


@pytest.mark.parametrize("kind", [k.slug for k in all_kinds()])
def test_kinds_answer_403_to_roles_that_do_not_own_them(county, client_as, kind):
    """Item 3: a role without the kind gets 403 (not a page, not a 404) on GET and POST."""
    from kongchuo.imports.base import get_kind

    owners = _owners(get_kind(kind))
    for who in ("county_user", "township_a", "school_a", "gov_a", "no_role"):
        if who in owners:
            continue
        client = client_as(getattr(county, who))
        for url in (reverse("imports:kind", args=[kind]), reverse("imports:template", args=[kind])):
            assert client.get(url).status_code == 403, (who, url)
        assert client.post(reverse("imports:kind", args=[kind]), {}).status_code == 403, who
    assert not Job.objects.exists()


def test_a_forged_school_in_an_upload_moves_nothing(county, client_as, files):
    """School A uploads a roster naming school B (code and name): the row is refused at preview,
    and confirming writes nothing into school B."""
    new = new_id(7)
    path = files.roster("伪造.xlsx", [roster_row(1, county.b_primary, id_number=new)])
    client = client_as(county.school_a)
    with open(path, "rb") as fh:
        response = client.post(reverse("imports:kind", args=["roster"]), {"file": fh})
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.result["rejected"] == 1, job.result
    client.post(reverse("imports:confirm", args=[job.pk]), {"mode": "skip_invalid"})
    client.post(reverse("imports:confirm", args=[job.pk]), {"mode": "all"})
    assert not Student.objects.filter(id_number=new).exists()
    assert set(Student.objects.filter(school=county.b_primary).values_list("pk", flat=True)) == {county.s_b.pk}


@pytest.mark.parametrize("who", ["gov_a", "no_role"])
def test_import_pages_answer_403_to_roles_without_imports(jb, client_as, who):
    """Item 3: the township government and a user without a role own no import at all."""
    client = client_as(getattr(jb, who))
    for name, kwargs in (("imports:index", {}), ("imports:history", {}), ("imports:job", {"pk": jb.job_b.pk}),
                         ("imports:errors", {"pk": jb.job_b.pk})):
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 403, name
    assert client.post(reverse("imports:confirm", args=[jb.job_b.pk])).status_code == 403
