"""`python manage.py run_sweep NAME --as-of YYYY-MM-DD [--township CODE] [--json]`.

Runs a sweep by hand for any date, in this process (partition by partition), and records a
SweepRun like any other run. `--json` prints exactly one JSON object: sweep, as_of, period,
created, already_open, resolved and the alerts this run created.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from retrieval.sweeps import SWEEP_NAMES
from retrieval.sweeps.base import SweepError
from retrieval.sweeps.runner import parse_as_of, run_summary, sweep_run_now


class Command(BaseCommand):
    help = "Run a sweep by hand for any date (in-process), e.g. run_sweep return_check --as-of 2024-03-01"

    def add_arguments(self, parser):
        parser.add_argument("name", help=f"one of: {', '.join(SWEEP_NAMES)}")
        parser.add_argument("--as-of", dest="as_of", help="基准日期 YYYY-MM-DD (default: today)")
        parser.add_argument("--township", help="乡镇代码 (9 digits), or 'direct' for county-direct "
                                               "schools; default: the whole county")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, name, as_of, township, json: bool, **opts):
        try:
            day = parse_as_of(as_of)
            run = sweep_run_now(sweep=name, as_of=day, township=township or None, trigger="cli")
        except SweepError as exc:
            raise CommandError(str(exc)) from exc
        if run.status != run.Status.SUCCEEDED:
            raise CommandError(_("排查失败：%(message)s") % {"message": run.message})
        if json:
            self.stdout.write(_dumps(run_summary(run)))
            return
        self.stdout.write(self.style.SUCCESS(
            _("%(sweep)s %(as_of)s（%(period)s）：新增 %(created)s，已有 %(already_open)s，"
              "解除 %(resolved)s，用时 %(ms)s 毫秒")
            % {"sweep": run.sweep, "as_of": run.as_of, "period": run.period, "created": run.created,
               "already_open": run.already_open, "resolved": run.resolved, "ms": run.duration_ms}))
        for key, entry in run.per_township.items():
            self.stdout.write(f"  {key:<10} {entry.get('label', ''):<12} "
                              f"+{entry.get('created', 0)} ={entry.get('already_open', 0)} "
                              f"-{entry.get('resolved', 0)}")


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
