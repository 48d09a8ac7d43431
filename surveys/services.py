"""Every write of the survey app. Views, tasks and the demo data call these.

Every service that changes data takes a keyword-only `actor` and checks it through vielfalt.permissions:
campaigns and invitations belong to the partner HR of the campaign's organisation (administrators and
`permissions.SYSTEM` may act too). The one exception is `response_submit`: the respondent has no account by
design, and the one-time token (its hash, kept in the respondent's session) is what authorises the answer.

Submitting a response writes no audit entry and no log line: a time stamp next to the answer's campaign
would be a link between an invitation and its response."""

import hashlib
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from vielfalt.audit import audit_record, model_changes
from vielfalt.models import AuditEntry, Employee, Organisation, OrgUnit, Role, User
from vielfalt.permissions import require

from . import questionnaire as q
from .models import Campaign, Invitation, Response

CAMPAIGN_FIELDS = [
    "title",
    "opens_on",
    "closes_on",
    "k",
    "previous_estimate",
    "purpose",
    "legal_basis",
    "dpo_contact",
]


class InvitationUnknown(Exception):
    """The link is not (or no longer) valid."""


class InvitationUsed(Exception):
    """The link has already been used to answer."""


class CampaignNotOpen(Exception):
    """The campaign is not open for answers."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


# --- Campaigns -----------------------------------------------------------------------------------------------


@transaction.atomic
def campaign_create(*, actor: User, organisation: Organisation, units=(), **fields) -> Campaign:
    require(actor, Role.HR, organisation)
    campaign = Campaign(organisation=organisation, **fields)
    campaign.full_clean()
    campaign.save()
    campaign.units.set(units)
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, obj=campaign)
    return campaign


@transaction.atomic
def campaign_update(*, actor: User, campaign: Campaign, units=None, **fields) -> Campaign:
    require(actor, Role.HR, campaign.organisation_id)
    if "organisation" in fields:
        require(actor, Role.HR, fields["organisation"])
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not campaign.is_draft:
        raise ValidationError(_("Only a draft campaign can be changed."))
    before = {name: getattr(campaign, name) for name in CAMPAIGN_FIELDS}
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.full_clean()
    campaign.save()
    changes = model_changes(campaign, CAMPAIGN_FIELDS, before)
    if units is not None:
        campaign.units.set(units)
    audit_record(actor=actor, action=AuditEntry.Action.CHANGE, obj=campaign, changes=changes)
    return campaign


def _campaign_set_status(*, actor: User, campaign: Campaign, expected: str, status: str) -> Campaign:
    require(actor, Role.HR, campaign.organisation_id)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != expected:
        raise ValidationError(_("The campaign is %(status)s.") % {"status": campaign.get_status_display()})
    campaign.status = status
    campaign.save(update_fields=["status"])
    audit_record(
        actor=actor, action=AuditEntry.Action.CHANGE, obj=campaign, changes={"status": [expected, status]}
    )
    return campaign


@transaction.atomic
def campaign_open(*, actor: User, campaign: Campaign) -> Campaign:
    """From now on the questionnaire (its version) and the campaign's settings are frozen."""
    campaign = _campaign_set_status(
        actor=actor, campaign=campaign, expected=Campaign.Status.DRAFT, status=Campaign.Status.OPEN
    )
    return campaign


@transaction.atomic
def campaign_close(*, actor: User, campaign: Campaign) -> Campaign:
    return _campaign_set_status(
        actor=actor, campaign=campaign, expected=Campaign.Status.OPEN, status=Campaign.Status.CLOSED
    )


def campaign_employees(*, campaign: Campaign, units=None):
    """The active employees who may be invited: of the participating units (all, if the campaign names none),
    narrowed to `units` if given."""
    employees = Employee.objects.filter(organisation_id=campaign.organisation_id, is_active=True)
    campaign_units = list(campaign.units.all())
    if campaign_units:
        employees = employees.filter(org_unit__in=campaign_units)
    if units:
        employees = employees.filter(org_unit__in=units)
    return employees


# --- Invitations ---------------------------------------------------------------------------------------------


@transaction.atomic
def invitations_create(*, actor: User, campaign: Campaign, units=None) -> list[Invitation]:
    """One invitation per not yet invited employee. The token made here is thrown away at once: the link is
    issued when the invitation is sent (e-mail or letter), so no raw token ever waits anywhere."""
    require(actor, Role.HR, campaign.organisation_id)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.is_closed:
        raise ValidationError(_("The campaign is closed."))
    invited = Invitation.objects.filter(campaign=campaign).values("employee_id")
    employees = campaign_employees(campaign=campaign, units=units).exclude(pk__in=invited)
    invitations = Invitation.objects.bulk_create(
        [
            Invitation(campaign=campaign, employee=employee, token_hash=_new_token()[1])
            for employee in employees
        ],
        batch_size=2000,
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=campaign,
        object_repr=_("Invitations for %(campaign)s") % {"campaign": campaign},
        changes={"invitations": len(invitations)},
    )
    return invitations


