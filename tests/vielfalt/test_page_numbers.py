"""A page number from the address bar is never an error: none, garbage, zero, negative or past the end shows a
page or 404, also when it is far beyond what a database can skip. Every list that reads a page before knowing
its total (vielfalt.pagination) passed "?page=99999999999999999999" to PostgreSQL as an OFFSET and answered 500
("bigint out of range")."""

import pytest
from django.urls import reverse

from tests.factories import EmployeeFactory, OrganisationFactory, UserFactory
from tests.network.conftest import make_entry
from tests.partnerships.factories import AgreementFactory
from tests.trainings.factories import CourseDateFactory

pytestmark = pytest.mark.django_db
NUMBERS = ["99999999999999999999", "-99999999999999999999", "1000000001", "0", "1e3", "x", ""]


@pytest.fixture
def lists():
    city = OrganisationFactory(name="Stadt Duisburg")
    EmployeeFactory(organisation=city, last_name="Müller")
    AgreementFactory(partner=city)
    course_date = CourseDateFactory()
    make_entry(city)
    return {
        "employees, searched": (reverse("employee_list"), {"q": "Müller"}),
        "agreements, searched": (reverse("partnerships:index"), {"q": "Duisburg"}),
        "courses": (reverse("trainings:index"), {}),
        "training report, units": (reverse("trainings:report"), {}),
        "training report, dates": (reverse("trainings:report"), {"page_name": "dates_page"}),
        "enrolment page, searched": (reverse("trainings:enrol", args=[course_date.pk]), {"q": "Müller"}),
        "practice library": (reverse("network:practice_list"), {}),
        "practice library, searched": (reverse("network:practice_list"), {"q": "Bewerbung"}),
    }


@pytest.mark.parametrize("number", NUMBERS)
def test_no_page_number_is_an_error(client, lists, number):
    client.force_login(UserFactory(is_superuser=True))
    for name, (url, query) in lists.items():
        query = dict(query)
        parameter = query.pop("page_name", "page")
        response = client.get(url, {**query, parameter: number})
        assert response.status_code in (200, 404), (name, number, response.status_code)


def test_a_page_number_is_read_as_a_number_of_a_page():
    from vielfalt.pagination import MAX_PAGE, page_number

    assert [page_number(value) for value in ("3", "0", "-2", "x", None, "1e3", "99999999999999999999")] == [
        3,
        1,
        1,
        1,
        1,
        1,
        MAX_PAGE,
    ]
