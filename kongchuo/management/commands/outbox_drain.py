from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext

from kongchuo.jobs.outbox import outbox_publish
from kongchuo.models import OutboxMessage


class Command(BaseCommand):
    help = "Publish the Celery tasks queued in the outbox while the broker was unavailable."

    def handle(self, *args: Any, **opts: Any) -> None:
        sent = outbox_publish()
        left = OutboxMessage.objects.count()
        self.stdout.write(gettext("已发送：%(sent)s；待发送：%(left)s") % {"sent": sent, "left": left})
