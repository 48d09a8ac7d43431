"""What the surveys app holds about an employee (Art. 15), what it purges, and its processing activities
(Art. 30). Assembled with the other apps' by vielfalt/programme/privacy.py.

Answers are never part of this: a response has no link to a person (see models.py), so it is not personal data
of anyone, and nothing here reads it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from vielfalt.models import Employee
from vielfalt.privacy import AccessSection, Processing, as_text, record_key, retention_days, retention_text

from .models import Campaign, Invitation

PERSONAL_MODELS = {"surveys.invitation"}
# What a deleted token hash becomes: unique (the primary key) and never a SHA-256 digest in hex, so no token can
# ever match it again.
DELETED_PREFIX = "deleted:"


def invitations_due(*, now: datetime):
    """Invitations of campaigns closed for the retention period that still hold a token hash or an e-mail stamp."""
    today = timezone.localdate(now)
    return Invitation.objects.filter(
        campaign__status=Campaign.Status.CLOSED,
        campaign__closes_on__lte=today - timedelta(days=retention_days("invitation")),
    ).filter(
        ~Q(token_hash__startswith=DELETED_PREFIX) | Q(sent_at__isnull=False) | Q(reminded_at__isnull=False)
    )


def invitations_purge(*, now: datetime) -> dict[str, int]:
    """Delete the token and code hashes and e-mail stamps of closed campaigns. Whether each invitation was used stays, so
    the campaign's counts (invited, answered, per unit) stay as they were."""
    deleted = Concat(Value(DELETED_PREFIX), Cast("pk", CharField()))
    count = invitations_due(now=now).update(
        token_hash=deleted, code_hash=deleted, sent_at=None, reminded_at=None
    )
    return {"invitations": count}


def employees_purge(*, employee_ids, now: datetime) -> dict[str, int]:
    """Nothing to do: an invitation names the employee only through the record that is pseudonymised."""
    return {}


def employee_records(employee_ids) -> list[str]:
    """The keys of the rows that name these employees (for the audit log's pseudonymisation)."""
    invitations = Invitation.objects.filter(employee_id__in=employee_ids).values_list("pk", flat=True)
    return [f"surveys.invitation:{pk}" for pk in invitations]


# --- Art. 15 -------------------------------------------------------------------------------------------------


def employee_access(employee: Employee) -> list[AccessSection]:
    """HR produces this export. Not whether or when a reminder was sent: reminders go only to invitations not
    used yet, so the stamp (or its absence) would tell HR whether the employee had answered by then."""
    invitations = list(
        Invitation.objects.filter(employee=employee).select_related("campaign").order_by("campaign__opens_on")
    )
    return [
        AccessSection(
            title=_("Survey invitations"),
            rows=[
                {
                    _("Survey campaign"): invitation.campaign.title,
                    _(
                        "period"
                    ): f"{as_text(invitation.campaign.opens_on)} – {as_text(invitation.campaign.closes_on)}",
                    _("invitation e-mail sent"): as_text(invitation.sent_at),
                }
                for invitation in invitations
            ],
            records=[record_key(invitation) for invitation in invitations],
            note=_(
                "Answers are stored without any link to a person and cannot be part of this export. Whether an "
                "invitation was used, and whether a reminder was sent (only to those who had not answered), is "
                "stored but not shown here: not even HR, who produce this export, may learn who took part. The "
                "person can ask the data protection officer for it."
            ),
        )
    ]


# --- Art. 30 -------------------------------------------------------------------------------------------------


def processing_records() -> list[Processing]:
    return [
        Processing(
            app="surveys",
            name=_("Survey invitations"),
            subjects=_("Employees of partner organisations invited to the voluntary survey"),
            data=_(
                "Which employee was invited to which campaign, a hash of the one-time link, when the invitation "
                "and a reminder were sent, whether the link was used"
            ),
            purpose=_("Inviting staff to the voluntary survey once each and counting the response rate"),
            legal_basis=_(
                "Art. 6(1)(e) GDPR with the purpose and legal basis stated in each campaign; taking part is "
                "voluntary"
            ),
            retention=_(
                "Token hashes and e-mail stamps are deleted %(period)s after the campaign closed; the invitation "
                "stays for the counts and goes with the employee record's pseudonymisation"
            )
            % {"period": retention_text("invitation")},
            recipients=_(
                "Partner HR sees counts only, never who answered; administrators. Reminders go out "
                "automatically."
            ),
        ),
        Processing(
            app="surveys",
            name=_("Survey answers"),
            subjects=_("None: answers are anonymous"),
            data=_(
                "Citizenship and country of birth of the respondent and the parents, immigration since 1950, "
                "target group, org unit (only units with at least k invited), languages; stored without any "
                "link to a person, an invitation, a time or an address"
            ),
            purpose=_("Measuring the share of staff with a migration background or an immigration history"),
            legal_basis=_("Anonymous data (Recital 26 GDPR); taking part is voluntary"),
            retention=_("Kept with the campaign; published only as aggregates of at least k respondents"),
            recipients=_("Partner HR and the ministry see aggregates only; no one sees a single answer"),
        ),
    ]
