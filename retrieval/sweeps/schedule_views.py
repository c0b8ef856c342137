"""排查计划 (county users): the year's sweeps in words, and each sweep's schedule changed in a
form instead of the admin. Audited (`sweep_schedule`)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_celery_beat.models import PeriodicTask

from kongchuo.access.scoping import Role, require_role
from kongchuo.portal.menu import menu_section
from retrieval.sweeps.forms import SweepScheduleForm
from retrieval.sweeps.schedule import schedule_rows, shape_of, sweep_schedule_set, words, year_calendar
from retrieval.sweeps.selectors import SCHEDULED_TASK


@login_required
@require_GET
def sweep_schedule(request):
    require_role(request.user, Role.COUNTY)
    rows = schedule_rows()
    return render(request, "retrieval/sweep_schedule.html",
                  {"rows": rows, "months": year_calendar(rows)})


@login_required
@require_http_methods(["GET", "POST"])
def sweep_schedule_edit(request, pk: int):
    require_role(request.user, Role.COUNTY)
    task = get_object_or_404(PeriodicTask.objects.select_related("crontab"), pk=pk, task=SCHEDULED_TASK)
    menu_section(request, "retrieval:sweep_schedule")
    row = next(r for r in schedule_rows() if r["task"].pk == task.pk)
    if request.method == "POST":
        form = SweepScheduleForm(request.POST)
        if form.is_valid():
            task = sweep_schedule_set(task_id=task.pk, enabled=form.cleaned_data["enabled"],
                                      shape=form.shape(), user=request.user, request=request)
            state = _("已启用") if task.enabled else _("已停用")
            messages.success(request, _("%(label)s：%(words)s（%(state)s）") % {
                "label": row["label"], "words": words(task.crontab), "state": state})
            return redirect("retrieval:sweep_schedule")
        status = 400
    else:
        shape = row["shape"] or shape_of(task.crontab)
        form = SweepScheduleForm(initial=SweepScheduleForm.initial_for(task, shape))
        status = 200
    return render(request, "retrieval/sweep_schedule_edit.html",
                  {"row": row, "form": form}, status=status)
