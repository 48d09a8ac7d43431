"""Thin Celery wrappers around the services; tasks take primary keys, never model instances."""

from celery import shared_task
from django.utils.translation import gettext as _

from vielfalt.jobs import JobError, JobTask, job_link_result
from vielfalt.permissions import SYSTEM

from .models import Agreement
from .services import (
    agreement_render_pdf,
    agreements_announce_expiring,
    agreements_end_expired,
    agreements_export_for_job,
    documents_check_archive,
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
