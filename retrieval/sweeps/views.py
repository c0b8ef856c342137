"""The sweep pages (county users): the calendar with "run now", and a run's progress (htmx)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from kongchuo.access.scoping import Role, require_role
from retrieval.models import SweepRun
from retrieval.sweeps import get_sweep
from retrieval.sweeps.base import DIRECT, DIRECT_LABEL, SweepError
from retrieval.sweeps.forms import SweepRunForm
from retrieval.sweeps.runner import sweep_run_start
from retrieval.sweeps.selectors import created_alerts, partition_rows, sweep_overview
from students.models import Township

RECENT_RUNS = 20
# gettext_lazy by its own name: makemessages knows it (an alias such as `_lazy` is not extracted).
TRIGGERS = {"manual": gettext_lazy("页面手动"), "beat": gettext_lazy("自动计划"),
            "cli": gettext_lazy("命令行"), "seed": gettext_lazy("演示数据"),
            "import": gettext_lazy("名单导入")}


def _list_context(form: SweepRunForm) -> dict:
    runs = list(SweepRun.objects.select_related("triggered_by")[:RECENT_RUNS])
    townships = _township_names({r.township_code for r in runs})
    for r in runs:
        r.trigger_label = TRIGGERS.get(r.trigger, r.trigger)
        r.sweep_label = _label(r.sweep)
        r.scope_label = _scope_label(r.township_code, townships)
    return {"sweeps": sweep_overview(), "form": form, "runs": runs}


@login_required
@require_GET
def sweep_list(request):
    require_role(request.user, Role.COUNTY)
    initial = {"sweep": request.GET.get("sweep", "")} if request.GET.get("sweep") else None
    return render(request, "retrieval/sweeps.html", _list_context(SweepRunForm(initial=initial)))


@login_required
@require_POST
def sweep_start(request):
    require_role(request.user, Role.COUNTY)
    form = SweepRunForm(request.POST)
    if not form.is_valid():
        return render(request, "retrieval/sweeps.html", _list_context(form), status=400)
    try:
        run = sweep_run_start(sweep=form.cleaned_data["sweep"], as_of=form.cleaned_data["as_of"],
                              township=form.cleaned_data["township"] or None, user=request.user,
                              trigger="manual", request=request)
    except SweepError as exc:
        form.add_error(None, str(exc))
        return render(request, "retrieval/sweeps.html", _list_context(form), status=400)
    messages.success(request, _("排查已开始"))
    return redirect("retrieval:sweep_run", pk=run.pk)


@login_required
@require_GET
def sweep_run(request, pk: int):
    """The run's progress; htmx polls the same URL for the progress fragment while it runs."""
    require_role(request.user, Role.COUNTY)
    run = get_object_or_404(SweepRun.objects.select_related("triggered_by"), pk=pk)
    entries = partition_rows(run)
    done = sum(1 for _k, v in entries if v.get("state") in ("done", "failed"))
    context = {"run": run, "entries": entries, "done": done, "total": len(entries),
               "label": _label(run.sweep), "trigger_label": TRIGGERS.get(run.trigger, run.trigger),
               "scope_label": _scope_label(run.township_code, _township_names([run.township_code]))}
    if request.htmx:
        return render(request, "retrieval/sweeps_progress.html", context)
    context["alerts"] = created_alerts(run)
    context["alert_url"] = _alert_url_prefix()
    return render(request, "retrieval/sweeps_run.html", context)


def _township_names(codes) -> dict[str, str]:
    codes = [c for c in codes if c]
    return dict(Township.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}


def _scope_label(code: str, names: dict[str, str]) -> str:
    """Where a run looked: 全县, or the township's name (never its code)."""
    if not code:
        return str(_("全县"))
    if code == DIRECT:
        return str(DIRECT_LABEL)
    return names.get(code, code)


def _label(name: str) -> str:
    try:
        return str(get_sweep(name).label)
    except SweepError:
        return name


def _alert_url_prefix() -> str:
    """The alert inbox's detail URL (the workflow's pages), if it is installed."""
    try:
        return reverse("retrieval:alert", args=[0]).removesuffix("0/")
    except NoReverseMatch:
        return ""
