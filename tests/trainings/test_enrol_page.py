"""The enrolment page of a city with many employees: its total from the counts kept by triggers, whether each
employee is enrolled here or trained read for the page's rows only, a search sorted after matching."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import need
from tests.factories import EmployeeFactory, OrgUnitFactory
from tests.trainings.factories import CourseDateFactory, EnrolmentFactory
from trainings.models import Enrolment
from vielfalt.models import TargetGroup

pytestmark = pytest.mark.django_db

COUNTING = 'COUNT(*) AS "__count" FROM "vielfalt_employee"'


def _rows(response) -> dict[str, str]:
    """Last name → the page's training column for that employee."""
    return {
        employee.last_name: ("enrolled" if employee.enrolled_here else "trained" if employee.trained else "–")
        for employee in response.context["employees"]
    }


def test_the_page_marks_who_is_enrolled_here_and_who_is_trained(
    client, course, course_date, duisburg, hr_duisburg
):
    enrolled = EmployeeFactory(organisation=duisburg, last_name="Abel")
    trained = EmployeeFactory(organisation=duisburg, last_name="Bauer")
    cancelled = EmployeeFactory(organisation=duisburg, last_name="Celik")
    elsewhere = EmployeeFactory(organisation=duisburg, last_name="Demir")
    EmployeeFactory(organisation=duisburg, last_name="Engel")
    EnrolmentFactory(course_date=course_date, employee=enrolled)
    EnrolmentFactory(
        course_date=CourseDateFactory(), employee=trained, attendance=Enrolment.Attendance.ATTENDED
    )
    EnrolmentFactory(course_date=course_date, employee=cancelled, status=Enrolment.Status.CANCELLED)
    EnrolmentFactory(course_date=CourseDateFactory(), employee=elsewhere)  # another course, not attended
    client.force_login(hr_duisburg)
    response = client.get(reverse("trainings:enrol", args=[course_date.pk]))
    assert _rows(response) == {
        "Abel": "enrolled",
        "Bauer": "trained",
        "Celik": "–",
        "Demir": "–",
        "Engel": "–",
    }
    assert f'value="{enrolled.pk}" id="employee-{enrolled.pk}" disabled' in response.text
    # Only those not trained yet.
    response = client.get(reverse("trainings:enrol", args=[course_date.pk]), {"trained": "1"})
    assert set(_rows(response)) == {"Abel", "Celik", "Demir", "Engel"}


def test_the_total_comes_from_the_counts_unless_searching(client, course_date, duisburg, hr_duisburg):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    office = OrgUnitFactory(organisation=duisburg)
    EmployeeFactory.create_batch(3, organisation=duisburg, org_unit=office, last_name="Schmidt")
    EmployeeFactory(organisation=duisburg, target_group=TargetGroup.TRAINEE, last_name="Yılmaz")
    EmployeeFactory(organisation=duisburg, is_active=False)  # not offered
    client.force_login(hr_duisburg)
    url = reverse("trainings:enrol", args=[course_date.pk])
    for query, expected in [
        ({}, 4),
        ({"org_unit": office.pk}, 3),
        ({"target_group": TargetGroup.TRAINEE}, 1),
    ]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, query)
        assert response.context["paginator"].count == expected, query
        assert len(response.context["employees"]) == expected, query
        assert not [q["sql"] for q in queries.captured_queries if COUNTING in q["sql"]], query
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"q": "schmidt"})
    assert response.context["paginator"].count == 3
    # The matches are counted with the page's own statement, not found again for a COUNT.
    assert not [q["sql"] for q in queries.captured_queries if COUNTING in q["sql"]]
    assert [employee.last_name for employee in response.context["employees"]] == ["Schmidt"] * 3
    searched = [q["sql"] for q in queries.captured_queries if "LIKE" in q["sql"] and "LIMIT" in q["sql"]]
    assert (
        'ORDER BY COALESCE("vielfalt_employee"."last_name", "vielfalt_employee"."last_name")' in searched[0]
    )


def test_the_filter_names_a_refused_choice_at_its_control(client, course_date, duisburg, hr_duisburg):
    """The enrolment page's filter is the lists' filter form: another city's org unit is no option, and the
    control says so (in German, tied to it for screen readers) instead of quietly showing everyone."""
    EmployeeFactory(organisation=duisburg, last_name="Abel")
    foreign = OrgUnitFactory()
    client.force_login(hr_duisburg)
    url = reverse("trainings:enrol", args=[course_date.pk])
    page = client.get(url, {"org_unit": foreign.pk}, HTTP_ACCEPT_LANGUAGE="de").text
    assert (
        'id="id_org_unit" class="form-select is-invalid" aria-describedby="id_org_unit_error" aria-invalid="true"'
        in page
    )
    assert re.search(
        r'<p class="invalid-feedback d-block mt-0 mb-0" id="id_org_unit_error">Organisationseinheit: [^<]*gültig',
        page,
    )
    assert foreign.name not in page
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="de").text
    assert "is-invalid" not in page
    assert '<option value="" selected>' in page  # "all", as in the other lists' filters


def test_those_not_trained_yet_are_counted_from_the_tallies(
    client, course, course_date, duisburg, hr_duisburg
):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    office = OrgUnitFactory(organisation=duisburg)
    people = [EmployeeFactory(organisation=duisburg, org_unit=office) for _ in range(3)]
    trainees = [EmployeeFactory(organisation=duisburg, target_group=TargetGroup.TRAINEE) for _ in range(2)]
    EmployeeFactory(organisation=duisburg, is_active=False)  # neither offered nor counted
    attended = CourseDateFactory()
    for employee in (people[0], trainees[0]):
        EnrolmentFactory(course_date=attended, employee=employee, attendance=Enrolment.Attendance.ATTENDED)
    EnrolmentFactory(course_date=attended, employee=people[1], attendance=Enrolment.Attendance.NO_SHOW)
    client.force_login(hr_duisburg)
    url = reverse("trainings:enrol", args=[course_date.pk])
    for query, expected, counted in [
        ({"trained": "1"}, 3, False),
        ({"trained": "1", "target_group": TargetGroup.TRAINEE}, 1, False),
        ({"trained": "1", "org_unit": office.pk}, 2, False),  # per unit too (the tallies hold the unit)
    ]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, query)
        assert response.context["paginator"].count == expected == len(response.context["employees"]), query
        assert not [q for q in queries.captured_queries if COUNTING in q["sql"]], query
        assert bool([q for q in queries.captured_queries if "COUNT(*) OVER ()" in q["sql"]]) == counted, query


def test_a_refused_selection_stays_ticked(client, course_date, duisburg, hr_duisburg):
    """HR ticks 20 colleagues; one of them left meanwhile (a colleague in HR marked them inactive), and nobody is
    enrolled. Before, the page came back with every box empty: the other 19 had to be found and ticked again."""
    chosen = [EmployeeFactory(organisation=duisburg, last_name=f"Name {n:02d}") for n in range(20)]
    left = chosen[7]
    left.is_active = False
    left.save()
    client.force_login(hr_duisburg)
    response = client.post(
        reverse("trainings:enrol", args=[course_date.pk]), {"employees": [e.pk for e in chosen]}
    )
    assert response.status_code == 422
    assert Enrolment.objects.count() == 0
    ticked = set(map(int, re.findall(r'value="(\d+)" id="employee-\d+"[^>]* checked', response.text)))
    assert ticked == {e.pk for e in chosen} - {left.pk}
