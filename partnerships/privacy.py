"""What the partnerships app holds about people (Art. 30), what it purges (the names and e-mail addresses of
meeting registrations, a period after the meeting, or with the employee they name) and what it holds about an
employee (Art. 15: the meeting registrations a colleague made under the employee's e-mail address; it keeps no
employee records). Assembled by vielfalt/programme/privacy.py."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from vielfalt.models import Employee
from vielfalt.privacy import (
    AccessSection,
    Processing,
    cutoff,
    model_rows,
    pseudonym,
    record_key,
    retention_text,
)

from .network.models import Registration

# Models whose audit entries describe a person (their description is a name: a signatory, a contact person, a
# registration, the account whose network e-mail settings changed).
PERSONAL_MODELS = {
    "partnerships.signatory",
    "network.contactperson",
    "network.registration",
    "network.notificationsettings",
}


def registrations_of(employee_ids):
    """Registrations for network meetings that name these employees: made for their organisation under their
    e-mail address (HR registers colleagues by name and address; the registration has no link to the employee
    record). Only those still naming them: a pseudonymised registration has no address left."""
    employees = Employee.objects.filter(pk__in=list(employee_ids)).exclude(email="")
    same_person = employees.filter(
        organisation_id=OuterRef("organisation_id"), email__iexact=OuterRef("email")
    )
    return Registration.objects.filter(Exists(same_person), pseudonymised_at=None)


def employees_purge(*, employee_ids, now: datetime) -> dict[str, int]:
    """With the employee record (the retention purge, or an erasure on request), the registrations naming them."""
    return {
        "registrations": registrations_purge(
            registrations=list(registrations_of(employee_ids).order_by("pk")), now=now
        )
    }


def employee_records(employee_ids) -> list[str]:
    return registration_records(list(registrations_of(employee_ids).order_by("pk")))


REGISTRATION_FIELDS = ["name", "email", "organisation", "status", "created_at", "cancelled_at"]


def employee_access(employee: Employee) -> list[AccessSection]:
    registrations = list(
        registrations_of([employee.pk]).select_related("meeting", "organisation").order_by("created_at", "pk")
    )
    return [
        AccessSection(
            title=_("Registrations for network meetings"),
            rows=[
                {_("Meeting"): str(registration.meeting), **model_rows(registration, REGISTRATION_FIELDS)}
                for registration in registrations
            ],
            records=[record_key(registration) for registration in registrations],
        )
    ]


def registrations_due(*, now: datetime):
    """Registrations, of any status, for meetings that ended (or were cancelled) the retention period ago and that
    still name their person."""
    before = cutoff("registration", now)
    return Registration.objects.filter(pseudonymised_at=None).filter(
        Q(meeting__ends_at__lt=before) | Q(meeting__cancelled_at__lt=before)
    )


def registrations_of_accounts(user_ids):
    """Registrations made with these accounts, still naming their person: the account's pseudonymisation takes
    them too (name and e-mail address typed into the registration would name the person it no longer names)."""
    return Registration.objects.filter(user_id__in=list(user_ids), pseudonymised_at=None)


def registrations_ended_with_accounts(user_ids):
    """The registrations that deactivating these accounts cancels (`vielfalt.signals.accounts_left`), each with
    an audit entry: the purge's preview counts those entries."""
    from .network.selectors import registrations_of_accounts_to_end

    return registrations_of_accounts_to_end(user_ids)


def registrations_purge(*, registrations: list[Registration], now: datetime) -> int:
    """Replace name and e-mail address by a pseudonym and unlink the user: the meeting keeps how many came, from
    which organisation, who registered them (a colleague acting for the organisation, as everywhere in the audit
    log) and when. The callers pass registrations not pseudonymised yet (the purge leaves those of the employees
    it purges to `employees_purge`, and reads the accounts' after both)."""
    for registration in registrations:
        registration.name = pseudonym("network.registration", registration.pk)
        registration.email = ""
        registration.user = None
        registration.pseudonymised_at = now
    Registration.objects.bulk_update(
        registrations, ["name", "email", "user", "pseudonymised_at"], batch_size=1000
    )
    return len(registrations)


def registration_records(registrations: list[Registration]) -> list[str]:
    """The registrations' keys, whose audit entries (which may describe them by name) are pseudonymised with
    them."""
    return [record_key(registration) for registration in registrations]


def processing_records() -> list[Processing]:
    return [
        Processing(
            app="partnerships",
            name=_("Cooperation agreements and their signatories"),
            subjects=_("Signatories of agreements (office holders), staff who record agreements and reports"),
            data=_(
                "Name and function of each signatory, the signed document, who generated or uploaded which "
                "document and when, who reported progress"
            ),
            purpose=_("Concluding and documenting the cooperation agreements of the programme"),
            legal_basis=_("Art. 6(1)(e) GDPR; the records belong to the ministry's files"),
            retention=_(
                "Kept with the agreement as part of the ministry's files, then offered to the state archive "
                "under the archives act; not purged by the portal"
            ),
            recipients=_("Ministry staff; partner HR of the partner organisation; administrators"),
        ),
        Processing(
            app="partnerships",
            name=_("Anonymised application procedures"),
            subjects=_("None: counts only, never an applicant"),
            data=_(
                "Numbers of applications, interviews, posts filled; applicants who stated a migration background"
            ),
            purpose=_("Reporting the effect of anonymised application procedures"),
            legal_basis=_("Anonymous data (Recital 26 GDPR)"),
            retention=_("Kept with the programme's figures"),
            recipients=_("Partner HR of the organisation; ministry staff"),
        ),
        Processing(
            app="partnerships",
            name=_("Contact persons of the partners' network"),
            subjects=_("Staff of partner organisations who agreed to be listed"),
            data=_("Name, function, e-mail address, phone number, whether open for visits, when they agreed"),
            purpose=_("Exchange of experience between the partners (partner directory)"),
            legal_basis=_("Art. 6(1)(a) GDPR: consent, which can be withdrawn at any time"),
            retention=_("Until the consent is withdrawn or the partner removes the entry"),
            recipients=_("Every logged-in user of the portal"),
        ),
        Processing(
            app="partnerships",
            name=_("Registrations for network meetings"),
            subjects=_("Participants of network meetings and specialist days"),
            data=_("Name, e-mail address, organisation, registration status, waiting list position"),
            purpose=_("Organising network meetings"),
            legal_basis=_("Art. 6(1)(e) GDPR"),
            retention=_(
                "Name and e-mail address are replaced by a pseudonym %(period)s after the meeting ended or was "
                "cancelled; the counts per organisation stay"
            )
            % {"period": retention_text("registration")},
            recipients=_(
                "The ministry as host, partner HR of the participant's organisation; administrators"
            ),
        ),
    ]
