"""The sweeps of the yearly calendar (DESIGN.md §3): one module per sweep, a common runner.

`get_sweep(name)` returns a sweep's `Sweep` spec; `retrieval.sweeps.runner` runs it (in-process
for the CLI, or partitioned by township, one Celery task each, through `retrieval.tasks`).
"""

from __future__ import annotations

from importlib import import_module

from django.utils.translation import gettext as _

from retrieval.sweeps.base import SweepError

#: Sweep names in calendar order; each is the module `retrieval.sweeps.<name>` exposing SWEEP.
SWEEP_NAMES = (
    "return_check", "grade9_screening", "census", "feedback_verification", "home_teaching",
    "aid_coverage", "absence", "expiries", "overdue", "transfer_unreceived",
)


def get_sweep(name: str):
    if name not in SWEEP_NAMES:
        raise SweepError(_("未知排查：%(name)s（可选：%(names)s）")
                         % {"name": repr(name), "names": ", ".join(SWEEP_NAMES)})
    return import_module(f"retrieval.sweeps.{name}").SWEEP


def all_sweeps() -> list:
    return [get_sweep(n) for n in SWEEP_NAMES]
