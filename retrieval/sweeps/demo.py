"""Demo alerts for `seed_demo`: run the sweeps over the fresh demo county, as of today.

Runs after the ledger seeder (order 500 > 20), in-process and set-based like any run. The 返校核查
runs for the first township only: the demo ledgers record 返校报到 there (most of each class),
so its alerts are the few who did not report back; county-wide it would flag every child of
the townships the demo leaves without return reports.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from kongchuo.calendar.schoolyear import today
from retrieval.sweeps.runner import sweep_run_now
from students.models import Township

COUNTY_WIDE = ("census", "aid_coverage", "home_teaching", "absence", "expiries")


def seed_demo_alerts(rng, stdout=None) -> None:
    as_of = today()
    runs = []
    first = Township.objects.order_by("code").first()
    if first is not None:
        runs.append(sweep_run_now(sweep="return_check", as_of=as_of, township=first.code,
                                  trigger="seed"))
    for name in COUNTY_WIDE:
        runs.append(sweep_run_now(sweep=name, as_of=as_of, trigger="seed"))
    if stdout is not None:
        stdout.write(_("演示预警：%(runs)s") % {"runs": ", ".join(f"{r.sweep} {r.created}" for r in runs)})
