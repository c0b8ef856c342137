"""What the 劝返 workflow adds to other apps' pages: home-page cards and inbox, and the
student-page panel (registered in RetrievalConfig.ready(); the lower apps never import us)."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from kongchuo.access.scoping import Role
from kongchuo.calendar.schoolyear import today
from retrieval.cases import selectors as case_selectors
from retrieval.inbox import approvals_total, inbox_for, inbox_total
from retrieval.models import Alert, RetrievalCase


def retrieval_home(request, scope, ctx) -> None:
    """Home cards and the to-do block. Every card's number is the row count of the list it
    links to (the same `retrieval.inbox` definitions the inbox uses)."""
    user = request.user
    sections = inbox_for(user, today())
    by_key = {s.key: s for s in sections}
    cases_url = reverse("retrieval:cases")

    def card(key: str, icon: str) -> dict:
        s = by_key[key]
        return {"label": s.title, "value": s.count, "icon": icon, "url": s.url, "key": key}

    if scope.role == Role.TOWNSHIP_GOV:
        cards = [card("escalations", "bi-bell"), card("gov_late", "bi-alarm")]
    else:
        counts = case_selectors.case_counts(user)
        cards = [
            card("alerts", "bi-exclamation-triangle"),
            {"label": _("劝返中案件"), "key": "cases_active",
             "value": counts["open"] + counts["escalated"] + counts["closure_requested"],
             "icon": "bi-person-walking", "url": f"{cases_url}?status=active"},
        ]
        if scope.role in (Role.TOWNSHIP, Role.COUNTY):
            cards.append({"label": _("待我审批"), "value": approvals_total(sections),
                          "icon": "bi-check2-square", "url": reverse("retrieval:approvals"),
                          "key": "approvals"})
            cards.append({"label": _("已上报属地政府"), "value": counts["escalated"],
                          "icon": "bi-bank", "url": f"{cases_url}?status=escalated",
                          "key": "cases_escalated"})
        else:
            cards.append(card("attempts", "bi-alarm"))
        cards.append(card("reminders", "bi-bell"))
    ctx["cards"] += cards
    ctx["blocks"].append({"template": "retrieval/_home_inbox.html",
                          "sections": [s for s in sections if s.count],
                          "total": inbox_total(sections)})


def student_panel(request, student) -> dict | None:
    alerts = (Alert.objects.visible_to(request.user)
              .filter(Q(student=student) | Q(subject=student.id_number))
              .select_related("school").order_by("-raised_at"))
    cases = (RetrievalCase.objects.visible_to(request.user)
             .filter(Q(student=student) | Q(id_number=student.id_number))
             .order_by("-opened_at"))
    alerts, cases = list(alerts), list(cases)
    return {"title": _("疑似辍学预警与劝返"), "template": "retrieval/_student_panel.html",
            "alerts": alerts, "cases": cases}
