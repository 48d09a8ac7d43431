"""Someone who leaves their organisation (HR clears "active" in the form or the import says "nein") gives up their
enrolments on course dates that have not begun: the seat goes to the waiting list at once, and nobody reminds
them of the date or lists them on its sign-in sheet. Before, the seat stayed taken by someone who would not come,
the waiting list stood still, and the day before the date the reminder went to the person who had left."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory
from tests.helpers import form_data
from tests.trainings.conftest import employees_of
from tests.trainings.factories import CourseDateFactory, EnrolmentFactory
from trainings.models import Enrolment
from vielfalt.models import AuditEntry
from vielfalt.services import employee_update, employees_import
from vielfalt.tabular import Table

pytestmark = pytest.mark.django_db


def _state(enrolment) -> str:
    enrolment.refresh_from_db()
    return enrolment.status


def test_leaving_frees_the_seat_on_a_date_not_begun_for_the_waiting_list(
    course, duisburg, hr_duisburg, outbox, django_capture_on_commit_callbacks
):
    leaver, waiting = employees_of(duisburg, 2)
    upcoming = CourseDateFactory(course=course, capacity=1)
    # Past the cancellation deadline, where HR could no longer cancel: nobody will come all the same.
    soon = CourseDateFactory(
        course=course,
        capacity=5,
        starts_at=timezone.now() + timedelta(hours=20),
        cancellation_deadline=timezone.now() - timedelta(hours=1),
        enrolment_deadline=timezone.now() - timedelta(hours=2),
    )
    begun = CourseDateFactory(course=course, starts_at=timezone.now() - timedelta(hours=1))
    seated = EnrolmentFactory(course_date=upcoming, employee=leaver)
    in_line = EnrolmentFactory(course_date=upcoming, employee=waiting, status=Enrolment.Status.WAITING)
    late = EnrolmentFactory(course_date=soon, employee=leaver)
    history = EnrolmentFactory(course_date=begun, employee=leaver)

    with django_capture_on_commit_callbacks(execute=True):
        employee_update(actor=hr_duisburg, employee=leaver, is_active=False)

    assert [_state(e) for e in (seated, late, history)] == ["cancelled", "cancelled", "seated"]
    assert _state(in_line) == "seated"
    assert sorted(m.to[0] for m in outbox) == sorted([leaver.email, leaver.email, waiting.email])
    changes = AuditEntry.objects.filter(changes__has_key="status", actor_id=hr_duisburg.pk)
    assert sorted(changes.values_list("object_id", flat=True)) == sorted(
        str(e.pk) for e in (seated, in_line, late)
    )
    # Active again later: nothing comes back by itself, and nothing is cancelled twice.
    employee_update(actor=hr_duisburg, employee=leaver, is_active=True)
    employee_update(actor=hr_duisburg, employee=leaver, is_active=False)
    assert _state(seated) == "cancelled" and _state(in_line) == "seated"


def test_an_import_that_marks_someone_as_left_frees_their_seat(
    course, course_date, duisburg, hr_duisburg, outbox, django_capture_on_commit_callbacks
):
    leaver, staying, waiting = employees_of(duisburg, 3)
    course_date.capacity = 2
    course_date.save()
    seats = [EnrolmentFactory(course_date=course_date, employee=e) for e in (leaver, staying)]
    in_line = EnrolmentFactory(course_date=course_date, employee=waiting, status=Enrolment.Status.WAITING)
    table = Table(
        header=["Personalnummer", "Nachname", "Vorname", "E-Mail", "Aktiv"],
        rows=[
            (2, [leaver.personnel_number, leaver.last_name, leaver.first_name, leaver.email, "nein"]),
            (3, [staying.personnel_number, staying.last_name, staying.first_name, staying.email, "ja"]),
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        employees_import(actor=hr_duisburg, organisation=duisburg, table=table)
    assert [_state(e) for e in (*seats, in_line)] == ["cancelled", "seated", "seated"]
    # Importing the same file again changes nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        employees_import(actor=hr_duisburg, organisation=duisburg, table=table)
    assert [_state(e) for e in (*seats, in_line)] == ["cancelled", "seated", "seated"]
    assert sorted(m.to[0] for m in outbox) == sorted([leaver.email, waiting.email])


def test_clearing_active_in_the_admin_frees_the_seat_too(client, course_date, duisburg):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    leaver, waiting = employees_of(duisburg, 2)
    course_date.capacity = 1
    course_date.save()
    seated = EnrolmentFactory(course_date=course_date, employee=leaver)
    in_line = EnrolmentFactory(course_date=course_date, employee=waiting, status=Enrolment.Status.WAITING)
    client.force_login(root)
    url = reverse("admin:vielfalt_employee_change", args=[leaver.pk])
    data = form_data(client.get(url).content.decode(), "employee_form")
    data.pop("is_active")
    assert client.post(url, data).status_code == 302
    assert (_state(seated), _state(in_line)) == ("cancelled", "seated")
