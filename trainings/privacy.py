"""What the trainings app holds about an employee (Art. 15), what it purges, and its processing activities
(Art. 30). Assembled with the other apps' by vielfalt/programme/privacy.py."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vielfalt.models import Employee, Job
from vielfalt.privacy import (
    AccessSection,
    Processing,
    as_text,
    delete_file_on_commit,
    model_rows,
    record_key,
    retention_text,
)

from .models import Certificate, EmployeeAttendance, Enrolment

# Models whose audit entries describe a person (pseudonymised in the audit log after its period).
PERSONAL_MODELS = {"trainings.enrolment", "trainings.certificate"}


def _normalised(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def holder_name_digest(code: str, name: str) -> str:
    """Keyed with the portal's secret, so that the database alone cannot confirm a guessed name."""
    message = f"{code}:{_normalised(name)}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def certificate_name_matches(certificate: Certificate, name: str) -> bool:
    if certificate.holder_name:
        return _normalised(certificate.holder_name) == _normalised(name)
    if not certificate.holder_name_digest:
        return False
    return hmac.compare_digest(certificate.holder_name_digest, holder_name_digest(certificate.code, name))


# --- Purge ---------------------------------------------------------------------------------------------------


def employees_active_since(when: datetime):
    """Employees enrolled on a course date ending after `when`: not yet due for pseudonymisation. A cancelled
    enrolment is no activity: someone who left gives up their enrolments on dates to come, and those dates
    (months ahead, perhaps) must not keep their record past its period."""
    return Enrolment.objects.active().filter(course_date__ends_at__gte=when).values("employee_id")


def certificates_of(employee_ids):
    return Certificate.objects.filter(enrolment__employee_id__in=employee_ids).exclude(holder_name="")


# The jobs of a course date whose file names everyone enrolled (trainings.services).
NAMING_JOBS = ("trainings.sign_in_sheet", "trainings.certificates")


def employee_jobs(employee_ids):
    """The sign-in sheets and certificates made for a course date one of these employees was enrolled in: their
    files print the names (a new one can be made from the date's page)."""
    course_dates = Enrolment.objects.filter(employee_id__in=list(employee_ids)).values_list(
        "course_date_id", flat=True
    )
    return Job.objects.filter(kind__in=NAMING_JOBS, task_kwargs__course_date_id__in=list(course_dates))


def employees_purge(*, employee_ids, now: datetime) -> dict[str, int]:
    """Before the employees are pseudonymised: their certificates keep code, course, date and duration (so the
    verify page still confirms them, and the name on the paper through a keyed digest), lose the name and the
    stored PDF that shows it. Enrolments and attendance stay for the figures."""
    count = 0
    for certificate in certificates_of(employee_ids).iterator():
        if certificate.file:
            delete_file_on_commit(certificate.file)
        count += Certificate.objects.filter(pk=certificate.pk).update(
            holder_name="",
            holder_name_digest=holder_name_digest(certificate.code, certificate.holder_name),
            file="",
        )
    return {"certificates": count}


def employee_records(employee_ids) -> list[str]:
    """The keys of the rows that name these employees (for the audit log's pseudonymisation)."""
    enrolments = Enrolment.objects.filter(employee_id__in=employee_ids).values_list("pk", flat=True)
    certificates = Certificate.objects.filter(enrolment__employee_id__in=employee_ids).values_list(
        "pk", flat=True
    )
    return [f"trainings.enrolment:{pk}" for pk in enrolments] + [
        f"trainings.certificate:{pk}" for pk in certificates
    ]


# --- Art. 15 -------------------------------------------------------------------------------------------------

ENROLMENT_FIELDS = [
    "status",
    "attendance",
    ("created_at", gettext_lazy("Enrolled")),
    ("promoted_at", gettext_lazy("Moved up from the waiting list")),
    ("cancelled_at", gettext_lazy("Cancelled")),
    ("reminder_sent_at", gettext_lazy("Reminder sent")),
]
CERTIFICATE_FIELDS = [
    "code",
    "issued_at",
    "holder_name",
    "course_title",
    "date_text",
    "duration_hours",
    "revoked_at",
]


def employee_access(employee: Employee) -> list[AccessSection]:
    enrolments = list(
        Enrolment.objects.filter(employee=employee)
        .select_related("course_date__course", "organisation")
        .order_by("course_date__starts_at", "pk")
    )
    certificates = list(Certificate.objects.filter(enrolment__employee=employee).order_by("issued_at", "pk"))
    # Derived from the enrolments by the database, for the programme's figures (trainings.models).
    attendance = list(EmployeeAttendance.objects.filter(employee=employee).order_by("year"))
    return [
        AccessSection(
            title=_("Course enrolments and attendance"),
            rows=[
                {
                    _("Course"): enrolment.course_date.course.title,
                    _("Course date"): str(enrolment.course_date),
                    **model_rows(enrolment, ENROLMENT_FIELDS),
                }
                for enrolment in enrolments
            ],
            records=[record_key(enrolment) for enrolment in enrolments],
        ),
        AccessSection(
            title=_("Certificates"),
            rows=[model_rows(certificate, CERTIFICATE_FIELDS) for certificate in certificates],
            records=[record_key(certificate) for certificate in certificates],
        ),
        AccessSection(
            title=_("Course attended first, per year (counted in the programme figures)"),
            rows=[
                {
                    _("Year"): str(row.year) if row.year else _("any year"),
                    _("First day"): as_text(row.first_day),
                }
                for row in attendance
            ],
            records=[record_key(row) for row in attendance],
        ),
    ]


# --- Art. 30 -------------------------------------------------------------------------------------------------


def processing_records() -> list[Processing]:
    return [
        Processing(
            app="trainings",
            name=_("Course enrolments, attendance and certificates"),
            subjects=_("Employees of partner organisations enrolled in courses"),
            data=_(
                "Enrolment (course date, status, waiting list position), attendance, certificate (name, "
                "course, date, duration, verification code)"
            ),
            purpose=_(
                "Organising intercultural training, documenting attendance, issuing verifiable certificates, "
                "counting people trained per target group"
            ),
            legal_basis=_(
                "Art. 6(1)(e) and Art. 88 GDPR with the employment-data provisions of the state data protection "
                "act (NRW: § 18 DSG NRW)"
            ),
            retention=_(
                "With the employee record: after %(period)s of inactivity the certificate loses the name (a keyed "
                "digest lets the verify page still confirm the printed name) and its stored PDF; enrolments and "
                "attendance stay, linked to the pseudonym"
            )
            % {"period": retention_text("employee")},
            recipients=_(
                "Partner HR of the employee's organisation; the course organiser for its own courses; "
                "administrators; anyone holding a certificate's code sees what it states. Ministry staff see "
                "counts only (seats taken, waiting lists, no-shows, people trained per organisation and target "
                "group), no names, personnel numbers, attendance or certificates of persons"
            ),
        ),
        Processing(
            app="trainings",
            name=_("Trainers of course dates"),
            subjects=_("Trainers"),
            data=_("Name of the trainer of a course date"),
            purpose=_("Informing participants who runs a course date"),
            legal_basis=_("Art. 6(1)(e) GDPR"),
            retention=_("As long as the course date is kept"),
            recipients=_("Course organisers, partner HR of participating organisations, ministry staff"),
        ),
    ]
