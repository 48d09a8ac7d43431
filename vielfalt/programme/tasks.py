"""Thin Celery wrappers for the programme reports; tasks take primary keys and hand the work to figures.py."""

from celery import shared_task
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from vielfalt.jobs import JobError, JobTask, job_store_result
from vielfalt.models import Organisation

from .figures import partner_report_pdf, programme_report_pdf


@shared_task(base=JobTask, name="vielfalt.programme_report")
def task_programme_report(*, job_id, year: int, language: str = ""):
    with translation.override(language or settings.LANGUAGE_CODE):
        content = programme_report_pdf(year=year)
    job_store_result(job_id=job_id, content=content, file_name=f"programmbericht-{year}.pdf")


@shared_task(base=JobTask, name="vielfalt.partner_report")
def task_partner_report(*, job_id, organisation_id: int, year: int, language: str = ""):
    try:
        organisation = Organisation.objects.get(pk=organisation_id)
    except Organisation.DoesNotExist:
        raise JobError(_("The organisation no longer exists.")) from None
    with translation.override(language or settings.LANGUAGE_CODE):
        content = partner_report_pdf(organisation=organisation, year=year)
    job_store_result(
        job_id=job_id, content=content, file_name=f"taetigkeitsbericht-{organisation.slug}-{year}.pdf"
    )
