"""The Django admin changes no course date and no organisation's quota: those go through the portal's pages,
whose services tell the people enrolled, move the waiting list and keep what has begun."""

import pytest
from django.urls import reverse
from icalendar import Calendar

from tests.helpers import form_data
from tests.trainings.conftest import employees_of
from tests.trainings.factories import CourseDateFactory, EnrolmentFactory
from trainings.ical import course_date_ics
from trainings.models import Certificate, CourseDate, CourseParticipant, Enrolment

pytestmark = pytest.mark.django_db


def test_a_course_date_is_not_changed_or_cancelled_in_the_admin(client, superuser, course_date, duisburg):
    """Before, an administrator could set "cancelled" (or move the start, or raise the capacity) in the admin:
    the people enrolled kept their seats on a cancelled date and nobody was told, nobody moved up."""
    (person,) = employees_of(duisburg, 1)
    seat = EnrolmentFactory(course_date=course_date, employee=person)
    client.force_login(superuser)
    url = reverse("admin:trainings_coursedate_change", args=[course_date.pk])
    before = CourseDate.objects.get(pk=course_date.pk)
    data = {
        "course": course_date.course_id,
        "starts_at_0": "01.01.2030",
        "starts_at_1": "09:00:00",
        "ends_at_0": "01.01.2030",
        "ends_at_1": "16:00:00",
        "capacity": "40",
        "enrolment_deadline_0": "01.12.2029",
        "enrolment_deadline_1": "09:00:00",
        "cancellation_deadline_0": "01.12.2029",
        "cancellation_deadline_1": "09:00:00",
        "cancelled_at_0": "01.06.2029",
        "cancelled_at_1": "09:00:00",
        "sequence": "0",
    }
    assert client.post(url, data).status_code == 403
    after = CourseDate.objects.get(pk=course_date.pk)
    assert (after.starts_at, after.capacity, after.cancelled_at, after.sequence) == (
        before.starts_at,
        before.capacity,
        None,
        before.sequence,
    )
    seat.refresh_from_db()
    assert seat.status == Enrolment.Status.SEATED
    page = client.get(url)
    assert page.status_code == 200  # to look at
    assert 'name="_save"' not in page.text


def test_a_quota_is_not_changed_nor_an_organisation_removed_in_the_admin(client, superuser, course, duisburg):
    """Before, a quota raised in the admin left that organisation's employees waiting beside free seats, and an
    organisation removed there left its enrolments on a course its HR could no longer see."""
    participant = CourseParticipant.objects.get(course=course, organisation=duisburg)
    client.force_login(superuser)
    url = reverse("admin:trainings_course_change", args=[course.pk])
    data = form_data(client.get(url).text, "course_form")
    data.update(
        {
            "participants-0-id": str(participant.pk),
            "participants-0-course": str(course.pk),
            "participants-0-organisation": str(duisburg.pk),
            "participants-0-seat_quota": "5",
            "participants-0-DELETE": "on",
        }
    )
    data["participants-INITIAL_FORMS"] = "1"
    data["participants-TOTAL_FORMS"] = max(data.get("participants-TOTAL_FORMS", "1"), "1")
    client.post(url, data)
    participant.refresh_from_db()
    assert participant.seat_quota is None


def test_renaming_a_course_in_the_admin_raises_the_calendar_version_of_its_dates(
    client, superuser, course_date
):
    """As on the course's page (tests/trainings/test_date_changes.py): before, the dates' calendar entries kept
    their version, and calendars the old title."""
    course = course_date.course
    held = course_date_ics(CourseDate.objects.select_related("course").get(pk=course_date.pk))
    client.force_login(superuser)
    url = reverse("admin:trainings_course_change", args=[course.pk])
    data = form_data(client.get(url).text, "course_form")
    data["title"] = "Vielfalt im Bürgerbüro"
    assert client.post(url, data).status_code == 302
    renamed = course_date_ics(CourseDate.objects.select_related("course").get(pk=course_date.pk))

    def entry(ics):
        return Calendar.from_ical(ics).walk("VEVENT")[0]

    assert str(entry(renamed)["SUMMARY"]) == "Vielfalt im Bürgerbüro"
    assert int(entry(renamed)["SEQUENCE"]) > int(entry(held)["SEQUENCE"])


