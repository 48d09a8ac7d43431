from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from vielfalt.models import Organisation
from vielfalt.permissions import SYSTEM
from vielfalt.services import employees_import_file
from vielfalt.tabular import TableRefused


class Command(BaseCommand):
    help = "Import employees of one organisation from a CSV or XLSX file (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--organisation", required=True, help="slug of the organisation, e.g. duisburg")
        parser.add_argument("file", type=Path)

    def handle(self, *args, organisation, file, **options):
        try:
            org = Organisation.objects.get(slug=organisation)
        except Organisation.DoesNotExist as exc:
            raise CommandError(_("There is no organisation “%(slug)s”.") % {"slug": organisation}) from exc
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(_("The file cannot be read: %(error)s") % {"error": exc.strerror}) from exc
        try:
            result = employees_import_file(actor=SYSTEM, organisation=org, data=data)
        except TableRefused as refused:
            for problem in refused.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                ngettext(
                    "Nothing was imported: %(count)s problem in %(file)s.",
                    "Nothing was imported: %(count)s problems in %(file)s.",
                    len(refused.problems),
                )
                % {"count": len(refused.problems), "file": file}
            ) from refused
        self.stdout.write(result.summary())
