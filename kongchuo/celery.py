"""The Celery app. Broker from REDIS_URL; without it tasks run in-process (the quick start)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kongchuo.settings")

app = Celery("kongchuo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The shared machinery's periodic tasks live in a subpackage, not in kongchuo/tasks.py.
app.autodiscover_tasks(["kongchuo.jobs"])
