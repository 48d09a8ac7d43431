"""What the partnerships app holds about people (Art. 30), what it purges and what it holds about an employee
(Art. 15: nothing, it keeps no employee records). Assembled by vielfalt/programme/privacy.py."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from vielfalt.models import Employee
from vielfalt.privacy import AccessSection, Processing

PERSONAL_MODELS = {"partnerships.signatory", "network.contactperson", "network.registration"}


def employees_purge(*, employee_ids, now: datetime) -> dict[str, int]:
    return {}


def employee_records(employee_ids) -> list[str]:
    return []


def employee_access(employee: Employee) -> list[AccessSection]:
    return []


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
            retention=_("Kept with the meeting; not yet purged by the portal"),
            recipients=_(
                "The ministry as host, partner HR of the participant's organisation; administrators"
            ),
        ),
    ]
