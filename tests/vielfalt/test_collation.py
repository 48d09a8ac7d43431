"""Names in the order German readers expect (vielfalt.collation), whatever the database's locale: on a cluster
initialised with C.UTF-8 (this machine's) and on SQLite, "Şahin", "Çelik" and "Öztürk" sorted after "Zieliński"
and "de Vries" after every capitalised name, on every list."""

import io
import random
import sqlite3

import pytest
from django.apps import apps
from django.core.checks import Tags, run_checks
from django.core.management import call_command
from django.db import connection
from django.db.models import OrderBy
from django.db.models.functions import Collate
from django.urls import reverse

from tests.conftest import need
from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, UserFactory, hr_user
from tests.trainings.factories import CourseDateFactory
from vielfalt import collation
from vielfalt.models import Employee, Role

pytestmark = pytest.mark.django_db

# As a German reader looks them up: accents and case only after the letters, lower case first.
READING_ORDER = [
    "Abel",
    "Åberg",
    "Çakır",
    "Çelik",
    "de Vries",
    "De Vries",
    "Łukasz",
    "Mueller",
    "Muller",
    "Müller",
    "Nguyễn",
    "Oberle",
    "Öztürk",
    "Şahin",
    "Schmidt",
    "Strauss",
    "Strauß",
    "Yilmaz",
    "Yıldız",  # Turkish ı is a letter of its own, after i
    "Zieliński",
]


def in_order(page: str, names) -> list[str]:
    """The names as the page shows them, each by its first appearance."""
    missing = [name for name in names if name not in page]
    assert not missing, (missing, page[page.find("<main") :][:3000])
    return sorted(names, key=page.index)


def test_the_python_key_sorts_as_postgresqls_icu_collation():
    """`sort_key` (SQLite's collation, lists sorted in Python) and PostgreSQL's collation agree."""
    shuffled = random.Random(5).sample(READING_ORDER, len(READING_ORDER))
    assert sorted(shuffled, key=collation.sort_key) == READING_ORDER
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    more = [
        "van der Berg",
        "Van Damme",
        "Ærø",
        "Øster",
        "Đorđević",
        "Þór",
        "Kaya-Öz",
        "Kaya Öz",
        "kaya",
        "O'Neill",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT n FROM unnest(%s::text[]) n ORDER BY n COLLATE {collation.NAMES_SQL}",
            [READING_ORDER[::-1] + more],
        )
        in_postgresql = [row[0] for row in cursor.fetchall()]
    assert in_postgresql == sorted(READING_ORDER + more, key=collation.sort_key)


def test_sqlite_sorts_by_the_same_key():
    database = sqlite3.connect(":memory:")
    database.create_collation(collation.NAMES, collation.compare)
    database.execute("CREATE TABLE t (name TEXT)")
    database.executemany("INSERT INTO t VALUES (?)", [(name,) for name in reversed(READING_ORDER)])
    rows = database.execute(f"SELECT name FROM t ORDER BY name COLLATE {collation.NAMES_SQL}").fetchall()
    assert [name for (name,) in rows] == READING_ORDER
    assert collation.compare("Çelik", "Çelik") == 0 and collation.compare("de Vries", "De Vries") < 0


def test_text_order_collates_text_fields_only():
    last_name, pk, target_group, unit = collation.text_order(
        Employee, "-last_name", "pk", "target_group", "org_unit__name"
    )
    assert isinstance(last_name, OrderBy) and last_name.descending
    assert isinstance(last_name.expression, Collate) and last_name.expression.collation == collation.NAMES
    assert (pk, target_group) == ("pk", "target_group")  # a choice's codes keep their order
    assert unit.expression.collation == collation.NAMES  # across a relation


def test_no_model_sorts_text_by_the_databases_locale():
    """Every Meta.ordering by a text field names the collation (`collated`), so that lists and the admin that
    fall back to it sort as readers expect."""
    for model in apps.get_models():
        if model.__module__.split(".")[0] not in ("vielfalt", "partnerships", "trainings", "surveys"):
            continue
        for term in model._meta.ordering:
            if isinstance(term, str):
                assert collation.text_order(model, term) == [term], (model, term)


