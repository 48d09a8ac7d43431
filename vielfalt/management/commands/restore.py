"""`manage.py restore FILE`: restore a backup archive into an empty database and media folder."""

from pathlib import Path

import environ
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from vielfalt.backup import BackupError, Target, backup_restore
from vielfalt.dbroles import grant_runtime_role


class Command(BaseCommand):
    help = (
        "Restore a backup archive into an EMPTY database and media folder, checking every SHA-256 sum before "
        "and every table's row count and every file's sum after."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The archive written by `manage.py backup`.")
        parser.add_argument(
            "--database-url", help="Restore into this database instead of DATABASE_URL (it must be empty)."
        )
        parser.add_argument(
            "--media-root", help="Restore the files here instead of MEDIA_ROOT (must be empty)."
        )

    def handle(self, *args, archive, database_url=None, media_root=None, **options):
        path = Path(archive)
        if not path.is_file():
            raise CommandError(f"No such archive: {archive}")
        database = environ.Env.db_url_config(database_url) if database_url else settings.DATABASES["default"]
        target = Target(database=database, media_root=Path(media_root or settings.MEDIA_ROOT))
        try:
            manifest = backup_restore(archive=path, target=target)
        except BackupError as error:
            raise CommandError(str(error)) from error
        # Restored as the owner (MIGRATE_DATABASE_URL): the runtime role gets its rights, as after `migrate`
        # (the archive holds no privileges: they belong to the installation, not to the data).
        role = settings.DATABASE_RUNTIME_ROLE
        if not database_url and manifest["engine"] == "postgresql" and role and role != database.get("USER"):
            grant_runtime_role(connection, role)
        files = sum(1 for name in manifest["files"] if name.startswith("media/"))
        rows = sum(manifest["tables"].values())
        self.stdout.write(
            f"Restored {len(manifest['tables'])} tables ({rows} rows) and {files} files from {path.name}; "
            "all sums and counts match."
        )
        # What was pseudonymised or erased after the archive was written is back (GDPR Art. 5(1)(e), 17): the
        # operator must apply the retention periods again before the portal serves the data, and repeat the
        # erasures on request since then from their own record (the audit log saying so is not in the archive).
        written = manifest["created_at"][:16].replace("T", " ")
        self.stdout.write(
            self.style.WARNING(
                f"The archive was written at {written} UTC: personal data pseudonymised or erased since then is "
                "back. Before the portal serves it, run `manage.py purge_personal_data` on this database, and "
                f"repeat every erasure on request (Art. 17 GDPR) made since {written[:10]}."
            )
        )
