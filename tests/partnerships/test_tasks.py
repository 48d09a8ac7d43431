"""Background work with a real Celery worker on Redis: PDF jobs, export jobs, and the expiry announcements."""

import datetime
import io
import threading
import time
import zipfile

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from partnerships.models import Agreement, AgreementDocument, ExpiryNotice
from partnerships.services import (
    agreement_request_pdf,
    agreements_announce_expiring,
    agreements_end_expired,
    agreements_export_job,
)
from partnerships.tasks import task_render_agreement_pdf
from tests.conftest import need
from tests.factories import UserFactory
from tests.helpers import wait_until_finished
from vielfalt.jobs import job_enqueue
from vielfalt.models import AuditEntry, Job
from vielfalt.permissions import SYSTEM

from .conftest import make_signed
from .factories import AgreementFactory


@pytest.mark.django_db(transaction=True)
def test_pdf_job_reaches_ready_with_a_real_worker(celery_worker, staff, agreement):
    job = agreement_request_pdf(actor=staff, agreement=agreement)
    job = wait_until_finished(job)
    assert job.status == Job.Status.READY, job.error
    document = AgreementDocument.objects.get(agreement=agreement)
    assert (document.kind, document.version, document.created_by) == ("generated", 1, staff)
    assert job.result_url == document.get_absolute_url()
    assert document.file.read().startswith(b"%PDF-")
    # The same content again: the job is ready, and there is still exactly one version.
    job = wait_until_finished(agreement_request_pdf(actor=staff, agreement=agreement))
    assert job.status == Job.Status.READY
    assert AgreementDocument.objects.filter(agreement=agreement).count() == 1


@pytest.mark.allow_error_log
@pytest.mark.django_db(transaction=True)
def test_pdf_job_of_a_vanished_agreement_fails_with_a_reason(celery_worker, staff):
    job = wait_until_finished(
        job_enqueue(
            task=task_render_agreement_pdf,
            kind="pdf",
            requested_by=staff,
            agreement_id=999_999,
            actor_id=staff.pk,
        )
    )
    assert job.status == Job.Status.FAILED
    assert job.error


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_enqueues_nothing(celery_worker, staff, agreement):
    with pytest.raises(RuntimeError), transaction.atomic():
        agreement_request_pdf(actor=staff, agreement=agreement)
        raise RuntimeError("abort")
    time.sleep(2)  # a message sent despite the rollback would have been processed by now
    assert not Job.objects.exists()
    assert not AgreementDocument.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_export_job_builds_the_zip_with_a_real_worker(celery_worker, staff, agreement):
    make_signed(agreement)
    job = wait_until_finished(agreements_export_job(actor=staff, filters={"status": "signed"}))
    assert job.status == Job.Status.READY, job.error
    assert job.result_name.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(job.result_file.read())) as archive:
        assert sorted(archive.namelist()) == sorted(
            ["index.csv", f"duisburg-{agreement.pk}-unterzeichnet-v1.pdf"]
        )


@pytest.mark.django_db
def test_expiry_is_announced_90_and_30_days_before_once_each(
    staff, duisburg, ministry, settings, django_capture_on_commit_callbacks
):
    today = datetime.date(2026, 1, 1)
    agreement = make_signed(
        AgreementFactory(
            partner=duisburg, state_party=ministry, valid_until=today + datetime.timedelta(days=90)
        )
    )
    UserFactory(username="no-role")  # not ministry staff: gets nothing

    def announce(day):
        with django_capture_on_commit_callbacks(execute=True):
            return agreements_announce_expiring(actor=SYSTEM, today=day)

    assert announce(today) == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [staff.email]
    assert "Stadt Duisburg" in mail.outbox[0].subject
    assert "(in 90 Tagen)" in mail.outbox[0].body
    assert announce(today) == 0  # the same day again: nothing new
    assert announce(today + datetime.timedelta(days=30)) == 0
    assert announce(today + datetime.timedelta(days=60)) == 1
    assert len(mail.outbox) == 2
    assert sorted(ExpiryNotice.objects.filter(agreement=agreement).values_list("days", flat=True)) == [30, 90]


@pytest.mark.django_db
def test_an_expiry_notice_marked_as_not_delivered_goes_out_again_the_next_day(
    staff, duisburg, ministry, django_capture_on_commit_callbacks
):
    """Its task marks a notice whose e-mail the mail server never took (tests/partnerships/test_mail_failures.py).
    Before, the notice still counted as given: ministry staff never learnt that the agreement was running out."""
    today = datetime.date(2026, 1, 1)
    agreement = make_signed(
        AgreementFactory(
            partner=duisburg, state_party=ministry, valid_until=today + datetime.timedelta(days=90)
        )
    )

    def announce(day):
        with django_capture_on_commit_callbacks(execute=True):
            return agreements_announce_expiring(actor=SYSTEM, today=day)

    assert announce(today) == 1
    ExpiryNotice.objects.filter(agreement=agreement).update(mail_failed_at=timezone.now())
    assert announce(today + datetime.timedelta(days=1)) == 1
    assert len(mail.outbox) == 2
    assert "(in 89 Tagen)" in mail.outbox[1].body
    assert ExpiryNotice.objects.get(agreement=agreement).mail_failed_at is None
    assert announce(today + datetime.timedelta(days=2)) == 0  # delivered: given


