"""The data every benchmark runs against: "bench-stadt" with 20 org units and 100,000 employees, and
"bench-klein" with 10 employees, each with an HR user. Seeded by COPY in a few seconds, and reused as it is
when a previous run left it complete."""

import unicodedata
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from vielfalt.models import Employee, Membership, Organisation, OrgUnit, Role, TargetGroup, User

from .common import say, timed

BIG_SLUG = "bench-stadt"
SMALL_SLUG = "bench-klein"
BIG_COUNT = 100_000
SMALL_COUNT = 10
UNIT_COUNT = 20
PASSWORD = "bench-Passwort-2025!"  # known password of the HR users bench-hr and bench-hr-klein
SEED_PREFIX = "BS-"  # personnel numbers of seeded employees: BS-000001 …
NEW_PREFIX = "BN-"  # personnel numbers the import benchmark adds (and removes again)

FIRST_NAMES = [
    "Fatma", "Mehmet", "Anna", "Łukasz", "Zülfiye", "Jürgen", "Marie", "Thị Lan", "Ömer", "Katarzyna",
    "Sören", "Ayşe", "Paul", "Małgorzata", "Hüseyin", "Sophie", "Nguyễn", "Björn", "Elif", "Grzegorz",
    "Lena", "Müge", "Jan", "Zofia", "Cem", "Jörg", "Leyla", "Tomasz", "Hannah", "Dương",
]  # fmt: skip
LAST_NAMES = [
    "Nowak", "Yılmaz", "Groß", "Schäfer", "Müller", "Kowalski", "Nguyen", "Öztürk", "Weiß", "Wiśniewski",
    "Schmidt", "Demir", "Fischer", "Lewandowski", "Trần", "Becker", "Şahin", "Hoffmann", "Wójcik", "Kaya",
    "Schröder", "Phạm", "Koch", "Kamiński", "Çelik", "Richter", "Zieliński", "Wagner", "Doğan", "Lê",
    "Bauer", "Krüger", "Szymański", "Aydın", "Wolf", "Neumann", "Woźniak", "Köhler", "Arslan", "Hoàng",
]  # fmt: skip
UNIT_NAMES = [
    "Ausländerbehörde", "Feuerwehr", "Ordnungsamt", "Amt für Personal und Organisation", "Bürgeramt Mitte",
    "Bürgeramt Nord", "Bürgeramt Süd", "Jugendamt", "Sozialamt", "Jobcenter", "Standesamt", "Stadtkasse",
    "Schulverwaltungsamt", "Umweltamt", "Bauordnungsamt", "Gesundheitsamt", "Kommunales Integrationszentrum",
    "Stadtbibliothek", "Amt für Statistik", "Rechnungsprüfungsamt",
]  # fmt: skip
GROUPS = [TargetGroup.PUBLIC_FACING, TargetGroup.OTHER, TargetGroup.TRAINEE, TargetGroup.MANAGER]
ASCII = str.maketrans({"ß": "ss", "ł": "l", "ı": "i", "đ": "d", " ": ""})


@dataclass
class Seeded:
    big: Organisation
    small: Organisation
    big_hr: User
    small_hr: User
    units: list[OrgUnit]


def person(index: int, organisation_slug: str, *, variant: int = 0) -> tuple[str, str, str]:
    """Deterministic (first name, last name, e-mail) for employee number `index`."""
    first = FIRST_NAMES[(index + variant) % len(FIRST_NAMES)]
    last = LAST_NAMES[(index * 7 + variant) % len(LAST_NAMES)]
    local = unicodedata.normalize("NFKD", f"{first}.{last}{index}".casefold().translate(ASCII))
    email = "".join(ch for ch in local if ch.isascii()) + f"@{organisation_slug}.example"
    return first, last, email


def personnel_number(prefix: str, index: int) -> str:
    return f"{prefix}{index:06d}"


def delete_added(organisation: Organisation) -> None:
    """Remove the employees a benchmark added (personnel numbers not from the seed). Plain SQL: nothing
    refers to them, and it is faster than the ORM's collector."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Employee._meta.db_table} WHERE organisation_id = %s AND personnel_number NOT LIKE %s",
            [organisation.pk, SEED_PREFIX + "%"],
        )


def seed() -> Seeded:
    big = _organisation(BIG_SLUG, "Stadt Benchhausen")
    small = _organisation(SMALL_SLUG, "Gemeinde Klein-Bench")
    big_units = _units(big)
    small_units = _units(small)
    big_hr = _hr_user("bench-hr", big)
    small_hr = _hr_user("bench-hr-klein", small)
    _employees(big, big_units, BIG_COUNT)
    _employees(small, small_units, SMALL_COUNT)
    return Seeded(big=big, small=small, big_hr=big_hr, small_hr=small_hr, units=big_units)


def _organisation(slug: str, name: str) -> Organisation:
    organisation, _created = Organisation.objects.get_or_create(
        slug=slug, defaults={"name": name, "kind": Organisation.Kind.CITY, "district": "duesseldorf"}
    )
    return organisation


def _units(organisation: Organisation) -> list[OrgUnit]:
    for name in UNIT_NAMES[:UNIT_COUNT]:
        OrgUnit.objects.get_or_create(organisation=organisation, name=name)
    return list(organisation.units.order_by("pk"))


def _hr_user(username: str, organisation: Organisation) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.org"}
    )
    if created:
        user.set_password(PASSWORD)
        user.save()
    Membership.objects.get_or_create(user=user, organisation=organisation, role=Role.HR)
    return user


def _employees(organisation: Organisation, units: list[OrgUnit], count: int) -> None:
    employees = Employee.objects.filter(organisation=organisation)
    delete_added(organisation)  # left over from an interrupted run
    if employees.count() == count:
        say(f"reusing the {count:,} employees of {organisation.slug}")
        return
    seconds, _result = timed(lambda: _copy_employees(organisation, units, count))
    say(f"seeded {count:,} employees of {organisation.slug} in {seconds:.1f} s")


@transaction.atomic
def _copy_employees(organisation: Organisation, units: list[OrgUnit], count: int) -> None:
    Employee.objects.filter(organisation=organisation).delete()
    now = timezone.now()
    columns = [
        "organisation_id", "personnel_number", "first_name", "last_name", "email", "org_unit_id",
        "target_group", "is_active", "created_at", "updated_at",
    ]  # fmt: skip
    statement = f"COPY {Employee._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.connection.cursor() as pg, pg.copy(statement) as copy:
        for index in range(1, count + 1):
            first, last, email = person(index, organisation.slug)
            copy.write_row(
                (
                    organisation.pk,
                    personnel_number(SEED_PREFIX, index),
                    first,
                    last,
                    email,
                    units[index % len(units)].pk,
                    GROUPS[index % len(GROUPS)].value,
                    index % 50 != 0,
                    now,
                    now,
                )
            )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Employee._meta.db_table}")
