"""The task outbox moved to the kongchuo app (kongchuo 0007): this app forgets the model, the
table stays (state only, no data touched)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("security", "0001_initial"),
        ("kongchuo", "0007_outboxmessage_from_security"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="OutboxMessage")],
            database_operations=[],
        ),
    ]
