"""When the organiser moves a date or changes its place, everyone enrolled on it (seated or waiting) is told by
e-mail with a calendar entry that replaces theirs (same UID, higher SEQUENCE). Before, the change was saved and the
calendar version raised, but nobody was told: the people enrolled came at the old time to the old room. (The
e-mails are in German, as the task writes them.)"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from tests.helpers import form_data
from tests.trainings.conftest import employees_of
from tests.trainings.factories import EnrolmentFactory, begin
from trainings.models import Enrolment
from trainings.services import course_date_cancel, course_date_update, course_update, enrolment_cancel

pytestmark = pytest.mark.django_db


def _event(message):
    (attachment,) = message.attachments
    return Calendar.from_ical(attachment[1]).walk("VEVENT")[0]


def test_moving_a_date_tells_everyone_enrolled_with_a_calendar_entry_that_replaces_theirs(
    course_date, duisburg, organiser, outbox, django_capture_on_commit_callbacks
):
    course_date.capacity = 2
    course_date.save()
    seated_1, seated_2, waiting, cancelled = employees_of(duisburg, 4)
    reminded = EnrolmentFactory(course_date=course_date, employee=seated_1, reminder_sent_at=timezone.now())
    EnrolmentFactory(course_date=course_date, employee=seated_2)
    EnrolmentFactory(course_date=course_date, employee=waiting, status=Enrolment.Status.WAITING)
    EnrolmentFactory(course_date=course_date, employee=cancelled, status=Enrolment.Status.CANCELLED)
    later = (course_date.starts_at + timedelta(days=1, hours=1)).replace(microsecond=0)

    with django_capture_on_commit_callbacks(execute=True):
        changed = course_date_update(
            actor=organiser,
            course_date=course_date,
            starts_at=later,
            ends_at=later + timedelta(hours=6),
            location="Rathaus Oberhausen, Ratssaal",
        )

    by_person = {message.to[0]: message for message in outbox}
    assert sorted(by_person) == sorted([seated_1.email, seated_2.email, waiting.email])
    for address, message in by_person.items():
        assert message.subject == f"Termin geändert: {course_date.course.title}"
        assert "Ratssaal" in message.body
        event = _event(message)
        assert event.decoded("DTSTART") == later
        assert int(event["SEQUENCE"]) == changed.sequence == 1
        assert str(event["STATUS"]) == ("TENTATIVE" if address == waiting.email else "CONFIRMED")
    assert "weiterhin auf der Warteliste, auf Platz 1" in by_person[waiting.email].body
    # Reminded the day before the old start (the date was moved at the last minute): reminded again before the new.
    reminded.refresh_from_db()
    assert reminded.reminder_sent_at is None

    # A change nobody needs to hear of (the capacity) tells only whom it gives a seat, with their own e-mail.
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        course_date_update(actor=organiser, course_date=changed, capacity=3)
    assert [(m.to[0], m.subject) for m in outbox] == [
        (waiting.email, f"Sie haben einen Platz: {course_date.course.title}")
    ]


def test_the_organiser_learns_that_everyone_enrolled_is_told(
    client, course_date, duisburg, organiser, outbox, django_capture_on_commit_callbacks
):
    (employee,) = employees_of(duisburg, 1)
    EnrolmentFactory(course_date=course_date, employee=employee)
    client.force_login(organiser)
    url = reverse("trainings:date_update", args=[course_date.pk])
    data = form_data(client.get(url).content.decode())
    data["location"] = "Online"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data, follow=True)
    assert (
        "alle Angemeldeten erhalten die neue Zeit bzw. den neuen Ort per E-Mail" in response.content.decode()
    )
    assert [m.to[0] for m in outbox] == [employee.email]


def test_a_change_to_a_date_under_way_tells_those_seated_and_one_held_nobody(
    client, course_date, duisburg, organiser, outbox, django_capture_on_commit_callbacks
):
    """The organiser correcting the room of a date held last week e-mailed everyone enrolled "Termin geändert"
    with a calendar entry, the waiting list too, who could no longer move up; the page said they were all told."""
    course_date.capacity = 1
    course_date.save()
    seated, waiting = employees_of(duisburg, 2)
    EnrolmentFactory(course_date=course_date, employee=seated)
    EnrolmentFactory(course_date=course_date, employee=waiting, status=Enrolment.Status.WAITING)
    begin(course_date)
    with django_capture_on_commit_callbacks(execute=True):  # under way: to another room after the break
        course_date_update(actor=organiser, course_date=course_date, location="Rathaus, Raum 2")
    assert [(m.to[0], m.subject) for m in outbox] == [
        (seated.email, f"Termin geändert: {course_date.course.title}")
    ]

    held = begin(course_date, ago=timedelta(days=7))
    outbox.clear()
    client.force_login(organiser)
    url = reverse("trainings:date_update", args=[held.pk])
    data = form_data(client.get(url).content.decode())
    data["location"] = "Rathaus, Raum 3"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data, follow=True)
    assert "Die Änderungen wurden gespeichert." in response.text
    assert "per E-Mail" not in response.text
    assert outbox == []
    held.refresh_from_db()
    assert held.location == "Rathaus, Raum 3"


def test_hr_is_asked_to_tell_on_paper_whom_the_portal_cannot_reach(
    course_date,
    duisburg,
    oberhausen,
    hr_duisburg,
    hr_oberhausen,
    organiser,
    outbox,
    django_capture_on_commit_callbacks,
):
    """Employees without an e-mail address are told by their HR office on paper. Before, when the organiser moved or
    cancelled their date, or when they moved up from the waiting list, nobody was told at all: HR had done nothing
    and learned nothing, and they came at the old time, to a cancelled course, or not at all."""
    course_date.capacity = 2
    course_date.save()
    (with_address,) = employees_of(duisburg, 1)
    on_paper = employees_of(duisburg, 2, email="")
    EnrolmentFactory(course_date=course_date, employee=with_address)
    EnrolmentFactory(course_date=course_date, employee=on_paper[0])
    EnrolmentFactory(course_date=course_date, employee=on_paper[1], status=Enrolment.Status.WAITING)
    later = (course_date.starts_at + timedelta(hours=2)).replace(microsecond=0)

    with django_capture_on_commit_callbacks(execute=True):
        course_date_update(
            actor=organiser,
            course_date=course_date,
            starts_at=later,
            ends_at=later + timedelta(hours=6),
            capacity=3,
        )
    title = course_date.course.title
    assert [m.to for m in outbox if m.subject == f"Termin geändert: {title}"] == [[with_address.email]]
    to_hr = [m for m in outbox if m.subject == f"Bitte informieren Sie Ihre Beschäftigten: {title}"]
    assert [m.to for m in to_hr] == [[hr_duisburg.email]] * 2  # the date moved, and one moved up
    assert not [m for m in outbox if m.to == [hr_oberhausen.email]]
    moved_up, moved = sorted(to_hr, key=lambda m: "geändert" in m.body)
    assert on_paper[1].full_name in moved_up.body and on_paper[0].full_name not in moved_up.body
    assert "nachgerückt" in moved_up.body
    assert on_paper[0].full_name in moved.body and on_paper[0].personnel_number in moved.body
    assert with_address.full_name not in moved.body  # told by e-mail themselves
    assert "geändert" in moved.body and "schriftlich" in moved.body

    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        course_date_cancel(actor=organiser, course_date=course_date)
    (cancelled,) = [m for m in outbox if m.to == [hr_duisburg.email]]
    assert "abgesagt" in cancelled.body
    assert on_paper[0].full_name in cancelled.body and on_paper[1].full_name in cancelled.body


def test_hr_is_asked_to_tell_on_paper_whose_enrolment_the_organiser_cancelled(
    course_date, duisburg, hr_duisburg, organiser, outbox, django_capture_on_commit_callbacks
):
    """The organiser may cancel any enrolment of its courses until the date begins. Before, an employee without an
    e-mail address whose enrolment the organiser cancelled was never told, nor was their HR office."""
    by_organiser, by_hr = employees_of(duisburg, 2, email="")
    EnrolmentFactory(course_date=course_date, employee=by_organiser)
    EnrolmentFactory(course_date=course_date, employee=by_hr)
    with django_capture_on_commit_callbacks(execute=True):
        enrolment_cancel(actor=organiser, enrolment=Enrolment.objects.get(employee=by_organiser))
    (message,) = outbox
    assert message.to == [hr_duisburg.email]
    assert "storniert" in message.body and by_organiser.full_name in message.body

    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # HR knows what it did itself
        enrolment_cancel(actor=hr_duisburg, enrolment=Enrolment.objects.get(employee=by_hr))
    assert outbox == []


def test_renaming_a_course_raises_the_calendar_version_of_its_dates(course_date, organiser, client):
    """A date's calendar entry is titled with its course's title and carries its content. Calendars replace an
    entry only by one with a higher SEQUENCE; before, renaming the course sent the next entry (a reminder, a
    seat, the download on the date's page) at the version the calendar already held, so it kept the old title."""
    url = reverse("trainings:date_ics", args=[course_date.pk])
    client.force_login(organiser)

    def entry():
        return Calendar.from_ical(client.get(url).content).walk("VEVENT")[0]

    held = entry()
    course_update(actor=organiser, course=course_date.course, title="Vielfalt im Bürgerbüro")
    renamed = entry()
    assert str(renamed["SUMMARY"]) == "Vielfalt im Bürgerbüro"
    assert int(renamed["SEQUENCE"]) > int(held["SEQUENCE"])

    course_update(actor=organiser, course=course_date.course, description="Neue Inhalte")
    described = entry()
    assert "Neue Inhalte" in str(described["DESCRIPTION"])
    assert int(described["SEQUENCE"]) > int(renamed["SEQUENCE"])

    # What the entry does not show leaves its version as it was.
    course_update(actor=organiser, course=course_date.course, duration_hours=Decimal("7.5"))
    assert int(entry()["SEQUENCE"]) == int(described["SEQUENCE"])
