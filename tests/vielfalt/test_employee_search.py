"""The employee search (EmployeeQuerySet.search), as the employee list and the enrolment page use it: a word of
three characters or more anywhere, a shorter one at the start of a word, so that every word is found through
the trigram indexes instead of by reading every employee of the organisation."""

import re

import pytest
from django.urls import reverse

from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, UserFactory, hr_user
from tests.trainings.factories import CourseDateFactory
from vielfalt.models import Employee, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def city():
    city = OrganisationFactory()
    unit = OrgUnitFactory(organisation=city)
    for number, (first_name, last_name, email) in enumerate(
        [
            ("Anh", "Lê", ""),
            ("Minh", "Nguyễn-Lê", ""),
            ("Thị Lê", "Trần", ""),
            ("Bao", "Alê", ""),  # "lê" inside a word
            ("Jan", "Lindner", ""),
            ("Paul", "Pauli", ""),
            ("Chen", "Wei", "li.wei@example.org"),  # "li" at the start of the address only
        ]
    ):
        EmployeeFactory(
            organisation=city,
            org_unit=unit,
            first_name=first_name,
            last_name=last_name,
            email=email,
            personnel_number=f"N-{number}",
        )
    EmployeeFactory(
        organisation=city, org_unit=unit, first_name="Ece", last_name="Kaya", personnel_number="LI-77"
    )
    EmployeeFactory(
        organisation=city,
        org_unit=None,
        first_name="Rui",
        last_name="D'Souza (geb. Rao)",
        personnel_number="DS-1",
    )
    return city


def found(text, **kwargs) -> set[str]:
    return set(Employee.objects.search(text, **kwargs).values_list("last_name", flat=True))


def test_a_short_word_matches_the_start_of_a_word_a_longer_one_anywhere(city):
    assert found("lê") == {"Lê", "Nguyễn-Lê", "Trần"}  # not Alê
    assert found("li") == {"Lindner", "Wei", "Kaya"}  # by name, e-mail address, personnel number; not Pauli
    assert found("LI") == found("li")
    assert found("li", email=False) == {"Lindner", "Kaya"}
    assert found("l") == {"Lê", "Nguyễn-Lê", "Trần", "Lindner", "Wei", "Kaya"}
    assert found("auli") == {"Pauli"}
    assert found("lê anh") == {"Lê"}  # every word
    assert found("ndn") == {"Lindner"}
    assert found("n-") == {"Lê", "Nguyễn-Lê", "Trần", "Alê", "Lindner", "Pauli", "Wei"}  # personnel numbers
    assert found("") == found("   ") == set(Employee.objects.values_list("last_name", flat=True))


def test_a_short_word_is_taken_literally(city):
    """A short word is looked for as a pattern (one a name, PostgreSQL's regular expressions): every character
    of it stands for itself."""
    assert found("d'") == found("(g") == {"D'Souza (geb. Rao)"}
    for word in [".", "*", ")", "[", "\\", "^", "$", "|", "?", "+", "{", "%", "_", ".*", "\\d"]:
        assert found(word) == set(), word


def _names(html: str) -> set[str]:
    return set(re.findall(r"\b(Lê|Nguyễn-Lê|Trần|Alê|Lindner|Pauli|Wei|Kaya|D'Souza)\b", html))


def test_the_list_and_the_enrolment_page_search_so_and_say_so(client, city):
    client.force_login(hr_user(city))
    page = client.get(reverse("employee_list"), {"q": "li"}).text
    assert _names(page) == {"Lindner", "Wei", "Kaya"}
    assert 'aria-describedby="id_q_help"' in page
    assert 'id="id_q_help">Name, Personalnummer oder E-Mail-Adresse. Ein oder zwei Zeichen' in page

    course_date = CourseDateFactory(course__organiser=city)
    page = client.get(reverse("trainings:enrol", args=[course_date.pk]), {"q": "li"}).text
    assert _names(page) == {"Lindner", "Kaya"}  # no e-mail addresses on this page
    assert 'id="id_q_help">Name oder Personalnummer. Ein oder zwei Zeichen' in page


def _cells(html: str, name: str) -> list[str]:
    row = re.search(rf"<tr>\s*<td>[^<]*</td>\s*<td>{re.escape(name)}</td>(.*?)</tr>", html, re.S)
    return re.findall(r"<td>(.*?)</td>", row.group(1), re.S)


def test_the_list_names_each_org_unit_for_one_organisation_and_for_several(client, city):
    """For one organisation the names come from the org unit filter's options, for several from a join."""
    unit_name = Employee.objects.get(last_name="Lê").org_unit.name
    client.force_login(hr_user(city))
    page = client.get(reverse("employee_list"), {"q": "rao"}).text  # and with a search
    assert _cells(page, "D&#x27;Souza (geb. Rao), Rui")[0] == "–"  # no unit
    page = client.get(reverse("employee_list")).text
    assert _cells(page, "Lê, Anh")[0] == unit_name

    other = OrganisationFactory(name="Kreis Wesel")
    EmployeeFactory(
        organisation=other,
        org_unit=OrgUnitFactory(organisation=other, name="Jugendamt"),
        first_name="Eva",
        last_name="Roth",
    )
    client.force_login(UserFactory(roles=[(city, Role.HR), (other, Role.HR)]))
    page = client.get(reverse("employee_list")).text
    assert _cells(page, "D&#x27;Souza (geb. Rao), Rui")[:2] == [city.name, "–"]
    for query in ({}, {"q": "ro"}):
        page = client.get(reverse("employee_list"), query).text
        assert _cells(page, "Roth, Eva")[:2] == ["Kreis Wesel", "Jugendamt"]
