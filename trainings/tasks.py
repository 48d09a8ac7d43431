"""Celery tasks of the trainings app: thin wrappers that take primary keys and call domain functions."""

import io
import smtplib
import zipfile
from datetime import timedelta

from celery import shared_task
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vielfalt.collation import text_order
from vielfalt.jobs import TRANSIENT_ERRORS, JobError, JobTask, MarkedMailTask, job_store_result
from vielfalt.models import Job, Membership, Role
from vielfalt.pdf import letterhead_for, render_pdf
from vielfalt.permissions import actor_from_id, require
from vielfalt.validation import one_line

from .ical import course_date_ics, ics_file_name
from .models import Certificate, CourseDate, Enrolment
from .services import EnrolmentRefused, certificate_issue

MAIL_EVENTS = {
    # event → (template, subject)
    "enrolled": "trainings/mail/enrolled.txt",
    "promoted": "trainings/mail/promoted.txt",
    "cancelled": "trainings/mail/cancelled.txt",
    # Cancelled by the organiser, not by the employee's HR office (trainings.services._cancel).
    "cancelled_by_organiser": "trainings/mail/cancelled.txt",
    "date_cancelled": "trainings/mail/date_cancelled.txt",
    "changed": "trainings/mail/changed.txt",
    "reminder": "trainings/mail/reminder.txt",
}


# The statuses in which what each e-mail tells is still true when it goes out. A message waits for the worker
# (a queue behind a bulk enrolment, a broker down for a while) and is retried for minutes when the mail server
# refuses it; meanwhile the enrolment may have been cancelled, and the cancellation's own e-mail may even have gone
# out first. A "seat confirmed" sent after that would be the last word the employee reads.
MAIL_EVENT_STATUSES = {
    "enrolled": (Enrolment.Status.SEATED, Enrolment.Status.WAITING),
    "promoted": (Enrolment.Status.SEATED,),
    "changed": (Enrolment.Status.SEATED, Enrolment.Status.WAITING),
    "reminder": (Enrolment.Status.SEATED,),
    "cancelled": (Enrolment.Status.CANCELLED,),
    "cancelled_by_organiser": (Enrolment.Status.CANCELLED,),
    "date_cancelled": (Enrolment.Status.CANCELLED,),
}


def _subject(event: str, enrolment: Enrolment) -> str:
    title = one_line(enrolment.course_date.course.title)  # stored with a line break (see OneLineField)
    if event == "enrolled" and enrolment.status == Enrolment.Status.WAITING:
        return _("Waiting list: %(title)s") % {"title": title}
    return {
        "enrolled": _("Enrolment confirmed: %(title)s"),
        "promoted": _("You have a seat: %(title)s"),
        "cancelled": _("Enrolment cancelled: %(title)s"),
        "cancelled_by_organiser": _("Enrolment cancelled: %(title)s"),
        "date_cancelled": _("Date cancelled: %(title)s"),
        "changed": _("Date changed: %(title)s"),
        "reminder": _("Reminder: %(title)s tomorrow"),
    }[event] % {"title": title}


def enrolment_mail(enrolment: Enrolment, event: str) -> EmailMessage | None:
    """The message for one enrolment and event, with the date as an iCalendar attachment; None without an
    e-mail address (HR informs those staff on paper; of what others did, it is told by
    `hr_mails_for_staff_without_email`)."""
    if not enrolment.employee.email:
        return None
    course_date = enrolment.course_date
    body = render_to_string(
        MAIL_EVENTS[event],
        {
            "enrolment": enrolment,
            "course_date": course_date,
            "course": course_date.course,
            "employee": enrolment.employee,
            "event": event,
            "starts_at": timezone.localtime(course_date.starts_at),
            "ends_at": timezone.localtime(course_date.ends_at),
        },
    )
    message = EmailMessage(subject=_subject(event, enrolment), body=body, to=[enrolment.employee.email])
    if event in ("cancelled", "cancelled_by_organiser", "date_cancelled"):
        status = "CANCELLED"
    elif enrolment.status == Enrolment.Status.WAITING:
        status = "TENTATIVE"
    else:
        status = "CONFIRMED"
    ics = course_date_ics(
        course_date, status=status, earlier_enrolments=getattr(enrolment, "earlier_enrolments", 0)
    )
    message.attach(ics_file_name(course_date), ics, "text/calendar")
    return message


