"""The 转出未接收 sweep's beat schedule row (daily), beside the others of 0004_sweep_schedule.

Created once; support staff edit it in the admin afterwards, and this migration never
overwrites an edited row (looked up by name). Times are Asia/Shanghai.
"""

import json

from django.db import migrations
from django.utils import timezone

TASK = "retrieval.tasks.sweep_scheduled"
SWEEP = "transfer_unreceived"
NAME = "排查 transfer_unreceived：转出未接收（每日）"


def create(apps, schema_editor):
    Crontab = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    crontab, _ = Crontab.objects.get_or_create(
        minute="50", hour="2", day_of_month="*", month_of_year="*", day_of_week="*",
        timezone="Asia/Shanghai")
    PeriodicTask.objects.create(
        name=NAME, task=TASK, crontab=crontab, kwargs=json.dumps({"sweep": SWEEP}),
        enabled=True, description=f"retrieval sweep {SWEEP} (as of the day it runs)")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("retrieval", "0007_alert_rules_transfers_rosters_support"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
