"""An e-mail that cannot be handed to the mail server after its retries is recorded on the enrolment and shown
on the date's page; a reminder that could not be handed over is not marked sent."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.processes import free_port
from tests.vielfalt.test_outages import own_redis  # noqa: F401  (the fixture)
from trainings.models import Enrolment
from trainings.services import enrolment_create_many
from trainings.tasks import task_send_date_reminders

from .conftest import employees_of

pytestmark = pytest.mark.django_db

LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture
def unreachable_mail_server(settings):
    # An SMTP server on a port nobody listens on: every connection is refused.
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }


@pytest.mark.allow_error_log  # Celery reports the task's final failure
def test_a_failed_enrolment_mail_is_recorded_and_shown(
    client,
    course_date,
    duisburg,
    hr_duisburg,
    organiser,
    unreachable_mail_server,
    settings,
    django_capture_on_commit_callbacks,
):
    people = employees_of(duisburg, 1)
    with django_capture_on_commit_callbacks(execute=True):
        enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people)
    enrolment = Enrolment.objects.get(employee=people[0])
    assert enrolment.mail_failed_at is not None
    client.force_login(organiser)
    page = client.get(reverse("trainings:date_detail", args=[course_date.pk]))
    assert "E-Mail nicht zugestellt" in page.text

    # The next mail that gets through clears the mark.
    settings.MAILERS = LOCMEM
    from trainings.tasks import task_send_enrolment_mails

    task_send_enrolment_mails.apply(kwargs={"enrolment_ids": [enrolment.pk], "event": "enrolled"})
    enrolment.refresh_from_db()
    assert enrolment.mail_failed_at is None


@pytest.mark.allow_error_log
def test_a_reminder_is_marked_sent_only_after_the_hand_over(course, duisburg, hr_duisburg, settings):
    from tests.trainings.factories import CourseDateFactory

    tomorrow = timezone.now() + datetime.timedelta(days=1)
    course_date = CourseDateFactory(
        course=course,
        starts_at=tomorrow,
        ends_at=tomorrow + datetime.timedelta(hours=3),
        enrolment_deadline=tomorrow,
    )
    people = employees_of(duisburg, 2)
    settings.MAILERS = LOCMEM
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people)
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }
    with pytest.raises(OSError):
        task_send_date_reminders()
    assert not Enrolment.objects.filter(course_date=course_date, reminder_sent_at__isnull=False).exists()

    settings.MAILERS = LOCMEM
    mail.outbox = []
    assert task_send_date_reminders() == 2
    assert Enrolment.objects.filter(course_date=course_date, reminder_sent_at__isnull=False).count() == 2


def test_an_enrolment_mail_that_cannot_be_queued_is_recorded_and_shown(
    client,
    course_date,
    duisburg,
    hr_duisburg,
    organiser,
    own_redis,  # noqa: F811  (the imported fixture)
    settings,
    django_capture_on_commit_callbacks,
):
    """Redis (the broker) is down when HR enrols: the enrolments are kept, and their e-mail, which never reached
    a worker, is marked undelivered as one the mail server refused is, instead of vanishing unnoticed. The Redis
    is a redis-server of the test's own, really stopped."""
    from tests.helpers import point_celery_at
    from vielfalt.celery import app

    people = employees_of(duisburg, 2)
    own_redis.stop()
    point_celery_at(app, own_redis.url)
    app.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks(execute=True):
            enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people)
    finally:
        point_celery_at(app, settings.CELERY_BROKER_URL)
        app.conf.task_always_eager = True
    enrolments = Enrolment.objects.filter(employee__in=people)
    assert enrolments.count() == 2
    assert all(enrolment.mail_failed_at is not None for enrolment in enrolments)
    client.force_login(organiser)
    page = client.get(reverse("trainings:date_detail", args=[course_date.pk]))
    assert "E-Mail nicht zugestellt" in page.text
