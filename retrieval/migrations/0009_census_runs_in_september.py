"""The census sweep also runs in September: from the day the autumn term opens, its 两一 rule
(b) looks for primary graduates found in no grade 7 (issue 16).

Moves the default schedule row of 0004 from July–August to July–September, and renames it.
A row support staff have edited (another crontab) is left as they set it.
"""

from django.db import migrations
from django.utils import timezone

TASK = "retrieval.tasks.sweep_scheduled"
OLD_NAME = "排查 census：适龄儿童摸排（7–8月每周一）"
NEW_NAME = "排查 census：适龄儿童摸排（7–9月每周一）"


def _move(apps, old_name, new_name, old_months, new_months):
    Crontab = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    task = PeriodicTask.objects.filter(name=old_name, task=TASK).select_related("crontab").first()
    if task is None or task.crontab is None or task.crontab.month_of_year != old_months:
        return
    old = task.crontab
    crontab, _ = Crontab.objects.get_or_create(
        minute=old.minute, hour=old.hour, day_of_month=old.day_of_month,
        month_of_year=new_months, day_of_week=old.day_of_week, timezone=old.timezone)
    task.crontab = crontab
    task.name = new_name
    task.save(update_fields=["crontab", "name"])
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def forward(apps, schema_editor):
    _move(apps, OLD_NAME, NEW_NAME, "7,8", "7,8,9")


def backward(apps, schema_editor):
    _move(apps, NEW_NAME, OLD_NAME, "7,8,9", "7,8")


class Migration(migrations.Migration):

    dependencies = [
        ("retrieval", "0008_transfer_unreceived_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
