"""Home-page figures of the core app, placeholder level: the dashboards app replaces them
(`plugins.unregister("home_card", core_home)` in DashboardsConfig.ready)."""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext

from kongchuo.access.scoping import Role
from students.models import School, Student


def core_home(request, scope, ctx) -> None:
    students = Student.objects.visible_to(request.user)
    if scope.role == Role.TOWNSHIP_GOV:
        return
    agg = students.aggregate(
        enrolled=Count("pk", filter=Q(status=Student.Status.ENROLLED)),
        suspended=Count("pk", filter=Q(status=Student.Status.SUSPENDED)),
        poor=Count("pk", filter=Q(is_poor=True) | Q(is_dibao=True) | Q(is_tekun=True)
                   | Q(is_monitored=True)),
        disabled=Count("pk", filter=~Q(disability_category="")),
    )
    url = reverse("students:list")
    ctx["cards"] += [
        {"label": gettext("在读学生"), "value": agg["enrolled"], "url": f"{url}?status=enrolled", "icon": "bi-people"},
        {"label": gettext("休学"), "value": agg["suspended"], "url": f"{url}?status=suspended", "icon": "bi-pause-circle"},
        {"label": gettext("困难家庭学生"), "value": agg["poor"], "url": f"{url}?flag=is_poor", "icon": "bi-heart"},
        {"label": gettext("残疾学生"), "value": agg["disabled"], "url": f"{url}?flag=disabled", "icon": "bi-universal-access"},
    ]
    if scope.role in (Role.COUNTY, Role.TOWNSHIP):
        ctx["cards"].append({"label": gettext("学校"), "value": School.objects.visible_to(request.user).count(),
                             "url": reverse("students:schools"), "icon": "bi-building"})
