"""Menu and demo hooks of the sweeps, registered from RetrievalConfig.ready()."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register_sweeps_ui() -> None:
    from kongchuo.menu import MenuItem, register
    from kongchuo.scoping import Role
    from kongchuo.seeding import register_seeder
    from retrieval.sweeps.demo import seed_demo_alerts

    register(MenuItem("排查预警", _("排查任务"), "retrieval:sweep_list", (Role.COUNTY,),
                      "bi-calendar2-check", 30),
             MenuItem("排查预警", _("排查计划"), "retrieval:sweep_schedule", (Role.COUNTY,),
                      "bi-calendar-week", 31))
    register_seeder(seed_demo_alerts, order=500)