def _earlier_enrolments():
    """How many enrolments the same employee had on the same date before this one (each cancelled: only one
    is active at a time), for the calendar entry's version (`course_date_ics`)."""
    earlier = (
        Enrolment.objects.filter(
            course_date_id=OuterRef("course_date_id"),
            employee_id=OuterRef("employee_id"),
            pk__lt=OuterRef("pk"),
        )
        .order_by()
        .values("employee_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(earlier), 0)


# What others did to an enrolment, which an employee without an e-mail address learns from their HR office on paper
# (HR knows what it did itself: enrolling and cancelling).
TOLD_THROUGH_HR = {"promoted", "changed", "date_cancelled", "cancelled_by_organiser"}


def hr_mails_for_staff_without_email(enrolments: list[Enrolment], event: str) -> list[EmailMessage]:
    """For the enrolments of employees without an e-mail address, one message per date to each HR user of their
    organisation, naming them, so that they are told on paper. Before, nobody was told when the organiser moved
    or cancelled the date of such an employee or their enrolment, or when they moved up from the waiting list
    (another city's HR cancelled): they came at the old time, to a cancelled course, or not at all."""
    if event not in TOLD_THROUGH_HR:
        return []
    groups: dict[tuple[int, int], list[Enrolment]] = {}
    for enrolment in enrolments:
        if not enrolment.employee.email:
            groups.setdefault((enrolment.organisation_id, enrolment.course_date_id), []).append(enrolment)
    if not groups:
        return []
    addresses: dict[int, list[str]] = {}
    for organisation_id, email in (
        Membership.objects.filter(
            organisation_id__in={organisation_id for organisation_id, _date in groups},
            role=Role.HR,
            user__is_active=True,
            user__email__gt="",
        )
        .values_list("organisation_id", "user__email")
        .distinct()
        .order_by("organisation_id", "user__email")
    ):
        addresses.setdefault(organisation_id, []).append(email)
    messages = []
    for (organisation_id, _date), group in groups.items():
        if not addresses.get(organisation_id):
            continue
        course_date = group[0].course_date
        body = render_to_string(
            "trainings/mail/hr_without_email.txt",
            {
                "enrolments": sorted(group, key=lambda e: (e.employee.last_name, e.employee.first_name)),
                "event": event,
                "course_date": course_date,
                "course": course_date.course,
                "organisation_name": group[0].organisation.name,
                "starts_at": timezone.localtime(course_date.starts_at),
                "ends_at": timezone.localtime(course_date.ends_at),
            },
        )
        subject = _("Please tell your employees: %(title)s") % {"title": one_line(course_date.course.title)}
        messages += [EmailMessage(subject=subject, body=body, to=[to]) for to in addresses[organisation_id]]
    return messages


class EnrolmentMailTask(MarkedMailTask):
    """Records on the enrolments whether their e-mail reached the mail server (shown to HR and the organiser on
    the date's page)."""

    def marked_rows(self, kwargs):
        return Enrolment.objects.filter(pk__in=kwargs.get("enrolment_ids", []))


@shared_task(
    base=EnrolmentMailTask,
    name="trainings.send_enrolment_mails",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(*TRANSIENT_ERRORS, smtplib.SMTPException),
    retry_backoff=5,
    max_retries=5,
)
def task_send_enrolment_mails(*, enrolment_ids: list[int], event: str) -> int:
    """Sends only to the enrolments whose status still bears out the e-mail (`MAIL_EVENT_STATUSES`)."""
    enrolments = list(
        Enrolment.objects.filter(pk__in=enrolment_ids, status__in=MAIL_EVENT_STATUSES[event])
        .select_related("employee", "organisation", "course_date__course__organiser")
        .annotate(earlier_enrolments=_earlier_enrolments())
    )
    with translation.override("de"):
        messages = [m for m in (enrolment_mail(e, event) for e in enrolments) if m is not None]
        messages += hr_mails_for_staff_without_email(enrolments, event)
    if not messages:
        return 0
    # One connection for the whole batch (a bulk enrolment sends hundreds).
    return mailers.default.send_messages(messages) or 0


@shared_task(name="trainings.send_date_reminders", acks_late=True, reject_on_worker_lost=True)
def task_send_date_reminders() -> int:
    """Three times a day (Celery beat): remind everyone seated on a date that starts tomorrow, and on a date of
    today not begun yet. A run that did not happen (Redis down at that hour, the worker restarting) is caught up
    by the next one, also over midnight: before, a missed morning run meant no reminder at all. Each enrolment is
    reminded once, however often the task runs."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    sent = 0
    dates = CourseDate.objects.filter(
        cancelled_at__isnull=True, starts_at__gt=timezone.now(), starts_at__date__lte=tomorrow
    )
    for course_date in dates:
        with transaction.atomic():
            due = list(
                course_date.enrolments.select_for_update(skip_locked=True)
                .filter(status=Enrolment.Status.SEATED, reminder_sent_at__isnull=True)
                .values_list("pk", flat=True)
            )
            # Marked sent only once the mail server took the messages: if sending fails, the transaction rolls
            # back and the next run (or the task's retry) tries again; the rows stay locked meanwhile, so a
            # second run at the same time skips them instead of sending twice.
            if due:
                sent += task_send_enrolment_mails(enrolment_ids=due, event="reminder")
                Enrolment.objects.filter(pk__in=due).update(reminder_sent_at=timezone.now())
    return sent


def certificate_pdf(certificate: Certificate) -> bytes:
    organiser = certificate.enrolment.course_date.course.organiser
    return render_pdf(
        "pdf/trainings/certificate.html",
        {
            "certificates": [certificate],
            "letterhead": letterhead_for(organiser),
            "document_date": timezone.localtime(certificate.issued_at).date(),
            "reference": certificate.code,
        },
        # One page: the statement, the issuer and the verification. Contents too long to fit beside them are
        # printed on the page after, and the first page says so.
        beyond_one_page={"contents_apart": True},
    )


def certificate_store_file(certificate: Certificate) -> bytes:
    """The certificate's PDF, rendered once and kept (the same certificate stays the same file)."""
    if certificate.file:
        with certificate.file.open("rb") as handle:
            return handle.read()
    content = certificate_pdf(certificate)
    certificate.file.save(certificate.file_name, ContentFile(content), save=False)
    certificate.save(update_fields=["file"])
    return content


@shared_task(base=JobTask, name="trainings.build_certificates")
def task_build_certificates(*, job_id, course_date_id: int, actor_id: int) -> None:
    actor = actor_from_id(actor_id)
    enrolments = (
        Enrolment.objects.attended()
        .filter(course_date_id=course_date_id)
        .select_related("employee", "course_date__course__organiser")
    )
    if not enrolments:
        raise JobError(_("No enrolment of this date is marked as attended."))
    buffer = io.BytesIO()
    written = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, translation.override("de"):
        for enrolment in enrolments:
            try:
                certificate = certificate_issue(actor=actor, enrolment=enrolment)
            except EnrolmentRefused:  # the organiser corrected this attendance since the list was read
                continue
            written += 1
            name = f"{enrolment.employee.personnel_number}-{certificate.file_name}"
            # Dated when the certificate was issued: its real date, and the same for every run of the job.
            entry = zipfile.ZipInfo(name, date_time=timezone.localtime(certificate.issued_at).timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, certificate_store_file(certificate))
    if not written:
        raise JobError(_("No enrolment of this date is marked as attended."))
    job_store_result(
        job_id=job_id,
        content=buffer.getvalue(),
        file_name=f"teilnahmebescheinigungen-termin-{course_date_id}.zip",
    )


@shared_task(base=JobTask, name="trainings.render_sign_in_sheet")
def task_render_sign_in_sheet(*, job_id, course_date_id: int, actor_id: int | None = None) -> None:
    """`actor_id`: who asked for the sheet, checked again as the job runs (the role may have been withdrawn
    since); jobs queued before it was passed name their requester on the job."""
    if actor_id is None:
        actor_id = Job.objects.values_list("requested_by_id", flat=True).get(pk=job_id)
    actor = actor_from_id(actor_id)
    course_date = CourseDate.objects.select_related("course__organiser").get(pk=course_date_id)
    require(actor, Role.ORGANISER, course_date.course.organiser_id)
    if course_date.is_cancelled:  # since the sheet was asked for (a job retried later)
        raise JobError(_("A cancelled date has no sign-in sheet."))
    enrolments = (
        course_date.enrolments.filter(status=Enrolment.Status.SEATED)
        .select_related("employee__org_unit", "organisation")
        .order_by(*text_order(Enrolment, "employee__last_name", "employee__first_name"))
    )
    with translation.override("de"):
        content = render_pdf(
            "pdf/trainings/sign_in_sheet.html",
            {
                "course_date": course_date,
                "course": course_date.course,
                "enrolments": enrolments,
                "starts_at": timezone.localtime(course_date.starts_at),
                "ends_at": timezone.localtime(course_date.ends_at),
                "letterhead": letterhead_for(course_date.course.organiser),
                "document_date": timezone.localtime(course_date.starts_at).date(),
                "reference": f"T-{course_date.pk:05d}",
            },
        )
    job_store_result(
        job_id=job_id, content=content, file_name=f"anwesenheitsliste-termin-{course_date_id}.pdf"
    )