def test_a_course_is_not_handed_to_another_organiser_in_the_admin(client, superuser, course_date, duisburg):
    """A course's dates, enrolments, quotas and certificates hang on its organiser. Before, an administrator could
    pick another one in the admin: the course, its dates and everyone enrolled moved to another city's
    organisers at a click, the organiser's own employees were left enrolled by an organisation not taking part,
    and nobody was asked or told."""
    course = course_date.course
    organiser = course.organiser
    (person,) = employees_of(duisburg, 1)
    EnrolmentFactory(course_date=course_date, employee=person)
    client.force_login(superuser)
    url = reverse("admin:trainings_course_change", args=[course.pk])
    page = client.get(url).text
    data = form_data(page, "course_form")
    data["organiser"] = str(duisburg.pk)
    data["title"] = "Vielfalt im Bürgerbüro"
    client.post(url, data)
    course.refresh_from_db()
    assert (course.organiser, course.title) == (organiser, "Vielfalt im Bürgerbüro")
    assert 'name="organiser"' not in page
    # A new course still gets its organiser here.
    assert 'name="organiser"' in client.get(reverse("admin:trainings_course_add")).text


def test_an_enrolment_is_not_deleted_in_the_admin(client, superuser, duisburg):
    """Before, deleting a seated enrolment in the admin freed its seat without moving the waiting list up, told
    nobody, and took the record of who attended with it."""
    course_date = CourseDateFactory(capacity=1, course__organiser=duisburg)
    seated, waiting = employees_of(duisburg, 2)
    seat = EnrolmentFactory(course_date=course_date, employee=seated)
    EnrolmentFactory(course_date=course_date, employee=waiting, status=Enrolment.Status.WAITING)
    client.force_login(superuser)
    delete = reverse("admin:trainings_enrolment_delete", args=[seat.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [seat.pk], "post": "yes"}
    client.post(reverse("admin:trainings_enrolment_changelist"), bulk)
    assert Enrolment.objects.filter(pk=seat.pk).exists()


def test_a_certificate_is_neither_made_up_nor_deleted_in_the_admin(client, superuser, course_date, duisburg):
    """Before, an administrator could add a certificate for any enrolment (one never attended) with any name and
    course on it, which the public verification page then confirmed under the portal's name; and delete an
    issued one, which the page then called unknown though its holder has it on paper."""
    person, absent = employees_of(duisburg, 2)
    attended = EnrolmentFactory(course_date=course_date, employee=person, attendance="attended")
    never = EnrolmentFactory(course_date=course_date, employee=absent)
    issued = Certificate.objects.create(
        enrolment=attended,
        holder_name=person.full_name,
        course_title="Interkulturelle Sensibilisierung",
        course_content="Kultur",
        date_text="01.01.2030",
        duration_hours="7.5",
        organiser_name="Stadt Oberhausen",
    )
    client.force_login(superuser)
    data = {
        "enrolment": never.pk,
        "code": "GEFAELSCHT-1",
        "holder_name": "Erika Mustermann",
        "course_title": "Führung in vielfältigen Teams",
        "course_content": "Alles",
        "date_text": "01.01.2030",
        "duration_hours": "40",
        "organiser_name": "Ministerium",
    }
    assert client.post(reverse("admin:trainings_certificate_add"), data).status_code == 403
    assert not Certificate.objects.filter(enrolment=never).exists()
    assert (
        client.post(
            reverse("admin:trainings_certificate_delete", args=[issued.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert Certificate.objects.filter(pk=issued.pk).exists()
