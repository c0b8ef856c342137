"""One count for one thing (issue 18 §3): every pending number on the home page and the inbox
equals the row count of the list it links to, for every role; reminders are not suspected
dropouts; nobody is offered their own request to approve."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from kongchuo.calendar.schoolyear import today
from ledgers.models import Deferral
from retrieval.alerts import services as alert_services
from retrieval.cases import services as case_services
from retrieval.inbox import inbox_for
from retrieval.models import Alert
from students.transfers import transfer_request_create
from tests.factories import StudentFactory, UserFactory
from tests.retrieval.casefactories import AlertFactory, png

ROLES = ("school_a", "township_a", "county_user", "gov_a")
CARD = re.compile(r'<a class="value" href="([^"]+)">(\d+)</a>')
SECTION = re.compile(
    r'data-key="(\w+)">\s*<div class="card-header[^>]*>\s*<a href="([^"]+)"[^>]*>[^<]*</a>\s*'
    r'<span class="badge[^"]*">(\d+)</span>')


@pytest.fixture
def busy(wf):
    """The workflow fixture plus reminders, a deferral waiting for township A's review and a
    转学 from school B waiting for school A's answer."""
    c = wf
    AlertFactory(student=c.s_a, rule=Alert.Rule.HOME_TEACHING, period="2026-11")
    AlertFactory(student=c.s_a, rule=Alert.Rule.AID, period="2026-autumn", level="county")
    AlertFactory(student=c.s_b, rule=Alert.Rule.AID, period="2026-autumn", level="county")
    day = today()
    Deferral.objects.create(school=c.a_primary, id_number="341522201803070016", name="甲",
                            birth_date=dt.date(2018, 3, 7), guardian_name="乙", reason="病",
                            certificate="证明", start_date=day, end_date=day + dt.timedelta(days=90))
    mover = StudentFactory(school=c.b_primary, hukou_township=c.b_primary.township, grade=3)
    transfer_request_create(user=c.school_b, student=mover, to_school=c.a_primary, direction="out",
                            grade=3, reason="随父母迁居")
    return c


def listed(client, url: str) -> int:
    """How many rows the page at `url` lists (its own count line, or one table's badge)."""
    parts = urlsplit(url)
    body = client.get(f"{parts.path}?{parts.query}").content.decode()
    if parts.path == reverse("retrieval:approvals"):
        counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', body))
        if parts.fragment:
            return int(counts[parts.fragment])
        return sum(int(v) for v in counts.values())
    total = re.search(r'data-total="(\d+)"', body) or re.search(r"共 (\d+) 条", body)
    assert total, f"no row count on {url}"
    return int(total.group(1))


@pytest.mark.parametrize("who", ROLES)
def test_every_pending_number_equals_its_list(busy, client_as, who):
    client = client_as(getattr(busy, who))
    home = client.get(reverse("home")).content.decode()
    inbox = client.get(reverse("retrieval:inbox")).content.decode()
    numbers = [(url.replace("&amp;", "&"), int(n)) for url, n in CARD.findall(home)]
    numbers += [(url, int(n)) for _key, url, n in SECTION.findall(inbox)]
    assert len(numbers) >= (3 if who == "gov_a" else 8), numbers
    for url, n in numbers:
        assert listed(client, url) == n, url


def test_the_fixture_makes_every_number_non_trivial(busy):
    counts = {s.key: s.count for s in inbox_for(busy.township_a, today())}
    assert counts["reviews"] == 1 and counts["deferrals"] == 1 and counts["to_escalate"] == 0
    county = {s.key: s.count for s in inbox_for(busy.county_user, today())}
    assert county["closures"] == 1 and county["reminders"] == 2
    school = {s.key: s.count for s in inbox_for(busy.school_a, today())}
    assert school["transfers"] == 1  # school B's 转出 to school A: A confirms or refuses
    assert {s.key: s.count for s in inbox_for(busy.school_b, today())}["transfers"] == 0  # B asked: B waits


def test_reminders_are_not_suspected_dropouts(busy):
    county = {s.key: s for s in inbox_for(busy.county_user, today())}
    assert county["alerts"].count == 0  # the two 资助未覆盖 reminders are not 疑似辍学
    assert all("资助未覆盖" in i["label"] for i in county["reminders"].items)
    school = {s.key: s.count for s in inbox_for(busy.school_a, today())}
    assert school["alerts"] == 1 and school["reminders"] == 1  # return check vs 送教不足


