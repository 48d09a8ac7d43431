"""Forms naming an organisation and one of its org units (an employee, an anonymised procedure) offer the units
of the organisation chosen only, loaded by htmx when one is chosen (vielfalt.forms.unit_choices_from): before,
an administrator's form listed every organisation's units (2,041 at full scale: 35–43 ms a page)."""

import re

import pytest
from django.urls import reverse

from partnerships.models import AnonymisedProcedure
from tests.factories import OrganisationFactory, UserFactory, hr_user
from vielfalt.models import Employee, Role

pytestmark = pytest.mark.django_db

EMPTY = "– bitte auswählen –"


def unit_options(html: str) -> list[str]:
    select = re.search(r'<select[^>]*id="id_org_unit"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r"<option [^>]*>([^<]*)</option>", select)


@pytest.fixture
def cities():
    duisburg, essen = OrganisationFactory(name="Stadt Duisburg"), OrganisationFactory(name="Stadt Essen")
    for name in ("Bürgeramt", "Ordnungsamt"):
        duisburg.units.create(name=name)
    essen.units.create(name="Jugendamt")
    return duisburg, essen


@pytest.fixture
def admin(cities):
    return UserFactory(roles=[(cities[0], Role.ADMIN)])


def employee_data(organisation, unit, **more):
    return {
        "organisation": organisation.pk,
        "personnel_number": "P-1",
        "last_name": "Yılmaz",
        "first_name": "Ayşe",
        "email": "",
        "org_unit": unit.pk,
        "target_group": "other",
        "is_active": "on",
        **more,
    }


@pytest.mark.parametrize("url_name", ["employee_create", "partnerships:procedure_create"])
def test_an_administrator_s_form_offers_the_units_of_the_organisation_chosen(client, admin, cities, url_name):
    duisburg, essen = cities
    client.force_login(admin)
    html = client.get(reverse(url_name)).text
    assert unit_options(html) == [EMPTY]
    select = re.search(r'<select name="organisation"[^>]*>', html).group(0)
    assert f'data-hx-get="{reverse("org_unit_choices")}"' in select

    response = client.get(reverse("org_unit_choices"), {"organisation": duisburg.pk})
    assert unit_options(response.text) == [EMPTY, "Bürgeramt", "Ordnungsamt"]
    assert 'id="id_org_unit" data-hx-swap-oob="innerHTML"' in response.text


def test_an_employee_is_saved_with_a_unit_of_its_organisation_only(client, admin, cities):
    duisburg, essen = cities
    client.force_login(admin)
    foreign = essen.units.get()
    response = client.post(reverse("employee_create"), employee_data(duisburg, foreign))
    assert response.status_code in (200, 422)
    assert not Employee.objects.exists()
    assert unit_options(response.text) == [EMPTY, "Bürgeramt", "Ordnungsamt"]  # the submitted city's
    unit = duisburg.units.get(name="Ordnungsamt")
    assert client.post(reverse("employee_create"), employee_data(duisburg, unit)).status_code == 302
    assert Employee.objects.get().org_unit == unit


def test_hr_of_one_city_is_offered_its_units_and_asks_for_no_other(client, cities):
    duisburg, essen = cities
    client.force_login(hr_user(duisburg))
    assert unit_options(client.get(reverse("employee_create")).text) == [EMPTY, "Bürgeramt", "Ordnungsamt"]
    assert client.get(reverse("org_unit_choices"), {"organisation": essen.pk}).status_code == 404
    assert client.get(reverse("org_unit_choices"), {"organisation": "x"}).status_code == 404
    essen.units.create(name="<script>alert(1)</script>")
    client.force_login(hr_user(essen))
    response = client.get(reverse("org_unit_choices"), {"organisation": essen.pk})
    assert "&lt;script&gt;" in response.text and "<script>" not in response.text


def test_a_recorded_procedure_offers_its_organisation_s_units(client, admin, cities):
    duisburg, _essen = cities
    procedure = AnonymisedProcedure.objects.create(
        organisation=duisburg,
        post="Stelle",
        held_on="2024-01-01",
        method="standard_form",
        applications=5,
        invited=2,
        posts_filled=1,
    )
    client.force_login(admin)
    html = client.get(reverse("partnerships:procedure_update", args=[procedure.pk])).text
    assert unit_options(html) == [EMPTY, "Bürgeramt", "Ordnungsamt"]


def test_no_path_gives_an_employee_a_unit_of_another_organisation(cities):
    """The form checks the unit; the services (and the admin, an import's code, a script) went by the model,
    which took any unit: an employee of Duisburg counted in Essen's Jugendamt."""
    from django.core.exceptions import ValidationError

    from vielfalt.services import employee_create, employee_update

    duisburg, essen = cities
    hr = hr_user(duisburg)
    jugendamt = essen.units.get()
    with pytest.raises(ValidationError) as refused:
        employee_create(
            actor=hr,
            organisation=duisburg,
            personnel_number="4711",
            first_name="Anna",
            last_name="Yılmaz",
            org_unit=jugendamt,
        )
    assert "org_unit" in refused.value.message_dict
    employee = employee_create(
        actor=hr,
        organisation=duisburg,
        personnel_number="4711",
        first_name="Anna",
        last_name="Yılmaz",
        org_unit=duisburg.units.get(name="Bürgeramt"),
    )
    with pytest.raises(ValidationError):
        employee_update(actor=hr, employee=employee, org_unit=jugendamt)
    employee.refresh_from_db()
    assert employee.org_unit.organisation == duisburg
