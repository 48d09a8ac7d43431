"""Demo data from the press report the programme is modelled on. Idempotent: running it twice changes nothing."""

import base64
import random
import secrets
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from vielfalt import seal
from vielfalt.models import (
    AuthenticatorApp,
    Employee,
    Membership,
    Organisation,
    OrgUnit,
    Role,
    TargetGroup,
    User,
)
from vielfalt.permissions import SYSTEM
from vielfalt.services import employees_import_file

SAMPLE_CSV = settings.BASE_DIR / "vielfalt" / "fixtures" / "employees-duisburg.csv"
TOTP_FILE = settings.BASE_DIR / ".demo-totp"
TOTP_USERS = ["admin", "ministerium"]

ORGANISATIONS = [
    (
        "mais-nrw",
        "Ministerium für Arbeit, Integration und Soziales des Landes Nordrhein-Westfalen",
        Organisation.Kind.STATE_MINISTRY,
        Organisation.District.DUESSELDORF,
        "das",
        "Fürstenwall 25\n40219 Düsseldorf",
        ["Abteilung Integration", "Referat Interkulturelle Öffnung", "Personalreferat"],
    ),
    (
        "duisburg",
        "Stadt Duisburg",
        Organisation.Kind.CITY,
        Organisation.District.DUESSELDORF,
        "die",
        "Burgplatz 19\n47051 Duisburg",
        [
            "Amt für Personal und Organisation",
            "Ausländerbehörde",
            "Bürgerservice Hamborn",
            "Feuerwehr",
            "Jugendamt",
            "Ordnungsamt",
            "Stadtbibliothek",
        ],
    ),
    (
        "oberhausen",
        "Stadt Oberhausen",
        Organisation.Kind.CITY,
        Organisation.District.DUESSELDORF,
        "die",
        "Schwartzstraße 72\n46045 Oberhausen",
        ["Fachbereich Personal", "Bürgerbüro", "Kommunales Integrationszentrum", "Sozialamt", "Stadtkasse"],
    ),
]

USERS = [
    ("admin", "Ada", "Admin", [("mais-nrw", Role.ADMIN)], True),
    ("ministerium", "Miriam", "Yıldız", [("mais-nrw", Role.MINISTRY), ("mais-nrw", Role.HR)], False),
    ("hr-duisburg", "Dirk", "Wiśniewski", [("duisburg", Role.HR)], False),
    ("hr-oberhausen", "Olga", "Schäfer", [("oberhausen", Role.HR)], False),
    ("schulung-oberhausen", "Sven", "Nguyễn", [("oberhausen", Role.ORGANISER)], False),
]

OBERHAUSEN_NAMES = (
    ["Ayşe", "Jürgen", "Małgorzata", "Thị Lan", "Mehmet", "Anja", "Đức", "Zofia", "Can", "Ömer"],
    ["Öztürk", "Krüger", "Kowalczyk", "Trần", "Yılmaz", "Becker", "Nguyễn", "Dąbrowska", "Şahin", "Weiß"],
)


class Command(BaseCommand):
    help = "Create the demo organisations, users and employees (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--password", required=True, help="password of every demo user")
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off")
        parser.add_argument(
            "--totp-file",
            default=str(TOTP_FILE),
            help="where the demo users' TOTP secrets are kept (`username BASE32SECRET` per line; reused)",
        )

    @transaction.atomic
    def handle(self, *args, password, force, totp_file, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to create demo users with DEBUG off; add --force if you mean it.")
        self._demo_seal()
        organisations = {}
        for slug, name, kind, district, article, address, units in ORGANISATIONS:
            org, _ = Organisation.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "kind": kind,
                    "district": district,
                    "article": article,
                    "address": address,
                },
            )
            organisations[slug] = org
            for unit in units:
                OrgUnit.objects.get_or_create(organisation=org, name=unit)

        for username, first, last, roles, is_admin in USERS:
            user, _ = User.objects.update_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@vielfalt.example",
                    "is_staff": is_admin,
                    "is_superuser": is_admin,
                    "is_active": True,
                },
            )
            user.set_password(password)
            user.save(update_fields=["password"])
            for slug, role in roles:
                Membership.objects.get_or_create(user=user, organisation=organisations[slug], role=role)

        self._second_factors(Path(totp_file))

        result = employees_import_file(
            actor=SYSTEM, organisation=organisations["duisburg"], data=SAMPLE_CSV.read_bytes()
        )
        self._oberhausen_employees(organisations["oberhausen"])
        # Each feature app adds its own demo data in `<app>/demo.py`: `seed(*, stdout)`.
        for app_config in apps.get_app_configs():
            module_name = f"{app_config.name}.demo"
            if app_config.name != "vielfalt" and find_spec(app_config.name) and find_spec(module_name):
                import_module(module_name).seed(stdout=self.stdout)
        self.stdout.write(
            f"Demo data ready: {len(organisations)} organisations, {len(USERS)} users, "
            f"{result.total} employees of Duisburg, "
            f"{Employee.objects.filter(organisation=organisations['oberhausen']).count()} of Oberhausen."
        )

    def _second_factors(self, path: Path) -> None:
        """Ministry staff and administrators must log in with a second factor: the demo users of those roles get
        an authenticator-app (TOTP) device whose secret is printed and kept in `path`, so that any app or
        `oathtool --totp -b SECRET` gives the code. Secrets already in the file are kept."""
        secrets_by_user = {}
        if path.is_file():
            for line in path.read_text().splitlines():
                parts = line.split()
                if len(parts) == 2:
                    secrets_by_user[parts[0]] = parts[1]
        for username in TOTP_USERS:
            user = User.objects.get(username=username)
            secret = secrets_by_user.get(username)
            key = base64.b32decode(secret) if secret else secrets.token_bytes(AuthenticatorApp.KEY_BYTES)
            device = AuthenticatorApp.objects.filter(user=user, name="Demo").first() or AuthenticatorApp(
                user=user, name="Demo"
            )
            device.confirmed = True
            device.set_key(key)
            device.save()
            secrets_by_user[username] = base64.b32encode(key).decode()
            self.stdout.write(f"Second factor (TOTP) of {username}: {secrets_by_user[username]}")
        path.write_text("".join(f"{name} {secret}\n" for name, secret in secrets_by_user.items()))
        path.chmod(0o600)

    def _demo_seal(self):
        """A self-signed seal under MEDIA_ROOT (outside git), so that the embedded default seals its PDFs too.
        A configured seal (SEAL_PKCS12_PATH) or one made earlier is kept."""
        if settings.SEAL_PKCS12_PATH or seal.seal_path().exists():
            return
        path = seal.create_self_signed_seal(seal.seal_path())
        self.stdout.write(
            f"Self-signed demo seal written to {path} (replace it with a real one: SEAL_PKCS12_PATH)."
        )

    def _oberhausen_employees(self, organisation):
        rng = random.Random(46)  # fixed seed: the same employees every time
        units = list(organisation.units.order_by("name"))
        groups = [TargetGroup.TRAINEE, TargetGroup.PUBLIC_FACING, TargetGroup.MANAGER, TargetGroup.OTHER]
        first_names, last_names = OBERHAUSEN_NAMES
        for number in range(1, 41):
            first, last = rng.choice(first_names), rng.choice(last_names)
            Employee.objects.update_or_create(
                organisation=organisation,
                personnel_number=f"OB-{20000 + number}",
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": "" if number % 9 == 0 else f"mitarbeiter{number}@oberhausen.example",
                    "org_unit": rng.choice(units),
                    "target_group": rng.choice(groups),
                },
            )
