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


def _hidden_selected(html: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="selected" value="(\d+)">', html)


def test_the_selection_is_kept_across_pages_and_filters(
    client, course_date, duisburg, hr_duisburg, monkeypatch
):
    """HR ticked 3 on page 1, went to page 2, ticked 2 more and enrolled: only page 2's 2 were enrolled, the
    boxes of page 1 having gone with the page. The pages and the filter are now part of the form that carries the
    selection (without JavaScript), and the page says how many are selected."""
    from trainings.views import EnrolView

    monkeypatch.setattr(EnrolView, "paginate_by", 5)
    trainees = [
        EmployeeFactory(organisation=duisburg, last_name=f"Name {n:02d}", target_group=TargetGroup.TRAINEE)
        for n in range(8)
    ]
    managers = [
        EmployeeFactory(organisation=duisburg, last_name=f"Zweig {n:02d}", target_group=TargetGroup.MANAGER)
        for n in range(4)
    ]
    url = reverse("trainings:enrol", args=[course_date.pk])
    client.force_login(hr_duisburg)
    first = [e.pk for e in client.get(url).context["employees"]]
    assert first == [e.pk for e in trainees[:5]]
    # Page 1: three ticked, then "Next".
    response = client.post(url, {"employees": first[:3], "at_page": "1", "page": "2"})
    assert response.status_code == 302
    assert Enrolment.objects.count() == 0
    page_2 = client.get(response["Location"], headers={"accept-language": "de"})
    assert [e.pk for e in page_2.context["employees"]] == [e.pk for e in trainees[5:]] + [
        managers[0].pk,
        managers[1].pk,
    ]
    assert sorted(map(int, _hidden_selected(page_2.text))) == sorted(first[:3])
    assert "3 Beschäftigte ausgewählt" in page_2.text
    # Page 2: two more ticked, then the managers only (a filter): the five stay selected, unticked on page 1.
    response = client.post(
        url,
        {
            "selected": _hidden_selected(page_2.text),
            "employees": [trainees[5].pk, managers[0].pk],
            "at_page": "2",
            "target_group": TargetGroup.MANAGER,
            "action": "filter",
        },
    )
    assert response.status_code == 302
    managers_page = client.get(response["Location"])
    assert [e.pk for e in managers_page.context["employees"]] == [e.pk for e in managers]
    assert re.search(rf'value="{managers[0].pk}" id="employee-{managers[0].pk}" checked', managers_page.text)
    assert len(_hidden_selected(managers_page.text)) == 4  # the other four, not shown with this filter
    # Unticked here, one more ticked, and enrolled: the selection of every page and filter.
    response = client.post(
        url,
        {"selected": _hidden_selected(managers_page.text), "employees": [managers[3].pk], "action": "enrol"},
    )
    assert response.status_code == 302
    assert set(Enrolment.objects.values_list("employee_id", flat=True)) == {
        *first[:3],
        trainees[5].pk,
        managers[3].pk,
    }


def test_the_selection_is_bounded(client, course_date, duisburg, hr_duisburg):
    """Each request reads the whole selection: at most 200 employees, refused in words beyond that (one more, a
    list to upload instead), with the boxes as they were so that HR can untick some."""
    chosen = [e.pk for e in employees_for_selection(duisburg, 201)]
    url = reverse("trainings:enrol", args=[course_date.pk])
    client.force_login(hr_duisburg)
    response = client.post(
        url,
        {"selected": chosen[:150], "employees": chosen[150:], "action": "enrol"},
        headers={"accept-language": "de"},
    )
    assert response.status_code == 422
    assert (
        "Höchstens 200 Beschäftigte können auf einmal ausgewählt werden; ausgewählt sind 201."
        in response.text
    )
    assert Enrolment.objects.count() == 0
    # A longer selection in the address is cut to the limit before it is read, then to whom HR may enrol.
    stranger = EmployeeFactory()
    response = client.get(url, {"selected": [stranger.pk, *chosen]})
    assert response.context["selected"] == set(chosen[:199])
    assert stranger.pk not in response.context["selected"]


def employees_for_selection(organisation, count):
    return EmployeeFactory.create_batch(
        count, organisation=organisation, org_unit=OrgUnitFactory(organisation=organisation)
    )
