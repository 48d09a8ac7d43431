"""A trigram index for the agreement list's search in the signatories' names (upper-case, as `icontains`
compares): each word of a search looked through all of them, twice a page (6,000 at full scale: 1.5 ms each).
PostgreSQL only (no GIN on SQLite); pg_trgm comes from `vielfalt` 0017."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX signatory_name_search ON partnerships_signatory USING gin (UPPER(name) gin_trgm_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS signatory_name_search")


class Migration(migrations.Migration):
    dependencies = [
        ("partnerships", "0008_agreement_count"),
        ("vielfalt", "0017_employee_search_trigram"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
