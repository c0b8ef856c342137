"""python manage.py export_ledger NAME --scope CODE --out FILE.xlsx [--term T]

NAME: status_changes, returns, vocational, out_of_county, deferrals, home_teaching,
learning_support, aid, family_contact, absences, publicity. CODE: `county`, a township code or a
school code. T: 2024-spring / 2024-autumn (default: the current term). IDs are masked unless
--full is given with --reason; every run writes an audit row.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from kongchuo.calendar.schoolyear import current_term, parse_term
from ledgers.exports import ExportScopeError, scope_from_code
from ledgers.registry import LEDGER_NAMES
from ledgers.services import ledger_export


class Command(BaseCommand):
    help = "Export a ledger (台账) in the official layout to an .xlsx file."

    def add_arguments(self, parser):
        parser.add_argument("name", choices=LEDGER_NAMES)
        parser.add_argument("--scope", required=True, help="county, a township code or a school code")
        parser.add_argument("--out", required=True, help="the .xlsx file to write")
        parser.add_argument("--term", help="2024-spring or 2024-autumn (default: current term)")
        parser.add_argument("--full", action="store_true", help="unmasked ID numbers (audited)")
        parser.add_argument("--reason", default="", help="why full IDs are needed (with --full)")

    def handle(self, *args, name, scope, out, term, full, reason, **opts):
        try:
            the_term = parse_term(term) if term else current_term()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        try:
            the_scope = scope_from_code(scope)
        except ExportScopeError as exc:
            raise CommandError(str(exc)) from exc
        path = Path(out)
        if path.suffix.lower() != ".xlsx":
            raise CommandError(gettext("输出文件应以 .xlsx 结尾"))
        if not path.parent.exists():
            raise CommandError(gettext("目录不存在：%(path)s") % {"path": path.parent})
        try:
            rows = ledger_export(name=name, out=str(path), scope=the_scope, term=the_term, full=full,
                              reason=reason, source="cli")
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(
            gettext("已导出 %(name)s（%(scope)s，%(term)s）：%(rows)d 行 → %(path)s") % {
                "name": name, "scope": the_scope.code, "term": the_term.code, "rows": rows, "path": path}))
