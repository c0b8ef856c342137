"""The alert inbox (filters, counts, scoping, query budget), home cards, student panel and the
rule-quality page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from retrieval.alerts import services as alert_services
from retrieval.alerts.selectors import rule_quality, rule_totals
from tests.factories import StudentFactory
from tests.retrieval.casefactories import AlertFactory

pytestmark = pytest.mark.django_db


def test_alert_list_scoped_and_filtered(county, client_as):
    c = county
    AlertFactory(student=c.s_a)
    AlertFactory(student=c.s_a, rule="absence", period="2026-03")
    AlertFactory(student=c.s_b)
    school = client_as(c.school_a)
    body = school.get(reverse("retrieval:alerts")).content.decode()
    assert "共 2 条" in body and c.s_b.name not in body
    body = school.get(reverse("retrieval:alerts"), {"rule": "absence"}).content.decode()
    assert "共 1 条" in body
    body = school.get(reverse("retrieval:alerts"), {"period": "2026-spring", "status": "open"}).content.decode()
    assert "共 1 条" in body
    body = client_as(c.county_user).get(reverse("retrieval:alerts"), {"school": c.b_primary.pk}).content.decode()
    assert "共 1 条" in body and c.s_b.name in body
    # A school outside the user's scope is not a valid filter choice.
    body = client_as(c.school_a).get(reverse("retrieval:alerts"), {"school": c.b_primary.pk}).content.decode()
    assert c.s_b.name not in body


def test_alert_list_query_budget_does_not_grow(county, client_as, django_assert_max_num_queries):
    client = client_as(county.county_user)
    for _ in range(3):
        AlertFactory(student=StudentFactory(school=county.a_primary))
    url = reverse("retrieval:alerts")
    client.get(url)  # warm session/menu caches
    with django_assert_max_num_queries(14) as ctx:
        client.get(url)
    few = len(ctx.captured_queries)
    for _ in range(30):
        AlertFactory(student=StudentFactory(school=county.b_primary))
    with django_assert_max_num_queries(few):
        response = client.get(url)
    assert "共 33 条" in response.content.decode()


def test_case_list_query_budget_does_not_grow(county, client_as, django_assert_max_num_queries):
    client = client_as(county.county_user)
    for _ in range(2):
        alert_services.alert_confirm(alert=AlertFactory(student=StudentFactory(school=county.a_primary)),
                               user=county.county_user)
    url = reverse("retrieval:cases")
    client.get(url)
    with django_assert_max_num_queries(14) as ctx:
        client.get(url)
    few = len(ctx.captured_queries)
    for _ in range(20):
        alert_services.alert_confirm(alert=AlertFactory(student=StudentFactory(school=county.b_primary)),
                               user=county.county_user)
    with django_assert_max_num_queries(few):
        assert "共 22 条" in client.get(url).content.decode()


@pytest.mark.parametrize("who,labels", [
    ("school_a", ["待核实的疑似辍学预警", "劝返中案件", "超过7天未劝返的案件", "工作提醒"]),
    ("township_a", ["待核实的疑似辍学预警", "劝返中案件", "待我审批", "已上报属地政府", "工作提醒"]),
    ("county_user", ["待核实的疑似辍学预警", "劝返中案件", "待我审批", "已上报属地政府", "工作提醒"]),
    ("gov_a", ["待处置的上报案件", "逾期未处置的上报案件"]),
])
def test_home_cards_per_role(wf, client_as, who, labels):
    body = client_as(getattr(wf, who)).get(reverse("home")).content.decode()
    for label in labels:
        assert label in body, label
    assert "我的待办" in body


def test_home_approvals_card_counts(wf, rf):
    from kongchuo.access.scoping import scope_of
    from retrieval.home import retrieval_home

    request = rf.get("/")
    request.user = wf.township_a
    ctx = {"cards": [], "blocks": []}
    retrieval_home(request, scope_of(wf.township_a), ctx)
    cards = {c["label"]: c["value"] for c in ctx["cards"]}
    assert cards["待我审批"] == 1 and cards["已上报属地政府"] == 1


def test_student_panel_shows_alerts_and_cases(wf, client_as):
    body = client_as(wf.school_a).get(reverse("students:detail", args=[wf.s_a.pk])).content.decode()
    assert "疑似辍学预警与劝返" in body
    assert reverse("retrieval:case", args=[wf.case.pk]) in body
    assert reverse("retrieval:alert", args=[wf.alert.pk]) in body


def test_rule_quality_counts_and_false_alarm_rate(county, client_as):
    c = county
    a1 = AlertFactory(student=c.s_a)
    a2 = AlertFactory(student=c.s_a2)
    a3 = AlertFactory(student=c.s_b)
    AlertFactory(student=c.s_b, rule="absence", period="2026-03")
    alert_services.alert_confirm(alert=a1, user=c.school_a)
    alert_services.alert_dismiss(alert=a2, user=c.township_a, reason="in_school", note="在校")
    alert_services.alert_dismiss(alert=a3, user=c.school_b, reason="in_school", note="在校")
    rows = {(r["rule"], r["tname"]): r for r in rule_quality()}
    ta = rows[("return_check", "甲镇")]
    assert (ta["total"], ta["confirmed"], ta["dismissed"], ta["false_rate"]) == (2, 1, 1, 0.5)
    tb = rows[("return_check", "乙镇")]
    assert (tb["dismissed"], tb["false_rate"]) == (1, 1.0)
    assert rows[("absence", "乙镇")]["false_rate"] is None
    totals = {t["rule"]: t for t in rule_totals(list(rows.values()))}
    assert round(totals["return_check"]["false_rate"], 3) == round(2 / 3, 3)
    body = client_as(c.county_user).get(reverse("retrieval:rule_quality")).content.decode()
    assert "67%" in body and "50%" in body


def test_inbox_digest_mails_users_with_something_due(wf, mailoutbox):
    from django.core.management import call_command

    wf.school_a.email = "a@example.cn"
    wf.school_a.save()
    wf.school_b.email = "b@example.cn"  # school B has its open case but nothing overdue yet…
    wf.school_b.save()
    wf.gov_b.email = "gb@example.cn"  # …and the government of B has nothing at all
    wf.gov_b.save()
    call_command("send_inbox_digest")
    by_to = {m.to[0]: m for m in mailoutbox}
    assert set(by_to) == {"a@example.cn"}
    assert "待核实的疑似辍学预警：1" in by_to["a@example.cn"].body
    assert wf.s_a.id_number not in by_to["a@example.cn"].body


def test_nameless_alert_is_shown_by_masked_id(county, client_as):
    from kongchuo.access.idnumbers import mask_id

    ident = "341522201301015678"
    AlertFactory(rule="census", period="2026", subject=ident, name="", school=None, township=county.ta,
                 level="township")
    client = client_as(county.township_a)
    for url in (reverse("retrieval:alerts"), reverse("retrieval:inbox"), reverse("home")):
        body = client.get(url).content.decode()
        assert ident not in body, url
        assert mask_id(ident) in body, url
