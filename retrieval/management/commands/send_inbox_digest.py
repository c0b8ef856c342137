"""E-mail every user with an address what is due at their scope (console backend by default)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from retrieval.inbox import inbox_digest_send


class Command(BaseCommand):
    help = "Send each user a digest of their to-do inbox (alerts, approvals, escalations, …)."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today)")

    def handle(self, *args, as_of=None, **options):
        day = None
        if as_of:
            try:
                day = dt.date.fromisoformat(as_of)
            except ValueError as exc:
                raise CommandError(_("--as-of 应为 YYYY-MM-DD：%(value)s") % {"value": repr(as_of)}) from exc
        sent = inbox_digest_send(as_of=day)
        self.stdout.write(f"sent {sent}")
