"""Item 13 of the security issue: stored XSS.

A demo county (every app's demo seeders: students, ledgers, alerts, cases, supervision…) has
script payloads written into **every** free-text column of every table, then a crawler walks the
portal as the county, a township and a school user, and the admin as a superuser, following every
same-site link it finds (up to a few samples per URL pattern, so every reachable page kind is
seen): no page may fail, and no page may hold a payload unescaped. Import preview and the error
workbook get the same payloads through an uploaded file, and exports keep them as inert text.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
from collections import Counter, deque
from urllib.parse import urljoin, urlsplit

import openpyxl
import pytest
from django.apps import apps
from django.db import DatabaseError, models, transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.urls import Resolver404, resolve

from kongchuo import plugins
from students.demo import seed_county
from students.models import School
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LONG = '<script>alert("XSS")</script><img src=x onerror=alert(1)>'
SHORT = "<u>XSS</u>"
# Raw (unescaped) markers: either in a response means a payload reached the page as markup.
RAW = ("<script>alert(", "<img src=x onerror", SHORT)
APPS = {"students", "ledgers", "retrieval", "dashboards", "kongchuo", "security"}
SKIP_MODELS = {"kongchuo.auditevent"}  # append-only (UPDATE refused); its page is tested in test_audit
# Columns the program writes from its own vocabulary (codes, hashes, keys), never typed by a user.
PROGRAM_COLUMNS = {"kind", "checksum", "sha256", "token", "code", "term", "period", "subject", "sweep",
                   "trigger", "township_code", "password", "session_key", "task_name", "id_number",
                   "action", "object_type", "object_id", "outcome", "name_initials"}
SAMPLES_PER_PATTERN = 3
NOT_FOLLOWED = ("/accounts/logout/", "/static/", "/media/", "/i18n/")


def poison_text_columns() -> tuple[list[str], list[str]]:
    """Write a payload (+ the row's pk, for unique columns) into every free-text column.

    Columns a CHECK constraint or a shape rule protects (ID numbers, codes) refuse it: that is
    the constraint doing its job, and those columns are reported as skipped. Choice columns
    hold codes from the program, never user text.
    """
    poisoned, refused = [], []
    for model in apps.get_models():
        label = model._meta.label_lower
        if (model._meta.app_label not in APPS or label in SKIP_MODELS or model._meta.proxy
                or not model._meta.managed or label.split(".")[1].startswith("historical")):
            continue
        for f in model._meta.concrete_fields:
            if (not isinstance(f, (models.CharField, models.TextField)) or f.choices or f.primary_key
                    or f.name in PROGRAM_COLUMNS):
                continue
            if isinstance(f, (models.EmailField, models.URLField, models.SlugField)):
                continue
            limit = f.max_length or 10_000
            payload = LONG if limit >= len(LONG) + 8 else SHORT if limit >= len(SHORT) + 8 else None
            if payload is None or not model._base_manager.exists():
                continue
            try:
                with transaction.atomic():
                    model._base_manager.update(**{f.attname: Concat(
                        Value(payload), Cast("pk", CharField()), output_field=f.__class__(max_length=limit))})
                poisoned.append(f"{label}.{f.name}")
            except (DatabaseError, ValueError):
                refused.append(f"{label}.{f.name}")
    return poisoned, refused


def workflow_rows(users, school) -> None:
    """One of everything the 劝返 workflow and supervision keep, through their services."""
    from ledgers.models import FamilyContact
    from ledgers.services import attachment_add
    from retrieval.alerts import services as alert_services
    from retrieval.cases import services as case_services
    from retrieval.supervision import services as supervision_services
    from students.models import SupportMark
    from tests.retrieval.casefactories import AlertFactory, FeedbackItemFactory, png

    today = dt.date.today()
    kids = list(school.students.filter(status="enrolled").order_by("pk")[:4])
    alert_services.alert_dismiss(alert=AlertFactory(student=kids[0], period="2025-autumn"), user=users["school"],
                           reason="transferred", note="转学", files=[png()])
    case = alert_services.alert_confirm(alert=AlertFactory(student=kids[1], rule="absence", period="2026-03"),
                                  user=users["school"]).case
    case_services.case_add_attempt(case=case, user=users["school"], attempted_on=today, people="班主任",
                              method="phone", result="拒绝", outcome="failed")
    case.refresh_from_db()
    case_services.case_escalate(case=case, user=users["township"], version=case.version, note="无效",
                           deadline=today + dt.timedelta(days=9))
    other = alert_services.alert_confirm(alert=AlertFactory(student=kids[2]), user=users["school"]).case
    case_services.case_request_closure(case=other, user=users["school"], version=other.version,
                                  category="abroad", note="出国", effective_date=today, files=[png()])
    FeedbackItemFactory(student=kids[3])
    visit = supervision_services.visit_plan(user=users["county"], title="督查", section="督导室", planned_on=today,
                                township=school.township)
    supervision_services.visit_draw_sample(visit=visit, user=users["county"])  # the dismissed alert above
    supervision_services.visit_plan(user=users["county"], title="全县督查", section="督导室", planned_on=today)
    finding = supervision_services.finding_record(visit=visit, user=users["county"], kind="ledger",
                                      description="台账缺失", school=school)
    supervision_services.rectification_issue(finding=finding, user=users["county"], requirement="补台账",
                                 deadline=today + dt.timedelta(days=9))
    SupportMark.objects.create(kind="poor", id_number=kids[0].id_number, name=kids[0].name,
                               student=kids[0], source="县乡村振兴局", listed_on=today)
    # Issue 16: a transfer (its reason, class and decision note are typed by clerks).
    from students.transfers import transfer_request_create

    leaving = school.students.filter(status="enrolled").order_by("-pk").first()
    transfer_request_create(user=users["school"], student=leaving, direction="out", grade=leaving.grade,
                            to_school=School.objects.exclude(pk=school.pk).order_by("pk").first(),
                            class_name="3班", reason="随父母务工")
    contact = FamilyContact.objects.filter(student__school=school).first()
    if contact is not None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        from tests.ledgers.conftest import tiny_png

        attachment_add(entry=contact, user=users["school"],
                       upload=SimpleUploadedFile("家访.png", tiny_png(), content_type="image/png"))


@pytest.fixture
def poisoned_county(db):
    seed_county(students=1500, seed=11)
    seed_rng = random.Random(12)
    for seed_app in plugins.items("seeder"):
        seed_app(seed_rng, None)
    township = School.objects.filter(oversight="township").order_by("township__code").first().township
    school = (School.objects.filter(township=township, oversight="township", students__isnull=False)
              .order_by("code").first())
    users = {
        "county": UserFactory(username="x_county", role="county"),
        "township": UserFactory(username="x_township", role="township", township=school.township),
        "school": UserFactory(username="x_school", role="school", school=school),
        "admin": UserFactory(username="x_admin", role="county", is_staff=True, is_superuser=True),
    }
    workflow_rows(users, school)
    poisoned, refused = poison_text_columns()
    return users, poisoned, refused


HREF = re.compile(r'href="([^"#]+)"')


def crawl(client, start: str, *, limit: int = 400) -> tuple[Counter, list[str]]:
    """Breadth-first over same-site links from `start`; returns pages per URL pattern, problems."""
    seen, per_pattern, problems = set(), Counter(), []
    client.raise_request_exception = False  # collect every failing page, not just the first
    queue = deque([start])
    while queue and sum(per_pattern.values()) < limit:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        try:
            match = resolve(urlsplit(url).path)
        except Resolver404:
            continue
        name = f"{match.namespace}:{match.url_name}" if match.namespace else str(match.url_name)
        if per_pattern[name] >= SAMPLES_PER_PATTERN:
            continue
        per_pattern[name] += 1
        response = client.get(url)
        if response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
            continue
        kind = response.get("Content-Type", "")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if "html" in kind or "json" in kind or "text" in kind:
            text = body.decode("utf-8", "replace")
            problems += [f"{url}: raw {marker!r}" for marker in RAW if marker in text]
            for href in HREF.findall(text):
                href = urljoin(url, href.replace("&amp;", "&"))
                if href.startswith("/") and not href.startswith(NOT_FOLLOWED) and href not in seen:
                    queue.append(href)
        elif "spreadsheetml" in kind:
            problems += [f"{url}: {p}" for p in workbook_problems(body)]
    return per_pattern, problems


def workbook_problems(data: bytes) -> list[str]:
    """A payload in an export is inert text; nothing may become a live formula."""
    out = []
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    out.append(f"formula in {ws.title}!{cell.coordinate}: {cell.value!r}")
    return out


def test_every_free_text_column_is_poisoned(poisoned_county):
    _, poisoned, refused = poisoned_county
    # The columns users type into are all there (a guard that the helper really reaches them).
    for column in ("students.student.name", "students.student.address", "students.school.name",
                   "students.township.name", "ledgers.familycontact.content", "retrieval.alert.name"):
        assert column in poisoned, (column, refused)
    assert len(poisoned) >= 60, poisoned
    # …and every table of the portal's own apps had rows to poison.
    tables = {c.rsplit(".", 1)[0] for c in poisoned + refused}
    for model in apps.get_models():
        label = model._meta.label_lower
        if model._meta.app_label in {"students", "ledgers", "retrieval"} and "historical" not in label:
            texts = [f for f in model._meta.concrete_fields if isinstance(f, (models.CharField, models.TextField))
                     and not f.choices and f.name not in PROGRAM_COLUMNS]
            assert not texts or label in tables, label
    # Refused only where a database rule guards the shape (phones, numbers as text).
    assert all(re.search(r"(number|phone|seq)", c) for c in refused), refused


@pytest.mark.parametrize("role", ["county", "township", "school"])
def test_no_page_shows_a_payload_unescaped(poisoned_county, client, role):
    users = poisoned_county[0]
    client.force_login(users[role])
    per_pattern, problems = crawl(client, "/")
    print(f"{role}: {sum(per_pattern.values())} pages over {len(per_pattern)} URL patterns")
    assert not problems, problems[:20]
    # The crawl reached the portal's page kinds, not just the home page.
    assert len(per_pattern) >= {"county": 45, "township": 35, "school": 30}[role], sorted(per_pattern)
    assert sum(per_pattern.values()) > 60


def test_admin_shows_no_payload_unescaped(poisoned_county, client):
    users = poisoned_county[0]
    client.force_login(users["admin"])
    per_pattern, problems = crawl(client, "/admin/", limit=700)
    print(f"admin: {sum(per_pattern.values())} pages over {len(per_pattern)} URL patterns")
    assert not problems, problems[:20]
    assert sum(n for name, n in per_pattern.items() if name.startswith("admin:")) > 40, per_pattern


def test_import_preview_errors_and_workbook_keep_payloads_inert(county, client_as, tmp_path):
    """Payloads in every text cell of an uploaded roster: the preview (incl. the listed errors,
    which quote the offending cells) shows them escaped; the error workbook keeps them as text;
    confirmed rows store them as data and the student pages escape them."""
    from django.urls import reverse

    from kongchuo.models import Job
    from students.models import Student
    from tests.imports.conftest import ROSTER_HEADER, new_id, roster_row, write_xlsx

    good, bad = new_id(1), new_id(2)
    text_cells = {"班级": SHORT, "姓名": "<u>XSS</u>", "户口所在地": LONG, "现住址": LONG,
                  "监护人姓名": SHORT, "残疾人类型": SHORT}
    rows = []
    for n, (id_number, grade) in enumerate(((good, "三年级"), (bad, LONG)), start=1):
        row = roster_row(n, county.a_primary, id_number=id_number, grade=grade)
        for column, value in text_cells.items():
            row[ROSTER_HEADER.index(column)] = value
        rows.append(row)
    path = write_xlsx(tmp_path / "evil.xlsx", rows, header=ROSTER_HEADER, title=LONG)
    client = client_as(county.school_a)
    client.raise_request_exception = False
    with open(path, "rb") as fh:
        response = client.post(reverse("imports:kind", args=["roster"]), {"file": fh})
    assert response.status_code == 302, response.content.decode()[:400]
    job = Job.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))

    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "grade_unknown" in page  # the bad row's error, quoting its cell, is on the page
    assert not [m for m in RAW if m in page], page[:2000]
    assert "&lt;script&gt;" in page or "&lt;u&gt;" in page

    errors = client.get(reverse("imports:errors", args=[job.pk]))
    assert errors.status_code == 200
    data = b"".join(errors.streaming_content)
    assert workbook_problems(data) == []
    cells = {c.value for ws in openpyxl.load_workbook(io.BytesIO(data)).worksheets
             for r in ws.iter_rows() for c in r}
    assert LONG in cells  # kept verbatim, as text, so the user can see what was wrong

    client.post(reverse("imports:confirm", args=[job.pk]), {"mode": "skip_invalid"})
    job.refresh_from_db()
    assert job.result.get("created") == 1, (job.message, job.result.get("issues"))
    stored = Student.objects.get(id_number=good)
    assert stored.name == "<u>XSS</u>" and stored.address == LONG  # data, not markup
    detail = client.get(reverse("students:detail", args=[stored.pk])).content.decode()
    roster = client.get(reverse("students:list") + "?q=XSS").content.decode()
    for body in (detail, roster):
        assert not [m for m in RAW if m in body]
