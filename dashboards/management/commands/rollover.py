"""`python manage.py rollover --year YYYY [--dry-run] [--revert] [--json]`: close school year
YYYY–YYYY+1 (学年结转), the same service as the county's browser page (dashboards.yearclose).

`--json` prints exactly one object with the keys year, students, promoted, graduated_primary,
graduated_junior, held_back, repeated, already_done (and, when refused, error and children).
Exit codes: 0 done, already done, or a clean dry run; 1 refused (the reason is printed);
2 bad arguments.
"""

from __future__ import annotations

import json
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation
from django.utils.translation import gettext

from dashboards.yearclose import RolloverRefused, RolloverResult, school_year_close, school_year_reopen
from kongchuo.calendar.schoolyear import parse_year, year_label
from students.rollover import rollover_preview


class Command(BaseCommand):
    help = "Close school year YYYY–YYYY+1 (学年结转): promote, graduate, hold back (or --revert it)"

    def add_arguments(self, parser):
        parser.add_argument("--year", required=True, help="学年 YYYY (2024 = 2024–2025学年)")
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")
        parser.add_argument("--revert", action="store_true", help="undo the rollover of that year")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, year: str, dry_run: bool, revert: bool, json: bool, **opts):
        translation.activate(settings.LANGUAGE_CODE)
        try:
            the_year = parse_year(year)
        except ValueError as exc:
            self.stderr.write(str(exc))
            sys.exit(2)
        try:
            if revert:
                result = school_year_reopen(year=the_year, dry_run=dry_run)
            elif dry_run:
                preview = rollover_preview(the_year)
                if preview.refusal:
                    raise RolloverRefused(preview.refusal)
                result = preview.result
            else:
                result = school_year_close(year=the_year)
        except RolloverRefused as exc:
            self._refused(the_year, exc, json)
            sys.exit(1)
        if json:
            self.stdout.write(_dumps(result.as_json()))
        else:
            self._report(result, revert=revert, dry_run=dry_run)

    def _refused(self, year: int, exc: RolloverRefused, as_json: bool) -> None:
        if as_json:
            self.stdout.write(_dumps({**RolloverResult(year=year).as_json(), "error": str(exc),
                                      "children": exc.children}))
        else:
            self.stderr.write(gettext("未执行：%(reason)s") % {"reason": exc})

    def _report(self, r: RolloverResult, *, revert: bool, dry_run: bool) -> None:
        label = year_label(r.year)
        if r.already_done:
            head = gettext("%(year)s已结转，未做任何改动")
        elif revert:
            head = gettext("%(year)s结转可撤销（预览，未写入）") if dry_run else gettext("%(year)s结转已撤销")
        else:
            head = gettext("%(year)s结转预览（未写入）") if dry_run else gettext("%(year)s结转完成")
        self.stdout.write(self.style.SUCCESS(head % {"year": label}))
        self.stdout.write(gettext(
            "  学生 %(students)d · 升级 %(promoted)d · 小学毕业 %(graduated_primary)d · "
            "初中毕业 %(graduated_junior)d · 不升级 %(held_back)d · 留级 %(repeated)d") % {
            "students": r.students, "promoted": r.promoted, "graduated_primary": r.graduated_primary,
            "graduated_junior": r.graduated_junior, "held_back": r.held_back, "repeated": r.repeated})


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
