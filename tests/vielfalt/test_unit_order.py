"""The employee list sorted by org unit (either way): each page is read from the one or two org units it falls
in, walking each unit's employees along an index (vielfalt.pagination.GroupedPaginator, from the counts of
EmployeeCount), instead of sorting a whole city by unit name to skip to the page. The pages are the same rows in
the same order as the plain sort by unit name, then name, gave."""

import re

import pytest
from django.db import connection
from django.urls import reverse

from tests.conftest import need
from tests.factories import (
    EmployeeFactory,
    OrganisationFactory,
    OrgUnitFactory,
    UserFactory,
    hr_user,
    many_employees,
)
from tests.helpers import most_rows_touched, statements_with
from vielfalt.collation import text_order
from vielfalt.models import Employee, Role, TargetGroup

pytestmark = pytest.mark.django_db

PER_PAGE = 50
NAMES = ["Müller", "Çelik", "de Vries", "Öztürk", "Abel", "Zieliński", "Weiß", "Lê", "Schulz", "Demir"]
FIRST_NAMES = ["Anna", "Émile", "Zoë", "Ali"]
GROUPS = list(TargetGroup)


def shown(response) -> list[int]:
    """The employees a page of the list shows, by id (the link to each one's form), in its order."""
    assert response.status_code == 200, response.status_code
    return [int(pk) for pk in re.findall(r'<a href="(\d+)/">', response.text)]


def every_page(client, query: dict) -> list[int]:
    rows, number = [], 1
    while True:
        response = client.get(reverse("employee_list"), {**query, "page": number})
        if response.status_code == 404:  # past the last page, as before
            return rows
        page = shown(response)
        assert page, f"page {number} is empty"
        rows += page
        number += 1


def plain_sort(city, sign: str, **filters) -> list[int]:
    """The order the list had when PostgreSQL sorted it: unit name (no unit last ascending, first descending),
    then the list's own order."""
    terms = text_order(Employee, f"{sign}org_unit__name", "last_name", "first_name", "personnel_number")
    return list(
        Employee.objects.filter(organisation=city, **filters).order_by(*terms).values_list("pk", flat=True)
    )


@pytest.fixture
def city():
    """Units of 61, 38, 4 and no employees, 29 employees without a unit: page borders fall inside units and
    between them; names repeat (first names decide), sort by German rules, groups and status vary."""
    city = OrganisationFactory()
    units = {name: OrgUnitFactory(organisation=city, name=name) for name in ("Ordnungsamt", "Ämterservice")}
    units |= {
        name: OrgUnitFactory(organisation=city, name=name) for name in ("Bürgeramt", "Zentrale Dienste")
    }
    sizes = [("Ordnungsamt", 61), ("Bürgeramt", 38), ("Ämterservice", 4), (None, 29)]
    employees, number = [], 0
    for unit, size in sizes:
        for _ in range(size):
            employees.append(
                EmployeeFactory.build(
                    organisation=city,
                    org_unit=units.get(unit),
                    last_name=NAMES[number % len(NAMES)],
                    first_name=FIRST_NAMES[number // len(NAMES) % len(FIRST_NAMES)],
                    target_group=GROUPS[number % len(GROUPS)],
                    is_active=number % 7 != 0,
                )
            )
            number += 1
    Employee.objects.bulk_create(employees)
    OrgUnitFactory(organisation=OrganisationFactory(), name="Amt für Statistik")  # another city's, not listed
    return city


@pytest.mark.parametrize("sign", ["", "-"])
def test_the_pages_sorted_by_org_unit_are_the_plain_sort_s_rows(client, city, sign):
    client.force_login(hr_user(city))
    ordering = f"{sign}org_unit"

    assert every_page(client, {"ordering": ordering}) == plain_sort(city, sign)
    for query, filters in (
        ({"target_group": "trainee"}, {"target_group": "trainee"}),
        ({"is_active": "false"}, {"is_active": False}),
        ({"is_active": "true", "target_group": "manager"}, {"is_active": True, "target_group": "manager"}),
    ):
        assert every_page(client, {"ordering": ordering, **query}) == plain_sort(city, sign, **filters), query
    unit = city.units.get(name="Ordnungsamt")
    assert every_page(client, {"ordering": ordering, "org_unit": unit.pk}) == plain_sort(
        city, sign, org_unit=unit
    )

    empty = city.units.get(name="Zentrale Dienste")
    response = client.get(reverse("employee_list"), {"ordering": ordering, "org_unit": empty.pk})
    assert shown(response) == []
    assert "0 Beschäftigte gefunden" in response.text
    response = client.get(reverse("employee_list"), {"ordering": ordering, "target_group": "trainee"})
    assert f"{len(plain_sort(city, sign, target_group='trainee'))} Beschäftigte gefunden" in response.text

    # An administrator (every organisation) who chose the city; across organisations the units' names repeat,
    # and the list is sorted as before.
    other = OrganisationFactory()
    EmployeeFactory(organisation=other, org_unit=OrgUnitFactory(organisation=other, name="Bürgeramt"))
    client.force_login(UserFactory(roles=[(other, Role.ADMIN)]))
    assert every_page(client, {"ordering": ordering, "organisation": city.pk}) == plain_sort(city, sign)
    everyone = text_order(Employee, f"{sign}org_unit__name", "last_name", "first_name", "personnel_number")
    assert every_page(client, {"ordering": ordering}) == list(
        Employee.objects.order_by(*everyone).values_list("pk", flat=True)
    )


def test_a_page_sorted_by_org_unit_reads_only_the_units_it_shows(client):
    """Before, every page sorted all of the city's employees by unit name (100,000: 45 ms a page)."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    city = OrganisationFactory()
    units = [
        OrgUnitFactory(organisation=city, name=name) for name in ("Jugendamt", "Bürgeramt", "Stadtkasse")
    ]
    many_employees([(city, unit) for unit in units] + [(city, None)])  # 5,000 each
    client.force_login(hr_user(city))

    # The first page, the first of the second unit (Jugendamt), the first of the list backwards (no unit).
    for ordering, page in (("org_unit", 1), ("org_unit", 101), ("-org_unit", 1)):
        with statements_with('FROM "vielfalt_employee"') as statements:
            response = client.get(reverse("employee_list"), {"ordering": ordering, "page": page})
        assert len(shown(response)) == PER_PAGE
        assert len(statements) == 1, statements
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE) " + statements[0][0], statements[0][1])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert most_rows_touched(plan) < 1_000, plan  # a page's worth of a unit or two, not the city's 20,000
