"""E-mails sent by a real Celery worker (Redis broker, locmem mail backend), each with a valid iCalendar file;
the daily reminder; the iCalendar writer itself."""

import re
import time
from datetime import UTC, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from tests.trainings.conftest import employees_of
from tests.trainings.factories import CourseDateFactory
from trainings.ical import course_date_ics
from trainings.models import CourseDate, Enrolment
from trainings.services import course_date_cancel, course_date_update, enrolment_cancel, enrolment_create_many
from trainings.tasks import task_send_date_reminders, task_send_enrolment_mails

LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture
def locmem_mail(settings):
    settings.MAILERS = LOCMEM
    mail.outbox = []
    return mail.outbox


def wait_for_mail(count: int, timeout: float = 30) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(mail.outbox) >= count:
            time.sleep(0.3)  # nothing more should arrive
            return list(mail.outbox)
        time.sleep(0.1)
    raise AssertionError(f"{len(mail.outbox)} of {count} e-mails after {timeout} s")


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def assert_valid_ics(data: bytes, *, status="CONFIRMED") -> dict:
    """RFC 5545 structure: CRLF line ends only, lines of at most 75 octets, balanced components, the required
    properties, UTC date-times."""
    text = data.decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    for raw_line in text.split("\r\n")[:-1]:
        assert len(raw_line.encode()) <= 75, raw_line
    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    stack = []
    properties = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name == "BEGIN":
            stack.append(value)
        elif name == "END":
            assert stack.pop() == value
        else:
            properties[name] = value
    assert stack == []
    for required in ("VERSION", "PRODID", "UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
        assert required in properties, required
    for stamp in ("DTSTAMP", "DTSTART", "DTEND"):
        assert re.fullmatch(r"\d{8}T\d{6}Z", properties[stamp])
    assert properties["STATUS"] == status
    return properties


def ics_of(message) -> bytes:
    (attachment,) = message.attachments
    name, content, mimetype = attachment
    assert name.endswith(".ics") and mimetype == "text/calendar"
    return content if isinstance(content, bytes) else content.encode()


@pytest.mark.django_db
def test_fold_and_escape(course_date):
    course_date.course.title = "Vielfalt, Teil 1; Grundlagen\\Praxis"
    course_date.course.description = "Ä" * 100
    course_date.trainer = ""
    data = course_date_ics(course_date)
    properties = assert_valid_ics(data)  # lines of at most 75 octets, never split inside a character
    assert properties["DESCRIPTION"] == "Ä" * 100
    assert properties["SUMMARY"] == "Vielfalt\\, Teil 1\\; Grundlagen\\\\Praxis"
    assert properties["DTSTART"] == course_date.starts_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@pytest.mark.django_db(transaction=True)
def test_confirmation_and_waiting_list_mails_from_a_real_worker(
    celery_worker, locmem_mail, course, duisburg, hr_duisburg
):
    course_date = CourseDateFactory(course=course, capacity=1)
    people = employees_of(duisburg, 2)
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people)
    messages = sorted(wait_for_mail(2), key=lambda m: m.to[0])
    assert len(messages) == 2
    by_recipient = {m.to[0]: m for m in messages}
    seated, waiting = by_recipient[people[0].email], by_recipient[people[1].email]
    assert course.title in seated.subject and course.title in waiting.subject
    assert "1" in waiting.body  # position 1 on the waiting list
    properties = assert_valid_ics(ics_of(seated))
    assert properties["UID"].startswith(f"course-date-{course_date.pk}@")
    assert_valid_ics(ics_of(waiting), status="TENTATIVE")


@pytest.mark.django_db(transaction=True)
def test_cancellation_promotion_and_date_cancelled_mails(
    celery_worker, locmem_mail, course, duisburg, hr_duisburg, organiser
):
    course_date = CourseDateFactory(course=course, capacity=1)
    people = employees_of(duisburg, 3)
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people)
    wait_for_mail(3)
    mail.outbox.clear()
    enrolment_cancel(actor=hr_duisburg, enrolment=Enrolment.objects.get(employee=people[0]))
    messages = wait_for_mail(2)
    assert sorted(m.to[0] for m in messages) == sorted([people[0].email, people[1].email])
    by_recipient = {m.to[0]: m for m in messages}
    assert assert_valid_ics(ics_of(by_recipient[people[0].email]), status="CANCELLED")["SEQUENCE"] == "1"
    assert_valid_ics(ics_of(by_recipient[people[1].email]), status="CONFIRMED")
    mail.outbox.clear()
    course_date_cancel(actor=organiser, course_date=course_date)
    messages = wait_for_mail(2)
    assert sorted(m.to[0] for m in messages) == sorted([people[1].email, people[2].email])
    for message in messages:
        assert_valid_ics(ics_of(message), status="CANCELLED")


