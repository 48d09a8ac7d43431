"""The employee list's total comes from EmployeeCount, kept by PostgreSQL triggers through every kind of write,
instead of a COUNT over up to 100,000 rows on every page."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import need
from tests.factories import EmployeeFactory, OrganisationFactory, hr_user
from vielfalt.models import Employee, EmployeeCount, employee_total
from vielfalt.permissions import SYSTEM
from vielfalt.services import employees_import_file

pytestmark = pytest.mark.django_db


def counts(*organisations) -> list[int]:
    found = dict(EmployeeCount.objects.values_list("organisation_id", "employees"))
    return [found.get(organisation.pk, 0) for organisation in organisations]


def test_every_kind_of_write_keeps_the_count():
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    duisburg, oberhausen = OrganisationFactory(), OrganisationFactory()
    first = EmployeeFactory(organisation=duisburg)
    EmployeeFactory(organisation=oberhausen)
    assert counts(duisburg, oberhausen) == [1, 1]

    data = "Personalnummer;Nachname;Vorname\nNEU-1;Nguyễn;Lan\nNEU-2;Öztürk;Ayşe\n".encode()
    employees_import_file(actor=SYSTEM, organisation=duisburg, data=data)  # bulk_create
    assert counts(duisburg, oberhausen) == [3, 1]

    Employee.objects.filter(pk=first.pk).update(is_active=False)  # no move: no change
    assert counts(duisburg, oberhausen) == [3, 1]
    Employee.objects.filter(pk=first.pk).update(organisation=oberhausen)  # moved
    assert counts(duisburg, oberhausen) == [2, 2]

    with connection.cursor() as cursor:  # plain SQL too
        cursor.execute("DELETE FROM vielfalt_employee WHERE organisation_id = %s", [duisburg.pk])
    assert counts(duisburg, oberhausen) == [0, 2]
    first.refresh_from_db()
    first.delete()
    assert counts(duisburg, oberhausen) == [0, 1]
    assert employee_total([duisburg.pk, oberhausen.pk]) == 1
    assert employee_total(None) == Employee.objects.count()


def test_the_unfiltered_list_counts_no_rows(client):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    city = OrganisationFactory()
    EmployeeFactory.create_batch(3, organisation=city, last_name="Schmidt")
    EmployeeFactory(organisation=city, last_name="Yılmaz")
    EmployeeFactory(organisation=OrganisationFactory())
    client.force_login(hr_user(city))

    def found(response) -> int:
        return int(re.search(r"(\d+) (Beschäftigte|beschäftigte Person) gefunden", response.text).group(1))

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("employee_list"))
    assert found(response) == 4
    assert not [
        q["sql"]
        for q in queries.captured_queries
        if 'COUNT(*) AS "__count" FROM "vielfalt_employee"' in q["sql"]
    ]
    assert found(client.get(reverse("employee_list"), {"q": "Schmidt"})) == 3
    assert found(client.get(reverse("employee_list"), {"page": "1", "ordering": "last_name"})) == 4
