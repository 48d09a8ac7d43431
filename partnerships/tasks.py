"""Thin Celery wrappers around the services; tasks take primary keys, never model instances."""

from celery import shared_task
from django.core.mail import mailers
from django.utils.translation import gettext as _

from vielfalt.jobs import MAIL_TASK, JobError, JobTask, MarkedMailTask, job_link_result
from vielfalt.permissions import SYSTEM
from vielfalt.tasks import AccountMailTask

from .models import Agreement, ExpiryNotice
from .services import (
    agreement_render_pdf,
    agreements_announce_expiring,
    agreements_end_expired,
    agreements_export_for_job,
    archive_alert_message,
    documents_check_archive,
    expiry_notice_message,
)


@shared_task(base=JobTask, name="partnerships.agreement_render_pdf")
def task_render_agreement_pdf(*, job_id, agreement_id: int, actor_id: int):
    try:
        document, _created = agreement_render_pdf(agreement_id=agreement_id, actor_id=actor_id)
    except Agreement.DoesNotExist:
        raise JobError(_("The agreement no longer exists.")) from None
    job_link_result(job_id=job_id, url=document.get_absolute_url(), name=document.file_name)


@shared_task(base=JobTask, name="partnerships.export_agreements")
def task_export_agreements(*, job_id, actor_id: int, filters: dict):
    agreements_export_for_job(job_id=job_id, actor_id=actor_id, filters=filters)


@shared_task(name="partnerships.announce_expiring_agreements")
def task_announce_expiring_agreements():
    """Daily (Celery beat), as the system actor."""
    return agreements_announce_expiring(actor=SYSTEM)


@shared_task(name="partnerships.end_expired_agreements")
def task_end_expired_agreements():
    """Daily (Celery beat), as the system actor: signed agreements whose validity has run out are ended."""
    return agreements_end_expired(actor=SYSTEM)


@shared_task(name="partnerships.check_archive", ignore_result=True)
def task_check_archive():
    """Daily (Celery beat), as the system actor: every stored agreement document read again against its SHA-256;
    the administrators are e-mailed about any missing or changed."""
    return documents_check_archive(actor=SYSTEM)


class ExpiryNoticeMailTask(MarkedMailTask):
    """An expiry notice that did not get through is marked on the notice (the agreement's page in the admin
    shows it): before, the mail server's refusal was recorded nowhere and the notice counted as given."""

    def marked_rows(self, kwargs):
        return ExpiryNotice.objects.filter(pk__in=kwargs.get("notice_ids") or [])


@shared_task(base=ExpiryNoticeMailTask, name="partnerships.send_expiry_notice", **MAIL_TASK)
def task_send_expiry_notice(*, notice_ids: list[int], remaining: int) -> int:
    """Tell ministry staff that an agreement's validity ends in `remaining` days (agreements_announce_expiring)."""
    message = expiry_notice_message(notice_ids=notice_ids, remaining=remaining)
    return mailers.default.send_messages([message]) if message else 0


# An alert that did not get through is marked on the administrator's account (AccountMailTask), in the admin's
# list of accounts; the documents themselves show their state on the agreement's page and in the admin.
@shared_task(base=AccountMailTask, name="partnerships.send_archive_alert", **MAIL_TASK)
def task_send_archive_alert(*, user_id: int, document_ids: list[int]) -> int:
    """Tell one administrator which agreement documents the archive check found missing or changed."""
    message = archive_alert_message(user_id=user_id, document_ids=document_ids)
    return mailers.default.send_messages([message]) if message else 0