def test_township_home_deferral_figure_agrees_with_its_approvals(busy, client_as):
    """'延缓入学申请待审核 2' while 待我审批 showed 0: both now count the same applications."""
    client = client_as(busy.township_a)
    approvals = client.get(reverse("retrieval:approvals")).content.decode()
    assert 'data-count="deferrals">1<' in approvals
    assert "查看并审核" in approvals


def test_own_closure_request_is_not_offered_to_its_author(busy, client_as):
    c = busy
    author = c.county_user
    case = c.case_b
    case_services.case_request_closure(case=case, user=author, version=case.version,
                                  category="elsewhere", note="外地就读", effective_date=today(),
                                  files=[png()])
    body = client_as(author).get(reverse("retrieval:approvals")).content.decode()
    closures = body.split('id="closures"')[1].split("</table>")[0]
    assert case.name not in closures  # only township A's request, from someone else
    assert "我提交的销号申请" in body and case.name in body.split('id="mine"')[1]
    page = client_as(author).get(reverse("retrieval:case", args=[case.pk])).content.decode()
    assert 'id="decide-form"' not in page
    assert "申请人本人不能审批" in page
    colleague = UserFactory(username="u_county2", role="county")
    body = client_as(colleague).get(reverse("retrieval:approvals")).content.decode()
    assert case.name in body.split('id="closures"')[1].split("</table>")[0]
    page = client_as(colleague).get(reverse("retrieval:case", args=[case.pk])).content.decode()
    assert 'id="decide-form"' in page


def test_county_direct_school_is_told_to_escalate_its_failed_case(county):
    """A county-direct school reports to the township government itself: its inbox says so;
    a township school's inbox does not (its center school does that)."""
    from retrieval.cases.selectors import can_escalate

    direct_user = UserFactory(username="u_direct", role="school", school=county.direct)
    case = alert_services.alert_confirm(alert=AlertFactory(student=county.s_direct), user=direct_user,
                                  reason="weary").case
    case_services.case_add_attempt(case=case, user=direct_user, attempted_on=today(), people="李老师",
                              method="home_visit", result="不同意", outcome="failed")
    assert can_escalate(direct_user, case)
    assert {s.key: s.count for s in inbox_for(direct_user, today())}["to_escalate"] == 1
    township_case = alert_services.alert_confirm(alert=AlertFactory(student=county.s_a),
                                           user=county.school_a, reason="weary").case
    case_services.case_add_attempt(case=township_case, user=county.school_a, attempted_on=today(),
                              people="王老师", method="home_visit", result="不同意", outcome="failed")
    assert {s.key: s.count for s in inbox_for(county.school_a, today())}["to_escalate"] == 0
    assert {s.key: s.count for s in inbox_for(county.township_a, today())}["to_escalate"] == 1


def test_case_page_says_what_happens_next_and_who_acts(wf, client_as):
    c = wf
    page = client_as(c.school_a).get(reverse("retrieval:case", args=[c.case.pk])).content.decode()
    assert 'id="next-step"' in page and "属地政府" in page  # escalated: the government acts
    page = client_as(c.school_b).get(reverse("retrieval:case", args=[c.case_b.pk])).content.decode()
    assert 'id="next-step"' in page and "每7天至少劝返一次" in page
    case_services.case_add_attempt(case=c.case_b, user=c.school_b, attempted_on=today(), people="李老师",
                              method="home_visit", result="不同意", outcome="failed")
    page = client_as(c.school_b).get(reverse("retrieval:case", args=[c.case_b.pk])).content.decode()
    assert "劝返无效：须上报属地政府" in page and "乡镇中心学校" in page


def test_alert_page_says_who_acts_next(wf, client_as):
    page = client_as(wf.school_a).get(reverse("retrieval:alert", args=[wf.alert.pk])).content.decode()
    assert 'id="next-step"' in page and "核实孩子是否在校" in page
    page = client_as(wf.township_a).get(
        reverse("retrieval:alert", args=[wf.dismissed_alert.pk])).content.decode()
    assert "复核学校的排除申请" in page
