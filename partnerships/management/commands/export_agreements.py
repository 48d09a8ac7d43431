"""`manage.py export_agreements --status signed --out FILE.zip`: signed copies (or freshly rendered PDFs)
and a CSV index, written to disk as the ZIP is built. `--status concluded`: every agreement signed, in force or
ended since."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from partnerships.filters import CONCLUDED, with_status
from partnerships.models import Agreement
from partnerships.services import agreements_export_zip
from vielfalt.permissions import SYSTEM


class Command(BaseCommand):
    help = "Export agreements with their signed copies and a CSV index as a ZIP file."

    def add_arguments(self, parser):
        parser.add_argument(
            "--status",
            choices=[*Agreement.Status.values, CONCLUDED],
            default=Agreement.Status.SIGNED,
            help=f"{CONCLUDED}: every agreement signed, in force or ended since",
        )
        parser.add_argument("--partner", help="short name (slug) of one partner organisation")
        parser.add_argument("--year", type=int, help="only agreements signed in this year")
        parser.add_argument("--out", required=True, help="path of the ZIP file to write")

    def handle(self, *args, status, partner, year, out, **options):
        path = Path(out)
        if not path.parent.is_dir():
            raise CommandError(f"The folder {path.parent} does not exist.")
        agreements = with_status(Agreement.objects.all(), status)
        if partner:
            agreements = agreements.filter(partner__slug=partner)
        if year:
            agreements = agreements.filter(signed_on__year=year)
        partial = path.with_name(path.name + ".part")
        try:
            with partial.open("wb") as target:
                count = agreements_export_zip(actor=SYSTEM, agreements=agreements, out=target)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(f"{count} agreements written to {path}.")
