"""Celery tasks of the partners' network: thin wrappers that take primary keys."""

import smtplib
from datetime import timedelta

from celery import Task, shared_task
from django.core.mail import mailers
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vielfalt.collation import text_order
from vielfalt.jobs import TRANSIENT_ERRORS, JobError, JobTask, MarkedMailTask, job_store_result
from vielfalt.pdf import letterhead_for, render_pdf

from .mail import (
    answer_mail,
    digest_content,
    digest_mail,
    practice_mail,
    practice_submitted_mails,
    registration_mail,
)
from .models import Answer, Meeting, NotificationSettings, PracticeEntry, Registration

MAIL_RETRY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (*TRANSIENT_ERRORS, smtplib.SMTPException, OSError),
    "retry_backoff": 5,
    "max_retries": 5,
}


class RegistrationMailTask(MarkedMailTask):
    """A registration mail that did not get through is marked on the registrations (the meeting's page shows
    it)."""

    def marked_rows(self, kwargs):
        return Registration.objects.filter(pk__in=kwargs.get("registration_ids", []))


class AnswerMailTask(MarkedMailTask):
    """Likewise for the e-mail that tells the asker of a new answer (shown to the answer's author)."""

    def marked_rows(self, kwargs):
        return Answer.objects.filter(pk=kwargs.get("answer_id"))


class PracticeMailTask(MarkedMailTask):
    """Likewise for the e-mail about a practice entry's step (shown on the entry's page)."""

    def marked_rows(self, kwargs):
        return PracticeEntry.objects.filter(pk=kwargs.get("entry_id"))


class DigestTask(Task):
    """A digest that could not be handed over after the last retry is recorded for everyone still due (shown
    on their e-mail settings page); the next digest that gets through clears it."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        _digests_due().update(digest_failed_at=timezone.now())


# The statuses for which each e-mail still holds when it goes out: a registration cancelled (or a meeting
# cancelled) while its "registered" or "changed" e-mail waited in the queue or for a retry is not told of a seat
# it no longer has, after the cancellation's own e-mail. Nobody is written to once the purge took the address.
MAIL_EVENT_STATUSES = {
    "registered": (Registration.Status.SEATED, Registration.Status.WAITING),
    "promoted": (Registration.Status.SEATED,),
    "changed": (Registration.Status.SEATED, Registration.Status.WAITING),
    "cancelled": (Registration.Status.CANCELLED,),
    "meeting_cancelled": (Registration.Status.CANCELLED,),
}


@shared_task(base=RegistrationMailTask, name="network.send_registration_mails", **MAIL_RETRY)
def task_send_registration_mails(*, registration_ids: list[int], event: str) -> int:
    """Sends only to the registrations whose status still bears out the e-mail (`MAIL_EVENT_STATUSES`)."""
    registrations = Registration.objects.filter(
        pk__in=registration_ids, status__in=MAIL_EVENT_STATUSES[event], pseudonymised_at=None
    ).select_related("meeting")
    messages = []
    for registration in registrations:
        with translation.override(registration.language):
            messages.append(registration_mail(registration, event))
    return mailers.default.send_messages(messages) or 0 if messages else 0


@shared_task(base=AnswerMailTask, name="network.send_answer_mail", **MAIL_RETRY)
def task_send_answer_mail(*, answer_id: int) -> int:
    answer = Answer.objects.select_related("question__asked_by", "organisation").filter(pk=answer_id).first()
    if answer is None:
        return 0
    with translation.override(answer.question.language):
        message = answer_mail(answer)
    return message.send() if message else 0


@shared_task(base=PracticeMailTask, name="network.send_practice_mail", **MAIL_RETRY)
def task_send_practice_mail(*, entry_id: int, event: str) -> int:
    """Sends only while the entry is still in the status the e-mail tells of (`event`): a submission withdrawn, or
    an entry returned or published again, while the e-mail waited in the queue or for a retry is not told of."""
    entry = PracticeEntry.objects.select_related("created_by").filter(pk=entry_id, status=event).first()
    if entry is None:
        return 0
    if event == PracticeEntry.Status.SUBMITTED:
        messages = practice_submitted_mails(entry)  # each in its recipient's language
    else:
        with translation.override(entry.language):  # the language the author wrote the entry in
            messages = [message] if (message := practice_mail(entry, event)) else []
    return mailers.default.send_messages(messages) or 0 if messages else 0


def _digests_due():
    return NotificationSettings.objects.filter(weekly_digest=True, user__is_active=True).exclude(
        digest_sent_at__gte=timezone.now() - timedelta(days=6)
    )


@shared_task(base=DigestTask, name="network.send_weekly_digest", **MAIL_RETRY)
def task_send_weekly_digest() -> int:
    """Weekly (Celery beat): the digest to everyone who asked for it, at most once in six days each, also if
    the task runs twice. A digest is marked sent only once the mail server took it, each in a transaction of
    its own (the row locked meanwhile, so a second run skips it): a failure rolls back only its own mark, and
    the retry sends only the digests not yet handed over."""
    due = list(_digests_due().values_list("pk", flat=True))
    if not due:
        return 0
    content = digest_content(timezone.now() - timedelta(days=7))
    sent = 0
    with mailers.default as connection:
        for pk in due:
            with transaction.atomic():
                row = (
                    _digests_due()
                    .select_for_update(skip_locked=True)
                    .select_related("user")
                    .filter(pk=pk)
                    .first()
                )
                if row is None:
                    continue
                with translation.override(row.language):
                    message = digest_mail(row.user, content)
                if message is not None:
                    sent += connection.send_messages([message]) or 0
                NotificationSettings.objects.filter(pk=row.pk).update(
                    digest_sent_at=timezone.now(), digest_failed_at=None
                )
    return sent


@shared_task(base=JobTask, name="network.render_participants")
def task_render_participants(*, job_id, meeting_id: int, language: str = "de") -> None:
    """The participants list in the language of the user who asked for it."""
    meeting = Meeting.objects.select_related("host").get(pk=meeting_id)
    if meeting.is_cancelled:  # since the list was asked for (a job retried later)
        with translation.override(language):
            raise JobError(_("A cancelled meeting has no participants list."))
    registrations = meeting.registrations.filter(status=Registration.Status.SEATED).select_related(
        "organisation"
    )
    registrations = registrations.order_by(*text_order(registrations.model, "organisation__name", "name"))
    with translation.override(language):
        file_name = _("participants-network-meeting") + f"-{meeting_id}.pdf"
        content = render_pdf(
            "pdf/network/participants.html",
            {
                "meeting": meeting,
                "registrations": registrations,
                "starts_at": timezone.localtime(meeting.starts_at),
                "ends_at": timezone.localtime(meeting.ends_at),
                "letterhead": letterhead_for(meeting.host),  # the host issues the list
                "document_date": timezone.localtime(meeting.starts_at).date(),
                "reference": f"NT-{meeting.pk:05d}",
            },
        )
    job_store_result(job_id=job_id, content=content, file_name=file_name)
