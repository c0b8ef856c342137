from django.core.management.base import BaseCommand

from kongchuo.jobs.outbox import outbox_publish
from kongchuo.models import OutboxMessage


class Command(BaseCommand):
    help = "Publish the Celery tasks queued in the outbox while the broker was unavailable."

    def handle(self, *args, **opts):
        sent = outbox_publish()
        left = OutboxMessage.objects.count()
        self.stdout.write(f"已发送 / sent: {sent}; 待发送 / still pending: {left}")
