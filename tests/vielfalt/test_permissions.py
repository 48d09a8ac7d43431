"""Partner HR sees and changes only its own organisation's employees; everything else answers 404."""

import pytest
from django.urls import reverse

from tests.factories import EmployeeFactory, OrganisationFactory, hr_user
from vielfalt.models import Employee

pytestmark = pytest.mark.django_db


@pytest.fixture
def duisburg():
    return OrganisationFactory(slug="duisburg", name="Stadt Duisburg")


@pytest.fixture
def oberhausen():
    return OrganisationFactory(slug="oberhausen", name="Stadt Oberhausen")


@pytest.fixture
def hr_duisburg_client(client, duisburg):
    client.force_login(hr_user(duisburg, username="hr-duisburg"))
    return client


def test_list_shows_only_own_employees(hr_duisburg_client, duisburg, oberhausen):
    own = EmployeeFactory(organisation=duisburg, last_name="Yılmaz")
    EmployeeFactory(organisation=oberhausen, last_name="Kowalczyk")
    response = hr_duisburg_client.get(reverse("employee_list"))
    assert response.status_code == 200
    assert [row["pk"] for row in response.context["object_list"]] == [own.pk]
    assert "Kowalczyk" not in response.text


def test_other_organisations_employee_answers_404(hr_duisburg_client, oberhausen):
    foreign = EmployeeFactory(organisation=oberhausen)
    assert hr_duisburg_client.get(reverse("employee_update", args=[foreign.pk])).status_code == 404
    response = hr_duisburg_client.post(
        reverse("employee_update", args=[foreign.pk]),
        {"personnel_number": "X", "first_name": "A", "last_name": "B", "target_group": "other"},
    )
    assert response.status_code == 404
    assert hr_duisburg_client.post(reverse("employee_deactivate", args=[foreign.pk])).status_code == 404
    foreign.refresh_from_db()
    assert foreign.is_active is True
    assert foreign.personnel_number != "X"


def test_export_contains_only_own_employees(hr_duisburg_client, duisburg, oberhausen):
    EmployeeFactory(organisation=duisburg, personnel_number="DU-1")
    EmployeeFactory(organisation=oberhausen, personnel_number="OB-1")
    body = b"".join(hr_duisburg_client.get(reverse("employee_export", args=["csv"])).streaming_content)
    assert b"DU-1" in body
    assert b"OB-1" not in body


def test_cannot_create_employee_in_another_organisation(hr_duisburg_client, oberhausen):
    response = hr_duisburg_client.post(
        reverse("employee_create"),
        {
            "organisation": oberhausen.pk,
            "personnel_number": "OB-9",
            "first_name": "A",
            "last_name": "B",
            "target_group": "other",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "organisation" in response.context["form"].errors
    assert not Employee.objects.filter(personnel_number="OB-9").exists()


def test_cannot_import_into_another_organisation(hr_duisburg_client, oberhausen):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("x.csv", "Personalnummer;Nachname;Vorname\nOB-7;Weiß;Jürgen\n".encode())
    response = hr_duisburg_client.post(
        reverse("employee_import"), {"organisation": oberhausen.pk, "file": upload}
    )
    assert response.status_code == 200
    assert not Employee.objects.filter(personnel_number="OB-7").exists()


def test_roles_without_hr_get_403(client, duisburg):
    from tests.factories import UserFactory
    from vielfalt.models import Role

    client.force_login(UserFactory(roles=[(duisburg, Role.ORGANISER)]))
    assert client.get(reverse("employee_list")).status_code == 403
    assert client.get(reverse("employee_export", args=["xlsx"])).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("employee_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url_name", ["partnerships:index", "trainings:index", "surveys:index"])
def test_feature_apps_answer_behind_login(client, duisburg, url_name):
    assert client.get(reverse(url_name)).status_code == 302
    client.force_login(hr_user(duisburg))
    assert client.get(reverse(url_name)).status_code == 200


def test_employee_list_query_count_does_not_grow(hr_duisburg_client, duisburg):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            response = hr_duisburg_client.get(reverse("employee_list"))
        assert response.status_code == 200
        return len(queries), len(response.context["object_list"])

    EmployeeFactory(organisation=duisburg)
    count_queries()  # warm up per-process caches (content types, ...)
    one = count_queries()
    EmployeeFactory.create_batch(3, organisation=duisburg)
    assert count_queries() == (one[0], 4)
    assert one[1] == 1
