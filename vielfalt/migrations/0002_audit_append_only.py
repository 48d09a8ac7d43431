"""On PostgreSQL the database itself refuses to change or delete audit entries."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION vielfalt_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER vielfalt_auditentry_append_only
    BEFORE UPDATE OR DELETE ON vielfalt_auditentry
    FOR EACH ROW EXECUTE FUNCTION vielfalt_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS vielfalt_auditentry_append_only ON vielfalt_auditentry;
DROP FUNCTION IF EXISTS vielfalt_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("vielfalt", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
