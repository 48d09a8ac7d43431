"""`manage.py refresh_collation`: after the ICU library under PostgreSQL changed (system check vielfalt.W002),
rebuild the indexes in the names' collation and record the new version (vielfalt.collation)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from vielfalt.collation import recorded_and_actual_version, refresh


class Command(BaseCommand):
    help = "Rebuild the indexes sorted by the names' ICU collation and record the ICU version now in use."

    def handle(self, *args, **options):
        versions = recorded_and_actual_version(connection)
        if versions is None:
            raise CommandError(
                "No collation vielfalt_names here (PostgreSQL only, after `manage.py migrate`)."
            )
        indexes = refresh(connection)
        self.stdout.write(
            f"Rebuilt {len(indexes)} indexes ({', '.join(indexes)}); ICU {versions[0]} → {versions[1]}."
        )
