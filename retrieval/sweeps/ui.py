"""Menu and demo hooks of the sweeps, registered from RetrievalConfig.ready()."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kongchuo import plugins
from kongchuo.access.scoping import Role
from kongchuo.calendar.schoolyear import today
from kongchuo.plugins import MenuItem
from retrieval.sweeps.demo import seed_demo_alerts
from retrieval.sweeps.schedule import schedule_rows, year_calendar
from retrieval.sweeps.selectors import runs_in_trouble


def sweeps_home(request, scope, ctx) -> None:
    """The county home's 自动排查 block: this month's scheduled sweeps in words, and any running
    sweep with a partition interrupted (its worker died) or re-sent. Two queries."""
    if scope.role != Role.COUNTY:
        return
    month = today().month
    ctx["blocks"].append({"template": "retrieval/_home_sweeps.html", "month": month,
                          "runs": year_calendar(schedule_rows())[month - 1]["runs"],
                          "trouble": runs_in_trouble()})


def register_sweeps_ui() -> None:
    plugins.register("menu_item",
                     MenuItem("排查预警", _("排查任务"), "retrieval:sweep_list", (Role.COUNTY,),
                              "bi-calendar2-check", 30),
                     MenuItem("排查预警", _("排查计划"), "retrieval:sweep_schedule", (Role.COUNTY,),
                              "bi-calendar-week", 31))
    plugins.register("seeder", seed_demo_alerts, order=500)
    plugins.register("home_card", sweeps_home)
