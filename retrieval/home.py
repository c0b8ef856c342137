"""What the 劝返 workflow adds to other apps' pages: home-page cards and inbox, and the
student-page panel (registered in RetrievalConfig.ready(); the lower apps never import us)."""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from kongchuo.schoolyear import today
from kongchuo.scoping import Role
from retrieval import selectors as sel
from retrieval.cases import Escalation, RetrievalCase
from retrieval.models import Alert


def retrieval_home(request, scope, ctx) -> None:
    user = request.user
    sections = sel.inbox_for(user, today())
    by_key = {s.key: s for s in sections}
    cases_url = reverse("retrieval:cases")
    cards = []
    if scope.role == Role.TOWNSHIP_GOV:
        esc = Escalation.objects.filter(township_id=scope.township_id).aggregate(
            pending=Count("pk", filter=Q(status=Escalation.Status.PENDING)),
            late=Count("pk", filter=Q(status=Escalation.Status.PENDING, deadline__lt=today())))
        cards += [
            {"label": _("待处置上报案件"), "value": esc["pending"], "icon": "bi-bell",
             "url": f"{cases_url}?status=escalated"},
            {"label": _("逾期未处置"), "value": esc["late"], "icon": "bi-alarm",
             "url": f"{cases_url}?status=escalated"},
        ]
    else:
        open_alerts = Alert.objects.visible_to(user).open().count()
        counts = sel.case_counts(user)
        cards += [
            {"label": _("未处理预警"), "value": open_alerts, "icon": "bi-exclamation-triangle",
             "url": f"{reverse('retrieval:alerts')}?status=open"},
            {"label": _("劝返中案件"), "value": counts["open"] + counts["escalated"]
             + counts["closure_requested"], "icon": "bi-person-walking",
             "url": f"{cases_url}?status=active"},
        ]
        if scope.role in (Role.TOWNSHIP, Role.COUNTY):
            waiting = sum(by_key[k].count for k in ("reviews", "closures") if k in by_key)
            cards.append({"label": _("待我审批"), "value": waiting, "icon": "bi-check2-square",
                          "url": reverse("retrieval:approvals")})
            cards.append({"label": _("已上报属地政府"), "value": counts["escalated"],
                          "icon": "bi-bank", "url": f"{cases_url}?status=escalated"})
        else:
            cards.append({"label": _("超7天未劝返"), "value": by_key["attempts"].count,
                          "icon": "bi-alarm", "url": reverse("retrieval:inbox")})
    ctx["cards"] += cards
    ctx["blocks"].append({"template": "retrieval/_home_inbox.html",
                          "sections": [s for s in sections if s.count],
                          "total": sel.inbox_total(sections)})


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