@pytest.mark.django_db(transaction=True)
def test_reminder_the_day_before_is_sent_once(celery_worker, locmem_mail, course, duisburg, hr_duisburg):
    tomorrow = timezone.localtime() + timedelta(days=1)
    tomorrow = tomorrow.replace(hour=9, minute=0, second=0, microsecond=0)
    course_date = CourseDateFactory(
        course=course,
        starts_at=tomorrow,
        ends_at=tomorrow + timedelta(hours=7),
        enrolment_deadline=timezone.now() + timedelta(hours=1),
        cancellation_deadline=timezone.now() + timedelta(hours=1),
        capacity=2,
    )
    CourseDateFactory(course=course)  # in two weeks: no reminder yet
    people = employees_of(duisburg, 3)
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people, notify=False)
    task_send_date_reminders.delay()
    messages = wait_for_mail(2)
    assert sorted(m.to[0] for m in messages) == sorted([people[0].email, people[1].email])  # not the waiting
    assert_valid_ics(ics_of(messages[0]))
    task_send_date_reminders.delay()
    time.sleep(2)
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_an_e_mail_that_no_longer_holds_when_it_goes_out_is_not_sent(
    course, duisburg, hr_duisburg, outbox, django_capture_on_commit_callbacks
):
    """An e-mail waits for the worker and is retried for minutes while the mail server refuses it; meanwhile HR
    may cancel the enrolment, and the cancellation's own e-mail may go out first. Before, the late "enrolled" or
    "promoted" e-mail still went out: "your seat is confirmed" (or "on the waiting list at position None") with
    a confirmed calendar entry, the last word the employee read about an enrolment that had ended."""
    course_date = CourseDateFactory(course=course, capacity=1)
    first, second = employees_of(duisburg, 2)
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=[first, second], notify=False)
    with django_capture_on_commit_callbacks(execute=True):
        (promoted,) = enrolment_cancel(actor=hr_duisburg, enrolment=Enrolment.objects.get(employee=first))
    with django_capture_on_commit_callbacks(execute=True):
        enrolment_cancel(actor=hr_duisburg, enrolment=promoted)
    assert sorted((m.to[0], m.subject.split(":")[0]) for m in outbox) == sorted(
        [
            (first.email, "Anmeldung storniert"),
            (second.email, "Sie haben einen Platz"),
            (second.email, "Anmeldung storniert"),
        ]
    )
    outbox.clear()

    # The e-mails of the enrolments and of the promotion, retried only now.
    ids = list(Enrolment.objects.filter(course_date=course_date).values_list("pk", flat=True))
    assert task_send_enrolment_mails(enrolment_ids=ids, event="enrolled") == 0
    assert task_send_enrolment_mails(enrolment_ids=[promoted.pk], event="promoted") == 0
    assert task_send_enrolment_mails(enrolment_ids=ids, event="changed") == 0
    assert outbox == []
    # A cancellation's e-mail still goes out late: it is still true.
    assert task_send_enrolment_mails(enrolment_ids=ids, event="cancelled") == 2


@pytest.mark.django_db
def test_enrolled_again_after_a_cancellation_the_calendar_entry_replaces_the_cancelled_one(
    course_date, duisburg, hr_duisburg, organiser, outbox, django_capture_on_commit_callbacks
):
    """Calendars keep the entry of a UID with the highest SEQUENCE and ignore a lower one. The cancellation of an
    enrolment is sent one version above the date's; before, someone HR enrolled again on the same date got the
    date's version, below it: their calendar kept the course cancelled (or refused the entry as outdated)."""
    (person,) = employees_of(duisburg, 1)

    def sequence_sent(action) -> int:
        outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            action()
        (message,) = outbox
        return int(Calendar.from_ical(ics_of(message)).walk("VEVENT")[0]["SEQUENCE"])

    def enrol():
        enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=[person])

    def cancel():
        enrolment_cancel(actor=hr_duisburg, enrolment=Enrolment.objects.active().get(employee=person))

    def move():
        later = course_date.starts_at + timedelta(hours=1)
        course_date_update(
            actor=organiser, course_date=course_date, starts_at=later, ends_at=later + timedelta(hours=6)
        )

    sent = [sequence_sent(step) for step in (enrol, cancel, enrol, cancel, enrol, move, cancel, enrol)]
    assert sent == sorted(sent) and len(set(sent)) == len(sent), sent


@pytest.mark.django_db
def test_a_reminder_missed_the_day_before_is_caught_up_until_the_date_begins(course, duisburg, outbox):
    """The morning run did not happen (Redis down, say): a later run, also the next day, still reminds the
    people of a date that has not begun; of one that has, nobody."""
    from tests.trainings.factories import EnrolmentFactory, begin

    soon, begun = CourseDateFactory(course=course), CourseDateFactory(course=course)
    CourseDate.objects.filter(pk=soon.pk).update(
        starts_at=timezone.now() + timedelta(minutes=30), ends_at=timezone.now() + timedelta(hours=3)
    )
    begin(begun, ago=timedelta(minutes=30))
    waiting, seated, late = employees_of(duisburg, 3)
    EnrolmentFactory(course_date=soon, employee=seated)
    EnrolmentFactory(course_date=soon, employee=waiting, status=Enrolment.Status.WAITING)
    EnrolmentFactory(course_date=begun, employee=late)
    assert task_send_date_reminders() == 1
    assert [m.to for m in outbox] == [[seated.email]]
    assert task_send_date_reminders() == 0  # once
