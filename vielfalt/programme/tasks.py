"""Thin Celery wrappers for the programme reports and data protection; tasks take primary keys and hand the work
to figures.py and privacy.py."""

from celery import shared_task
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from vielfalt.jobs import JobError, JobTask, job_store_result
from vielfalt.models import Employee, Organisation, User
from vielfalt.permissions import SYSTEM

from .figures import partner_report_pdf, programme_report_pdf
from .privacy import access_export_pdf, processing_record_pdf, purge


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


# --- Data protection (vielfalt/programme/privacy.py) ------------------------------------------------------------


@shared_task(name="programme.purge_personal_data", acks_late=True, reject_on_worker_lost=True)
def task_purge_personal_data():
    """The daily retention purge (beat). Idempotent: a second run finds nothing left to purge."""
    purge(actor=SYSTEM)


@shared_task(base=JobTask, name="programme.access_export_pdf")
def task_access_export_pdf(*, job_id, employee_id: int, actor_id: int, language: str = ""):
    try:
        employee = Employee.objects.select_related("organisation").get(pk=employee_id)
        actor = User.objects.get(pk=actor_id, is_active=True)
    except (Employee.DoesNotExist, User.DoesNotExist):
        raise JobError(_("The employee or the requesting user no longer exists.")) from None
    with translation.override(language or settings.LANGUAGE_CODE):
        content = access_export_pdf(actor=actor, employee=employee)
    job_store_result(job_id=job_id, content=content, file_name=f"auskunft-art15-{employee.pk}.pdf")


@shared_task(base=JobTask, name="programme.processing_record_pdf")
def task_processing_record_pdf(*, job_id, language: str = ""):
    with translation.override(language or settings.LANGUAGE_CODE):
        content = processing_record_pdf()
    job_store_result(job_id=job_id, content=content, file_name="verzeichnis-verarbeitungstaetigkeiten.pdf")
