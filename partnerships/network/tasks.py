"""Celery tasks of the partners' network: thin wrappers that take primary keys."""

import smtplib
from datetime import timedelta

from celery import shared_task
from django.core.mail import mailers
from django.db import transaction
from django.utils import timezone, translation

from vielfalt.jobs import TRANSIENT_ERRORS, JobTask, job_store_result
from vielfalt.pdf import render_pdf

from .mail import answer_mail, digest_content, digest_mail, registration_mail
from .models import Answer, Meeting, NotificationSettings, Registration

MAIL_RETRY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (*TRANSIENT_ERRORS, smtplib.SMTPException),
    "retry_backoff": 5,
    "max_retries": 5,
}


@shared_task(name="network.send_registration_mails", **MAIL_RETRY)
def task_send_registration_mails(*, registration_ids: list[int], event: str) -> int:
    registrations = Registration.objects.filter(pk__in=registration_ids).select_related("meeting")
    with translation.override("de"):
        messages = [registration_mail(r, event) for r in registrations]
    return mailers.default.send_messages(messages) or 0 if messages else 0


@shared_task(name="network.send_answer_mail", **MAIL_RETRY)
def task_send_answer_mail(*, answer_id: int) -> int:
    answer = Answer.objects.select_related("question__asked_by", "organisation").filter(pk=answer_id).first()
    if answer is None:
        return 0
    with translation.override("de"):
        message = answer_mail(answer)
    return message.send() if message else 0


@shared_task(name="network.send_weekly_digest", acks_late=True, reject_on_worker_lost=True)
def task_send_weekly_digest() -> int:
    """Weekly (Celery beat): the digest to everyone who asked for it, at most once in six days each, also if
    the task runs twice."""
    content = digest_content(timezone.now() - timedelta(days=7))
    due_before = timezone.now() - timedelta(days=6)
    sent = 0
    with transaction.atomic():
        due = list(
            NotificationSettings.objects.select_for_update(skip_locked=True)
            .filter(weekly_digest=True, user__is_active=True)
            .exclude(digest_sent_at__gte=due_before)
            .select_related("user")
        )
        with translation.override("de"):
            messages = [m for m in (digest_mail(row.user, content) for row in due) if m is not None]
        NotificationSettings.objects.filter(pk__in=[row.pk for row in due]).update(
            digest_sent_at=timezone.now()
        )
    if messages:
        sent = mailers.default.send_messages(messages) or 0
    return sent


@shared_task(base=JobTask, name="network.render_participants")
def task_render_participants(*, job_id, meeting_id: int) -> None:
    meeting = Meeting.objects.select_related("host").get(pk=meeting_id)
    registrations = meeting.registrations.filter(status=Registration.Status.SEATED).select_related(
        "organisation"
    )
    registrations = registrations.order_by("organisation__name", "name")
    with translation.override("de"):
        content = render_pdf(
            "pdf/network/participants.html",
            {
                "meeting": meeting,
                "registrations": registrations,
                "starts_at": timezone.localtime(meeting.starts_at),
                "ends_at": timezone.localtime(meeting.ends_at),
            },
        )
    job_store_result(
        job_id=job_id, content=content, file_name=f"teilnehmende-netzwerktreffen-{meeting_id}.pdf"
    )
