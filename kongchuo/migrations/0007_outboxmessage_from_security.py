"""The task outbox belongs to the jobs machinery (kongchuo/jobs/), not to security: the model
moves to this app, its table stays (state only, no data touched)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("kongchuo", "0006_job_heartbeat_at"),
        ("security", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OutboxMessage",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("task_name", models.CharField(max_length=200)),
                        ("args", models.JSONField(blank=True, default=list)),
                        ("kwargs", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("last_error", models.CharField(blank=True, max_length=300)),
                    ],
                    options={"ordering": ["id"], "db_table": "security_outboxmessage"},
                ),
            ],
            database_operations=[],
        ),
    ]
