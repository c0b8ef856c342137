"""The sweeps' default beat schedule (DESIGN.md §3), as django-celery-beat rows.

Created once by `migrate`; support staff edit them in the admin (Periodic tasks) afterwards, and
this migration never overwrites an edited row (get_or_create by name). Times are Asia/Shanghai.
"""

import json

from django.db import migrations
from django.utils import timezone

TASK = "retrieval.tasks.sweep_scheduled"

# (sweep, label, minute, hour, day_of_month, month_of_year, day_of_week)
SCHEDULE = [
    ("return_check", "返校核查（2–3月、9月每日）", "10", "1", "*", "2,3,9", "*"),
    ("grade9_screening", "九年级排查（5–6月每周一）", "20", "1", "*", "5,6", "1"),
    ("census", "适龄儿童摸排（7–8月每周一）", "30", "1", "*", "7,8", "1"),
    ("feedback_verification", "反馈名单核查催办（11–12月每周一）", "40", "1", "*", "11,12", "1"),
    ("home_teaching", "送教上门次数核查（每月3日，查上月）", "0", "2", "3", "*", "*"),
    ("aid_coverage", "资助覆盖核查（3月、10月15日）", "10", "2", "15", "3,10", "*"),
    ("absence", "连续缺课核查（每日）", "20", "2", "*", "*", "*"),
    ("expiries", "延缓入学/休学到期（每日）", "30", "2", "*", "*", "*"),
    ("overdue", "劝返超期督办（每日）", "40", "2", "*", "*", "*"),
]


def task_name(sweep: str, label: str) -> str:
    return f"排查 {sweep}：{label}"


def create(apps, schema_editor):
    Crontab = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for sweep, label, minute, hour, dom, moy, dow in SCHEDULE:
        name = task_name(sweep, label)
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab, _ = Crontab.objects.get_or_create(
            minute=minute, hour=hour, day_of_month=dom, month_of_year=moy, day_of_week=dow,
            timezone="Asia/Shanghai")
        PeriodicTask.objects.create(
            name=name, task=TASK, crontab=crontab, kwargs=json.dumps({"sweep": sweep}),
            enabled=True, description=f"retrieval sweep {sweep} (as of the day it runs)")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task=TASK).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("retrieval", "0003_alert_reminders"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
