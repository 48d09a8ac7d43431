"""HR editing an employee while a colleague or an import changes the same record: saving the form silently
undid the other change (the import's new e-mail address, the colleague's org unit). Now the form is shown again
with its input and says so (vielfalt.concurrency)."""

import pytest
from django.urls import reverse

from tests.factories import EmployeeFactory, OrganisationFactory, hr_user
from tests.helpers import form_data, logged_in, opened_forms
from vielfalt.models import Employee
from vielfalt.permissions import SYSTEM
from vielfalt.services import employees_import_file

pytestmark = pytest.mark.django_db

HEADER = "Personalnummer;Nachname;Vorname;E-Mail;Organisationseinheit;Zielgruppe\r\n"


@pytest.fixture
def city():
    city = OrganisationFactory(slug="duisburg", name="Stadt Duisburg")
    city.units.create(name="Bürgeramt")
    city.units.create(name="Jugendamt")
    return city


def _errors(response) -> str:
    return response.content.decode().split("error-summary", 1)[1].split("</div>", 1)[0]


def test_an_import_meanwhile_is_not_undone(city):
    employee = EmployeeFactory(
        organisation=city, personnel_number="DU-1", last_name="Schäfer", first_name="Jürgen", email=""
    )
    client = logged_in(hr_user(city, username="hr-duisburg"))
    url = reverse("employee_update", args=[employee.pk])
    opened = form_data(client.get(url).content.decode())
    employees_import_file(
        actor=SYSTEM,
        organisation=city,
        data=(
            HEADER + "DU-1;Schäfer;Jürgen;j.schaefer@duisburg.example;Jugendamt;Führungskraft\r\n"
        ).encode(),
    )

    opened["first_name"] = "Jürgen Paul"
    response = client.post(url, opened)
    assert response.status_code == 200
    assert "Dieser Datensatz wurde am" in _errors(response)
    employee.refresh_from_db()
    assert (employee.first_name, employee.email) == ("Jürgen", "j.schaefer@duisburg.example")

    again = form_data(response.content.decode())
    assert again["first_name"] == "Jürgen Paul"
    assert client.post(url, again).status_code == 302
    assert Employee.objects.get(pk=employee.pk).first_name == "Jürgen Paul"


def test_a_colleague_meanwhile_is_named(city):
    employee = EmployeeFactory(organisation=city, org_unit=city.units.get(name="Bürgeramt"))
    url = reverse("employee_update", args=[employee.pk])
    (mine, opened), (theirs, other) = opened_forms(
        url, hr_user(city, username="hr-duisburg"), hr_user(city, username="hr-duisburg-2")
    )
    other["org_unit"] = str(city.units.get(name="Jugendamt").pk)
    assert theirs.post(url, other).status_code == 302
    opened["last_name"] = "Yılmaz"
    response = mine.post(url, opened)
    assert "hr-duisburg-2 hat diesen Datensatz am" in _errors(response)
    assert Employee.objects.get(pk=employee.pk).org_unit.name == "Jugendamt"


def test_a_colleague_saving_without_a_change_does_not_refuse_mine(city):
    employee = EmployeeFactory(organisation=city, org_unit=city.units.get(name="Bürgeramt"))
    url = reverse("employee_update", args=[employee.pk])
    (mine, opened), (theirs, unchanged) = opened_forms(
        url, hr_user(city, username="hr-duisburg"), hr_user(city, username="hr-duisburg-2")
    )
    assert theirs.post(url, unchanged).status_code == 302
    opened["last_name"] = "Yılmaz"
    assert mine.post(url, opened).status_code == 302
    assert Employee.objects.get(pk=employee.pk).last_name == "Yılmaz"