@pytest.fixture
def city():
    city = OrganisationFactory()
    unit = OrgUnitFactory(organisation=city, name="Bürgeramt")
    for number, last_name in enumerate(reversed(READING_ORDER)):
        # One first name for all: Faker's German first names include "Yilmaz" and "Abel", which, shown before
        # their row's last name, would be taken for it.
        EmployeeFactory(
            organisation=city,
            org_unit=unit,
            first_name="Kim",
            last_name=last_name,
            personnel_number=f"P-{number:03}",
        )
    return city


def test_the_employee_list_sorts_names_as_readers_expect(client, city):
    client.force_login(hr_user(city))
    page = client.get(reverse("employee_list")).text
    assert in_order(page, READING_ORDER) == READING_ORDER
    # Sorted by the column, and searched (the search sorts its matches without the list's index).
    page = client.get(reverse("employee_list"), {"ordering": "-last_name"}).text
    assert in_order(page, READING_ORDER) == READING_ORDER[::-1]
    page = client.get(reverse("employee_list"), {"q": "P-0"}).text  # every personnel number
    assert in_order(page, READING_ORDER) == READING_ORDER


def test_the_enrolment_page_and_the_export_sort_names_so(client, city):
    client.force_login(hr_user(city))
    course_date = CourseDateFactory(course__organiser=city)
    page = client.get(reverse("trainings:enrol", args=[course_date.pk])).text
    assert in_order(page, READING_ORDER) == READING_ORDER
    exported = b"".join(client.get(reverse("employee_export", args=["csv"])).streaming_content).decode(
        "utf-8-sig"
    )
    assert in_order(exported, READING_ORDER) == READING_ORDER


def test_units_and_organisations_in_filter_options_sort_so(client):
    names = ["Amt für Soziales", "Ordnungsamt", "Übersetzungsdienst", "Zentrale Dienste"]
    cities = [OrganisationFactory(name=name) for name in ("Österstadt", "Zederstadt")]
    for name in reversed(names):
        OrgUnitFactory(organisation=cities[0], name=name)
        OrgUnitFactory(organisation=cities[1], name=name)
    client.force_login(UserFactory(roles=[(city, Role.HR) for city in reversed(cities)]))
    page = client.get(reverse("employee_list")).text
    assert in_order(page, ["Österstadt", "Zederstadt"]) == ["Österstadt", "Zederstadt"]
    page = client.get(reverse("employee_list"), {"organisation": cities[1].pk}).text
    assert in_order(page, names) == names
    client.force_login(hr_user(cities[1]))
    page = client.get(reverse("employee_list")).text
    assert in_order(page, names) == names


def test_the_admins_employee_list_sorts_a_column_so(client, city):
    admin = UserFactory(username="root")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    # The admin's second column of list_display (after the actions' check boxes): the last name.
    page = client.get(reverse("admin:vielfalt_employee_changelist"), {"o": "2"}).text
    assert in_order(page, READING_ORDER) == READING_ORDER


def test_a_changed_icu_library_is_reported_and_refresh_collation_rebuilds_its_indexes():
    """After an operating system upgrade or a restore onto another machine, PostgreSQL may compare with another
    ICU than the one the names' indexes were built with; the system check says so, and
    `manage.py refresh_collation` rebuilds them and records the version now in use."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")

    def reported():
        return [
            message
            for message in run_checks(tags=[Tags.database], databases=["default"])
            if message.id == "vielfalt.W002"
        ]

    assert reported() == []
    with connection.cursor() as cursor:  # as a restore onto a machine with another ICU leaves it
        cursor.execute("UPDATE pg_collation SET collversion = '0.1' WHERE collname = %s", [collation.NAMES])
    [warning] = reported()
    assert "created with ICU 0.1" in warning.msg and "refresh_collation" in warning.hint
    output = io.StringIO()
    call_command("refresh_collation", stdout=output)
    for index in ("employee_org_order", "employee_name_order", "organisation_name_order"):
        assert index in output.getvalue()
    assert reported() == []
