"""Make the audit table append-only on PostgreSQL: UPDATE and DELETE raise.

Retention (≥ 183 days) follows: the application has no way to remove rows; an operator purging
rows older than the retention window must drop the trigger deliberately, by hand.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION kongchuo_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'kongchuo_auditevent is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER kongchuo_auditevent_no_update BEFORE UPDATE OR DELETE ON kongchuo_auditevent
    FOR EACH ROW EXECUTE FUNCTION kongchuo_audit_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS kongchuo_auditevent_no_update ON kongchuo_auditevent;
DROP FUNCTION IF EXISTS kongchuo_audit_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            "CREATE TRIGGER kongchuo_auditevent_no_update BEFORE UPDATE ON kongchuo_auditevent "
            "BEGIN SELECT RAISE(ABORT, 'kongchuo_auditevent is append-only'); END;")
        schema_editor.execute(
            "CREATE TRIGGER kongchuo_auditevent_no_delete BEFORE DELETE ON kongchuo_auditevent "
            "BEGIN SELECT RAISE(ABORT, 'kongchuo_auditevent is append-only'); END;")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS kongchuo_auditevent_no_update")
        schema_editor.execute("DROP TRIGGER IF EXISTS kongchuo_auditevent_no_delete")


class Migration(migrations.Migration):
    dependencies = [("kongchuo", "0002_initial")]
    operations = [migrations.RunPython(forward, backward)]
