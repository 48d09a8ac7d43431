"""`manage.py check_archive`: read every stored agreement document again and compare it with its recorded
SHA-256, as the daily beat task does (the administrators are e-mailed about any missing or changed). Exits with
an error when one is, so that a cron job or a monitoring check notices too."""

from django.core.management.base import BaseCommand, CommandError

from partnerships.models import AgreementDocument
from partnerships.services import documents_check_archive
from vielfalt.permissions import SYSTEM


class Command(BaseCommand):
    help = "Check every stored agreement document against its recorded SHA-256; e-mail the administrators."

    def handle(self, *args, **options):
        counts = documents_check_archive(actor=SYSTEM)
        for state, label in AgreementDocument.ArchiveState.choices:
            self.stdout.write(f"{label}: {counts[state]}")
        damaged = (
            counts[AgreementDocument.ArchiveState.MISSING] + counts[AgreementDocument.ArchiveState.CHANGED]
        )
        if damaged:
            raise CommandError(f"{damaged} agreement document(s) missing or changed.")
