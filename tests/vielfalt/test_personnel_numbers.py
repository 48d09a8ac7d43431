"""Personnel numbers typed or exported in full-width characters ("ＢＳ－０１２３４５", from an input method or a
spreadsheet set to an East Asian locale) are the ASCII numbers they look like (personnel_number_text): one
employee, found by the search, the import and an enrolment list, never a second record under a number that
looks the same."""

from importlib import import_module

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, UserFactory, hr_user
from vielfalt.models import Employee
from vielfalt.permissions import SYSTEM
from vielfalt.services import employee_create, employees_import_file
from vielfalt.tabular import TableRefused

pytestmark = pytest.mark.django_db

FULL_WIDTH = "ＢＳ－０１２３４５"  # BS-012345 in full-width letters, hyphen and digits
HEADER = "Personalnummer;Nachname;Vorname\r\n"


@pytest.fixture
def city():
    return OrganisationFactory()


def form_data(city, number):
    return {
        "organisation": city.pk,
        "personnel_number": number,
        "last_name": "Tanaka",
        "first_name": "Yuki",
        "email": "",
        "org_unit": OrgUnitFactory(organisation=city).pk,
        "target_group": "other",
        "is_active": "on",
    }


def test_the_form_keeps_a_full_width_number_as_the_ascii_one(client, city):
    client.force_login(hr_user(city))
    response = client.post(reverse("employee_create"), form_data(city, f" {FULL_WIDTH} "))
    assert response.status_code == 302
    assert Employee.objects.get(organisation=city).personnel_number == "BS-012345"


def test_the_form_refuses_a_full_width_copy_of_a_number_in_use(client, city):
    EmployeeFactory(organisation=city, personnel_number="BS-012345")
    client.force_login(hr_user(city))
    response = client.post(reverse("employee_create"), form_data(city, FULL_WIDTH))
    assert response.status_code == 200
    assert "personnel_number" in response.context["form"].errors
    assert Employee.objects.filter(organisation=city).count() == 1


def test_a_service_keeps_the_number_as_the_ascii_one(city):
    employee = employee_create(
        actor=SYSTEM, organisation=city, personnel_number=FULL_WIDTH, last_name="Sato", first_name="Ren"
    )
    employee.refresh_from_db()
    assert employee.personnel_number == "BS-012345"


def test_an_import_updates_the_employee_a_full_width_number_names(city):
    EmployeeFactory(organisation=city, personnel_number="BS-012345", last_name="Alt")
    result = employees_import_file(
        actor=SYSTEM, organisation=city, data=(HEADER + f"{FULL_WIDTH};Neu;Yuki\r\n").encode("utf-8-sig")
    )
    assert (result.created, result.updated) == (0, 1)
    assert list(Employee.objects.filter(organisation=city).values_list("personnel_number", "last_name")) == [
        ("BS-012345", "Neu")
    ]


def test_an_import_listing_one_number_in_both_widths_is_refused_with_the_line(city):
    data = HEADER + "BS-012345;Sato;Ren\r\n" + f"{FULL_WIDTH};Sato;Ren\r\n"
    with pytest.raises(TableRefused) as refused:
        employees_import_file(actor=SYSTEM, organisation=city, data=data.encode("utf-8-sig"))
    assert [(problem.line, problem.column) for problem in refused.value.problems] == [(3, "Personalnummer")]
    assert not Employee.objects.filter(organisation=city).exists()


def test_the_search_finds_a_number_typed_in_full_width(city):
    EmployeeFactory(organisation=city, personnel_number="BS-012345", last_name="Sato")
    EmployeeFactory(organisation=city, personnel_number="BS-999999", last_name="Kato")
    found = Employee.objects.filter(organisation=city).search(FULL_WIDTH)
    assert list(found.values_list("last_name", flat=True)) == ["Sato"]


def test_the_migration_turns_kept_full_width_numbers_into_ascii_unless_taken(city):
    other = OrganisationFactory()
    # As kept before: written past the model's clean (bulk_create, as the import wrote them).
    Employee.objects.bulk_create(
        [
            Employee(organisation=city, personnel_number=FULL_WIDTH, last_name="Sato", first_name="Ren"),
            Employee(organisation=city, personnel_number="ＸＹ－１", last_name="Ito", first_name="Mei"),
            Employee(organisation=city, personnel_number="XY-1", last_name="Ito", first_name="Mei"),
            Employee(organisation=other, personnel_number="ＸＹ－１", last_name="Abe", first_name="Ko"),
        ]
    )
    import_module("vielfalt.migrations.0025_personnel_numbers_in_compatibility_form").normalise(apps, None)
    kept = set(Employee.objects.values_list("organisation_id", "personnel_number", "last_name"))
    assert kept == {
        (city.pk, "BS-012345", "Sato"),
        (city.pk, "ＸＹ－１", "Ito"),  # its ASCII number is taken: HR merges the two
        (city.pk, "XY-1", "Ito"),
        (other.pk, "XY-1", "Abe"),
    }


@pytest.mark.parametrize("writer", ["service", "admin"])
def test_a_number_that_grows_past_40_characters_is_refused_not_a_server_error(client, city, writer):
    """NFKC turns one character into many ("ﷺ" into 18): the number is checked again after it."""
    number = "\ufdfa" * 3  # 3 characters typed, 54 kept
    if writer == "service":
        with pytest.raises(ValidationError) as refused:
            employee_create(
                actor=SYSTEM, organisation=city, personnel_number=number, last_name="Sato", first_name="Ren"
            )
        assert "personnel_number" in refused.value.message_dict
    else:
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
        data = {**form_data(city, number), "is_active": "on"}
        response = client.post(reverse("admin:vielfalt_employee_add"), data)
        assert response.status_code == 200
        assert "personnel_number" in response.context["adminform"].form.errors
    assert not Employee.objects.filter(organisation=city).exists()
