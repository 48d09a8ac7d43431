"""`manage.py purge_personal_data [--dry-run]`: apply the retention periods (Löschkonzept) now."""

from django.core.management.base import BaseCommand

from vielfalt.permissions import SYSTEM
from vielfalt.programme.privacy import purge, purge_labels


class Command(BaseCommand):
    help = (
        "Apply the retention periods: pseudonymise inactive employees, delete survey token hashes of closed "
        "campaigns and old job files, pseudonymise old audit entries. Writes one audit entry with the counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be purged.")

    def handle(self, *args, dry_run, **options):
        counts = purge(actor=SYSTEM, dry_run=dry_run)
        labels = purge_labels()
        self.stdout.write("Dry run: nothing changed." if dry_run else "Purged:")
        for kind, count in counts.items():
            self.stdout.write(f"  {labels[kind]}: {count}")
