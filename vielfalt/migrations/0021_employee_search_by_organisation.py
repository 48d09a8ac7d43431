"""The employee search's trigram indexes (0017) keyed by organisation first. They held every organisation's
employees under one trigram: "Müller" in a city of 100,000 read 12,503 candidates on 3,483 pages, 10,003 of them
of other organisations, only to drop them (9.1 ms of PostgreSQL's time; 5.8 ms now, 2,500 rows on 1,886 pages).
btree_gin gives GIN the equality of a bigint; it is a trusted extension: the database's owner may create it.
PostgreSQL uses that column only for a bigint value, which is why permissions.scope types its numbers. Not on
SQLite (no GIN there)."""

from django.contrib.postgres.operations import BtreeGinExtension
from django.db import migrations

COLUMNS = ("last_name", "first_name", "personnel_number", "email")


def _indexes(schema_editor, key: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS employee_search_{column}")
        schema_editor.execute(
            f"CREATE INDEX employee_search_{column} ON vielfalt_employee USING gin ({key}UPPER({column}) gin_trgm_ops)"
        )


def forwards(apps, schema_editor):
    _indexes(schema_editor, "organisation_id, ")


def backwards(apps, schema_editor):
    _indexes(schema_editor, "")


class Migration(migrations.Migration):
    dependencies = [("vielfalt", "0020_employee_name_order")]

    operations = [BtreeGinExtension(), migrations.RunPython(forwards, backwards)]