@sensitive_variables()
def invitation_issue_token(*, actor: User, invitation: Invitation, reminder: bool = False) -> str | None:
    """A new token for an unused invitation (the old link stops working); None if it was used meanwhile.
    The caller puts the token into one message or letter and forgets it. (Callers looping over many
    invitations load them with `select_related("campaign")`.)"""
    require(actor, Role.HR, invitation.campaign.organisation_id)
    token, digest = _new_token()
    now = timezone.now()
    stamp = {"reminded_at": now} if reminder else {"sent_at": now}
    updated = Invitation.objects.filter(pk=invitation.pk, used=False).update(token_hash=digest, **stamp)
    return token if updated else None


def invitation_counts(*, campaign: Campaign) -> dict:
    """How many were invited and how many answered: never who."""
    return Invitation.objects.filter(campaign=campaign).aggregate(
        invited=Count("pk"),
        answered=Count("pk", filter=Q(used=True)),
        sent=Count("pk", filter=Q(sent_at__isnull=False)),
        without_email=Count("pk", filter=Q(employee__email="")),
    )


def offered_units(*, campaign: Campaign) -> list[OrgUnit]:
    """The org units a respondent may name: those with at least k invited employees."""
    unit_ids = (
        Invitation.objects.filter(campaign=campaign, employee__org_unit__isnull=False)
        .values("employee__org_unit")
        .annotate(invited=Count("pk"))
        .filter(invited__gte=campaign.k)
        .values("employee__org_unit")
    )
    return list(OrgUnit.objects.filter(pk__in=unit_ids).order_by("name"))


# --- Responses -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    own_citizenship: str
    birth_country: str
    immigration_year: int | None
    mother_citizenship: str
    father_citizenship: str
    mother_immigrated: str
    father_immigrated: str
    target_group: str
    org_unit: OrgUnit | None
    org_unit_other: bool
    languages: tuple[str, ...]


@sensitive_variables()
def response_fields(answers: Answers) -> dict:
    """What a response stores: the answers (the year only as before/since 1950) and the two derived values."""
    person = q.person_immigrated_since_cutoff(answers.birth_country, answers.immigration_year)
    return {
        "own_citizenship": answers.own_citizenship,
        "birth_country": answers.birth_country,
        "immigrated_since_1950": {q.Derived.YES: q.YesNo.YES, q.Derived.NO: q.YesNo.NO}.get(
            person, q.NO_ANSWER
        ),
        "mother_citizenship": answers.mother_citizenship,
        "father_citizenship": answers.father_citizenship,
        "mother_immigrated": answers.mother_immigrated,
        "father_immigrated": answers.father_immigrated,
        "target_group": answers.target_group,
        "org_unit": answers.org_unit,
        "org_unit_other": answers.org_unit_other,
        "languages": "".join(f"|{code}" for code in sorted(answers.languages)) + "|"
        if answers.languages
        else "",
        "migration_background": q.derive_migration_background(
            own_citizenship=answers.own_citizenship,
            mother_citizenship=answers.mother_citizenship,
            father_citizenship=answers.father_citizenship,
        ),
        "immigration_history": q.derive_immigration_history(
            birth_country=answers.birth_country,
            immigration_year=answers.immigration_year,
            mother_immigrated=answers.mother_immigrated,
            father_immigrated=answers.father_immigrated,
        ),
    }


def invitation_for_token_hash(digest: str) -> Invitation:
    """The invitation a respondent's session refers to; raises InvitationUnknown/InvitationUsed/CampaignNotOpen."""
    invitation = Invitation.objects.select_related("campaign").filter(token_hash=digest).first()
    if invitation is None:
        raise InvitationUnknown
    if invitation.used:
        raise InvitationUsed
    if not invitation.campaign.is_open:
        raise CampaignNotOpen
    return invitation


@transaction.atomic
@sensitive_variables()
def response_submit(*, token_digest: str, answers: Answers) -> None:
    """Mark the invitation used and store the response, in one transaction. The row lock settles concurrent
    submissions with the same token; the conditional update is a second guard. Returns nothing: not even the
    caller learns the response's key.

    No `actor`, by design: the respondent has no account, and an actor would link the answer to a person.
    The token (an unused invitation of an open campaign) is the authorisation."""
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("campaign")
        .filter(token_hash=token_digest)
        .first()
    )
    if invitation is None:
        raise InvitationUnknown
    if invitation.used:
        raise InvitationUsed
    if not invitation.campaign.is_open:
        raise CampaignNotOpen
    if Invitation.objects.filter(pk=invitation.pk, used=False).update(used=True) != 1:
        raise InvitationUsed
    # Rows written in one transaction share its id (PostgreSQL's hidden `xmin`), and transaction ids grow:
    # left alone, the used invitation and the new response would carry the same one, and the invitations
    # would keep the order in which they were used. Rewriting every used invitation of the campaign gives
    # them all this transaction's id, so neither the id nor the order points at one of them.
    Invitation.objects.filter(campaign_id=invitation.campaign_id, used=True).update(used=True)
    campaign = invitation.campaign
    if answers.org_unit is not None and answers.org_unit.pk not in {
        u.pk for u in offered_units(campaign=campaign)
    }:
        raise ValidationError("unit not offered")
    Response.objects.create(
        campaign=campaign, questionnaire_version=campaign.questionnaire_version, **response_fields(answers)
    )
