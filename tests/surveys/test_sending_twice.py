"""Invitations and reminders reach each person once: a retry after the mail server failed does not remind again
those it had reminded, and two sending jobs at once (a second click, a colleague) do not both write to one
person, the second message's link breaking the first's."""

import re
import smtplib
import threading
from collections import Counter

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection

from surveys.credentials import token_hash
from surveys.models import Invitation
from surveys.tasks import task_send_invitations
from vielfalt.models import Job

from .conftest import open_campaign_with_invitations

LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


class FlakyBackend(BaseEmailBackend):
    """Takes every message but the second one handed to it (the connection dropped), as a real server may."""

    sent: list = []  # noqa: RUF012 (reset by each test)
    calls = 0

    def send_messages(self, messages):
        type(self).calls += 1
        if type(self).calls == 2:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        type(self).sent.extend(messages)
        return len(messages)


class HeldBackend(BaseEmailBackend):
    """Holds the first message it is handed until the test lets it go (a slow mail server)."""

    sent: list = []  # noqa: RUF012
    holding = threading.Event()
    release = threading.Event()

    def send_messages(self, messages):
        if not type(self).holding.is_set():
            type(self).holding.set()
            assert type(self).release.wait(30)
        type(self).sent.extend(messages)
        return len(messages)


def _run(campaign, hr, *, reminder=False) -> Job:
    job = Job.objects.create(
        kind="surveys.send_invitations", requested_by=hr, organisation=campaign.organisation
    )
    task_send_invitations.apply(
        kwargs={"job_id": str(job.pk), "campaign_id": campaign.pk, "actor_id": hr.pk, "reminder": reminder}
    )
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_a_retry_does_not_remind_again_whom_the_failed_attempt_reminded(settings):
    campaign, _tokens, hr = open_campaign_with_invitations(employees=3, issue_tokens=False)
    settings.MAILERS = LOCMEM
    mail.outbox = []
    assert _run(campaign, hr).status == Job.Status.READY
    assert len(mail.outbox) == 3

    FlakyBackend.sent, FlakyBackend.calls = [], 0
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.FlakyBackend"}}
    job = _run(campaign, hr, reminder=True)  # the second message fails; the retry (eager) continues
    assert job.status == Job.Status.READY, job.error
    assert sorted(Counter(m.to[0] for m in FlakyBackend.sent).values()) == [1, 1, 1]
    assert Invitation.objects.filter(campaign=campaign, reminded_at__isnull=False).count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_sending_jobs_at_once_write_to_each_person_once(postgres, settings):
    campaign, _tokens, hr = open_campaign_with_invitations(employees=3, issue_tokens=False)
    HeldBackend.sent = []
    HeldBackend.holding.clear()
    HeldBackend.release.clear()
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.HeldBackend"}}
    jobs = {}

    def run(name):
        try:
            jobs[name] = _run(campaign, hr)
        finally:
            connection.close()

    first = threading.Thread(target=run, args=("first",))
    first.start()
    assert HeldBackend.holding.wait(30)  # the first job hands over its first message, slowly
    second = threading.Thread(target=run, args=("second",))
    second.start()
    second.join(timeout=3)  # it finishes, or waits for the first job's invitation
    HeldBackend.release.set()
    first.join(timeout=60)
    second.join(timeout=60)
    assert not first.is_alive() and not second.is_alive()
    assert {name: job.status for name, job in jobs.items()} == {
        "first": Job.Status.READY,
        "second": Job.Status.READY,
    }
    assert sorted(Counter(m.to[0] for m in HeldBackend.sent).values()) == [1, 1, 1]
    # Each person's one message holds the link that works.
    links = {
        m.to[0]: token_hash(re.search(r"/surveys/t/([^/\s]+)/", m.body).group(1)) for m in HeldBackend.sent
    }
    assert links == dict(
        Invitation.objects.filter(campaign=campaign).values_list("employee__email", "token_hash")
    )
