"""`manage.py purge_personal_data [--dry-run] [--as-of DATE]`: apply the retention periods (Löschkonzept) now."""

from datetime import datetime, time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from vielfalt.permissions import SYSTEM
from vielfalt.programme.privacy import purge, purge_labels


class Command(BaseCommand):
    help = (
        "Apply the retention periods: pseudonymise inactive employees, delete survey token hashes of closed "
        "campaigns, old job files and login records, pseudonymise old audit entries. Writes one audit entry with "
        "the counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be purged.")
        parser.add_argument(
            "--as-of",
            help="Pretend today is this date (YYYY-MM-DD): what a later run would purge. Changes data only in "
            "debug mode (demo and tests); otherwise only with --dry-run.",
        )

    def handle(self, *args, dry_run, as_of=None, **options):
        now = timezone.now()
        if as_of:
            if not dry_run and not settings.DEBUG:
                raise CommandError(
                    "--as-of changes data only in debug mode; add --dry-run to see its counts."
                )
            try:
                day = datetime.strptime(as_of, "%Y-%m-%d").date()
            except ValueError as error:
                raise CommandError("--as-of takes a date as YYYY-MM-DD.") from error
            now = timezone.make_aware(datetime.combine(day, time(3, 15)))
        counts = purge(actor=SYSTEM, now=now, dry_run=dry_run)
        labels = purge_labels()
        self.stdout.write("Dry run: nothing changed." if dry_run else "Purged:")
        for kind, count in counts.items():
            self.stdout.write(f"  {labels[kind]}: {count}")
