"""Every page each role can reach, on a phone (390×844) and a desktop, as a person meets it.

The demo county as `seed_demo` builds it (small): last school year closed by the real rollover,
this year's newcomers, the apps' seeders (ledgers, a 转学 waiting for each side, 名册缺失, support-list
children in no school, the demo sweeps' alerts); plus a walk through the 劝返 workflow, so the
pages of each state exist: a case escalated to the township government and answered, a case
closed (销号), a case waiting for 销号 approval, a dismissal waiting for review, a feedback list,
a supervision visit with a rectification order, a roster import with a bad row. Each demo role
then crawls from its home page, following every link (`tests/browser/crawl.py`): no page may
scroll sideways, spill text out of a card, cut a text, lack a title, highlight other than one
menu item, show a code (snake_case, a term code, an English word), a non-ISO date input or a
console error. Pages new to any app are visited as soon as something links to them.

`make screenshots` (KONGCHUO_SCREENSHOTS=docs/screenshots) keeps the phone and desktop pictures
of the main pages; a plain test run writes them to a temporary folder.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from kongchuo.calendar.schoolyear import term_of, today
from retrieval.alerts import services as alert_services
from retrieval.cases import services as case_services
from retrieval.models import Alert, ClosureRequest, RetrievalCase
from retrieval.supervision import services as supervision_services
from students.models import Student, User
from tests.browser.crawl import crawl, shape
from tests.browser.pages import PASSWORD, login, shot
from tests.imports.conftest import ROSTER_HEADER, new_id, roster_row, write_xlsx
from tests.retrieval.casefactories import FeedbackItemFactory, pdf, png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = ("demo_county", "demo_township", "demo_school", "demo_gov")
PHONE = 390
DESKTOP = 1440
# The pages kept as pictures (phone and desktop), by URL shape, per role.
PICTURES = {
    "demo_county": {"/": "home", "/retrieval/sweeps/": "sweeps", "/retrieval/alerts/N/": "alert",
                    "/retrieval/cases/N/": "case", "/audit/": "audit", "/dashboards/list/alerts_open/":
                    "drilldown", "/imports/jobs/N/": "import_job", "/retrieval/supervision/N/": "supervision",
                    "/dashboards/years/rollover/": "rollover", "/dashboards/years/review/": "review",
                    "/dashboards/years/terms/": "years", "/retrieval/support-unenrolled/": "support_unenrolled"},
    "demo_township": {"/": "home", "/retrieval/approvals/": "approvals", "/students/schools/": "schools",
                      "/students/transfers/": "transfers", "/students/roster-gaps/": "roster_gaps"},
    "demo_school": {"/": "home", "/retrieval/inbox/": "inbox", "/ledgers/home_teaching/": "home_teaching",
                    "/ledgers/family_contact/new/": "family_contact_form", "/students/N/": "student",
                    "/retrieval/cases/N/": "case", "/students/transfers/N/": "transfer",
                    "/students/roster-gaps/": "roster_gaps", "/students/new/": "student_new",
                    "/students/N/edit/": "student_edit"},
    "demo_gov": {"/": "home", "/retrieval/cases/N/": "case"},
}


def _alert(student: Student, rule=Alert.Rule.RETURN_CHECK) -> Alert:
    term = term_of(today())
    return Alert.objects.create(
        rule=rule, period=term.code, subject=student.id_number, student=student, name=student.name,
        school=student.school, township=student.school.township, level="school",
        detail={"term": term.code, "last_status": "enrolled"},
        due_date=today() + dt.timedelta(days=10))


def _walk_the_workflow(users: dict[str, User]) -> dict[str, str]:
    """A case in each state, and the other records whose pages only exist once work was done.
    Returns the detail pages to visit besides what the crawl finds."""
    school_user, township_user = users["demo_school"], users["demo_township"]
    county_user, gov_user = users["demo_county"], users["demo_gov"]
    school = school_user.school
    pupils = list(Student.objects.filter(school=school, status="enrolled").order_by("pk")[:6])
    on = today()
    pages = {}

    # Escalated to the township government, which answered.
    decision = alert_services.alert_confirm(alert=_alert(pupils[0]), user=school_user, reason="weary")
    escalated = RetrievalCase.objects.get(pk=decision.case_id)
    case_services.case_add_attempt(case=escalated, user=school_user, attempted_on=on, people="班主任王老师",
                              method="home_visit", result="家长拒绝送返", outcome="failed")
    escalated.refresh_from_db()
    esc = case_services.case_escalate(case=escalated, user=township_user, version=escalated.version,
                                 note="三次家访劝返无效", deadline=on + dt.timedelta(days=15))
    case_services.escalation_answer(escalation=esc, user=gov_user, measure="notice", measure_date=on,
                               note="已送达限期复学通知书", notice_number="城政控辍〔2026〕1号")
    pages["escalated"] = reverse("retrieval:case", args=[escalated.pk])
    pages["notice"] = reverse("retrieval:case_notice", args=[escalated.pk])

    # Back in school and struck off (销号), and one waiting for approval.
    for n, decide in ((1, True), (2, False)):
        decision = alert_services.alert_confirm(alert=_alert(pupils[n]), user=school_user, reason="learning")
        case = RetrievalCase.objects.get(pk=decision.case_id)
        case_services.case_place(case=case, user=school_user, version=case.version, placement="regular",
                            placement_date=on, placement_school=school)
        case.refresh_from_db()
        closure = case_services.case_request_closure(case=case, user=school_user, version=case.version,
                                                category="returned", note="已返校就读", effective_date=on,
                                                files=[png("返校照片.png")])
        if decide:
            case_services.closure_decide(closure=ClosureRequest.objects.get(pk=closure.pk), user=township_user,
                                    approve=True, note="同意销号")
        pages[f"case_{'closed' if decide else 'pending'}"] = reverse("retrieval:case", args=[case.pk])

    # A dismissal waiting for the township's review; an open alert.
    dismissed = _alert(pupils[3])
    alert_services.alert_dismiss(alert=dismissed, user=school_user, reason="in_school", note="在校就读",
                           files=[pdf("在读证明.pdf")])
    pages["dismissed"] = reverse("retrieval:alert", args=[dismissed.pk])
    pages["open_alert"] = reverse("retrieval:alert", args=[_alert(pupils[4]).pk])

    # A province feedback list with one row about the school's child.
    item = FeedbackItemFactory(student=pupils[5])
    pages["feedback_batch"] = reverse("retrieval:feedback_batch", args=[item.batch_id])
    pages["feedback_item"] = reverse("retrieval:feedback_item", args=[item.pk])

    # A supervision visit: a sample drawn, a finding, a rectification order to the school.
    visit = supervision_services.visit_plan(user=county_user, title="控辍保学专项督查", section="督导室", planned_on=on,
                                township=school.township)
    supervision_services.visit_draw_sample(visit=visit, user=county_user, n_cases=2, n_alerts=2, seed=1)
    finding = supervision_services.finding_record(visit=visit, user=county_user, kind="ledger",
                                      description="送教上门记录不全", school=school)
    order = supervision_services.rectification_issue(finding=finding, user=county_user, requirement="补齐送教记录",
                                         deadline=on + dt.timedelta(days=20))
    pages["visit"] = reverse("retrieval:visit", args=[visit.pk])
    pages["rectification"] = reverse("retrieval:rectification", args=[order.pk])
    return pages


def _import_with_a_bad_row(user: User, tmp_path) -> str:
    """The school clerk uploads a roster with one bad row (preview, nothing written)."""
    rows = [roster_row(1, user.school, id_number=new_id(1), name="王小明"),
            roster_row(2, user.school, id_number=new_id(2), name="李小红", grade="十年级")]
    upload = write_xlsx(tmp_path / "名册.xlsx", rows, header=ROSTER_HEADER)
    client = Client()
    client.force_login(user)
    with open(upload, "rb") as fh:
        response = client.post(reverse("imports:kind", args=["roster"]), {"file": fh})
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def _county_export(user: User) -> str:
    """The county exports a whole-county ledger: a job the worker writes (in-process here)."""
    client = Client()
    client.force_login(user)
    response = client.post(reverse("ledgers:export", args=["status_changes"]),
                           {"term": term_of(today()).code})
    assert response.status_code == 302 and "/exports/" in response["Location"], response
    return response["Location"]


@pytest.fixture
def tour(tmp_path):
    call_command("seed_demo", students=5000, seed=11, password=PASSWORD, stdout=io.StringIO())
    users = {u.username: u for u in User.objects.filter(username__in=ROLES).select_related("school")}
    pages = _walk_the_workflow(users)
    pages["import_job"] = _import_with_a_bad_row(users["demo_school"], tmp_path)
    pages["export_job"] = _county_export(users["demo_county"])
    cache.clear()
    return pages


def _check(browser, live_server, username: str, width: int, extra: tuple[str, ...], pictures: dict):
    page = login(browser, live_server, username, width=width, timeout=20000)
    page.set_viewport_size({"width": width, "height": 844 if width == PHONE else 900})
    kind = "phone" if width == PHONE else "desktop"
    taken = set()

    def picture(p, path):
        name = pictures.get(shape(path))
        if name and name not in taken:
            taken.add(name)
            shot(p, f"{kind}_{username.removeprefix('demo_')}_{name}")

    reports = crawl(page, live_server.url, extra=extra, allowed=frozenset(ROLES), screenshot=picture)
    page.context.close()
    return reports


@pytest.mark.parametrize("username", ROLES)
def test_every_page_reads_right_on_a_phone_and_a_desktop(tour, browser, live_server, username):
    own = {"demo_county": ("escalated", "case_closed", "case_pending", "dismissed", "open_alert",
                           "feedback_batch", "feedback_item", "visit", "rectification", "notice",
                           "export_job"),
           "demo_township": ("escalated", "case_closed", "case_pending", "dismissed", "open_alert",
                             "feedback_item", "rectification", "notice"),
           "demo_school": ("escalated", "case_closed", "case_pending", "dismissed", "open_alert",
                           "feedback_item", "rectification", "import_job"),
           "demo_gov": ("escalated", "notice")}[username]
    extra = tuple(tour[k] for k in own)
    problems = {}
    visited = 0
    for width in (PHONE, DESKTOP):
        reports = _check(browser, live_server, username, width, extra, PICTURES[username])
        visited = max(visited, len(reports))
        for r in reports:
            if r.problems:
                problems[f"{width}px {r.path}"] = r.problems
    assert visited >= (4 if username == "demo_gov" else 40), f"only {visited} pages reached"
    assert not problems, "\n".join(f"{k}\n    " + "\n    ".join(v) for k, v in problems.items())
