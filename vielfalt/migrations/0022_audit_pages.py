"""The audit log read a page at a time newest first, however long it has grown (AuditLogView): indexes in the
order it is read, for the whole log and for each filter. Before, every page counted the whole log, and a filter
by user or a search in the descriptions read all of it (500,000 entries: 26 ms for the first page, 73 ms for a
user's entries, 232 ms for a search, 200 ms for page 5,000).

The user name's index is upper-case, as `iexact` compares, and with the description's trigram index is
PostgreSQL's only: on SQLite, UPPER is the portal's own function (vielfalt.sqlite), which an index there would
tie the database file to."""

from django.db import migrations, models


def _postgresql_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX audit_actor_time ON vielfalt_auditentry (UPPER(actor_name), at, id)"
    )
    schema_editor.execute(
        "CREATE INDEX audit_object_search ON vielfalt_auditentry USING gin (UPPER(object_repr) gin_trgm_ops)"
    )


def _drop_postgresql_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS audit_actor_time")
    schema_editor.execute("DROP INDEX IF EXISTS audit_object_search")


class Migration(migrations.Migration):
    dependencies = [("vielfalt", "0021_employee_search_by_organisation")]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="time"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["at", "id"], name="audit_time"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["action", "at", "id"], name="audit_action_time"),
        ),
        migrations.RunPython(_postgresql_indexes, _drop_postgresql_indexes),
    ]
