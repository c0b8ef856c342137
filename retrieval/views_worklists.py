"""帮扶对象未入学: the children on a support list found in no school, per township (issue 16).

The same rule as the census sweep's 帮扶对象未入学 alerts (retrieval.sweeps.census
.support_unaccounted), read as of today through the user's SupportMark.objects.visible_to:
a township sees the children of its 户籍, the county all of them.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_safe

from kongchuo.access.idnumbers import birth_date_of, mask_id
from kongchuo.access.params import query_int
from kongchuo.access.scoping import Role, require_role
from kongchuo.calendar.schoolyear import today
from retrieval.models import Alert
from retrieval.sweeps.census import support_unaccounted
from students.models import SupportMark, Township


@login_required
@require_safe
def support_unenrolled(request):
    scope = require_role(request.user, Role.COUNTY, Role.TOWNSHIP)
    day = today()
    township = None
    township_id = query_int(request.GET, "township")
    if scope.is_county and township_id:
        township = Township.objects.filter(pk=township_id).first()
    qs = support_unaccounted(day, marks=SupportMark.objects.visible_to(request.user),
                             township_id=township.pk if township else None)
    qs = qs.select_related("township").order_by("route", "name", "pk")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    ids = [m.id_number for m in page.object_list]
    lists: dict[str, list[str]] = {}
    for id_number, kind in (SupportMark.objects.filter(id_number__in=ids).order_by("kind")
                            .values_list("id_number", "kind")):
        lists.setdefault(id_number, []).append(str(SupportMark.Kind(kind).label))
    alerted = set(Alert.objects.visible_to(request.user)
                  .filter(rule=Alert.Rule.SUPPORT_UNENROLLED, subject__in=ids)
                  .values_list("subject", flat=True))
    towns = {t.pk: t.name for t in Township.objects.all()}
    rows = [{"mark": m, "masked": mask_id(m.id_number), "lists": "、".join(lists.get(m.id_number, [])), "born": birth_date_of(m.id_number),
             "township": towns.get(m.route, ""), "alerted": m.id_number in alerted}
            for m in page.object_list]
    return render(request, "retrieval/support_unenrolled.html", {
        "page": page, "rows": rows, "township": township,
        "townships": Township.objects.all() if scope.is_county else None, "today": day})
