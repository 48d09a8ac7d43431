"""Cached counts and rows of the employee list are never stale: every write bumps the data version."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, hr_user
from vielfalt.services import employees_import_file

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def list_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.LIST_CACHE_SECONDS = 300
    cache.clear()
    yield
    cache.clear()


def test_list_reflects_every_kind_of_write(client, django_assert_num_queries):
    city = OrganisationFactory()
    unit = OrgUnitFactory(organisation=city, name="Feuerwehr")
    employee = EmployeeFactory(organisation=city, last_name="Schmidt", org_unit=unit)
    client.force_login(hr_user(city))
    url = reverse("employee_list")

    def listing():
        text = client.get(url).text
        return int(re.search(r"(\d+) (Beschäftigte|beschäftigte Person) gefunden", text).group(1)), text

    assert listing()[0] == 1
    assert "Schmidt" in listing()[1]
    with django_assert_num_queries(3):  # session, user, roles: the list itself comes from the cache
        assert "Schmidt" in client.get(url).text

    client.post(
        reverse("employee_update", args=[employee.pk]),
        {
            "personnel_number": employee.personnel_number,
            "first_name": "Ada",
            "last_name": "Schmidt-Öztürk",
            "email": "",
            "org_unit": unit.pk,
            "target_group": "manager",
            "is_active": "on",
        },
    )
    assert "Schmidt-Öztürk" in listing()[1]

    data = "Personalnummer;Nachname;Vorname;Organisationseinheit\nNEU-1;Nguyễn;Lan;Feuerwehr\n".encode()
    employees_import_file(actor=None, organisation=city, data=data)
    count, text = listing()
    assert count == 2
    assert "Nguyễn" in text

    employee.delete()
    count, text = listing()
    assert count == 1
    assert "Schmidt-Öztürk" not in text


def test_cached_rows_are_not_shared_between_organisations(client):
    duisburg, oberhausen = OrganisationFactory(), OrganisationFactory()
    EmployeeFactory(organisation=duisburg, last_name="Duisburger")
    EmployeeFactory(organisation=oberhausen, last_name="Oberhausener")
    client.force_login(hr_user(duisburg))
    assert "Duisburger" in client.get(reverse("employee_list")).text
    client.force_login(hr_user(oberhausen))
    text = client.get(reverse("employee_list")).text
    assert "Oberhausener" in text
    assert "Duisburger" not in text
