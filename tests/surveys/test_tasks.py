"""Sending with a real Celery worker on Redis: the broker message carries primary keys, never a token."""

import pytest
from django.core import mail

from surveys.models import Invitation
from surveys.services import credential_for_code, token_hash
from surveys.tasks import task_send_invitations
from tests.helpers import wait_until_finished
from tests.surveys.conftest import open_campaign_with_invitations
from vielfalt.jobs import job_enqueue
from vielfalt.models import Job


@pytest.mark.django_db(transaction=True)
def test_the_worker_mails_each_invitation_a_working_link_and_code_once(celery_worker):
    campaign, _tokens, hr = open_campaign_with_invitations(employees=6, issue_tokens=False)
    job = job_enqueue(
        task=task_send_invitations,
        kind="surveys.send_invitations",
        requested_by=hr,
        campaign_id=campaign.pk,
        actor_id=hr.pk,
    )
    assert wait_until_finished(job).status == Job.Status.READY
    assert len(mail.outbox) == 6
    tokens = [
        line.split("/surveys/t/")[1].strip("/")
        for message in mail.outbox
        for line in message.body.splitlines()
        if "/surveys/t/" in line and not line.endswith("/leicht/")  # the same link, for easy-to-read
    ]
    assert {token_hash(t) for t in tokens} == set(
        Invitation.objects.filter(campaign=campaign).values_list("token_hash", flat=True)
    )
    codes = [
        message.body.splitlines()[message.body.splitlines().index(line) + 1]
        for message in mail.outbox
        for line in message.body.splitlines()
        if "/umfrage/" in line
    ]
    assert {credential_for_code(code) for code in codes} == {
        f"c:{digest}"
        for digest in Invitation.objects.filter(campaign=campaign).values_list("code_hash", flat=True)
    }
    # Sending again sends nothing: every invitation has been sent.
    again = job_enqueue(
        task=task_send_invitations,
        kind="surveys.send_invitations",
        requested_by=hr,
        campaign_id=campaign.pk,
        actor_id=hr.pk,
    )
    assert wait_until_finished(again).status == Job.Status.READY
    assert len(mail.outbox) == 6


@pytest.mark.django_db
def test_reminders_only_to_unused_invitations_with_new_links(django_capture_on_commit_callbacks):
    campaign, tokens, hr = open_campaign_with_invitations(employees=4)
    Invitation.objects.filter(token_hash=token_hash(tokens[0])).update(used=True)
    with django_capture_on_commit_callbacks(execute=True):
        job_enqueue(
            task=task_send_invitations,
            kind="surveys.send_invitations",
            campaign_id=campaign.pk,
            actor_id=hr.pk,
            reminder=True,
        )
    assert len(mail.outbox) == 3
    # the old links of the reminded invitations no longer work
    assert not Invitation.objects.filter(token_hash__in=[token_hash(t) for t in tokens[1:]]).exists()
