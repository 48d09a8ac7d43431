"""E-mails of the network that the mail server does not take after their retries are recorded and shown to who
sent them: a registration's on the meeting's page, an answer's to its author, a digest on the recipient's
e-mail settings page (and a digest counts as sent only once handed over). A real worker, an SMTP backend pointed
at a closed port."""

import pytest
from django.core import mail
from django.urls import reverse

from partnerships.network import services
from partnerships.network.models import Answer, NotificationSettings, Registration
from partnerships.network.tasks import (
    task_send_answer_mail,
    task_send_registration_mails,
    task_send_weekly_digest,
)
from tests.mailfailure import few_retries, unreachable_mail_server, wait_for
from tests.vielfalt.test_outages import own_redis  # noqa: F401  (the fixture)

from .conftest import LOCMEM, make_entry, make_meeting

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.allow_error_log]


@pytest.fixture
def no_mail_server(settings, monkeypatch):
    unreachable_mail_server(settings)
    few_retries(monkeypatch, task_send_registration_mails, task_send_answer_mail, task_send_weekly_digest)


def test_a_registration_mail_that_failed_is_shown_on_the_meeting_page(
    celery_worker, no_mail_server, client, ministry, staff, oberhausen, hr_oberhausen
):
    meeting = make_meeting(ministry)
    registration = services.registration_create(
        actor=hr_oberhausen, meeting=meeting, organisation=oberhausen, name="Olga", email="olga@example.org"
    )
    wait_for(
        lambda: Registration.objects.filter(pk=registration.pk, mail_failed_at__isnull=False).exists(),
        what="the registration's mail failure",
    )
    client.force_login(hr_oberhausen)
    page = client.get(meeting.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "E-Mail nicht zugestellt" in page


def test_an_answer_mail_that_failed_is_shown_to_the_answers_author(
    celery_worker, no_mail_server, client, duisburg, hr_duisburg, oberhausen, hr_oberhausen
):
    question = services.question_ask(
        actor=hr_oberhausen, organisation=oberhausen, title="Wie?", body="", fields_of_action=[]
    )
    reply = services.answer_create(actor=hr_duisburg, question=question, organisation=duisburg, body="So.")
    wait_for(
        lambda: Answer.objects.filter(pk=reply.pk, mail_failed_at__isnull=False).exists(),
        what="the answer's mail failure",
    )
    client.force_login(hr_duisburg)
    page = client.get(question.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Die E-Mail, die die fragende Person über Ihre Antwort informiert, konnte nicht zugestellt" in page
    client.force_login(hr_oberhausen)  # the asker (whose address it is) is not told by this page
    page = client.get(question.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "E-Mail nicht zugestellt" not in page


def test_a_digest_is_marked_sent_only_after_the_hand_over_and_a_failure_is_shown(
    celery_worker, no_mail_server, settings, client, duisburg, hr_duisburg
):
    make_entry(duisburg)
    services.mail_settings_update(actor=hr_duisburg, user=hr_duisburg, answers=True, weekly_digest=True)
    task_send_weekly_digest.delay()
    wait_for(
        lambda: NotificationSettings.objects.filter(
            user=hr_duisburg, digest_failed_at__isnull=False
        ).exists(),
        what="the digest's failure",
    )
    row = NotificationSettings.objects.get(user=hr_duisburg)
    assert row.digest_sent_at is None
    client.force_login(hr_duisburg)
    page = client.get(reverse("network:mail_settings"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "konnte nicht zugestellt werden" in page

    settings.MAILERS = LOCMEM
    mail.outbox = []
    task_send_weekly_digest.delay()
    wait_for(
        lambda: NotificationSettings.objects.filter(user=hr_duisburg, digest_sent_at__isnull=False).exists(),
        what="the digest",
    )
    assert len(mail.outbox) == 1
    assert NotificationSettings.objects.get(user=hr_duisburg).digest_failed_at is None
    page = client.get(reverse("network:mail_settings"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "konnte nicht zugestellt werden" not in page


def test_a_registration_mail_that_cannot_be_queued_is_shown_on_the_meeting_page(
    own_redis,  # noqa: F811  (the imported fixture)
    client,
    ministry,
    staff,
    oberhausen,
    hr_oberhausen,
    settings,
):
    """Redis (the broker) is really stopped when HR registers someone: the registration is kept and its
    e-mail, which never reached a worker, is marked as not delivered, as one the mail server refused is."""
    from tests.helpers import point_celery_at
    from vielfalt.celery import app

    meeting = make_meeting(ministry)
    own_redis.stop()
    point_celery_at(app, own_redis.url)
    app.conf.task_always_eager = False
    try:
        registration = services.registration_create(
            actor=hr_oberhausen,
            meeting=meeting,
            organisation=oberhausen,
            name="Olga",
            email="olga@example.org",
        )
    finally:
        point_celery_at(app, settings.CELERY_BROKER_URL)
        app.conf.task_always_eager = True
    registration.refresh_from_db()
    assert registration.mail_failed_at is not None
    client.force_login(hr_oberhausen)
    page = client.get(meeting.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "E-Mail nicht zugestellt" in page


@pytest.mark.django_db
def test_a_practice_mail_that_cannot_be_queued_is_shown_on_the_entrys_page(
    client, staff, duisburg, hr_duisburg, django_capture_on_commit_callbacks
):
    """Redis is down when HR submits an entry to the ministry, and again when the ministry publishes it: each
    e-mail, which never reached a worker, is marked on the entry instead of vanishing with a log line."""
    from partnerships.network.models import PracticeEntry
    from tests.helpers import broker_unreachable

    entry = make_entry(duisburg, status=PracticeEntry.Status.DRAFT)
    PracticeEntry.objects.filter(pk=entry.pk).update(created_by=hr_duisburg)
    entry.refresh_from_db()
    with broker_unreachable(), django_capture_on_commit_callbacks(execute=True):
        services.practice_transition(actor=hr_duisburg, entry=entry, to=PracticeEntry.Status.SUBMITTED)
    entry.refresh_from_db()
    assert entry.mail_failed_at is not None
    client.force_login(staff)
    page = client.get(entry.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "E-Mail nicht zugestellt" in page

    # Published with Redis back (tasks run in-process): the author's e-mail gets out, the mark goes.
    with django_capture_on_commit_callbacks(execute=True):
        services.practice_transition(actor=staff, entry=entry, to=PracticeEntry.Status.PUBLISHED)
    assert [message.to for message in mail.outbox] == [[hr_duisburg.email]]
    entry.refresh_from_db()
    assert entry.mail_failed_at is None
    client.force_login(hr_duisburg)
    page = client.get(entry.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "E-Mail nicht zugestellt" not in page
