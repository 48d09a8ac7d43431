"""Survey invitations and reminders that the mail server does not take: counted as sent only once handed over,
the previous link kept, and the job failed with how many got out, seen by whoever sent them. A real worker, an
SMTP backend pointed at a closed port."""

import re

import pytest
from django.core import mail

from surveys.models import Invitation
from surveys.services import campaign_close, invitation_issue
from surveys.tasks import task_send_invitations
from tests.helpers import wait_until_finished
from tests.mailfailure import few_retries, unreachable_mail_server
from vielfalt.jobs import job_enqueue
from vielfalt.models import Job

from .conftest import open_campaign_with_invitations

LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


def _send(campaign, actor, *, reminder=False) -> Job:
    job = job_enqueue(
        task=task_send_invitations,
        kind="surveys.send_invitations",
        requested_by=actor,
        organisation=campaign.organisation,
        origin=campaign,
        campaign_id=campaign.pk,
        actor_id=actor.pk,
        reminder=reminder,
    )
    return wait_until_finished(job, timeout=90)


@pytest.mark.django_db(transaction=True)
def test_invitations_the_mail_server_did_not_take_are_not_counted_sent(
    celery_worker, client, settings, monkeypatch
):
    campaign, _tokens, hr = open_campaign_with_invitations(employees=3, issue_tokens=False)
    unreachable_mail_server(settings)
    few_retries(monkeypatch, task_send_invitations)

    job = _send(campaign, hr)
    assert job.status == Job.Status.FAILED
    assert job.error == (
        "Der Mailserver war nicht erreichbar: 0 von 3 E-Mails wurden übergeben, 3 nicht. Bitte versuchen Sie es "
        "später erneut; bereits versandte E-Mails werden nicht noch einmal versandt."
    )
    assert job.attempts == 2  # retried once
    assert Invitation.objects.filter(campaign=campaign, sent_at__isnull=False).count() == 0
    client.force_login(hr)
    page = client.get(job.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "0 von 3 E-Mails wurden übergeben" in page
    assert "Erneut versuchen" in page

    # The mail server is back: the retry button sends all three, once.
    settings.MAILERS = LOCMEM
    mail.outbox = []
    client.post(f"/jobs/{job.pk}/retry/")
    job = wait_until_finished(job, timeout=60)
    assert job.status == Job.Status.READY
    assert len(mail.outbox) == 3
    assert Invitation.objects.filter(campaign=campaign, sent_at__isnull=False).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_reminder_that_did_not_get_out_keeps_the_first_link_and_is_not_marked(
    celery_worker, settings, monkeypatch
):
    campaign, _tokens, hr = open_campaign_with_invitations(employees=2, issue_tokens=False)
    settings.MAILERS = LOCMEM
    assert _send(campaign, hr).status == Job.Status.READY
    first_links = dict(Invitation.objects.filter(campaign=campaign).values_list("pk", "token_hash"))

    unreachable_mail_server(settings)
    few_retries(monkeypatch, task_send_invitations)
    job = _send(campaign, hr, reminder=True)
    assert job.status == Job.Status.FAILED
    # Not how many: that would be how many have not answered yet, a figure that moves with each answer.
    assert job.error.startswith("Der Mailserver war nicht erreichbar: nicht jede Erinnerung wurde übergeben.")
    assert not re.search(r"\d", job.error)
    assert Invitation.objects.filter(campaign=campaign, reminded_at__isnull=False).count() == 0
    # The first e-mail's link still works: the reminder's new one never left the portal.
    assert dict(Invitation.objects.filter(campaign=campaign).values_list("pk", "token_hash")) == first_links


@pytest.mark.django_db(transaction=True)
def test_a_sending_job_retried_after_the_campaign_closed_sends_nothing(
    celery_worker, client, settings, monkeypatch
):
    """The mail server was down, the job failed; the campaign closed (by HR, or by itself on its closing day);
    days later someone pressed "Erneut versuchen": every employee got a personal link to a closed survey."""
    campaign, _tokens, hr = open_campaign_with_invitations(employees=3, issue_tokens=False)
    unreachable_mail_server(settings)
    few_retries(monkeypatch, task_send_invitations)
    job = _send(campaign, hr)
    assert job.status == Job.Status.FAILED
    links = dict(Invitation.objects.filter(campaign=campaign).values_list("pk", "token_hash"))

    campaign_close(actor=hr, campaign=campaign)
    settings.MAILERS = LOCMEM
    mail.outbox = []
    client.force_login(hr)
    client.post(f"/jobs/{job.pk}/retry/")
    job = wait_until_finished(job, timeout=60)
    assert job.status == Job.Status.FAILED
    assert job.error == "Die Befragung ist geschlossen: Es wurde nichts versandt oder gedruckt."
    assert mail.outbox == []
    assert dict(Invitation.objects.filter(campaign=campaign).values_list("pk", "token_hash")) == links
    assert not Invitation.objects.filter(campaign=campaign, sent_at__isnull=False).exists()


@pytest.mark.django_db
def test_no_link_or_code_is_issued_for_a_closed_campaign():
    campaign, _tokens, hr = open_campaign_with_invitations(employees=2, issue_tokens=False)
    invitation = Invitation.objects.filter(campaign=campaign).first()
    campaign_close(actor=hr, campaign=campaign)
    assert invitation_issue(actor=hr, invitation=invitation) is None


@pytest.mark.django_db
def test_the_campaign_closed_mail_that_cannot_be_queued_is_shown_on_the_campaigns_page(
    client, django_capture_on_commit_callbacks
):
    """The campaign closed by itself at night while Redis was down: HR's e-mail saying so, which never reached a
    worker, is marked on the campaign (its page shows it) instead of vanishing with a log line."""
    import datetime

    from django.utils import timezone

    from surveys.models import Campaign
    from surveys.tasks import task_close_due_campaigns
    from tests.helpers import broker_unreachable

    today = timezone.localdate()
    campaign, _tokens, hr = open_campaign_with_invitations(employees=2)
    Campaign.objects.filter(pk=campaign.pk).update(
        opens_on=today - datetime.timedelta(days=30), closes_on=today - datetime.timedelta(days=1)
    )
    with broker_unreachable(), django_capture_on_commit_callbacks(execute=True):
        assert task_close_due_campaigns() == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED
    assert campaign.mail_failed_at is not None
    client.force_login(hr)
    page = client.get(campaign.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "E-Mail nicht zugestellt" in page


@pytest.mark.allow_error_log  # Celery reports the task's final failure
@pytest.mark.django_db(transaction=True)
def test_the_campaign_closed_mail_the_mail_server_refused_is_retried_and_then_marked(
    celery_worker, settings, monkeypatch
):
    """The mail server is down when the worker tells HR that the campaign closed: after its retries, the e-mail
    is marked on the campaign (before: recorded nowhere, and a refused connection not even retried)."""
    from surveys.models import Campaign
    from surveys.tasks import task_tell_campaign_closed
    from tests.mailfailure import wait_for

    campaign, _tokens, hr = open_campaign_with_invitations(employees=2)
    campaign_close(actor=hr, campaign=campaign)
    unreachable_mail_server(settings)
    few_retries(monkeypatch, task_tell_campaign_closed)
    task_tell_campaign_closed.delay(campaign_id=campaign.pk)
    wait_for(
        lambda: Campaign.objects.filter(pk=campaign.pk, mail_failed_at__isnull=False).exists(),
        what="the campaign's mail failure",
    )
