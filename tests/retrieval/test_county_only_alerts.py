"""Grade-9 screening alerts (a suspected 劝退 by the school) reach the county only: never the
accused school nor its township center school, wherever alerts are read (DESIGN.md §3)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from kongchuo.access.scoping import scope_of
from kongchuo.calendar.schoolyear import today
from retrieval.alerts import services as alert_services
from retrieval.home import retrieval_home, student_panel
from retrieval.inbox import inbox_for
from retrieval.models import Alert, AlertDecision, Evidence
from tests.retrieval.casefactories import AlertFactory, pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def g9(county):
    """s_a (甲镇东岗小学) and s_a2 (甲镇中心学校) flagged by the grade-9 screening; one ordinary
    return-check alert about s_a beside them."""
    c = county
    c.g9 = AlertFactory(student=c.s_a, rule=Alert.Rule.GRADE9, period="2026", level="county")
    c.g9_center = AlertFactory(student=c.s_a2, rule=Alert.Rule.GRADE9, period="2026", level="county")
    c.g9_school = AlertFactory(rule=Alert.Rule.GRADE9, period="2026", level="county",
                               subject=f"school:{c.a_primary.code}", name=c.a_primary.name,
                               school=c.a_primary, township=c.ta)
    c.plain = AlertFactory(student=c.s_a)
    return c


def test_queryset_hides_grade9_below_the_county(g9):
    c = g9
    everything = {c.g9.pk, c.g9_center.pk, c.g9_school.pk, c.plain.pk}
    assert set(Alert.objects.visible_to(c.county_user).values_list("pk", flat=True)) == everything
    for user in (c.school_a, c.township_a, c.gov_a):
        assert c.g9.pk not in Alert.objects.visible_to(user).values_list("pk", flat=True)
    assert list(Alert.objects.visible_to(c.school_a)) == [c.plain]
    assert list(Alert.objects.visible_to(c.township_a)) == [c.plain]


def test_alert_list_and_rule_filter(g9, client_as):
    c = g9
    url = reverse("retrieval:alerts")
    for user in (c.school_a, c.township_a):
        body = client_as(user).get(url).content.decode()
        assert "共 1 条" in body
        assert "九年级排查" not in body  # neither a row nor a filter choice
        # Not a valid choice below the county: the filter is ignored, the list stays the same.
        body = client_as(user).get(url, {"rule": "grade9_screening"}).content.decode()
        assert "共 1 条" in body
    body = client_as(c.county_user).get(url, {"rule": "grade9_screening"}).content.decode()
    assert "共 3 条" in body


@pytest.mark.parametrize("who,status", [("school_a", 404), ("township_a", 404), ("gov_a", 403),
                                        ("county_user", 200)])
def test_alert_detail(g9, client_as, who, status):
    for alert in (g9.g9, g9.g9_center, g9.g9_school):
        response = client_as(getattr(g9, who)).get(reverse("retrieval:alert", args=[alert.pk]))
        assert response.status_code == status


def test_school_cannot_decide_a_grade9_alert(g9, client_as):
    client = client_as(g9.school_a)
    confirm = client.post(reverse("retrieval:alert_confirm", args=[g9.g9.pk]), {"reason": "weary"})
    dismiss = client.post(reverse("retrieval:alert_dismiss", args=[g9.g9.pk]),
                          {"reason": "in_school", "note": "在校"})
    assert (confirm.status_code, dismiss.status_code) == (404, 404)
    g9.g9.refresh_from_db()
    assert g9.g9.status == Alert.Status.OPEN


def _cards(user, rf) -> dict:
    request = rf.get("/")
    request.user = user
    ctx = {"cards": [], "blocks": []}
    retrieval_home(request, scope_of(user), ctx)
    return {c["key"]: c["value"] for c in ctx["cards"]}


def test_home_badges_inbox_and_student_panel(g9, rf):
    c = g9
    # The card counts the suspected dropouts waiting at the user's own level.
    assert _cards(c.school_a, rf)["alerts"] == 1
    assert _cards(c.township_a, rf)["alerts"] == 0  # the school answers its own alert
    assert _cards(c.county_user, rf)["alerts"] == 3
    county_alerts = {s.key: s for s in inbox_for(c.county_user, today())}["alerts"]
    assert county_alerts.count == 3  # the three grade-9 alerts wait at the county level
    for user in (c.school_a, c.township_a):
        labels = [i["label"] for s in inbox_for(user, today()) for i in s.items]
        assert not any("九年级排查" in label for label in labels)
    request = rf.get("/")
    request.user = c.school_a
    assert student_panel(request, c.s_a)["alerts"] == [c.plain]


def test_inbox_digest_never_mentions_grade9_below_the_county(g9, mailoutbox):
    c = g9
    # Worst case: a grade-9 alert routed at school level (hand-made or from an older sweep).
    Alert.objects.filter(pk=c.g9.pk).update(level="school")
    Alert.objects.filter(pk=c.plain.pk).delete()
    for user, mail in ((c.school_a, "a@example.cn"), (c.township_a, "ta@example.cn"),
                       (c.county_user, "c@example.cn")):
        user.email = mail
        user.save()
    call_command("send_inbox_digest")
    by_to = {m.to[0]: m.body for m in mailoutbox}
    assert set(by_to) == {"c@example.cn"}
    assert "待核实的疑似辍学预警：2" in by_to["c@example.cn"]  # g9_center and g9_school


def test_dashboard_alert_counts(g9):
    from dashboards.metrics import METRICS, metric_rows
    from dashboards.params import parse_params
    from dashboards.selectors import dashboard_data

    c = g9
    p = parse_params({}, today=today())
    for user, expected in ((c.school_a, 1), (c.township_a, 1), (c.county_user, 4)):
        cache.clear()
        assert metric_rows(METRICS["alerts_open"], user, p).count() == expected
        data = dashboard_data(user, scope_of(user), p)
        assert data["overall"]["f"]["alerts_open"]["v"] == expected
    cache.clear()


def test_county_decision_and_its_evidence_stay_county_only(g9, client_as):
    c = g9
    decision = alert_services.alert_dismiss(alert=c.g9, user=c.county_user, reason="transferred",
                                      note="转往县城", files=[pdf()])
    evidence = decision.evidence.get()
    assert not AlertDecision.objects.visible_to(c.school_a).filter(pk=decision.pk).exists()
    assert not Evidence.objects.visible_to(c.township_a).filter(pk=evidence.pk).exists()
    assert client_as(c.school_a).get(reverse("retrieval:evidence", args=[evidence.pk])).status_code == 404
    assert client_as(c.county_user).get(reverse("retrieval:evidence", args=[evidence.pk])).status_code == 200
    body = client_as(c.township_a).get(reverse("retrieval:approvals")).content.decode()
    assert "转往县城" not in body


def test_case_from_a_confirmed_grade9_alert_is_worked_without_the_accusation(g9, client_as):
    """The county confirms: the school must bring the child back, so it sees the case, but not
    the alert it came from, nor its rule in the case's history."""
    c = g9
    case = alert_services.alert_confirm(alert=c.g9, user=c.county_user, reason="learning",
                                  note="核实属实").case
    url = reverse("retrieval:case", args=[case.pk])
    body = client_as(c.school_a).get(url).content.decode()
    assert case.name in body
    assert "九年级排查" not in body and reverse("retrieval:alert", args=[c.g9.pk]) not in body
    assert "来源预警" not in body
    county_body = client_as(c.county_user).get(url).content.decode()
    assert reverse("retrieval:alert", args=[c.g9.pk]) in county_body
    assert "九年级排查" in county_body