@pytest.mark.django_db
def test_drafts_and_open_ended_agreements_are_not_announced(staff, duisburg, ministry):
    today = datetime.date(2026, 1, 1)
    AgreementFactory(partner=duisburg, state_party=ministry, valid_until=today + datetime.timedelta(days=30))
    make_signed(AgreementFactory(partner=duisburg, state_party=ministry, valid_until=None))
    assert agreements_announce_expiring(actor=SYSTEM, today=today) == 0
    assert mail.outbox == []
    assert Agreement.objects.count() == 2


def test_beat_schedules_the_expiry_announcement_under_its_task_name(settings):
    from partnerships.tasks import task_announce_expiring_agreements
    from vielfalt.celery import app

    assert task_announce_expiring_agreements.name == "partnerships.announce_expiring_agreements"
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "partnerships.announce_expiring_agreements" in scheduled
    assert "partnerships.announce_expiring_agreements" in app.tasks


@pytest.mark.django_db
def test_a_signed_agreement_ends_the_day_after_its_validity_runs_out(staff, duisburg, ministry, client):
    """An agreement valid until last year stayed "signed" for ever: the list, the partner's page and the
    programme's figures showed it as in force."""
    today = datetime.date(2026, 7, 1)
    expiring = make_signed(AgreementFactory(partner=duisburg, state_party=ministry, valid_until=today))
    open_ended = make_signed(AgreementFactory(partner=duisburg, state_party=ministry, valid_until=None))
    draft = AgreementFactory(
        partner=duisburg, state_party=ministry, valid_until=today - datetime.timedelta(days=9)
    )
    with pytest.raises(PermissionDenied):
        agreements_end_expired(actor=UserFactory(), today=today)
    assert agreements_end_expired(actor=SYSTEM, today=today) == 0  # its last day

    assert agreements_end_expired(actor=SYSTEM, today=today + datetime.timedelta(days=1)) == 1
    statuses = dict(Agreement.objects.values_list("pk", "status"))
    assert statuses == {expiring.pk: "ended", open_ended.pk: "signed", draft.pk: "draft"}
    change = expiring.status_changes.get(to_status="ended")
    assert (change.from_status, change.changed_by) == ("signed", None)
    entry = AuditEntry.objects.filter(object_id=str(expiring.pk)).order_by("pk").last()
    assert entry.actor_id is None
    assert entry.changes == {"status": ["signed", "ended"], "reason": "Ihre Gültigkeit endete am 01.07.2026."}
    assert agreements_end_expired(actor=SYSTEM, today=today + datetime.timedelta(days=2)) == 0
    client.force_login(staff)
    assert "beendet" in client.get(expiring.get_absolute_url()).text


def test_beat_ends_expired_agreements_under_its_task_name(settings):
    from partnerships.tasks import task_end_expired_agreements
    from vielfalt.celery import app

    assert task_end_expired_agreements.name == "partnerships.end_expired_agreements"
    assert "partnerships.end_expired_agreements" in {
        e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert "partnerships.end_expired_agreements" in app.tasks


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_announce_an_expiry_once(staff, duisburg, ministry):
    """Another run (a second beat, a retried task) has written the notice and not committed yet: this run does
    not see it, waits for it at the unique notice, and then sends nothing. Before, it sent the e-mail too."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    today = datetime.date(2026, 1, 1)
    agreement = make_signed(
        AgreementFactory(
            partner=duisburg, state_party=ministry, valid_until=today + datetime.timedelta(days=90)
        )
    )
    written, finish = threading.Event(), threading.Event()
    sent = []

    def other_run():
        try:
            with transaction.atomic():
                ExpiryNotice.objects.create(agreement=agreement, days=90)
                written.set()
                finish.wait(30)
        finally:
            connection.close()

    def this_run():
        try:
            sent.append(agreements_announce_expiring(actor=SYSTEM, today=today))
        finally:
            connection.close()

    other = threading.Thread(target=other_run)
    other.start()
    assert written.wait(30)
    this = threading.Thread(target=this_run)
    this.start()
    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:  # this run waits at the notice the other run holds
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE '%%expirynotice%%'"
            )
            if cursor.fetchone()[0]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the second run never waited for the first one's notice")
    finish.set()
    other.join(30)
    this.join(30)
    assert sent == [0]
    assert mail.outbox == []
    assert ExpiryNotice.objects.filter(agreement=agreement).count() == 1
