"""Invitations and reminders reach each person once: a retry after the mail server failed does not remind again
those it had reminded, and two sending jobs at once (a second click, a colleague) do not both write to one
person, the second message's link breaking the first's."""

import re
import smtplib
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from surveys.credentials import code_hash, normalise_code, token_hash
from surveys.models import Invitation
from surveys.services import campaign_open, invitations_create
from surveys.tasks import task_render_code_sheets, task_send_invitations
from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, hr_user
from vielfalt.models import Job

from .conftest import make_campaign, open_campaign_with_invitations

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


def _printed_codes(job: Job) -> list[str]:
    if not job.result_file:
        return []
    text = "\n".join(page.extract_text() for page in PdfReader(job.result_file.open("rb")).pages)
    return re.findall(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b", text)


@pytest.mark.django_db(transaction=True)
def test_two_print_jobs_at_once_print_each_code_once_and_every_printed_code_works(postgres):
    """Code sheets for staff without e-mail: two print jobs at once both gave the same pooled invitations new
    codes, so that sheets of the first PDF, handed out in the unit, held codes that no longer worked."""
    organisation = OrganisationFactory()
    hr = hr_user(organisation)
    unit = OrgUnitFactory(organisation=organisation, name="Bauhof")
    EmployeeFactory.create_batch(4, organisation=organisation, org_unit=unit, email="")
    campaign = make_campaign(organisation=organisation, actor=hr, k=3)
    campaign_open(actor=hr, campaign=campaign)
    invitations_create(actor=hr, campaign=campaign)
    pooled = list(
        Invitation.objects.filter(campaign=campaign).order_by("code_hash").values_list("pk", flat=True)
    )
    jobs = {}

    def run(name):
        try:
            job = Job.objects.create(
                kind="surveys.render_code_sheets", requested_by=hr, organisation=organisation
            )
            task_render_code_sheets.apply(
                kwargs={"job_id": str(job.pk), "campaign_id": campaign.pk, "actor_id": hr.pk}
            )
            job.refresh_from_db()
            jobs[name] = job
        finally:
            connection.close()

    # Someone else's transaction holds one pooled invitation (as a respondent's answer would): the first job
    # stops there, the second starts beside it.
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Invitation.objects.select_for_update().get(pk=pooled[1])
                holding.set()
                assert release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(30)
    threads = [threading.Thread(target=run, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
        time.sleep(1)
    release.set()
    for thread in [holder, *threads]:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert {job.status for job in jobs.values()} == {Job.Status.READY}
    printed = _printed_codes(jobs["first"]) + _printed_codes(jobs["second"])
    assert len(printed) == 4
    working = set(Invitation.objects.filter(campaign=campaign).values_list("code_hash", flat=True))
    assert {code_hash(normalise_code(code)) for code in printed} == working


@pytest.mark.django_db
def test_a_second_click_goes_to_the_job_already_started(client):
    """No worker runs here: the first job waits, and a second click on the same button is sent to it instead of
    starting the same work beside it (which would send or print nothing, shown to the one who clicked)."""
    campaign, _tokens, hr = open_campaign_with_invitations(employees=3, issue_tokens=False)
    client.force_login(hr)
    send = reverse("surveys:send", args=[campaign.pk])
    first, second = client.post(send), client.post(send, HTTP_ACCEPT_LANGUAGE="de")
    assert first["Location"] == second["Location"]
    assert Job.objects.filter(kind="surveys.send_invitations").count() == 1
    assert "Diese E-Mails werden bereits versandt" in client.get(second["Location"]).content.decode()
    # Other work is not held up by it: reminders, code sheets, and code sheets in easy-to-read language.
    client.post(reverse("surveys:remind", args=[campaign.pk]))
    sheets = reverse("surveys:code_sheets", args=[campaign.pk])
    assert client.post(sheets)["Location"] == client.post(sheets)["Location"]
    client.post(sheets, {"easy": "1"})
    kinds = Counter(Job.objects.values_list("kind", "task_kwargs__reminder", "task_kwargs__easy"))
    assert kinds == {
        ("surveys.send_invitations", False, None): 1,
        ("surveys.send_invitations", True, None): 1,
        ("surveys.render_code_sheets", None, False): 1,
        ("surveys.render_code_sheets", None, True): 1,
    }
    # A job that hung for more than ten minutes does not stand in the way.
    Job.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    client.post(send)
    assert Job.objects.filter(kind="surveys.send_invitations").count() == 3
