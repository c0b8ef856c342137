"""The sweeps' own watchdog task is gone: the jobs watchdog (`kongchuo.jobs_watchdog`) runs the
sweeps' check. Beat copied the old entry of CELERY_BEAT_SCHEDULE into a PeriodicTask row, which
it never deletes; without this the row would keep sending a task no worker knows."""

from django.db import migrations
from django.utils import timezone

NAME = "retrieval-sweep-watchdog"
TASK = "retrieval.sweep_watchdog"


def forward(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=NAME, task=TASK).delete()[0]:
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("retrieval", "0009_census_runs_in_september"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    # Backwards: nothing to restore; an older release's beat writes its entry again at start.
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
