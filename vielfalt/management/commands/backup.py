"""`manage.py backup`: one archive (database, media files, manifest with SHA-256 sums) into a folder."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from vielfalt.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Write one backup archive (database dump, media files, manifest with SHA-256 sums)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output-dir",
            default=str(settings.BASE_DIR / "backups"),
            help="Folder for the archive (default: backups/ in the project folder).",
        )

    def handle(self, *args, output_dir, **options):
        try:
            archive = backup_create(output_dir=Path(output_dir))
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(str(archive))
