"""Every write of the survey app. Views, tasks and the demo data call these.

Every service that changes data takes a keyword-only `actor` and checks it through vielfalt.permissions:
campaigns and invitations belong to the partner HR of the campaign's organisation (administrators and
`permissions.SYSTEM` may act too). The one exception is `response_submit`: the respondent has no account by
design, and the one-time token (its hash, kept in the respondent's session) is what authorises the answer.

Submitting a response writes no audit entry and no log line: a time stamp next to the answer's campaign
would be a link between an invitation and its response.

How an answer travels (README, "Anonymity of the survey"): the submission marks the invitation used and puts
the answer, sealed, into `HeldAnswer`, in one transaction that costs the same at the 20,000th answer as at the
first. A release (`held_release`, run by Celery beat and by closing the campaign) moves the held answers into
`Response` in random order once at least k are held, and marks their invitations counted in the same
transaction: every response then shares its transaction id with at least k used invitations, never with its
own."""

import datetime
import json
import logging
import random
import secrets
import time
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.debug import sensitive_variables

from vielfalt.audit import audit_record, model_changes, record_text
from vielfalt.collation import NAMES_SQL, text_order
from vielfalt.concurrency import check_opened_version
from vielfalt.jobs import send_after_commit
from vielfalt.models import AuditEntry, Employee, Organisation, OrgUnit, Role, User
from vielfalt.permissions import SYSTEM, require

from . import questionnaire as q
from .credentials import code_hashes, new_code, new_token, normalise_code, seal, token_hash, unseal
from .models import Campaign, HeldAnswer, Invitation, InvitationCount, Response
from .results import published_counts_store

logger = logging.getLogger(__name__)

CAMPAIGN_FIELDS = [
    "title",
    "opens_on",
    "closes_on",
    "k",
    "previous_estimate",
    "purpose",
    "legal_basis",
    "dpo_contact",
    "contact",
]


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
def campaign_update(
    *, actor: User, campaign: Campaign, units=None, opened_version: str | None = None, **fields
) -> Campaign:
    """`opened_version`: the campaign's `updated_at` when the form was opened; EditConflict when a colleague
    has changed it since (vielfalt.concurrency). A save that changes nothing writes nothing."""
    require(actor, Role.HR, campaign.organisation_id)
    if "organisation" in fields:
        require(actor, Role.HR, fields["organisation"])
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not campaign.is_draft:
        raise ValidationError(_("Only a draft campaign can be changed."))
    check_opened_version(campaign, opened_version, actor=actor)
    names = [*CAMPAIGN_FIELDS, *(name for name in fields if name not in CAMPAIGN_FIELDS)]
    before = {name: getattr(campaign, name) for name in names}
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.full_clean()
    changes = model_changes(campaign, names, before)
    if units is not None:
        old_units = dict(campaign.units.values_list("pk", "name"))
        if set(old_units) != {unit.pk for unit in units}:
            campaign.units.set(units)
            changes["units"] = [sorted(old_units.values()), sorted(unit.name for unit in units)]
            if withdrawn := _invitations_withdraw_outside(campaign, units):
                changes["invitations"] = withdrawn
    if changes:
        # Invited already: the units a respondent may name, under the new k and units.
        if campaign.offered_unit_ids is not None:
            campaign.offered_unit_ids = _offered_unit_ids(campaign)
        campaign.save()
        audit_record(actor=actor, action=AuditEntry.Action.CHANGE, obj=campaign, changes=changes)
    return campaign


def _invitations_withdraw_outside(campaign: Campaign, units) -> list[int] | None:
    """A draft's invitations (none sent or issued yet: only an open campaign issues links and codes) of the org
    units no longer taking part, deleted: otherwise their staff were e-mailed and counted once the campaign
    opened, though its page named only the units kept. [invitations before, after], or None if none went."""
    if not units:  # the whole organisation: every invitation still fits
        return None
    invitations = Invitation.objects.filter(campaign=campaign)
    before = invitations.count()
    withdrawn, _by_model = invitations.exclude(org_unit__in=units).delete()
    return [before, before - withdrawn] if withdrawn else None


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
    """From now on the questionnaire (its version) and the campaign's settings are frozen, except that its
    closing day can move later (`campaign_extend`). A campaign whose closing day has passed is not opened: it
    would close within the hour (`surveys.close_due_campaigns`); nor one before its first day, which its
    recorded period would then misstate (answers taken before it)."""
    campaign = _campaign_set_status(
        actor=actor, campaign=campaign, expected=Campaign.Status.DRAFT, status=Campaign.Status.OPEN
    )
    if campaign.closes_on < timezone.localdate():
        raise ValidationError(
            _("Its closing day has passed: please choose a later one before opening the campaign.")
        )
    if campaign.first_day_to_come:  # the period on record (the DPO's documentation, the page) stays true
        raise ValidationError(
            _(
                "The campaign's first day is %(date)s: it can be opened from that day, or choose today as its "
                "first day."
            )
            % {"date": date_format(campaign.opens_on, "SHORT_DATE_FORMAT")}
        )
    return campaign


@transaction.atomic
def campaign_extend(*, actor: User, campaign: Campaign, closes_on: datetime.date) -> Campaign:
    """Move an open campaign's closing day later (answers are taken until its end; the campaign then closes
    and publishes its results by itself, `surveys.close_due_campaigns`). Letters and e-mails already sent keep
    the day they named; reminders and code sheets from now on name the new one."""
    require(actor, Role.HR, campaign.organisation_id)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not campaign.is_open:
        raise ValidationError(_("Only an open campaign can be extended."))
    if closes_on <= campaign.closes_on or closes_on < timezone.localdate():
        raise ValidationError(
            {"closes_on": _("Please choose a day after the current closing day and not in the past.")}
        )
    before = campaign.closes_on
    campaign.closes_on = closes_on
    campaign.full_clean()  # the longest period a campaign may have
    campaign.save(update_fields=["closes_on", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CHANGE,
        obj=campaign,
        changes={"closes_on": [before.isoformat(), closes_on.isoformat()]},
    )
    return campaign


def campaigns_close_due(*, today: datetime.date | None = None) -> int:
    """Close every open campaign whose closing day has passed and publish its results (Celery beat, hourly):
    the day its letters name is the last day to answer, and nobody has to remember to close it. HR is told
    by e-mail. Returns how many it closed; a campaign HR closed meanwhile is left as it is."""
    from .tasks import task_tell_campaign_closed

    today = today or timezone.localdate()
    closed = 0
    for campaign in Campaign.objects.filter(status=Campaign.Status.OPEN, closes_on__lt=today).order_by("pk"):
        try:
            campaign_close(actor=SYSTEM, campaign=campaign)
        except ValidationError:  # closed by HR since the list was read
            continue
        send_after_commit(task_tell_campaign_closed, campaign_id=campaign.pk)
        closed += 1
    return closed


def campaign_close(*, actor: User, campaign: Campaign) -> Campaign:
    """Close, and release every held answer in the same transaction (however few): from now on the results
    are published, and nothing is held any more."""
    return with_retry(_campaign_close, actor=actor, campaign=campaign)


@transaction.atomic
def _campaign_close(*, actor: User, campaign: Campaign) -> Campaign:
    _lock_campaign(campaign.pk, shared=False)  # waits for submissions under way
    campaign = _campaign_set_status(
        actor=actor, campaign=campaign, expected=Campaign.Status.OPEN, status=Campaign.Status.CLOSED
    )
    _release(campaign, closing=True)
    # Its results are final now: what they publish is what the programme's figures add up (results.py).
    published_counts_store([campaign])
    return campaign


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


class InvitationUnknown(Exception):
    """The link or code is not (or no longer) valid."""


class CampaignNotOpen(Exception):
    """The campaign is not open for answers."""


class UnitNotOffered(ValidationError):
    """An answer names an org unit the campaign does not offer (fewer than k invited there, or not its own)."""

    def __init__(self):
        super().__init__("unit not offered")


@dataclass(frozen=True)
class Credentials:
    """What one message or code sheet carries: the link's token and the code to type."""

    token: str
    code: str


# --- Transactions --------------------------------------------------------------------------------------------

# PostgreSQL's serialization failure and deadlock: the transaction did nothing and may simply run again.
TRANSIENT_SQLSTATES = {"40001", "40P01"}
RETRIES = 5


def _transient(error: OperationalError) -> bool:
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) in TRANSIENT_SQLSTATES or getattr(cause, "pgcode", None) in (
        TRANSIENT_SQLSTATES
    )


def with_retry(function, /, **kwargs):
    """Run `function` (a transaction of its own) again after a deadlock or serialization failure, with a short
    random back-off: a respondent never sees a transient database error."""
    for attempt in range(RETRIES):
        try:
            return function(**kwargs)
        except OperationalError as error:
            if attempt == RETRIES - 1 or not _transient(error) or connection.in_atomic_block:
                raise
            logger.info("Transient database error in %s, retrying", function.__name__)
            time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))  # noqa: S311  (back-off, not a secret)
    raise AssertionError("unreachable")


# One advisory lock per campaign: submissions take it shared (they never wait for each other), closing takes
# it exclusively, so that no submission can slip a held answer in after the closing release.
_LOCK_SPACE = 0x5355


def _lock_campaign(campaign_id: int, *, shared: bool) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite runs one writing transaction at a time
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [_LOCK_SPACE, campaign_id])


# --- Invitations ---------------------------------------------------------------------------------------------


def _unissued() -> dict:
    """Hashes of a token and a code that nobody ever sees: an invitation works only once it is issued."""
    return {"token_hash": new_token()[1], "code_hash": new_code()[1]}


@transaction.atomic
def invitations_create(*, actor: User, campaign: Campaign, units=None) -> list[Invitation]:
    """One e-mail invitation per not yet invited employee with an e-mail address; for employees without one,
    the pool of codes of their unit is topped up to their number (sheets without names, see
    `task_render_code_sheets`). No token made here is kept: links and codes are issued when sent or printed."""
    require(actor, Role.HR, campaign.organisation_id)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.is_closed:
        raise ValidationError(_("The campaign is closed."))
    employees = campaign_employees(campaign=campaign, units=units)
    invited = Invitation.objects.filter(campaign=campaign, employee__isnull=False).values("employee_id")
    new = [
        Invitation(campaign=campaign, employee=employee, org_unit_id=employee.org_unit_id, **_unissued())
        for employee in employees.exclude(email="").exclude(pk__in=invited).only("pk", "org_unit_id")
    ]
    without_email = dict(
        employees.filter(email="")
        .values("org_unit_id")
        .annotate(n=Count("pk"))
        .values_list("org_unit_id", "n")
    )
    pooled = _pools_trim(campaign, units or list(campaign.units.all()), without_email)
    for unit_id, count in without_email.items():
        new += [
            Invitation(campaign=campaign, employee=None, org_unit_id=unit_id, **_unissued())
            for _ in range(count - pooled.get(unit_id, 0))
        ]
    invitations = Invitation.objects.bulk_create(new, batch_size=2000)
    campaign.offered_unit_ids = _offered_unit_ids(campaign)
    campaign.save(update_fields=["offered_unit_ids"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=campaign,
        object_repr=record_text(gettext_noop("Invitations for %(campaign)s"), campaign=campaign),
        changes={"invitations": len(invitations)},
    )
    return invitations


def _pools_trim(campaign: Campaign, units, without_email: dict) -> dict:
    """{org unit id: codes in its pool} for the pools of `units` (all, if none are named; None: staff without a
    unit), each first cut down to the unit's active staff without e-mail by deleting codes not printed yet:
    someone given an e-mail address since gets an e-mail invitation, and their code would count them twice and
    be a sheet for nobody (so would the code of someone who left). Printed sheets are out and stay."""
    pools = Invitation.objects.filter(campaign=campaign, employee__isnull=True)
    in_scope = pools.filter(org_unit__in=units) if units else pools
    pooled = dict(in_scope.values("org_unit_id").annotate(n=Count("pk")).values_list("org_unit_id", "n"))
    for unit_id, count in pooled.items():
        surplus = count - without_email.get(unit_id, 0)
        if surplus <= 0:
            continue
        unprinted = pools.filter(org_unit_id=unit_id, used=False, sent_at__isnull=True)
        pks = list(unprinted.order_by("pk").values_list("pk", flat=True)[:surplus])
        Invitation.objects.filter(pk__in=pks).delete()
        pooled[unit_id] = count - len(pks)
    return pooled


@sensitive_variables()
def invitation_issue(
    *,
    actor: User,
    invitation: Invitation,
    reminder: bool = False,
    mark_sent: bool = True,
    due: Q | None = None,
) -> Credentials | None:
    """A new link and code for an unused invitation of an open campaign (the old ones stop working); None if it
    was used meanwhile, or the campaign closed. The caller puts them into one message or sheet and forgets
    them. (Callers looping over many invitations load them with `select_related("campaign")`.) `mark_sent=False`: the caller stamps the
    invitation with `invitation_mark_sent` once its message was handed to the mail server. `due`: None too
    unless the invitation still matches it (not sent yet, say), checked as the row is written: a second
    sending job waits for the first's transaction and then finds the invitation sent."""
    require(actor, Role.HR, invitation.campaign.organisation_id)
    token, digest = new_token()
    code, code_digest = new_code()
    # Closing the campaign waits for the caller's transaction (its message handed over) to end.
    _lock_campaign(invitation.campaign_id, shared=True)
    if not Campaign.objects.filter(pk=invitation.campaign_id, status=Campaign.Status.OPEN).exists():
        return None
    # The stamp in the same statement: between two, a second job would still find the invitation due. (No
    # join in it: PostgreSQL would check the joined conditions against the row as it was before the other
    # job's stamp.)
    stamp = _sent_stamp(reminder=reminder) if mark_sent else {}
    updated = (
        Invitation.objects.filter(pk=invitation.pk, used=False)
        .filter(due or Q())
        .update(token_hash=digest, code_hash=code_digest, **stamp)
    )
    if not updated:
        return None
    return Credentials(token=token, code=code)


def _sent_stamp(*, reminder: bool) -> dict:
    return {"reminded_at": timezone.now()} if reminder else {"sent_at": timezone.now()}


def invitation_mark_sent(*, actor: User, invitation: Invitation, reminder: bool = False) -> None:
    """The invitation's link and code reached its holder: its e-mail was handed to the mail server, or its sheet
    was printed. Only then does it count as sent (or reminded)."""
    require(actor, Role.HR, invitation.campaign.organisation_id)
    Invitation.objects.filter(pk=invitation.pk).update(**_sent_stamp(reminder=reminder))


def pooled_units(*, campaign: Campaign) -> list[dict]:
    """The pools of codes (one per org unit with staff without e-mail, `org_unit_id` None for staff without a
    unit), by name: what HR may reprint. No counts: how many codes of a pool are still unused is a
    participation figure."""
    return campaign_figures(campaign=campaign).pools


@sensitive_variables()
def code_sheets_reissue(
    *, actor: User, campaign: Campaign, unit_id: int | None
) -> list[tuple[Invitation, Credentials]]:
    """Reprint a unit's code sheets (sheets were lost): a fresh code and link for every code of the unit's pool
    not used yet, replacing the old ones, which stop working. The pool keeps its size, so the unit's count
    stays right: a lost sheet cannot turn up and answer beside its replacement, and nobody gets an extra
    code. The used codes of the pool stop working too (their answers stay counted): every old sheet of the
    unit then fails alike, so whoever holds one cannot tell from it whether its holder answered. The caller
    prints the sheets without names and forgets the codes. `unit_id` None: the pool of staff without an org
    unit.

    The audit entry names the unit, not how many sheets were printed (that is the number of the pool's codes
    not used yet)."""
    require(actor, Role.HR, campaign.organisation_id)
    if not campaign.is_open:
        raise ValidationError(_("Code sheets are printed only while the campaign is open."))
    invitations = (
        Invitation.objects.filter(campaign=campaign, employee__isnull=True, org_unit_id=unit_id, used=False)
        .select_related("org_unit", "campaign")
        .order_by("code_hash")
    )
    sheets = []
    with transaction.atomic():
        for invitation in invitations:
            credentials = invitation_issue(actor=actor, invitation=invitation)
            if credentials is not None:
                sheets.append((invitation, credentials))
        _used_codes_retire(campaign=campaign, unit_id=unit_id)
        unit = OrgUnit.objects.filter(pk=unit_id).first() if unit_id else None
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CHANGE,
            obj=campaign,
            object_repr=record_text(
                gettext_noop("Code sheets of %(unit)s reprinted for %(campaign)s"),
                unit=unit.name if unit else gettext_lazy("staff without an org unit"),
                campaign=campaign,
            ),
            changes={
                "code sheets": [
                    record_text(gettext_noop("earlier unused codes")),
                    record_text(gettext_noop("replaced by new ones")),
                ]
            },
        )
    return sheets


def _used_codes_retire(*, campaign: Campaign, unit_id: int | None) -> None:
    """Give the used codes of a unit's pool a link and code nobody ever sees. Left working, they answered an old
    sheet with the questionnaire after a reprint, where an unused old sheet said "not valid": a test of whether
    the sheet's holder had answered, for whoever collected the old sheets or noted whom each went to."""
    used = Invitation.objects.filter(campaign=campaign, employee__isnull=True, org_unit_id=unit_id, used=True)
    for pk in used.values_list("pk", flat=True).order_by("pk"):
        Invitation.objects.filter(pk=pk).update(**_unissued())


@dataclass(frozen=True)
class CampaignFigures:
    """What a campaign's page shows of its invitations, from one statement (`campaign_figures`)."""

    counts: dict  # invited, answered, sent, without_email: as `invitation_counts`
    units: list[dict]  # per org unit: as `unit_participation`
    pools: list[dict]  # the pools of codes: as `pooled_units`


def _invitation_groups(campaign_ids: list[int]) -> list[tuple[int, int | None, bool, int, int, int]]:
    """(campaign id, org unit id or None, pooled, invited, answered, sent) per campaign, unit and kind of
    invitation. On PostgreSQL from InvitationCount, a few rows a campaign that its triggers keep; elsewhere
    counted from the invitations (a city's campaign has 20,000)."""
    if connection.vendor == "postgresql":
        rows = (
            InvitationCount.objects.filter(campaign_id__in=campaign_ids)
            .values("campaign_id", "unit", "pooled")
            .annotate(
                invited=Sum("invitations"),
                answered=Sum("invitations", filter=Q(counted=True), default=0),
                sent=Sum("invitations", filter=Q(sent=True), default=0),
            )
            .filter(invited__gt=0)
            .order_by()
            .values_list("campaign_id", "unit", "pooled", "invited", "answered", "sent")
        )
        return [(campaign_id, unit or None, *figures) for campaign_id, unit, *figures in rows]
    return list(
        Invitation.objects.filter(campaign_id__in=campaign_ids)
        .annotate(pooled=ExpressionWrapper(Q(employee__isnull=True), output_field=BooleanField()))
        .values("campaign_id", "org_unit_id", "pooled")
        .annotate(
            invited=Count("pk"),
            answered=Count("pk", filter=Q(counted=True)),
            sent=Count("pk", filter=Q(sent_at__isnull=False)),
        )
        .order_by()
        .values_list("campaign_id", "org_unit_id", "pooled", "invited", "answered", "sent")
    )


def _participation_hidden(units: dict[int | None, dict], k: int) -> set:
    """The org units whose answered figure is not shown: HR knows whom it invited in each unit, so a unit where
    fewer than k answered (none, say) or fewer than k did not (all of them) tells HR who took part. Then, as the
    results' secondary suppression does, more units (the fewest answered first) until what the hidden units
    add up to (the campaign's total minus the units shown) is itself at least k answered and k not: a single
    hidden unit's figure would be the total minus the others."""

    def exposed(unit_ids) -> bool:
        answered = sum(units[unit_id]["answered"] for unit_id in unit_ids)
        invited = sum(units[unit_id]["invited"] for unit_id in unit_ids)
        return answered < k or invited - answered < k

    hidden = {unit_id for unit_id in units if exposed([unit_id])}
    while hidden and exposed(hidden) and len(hidden) < len(units):
        shown = [unit_id for unit_id in units if unit_id not in hidden]
        hidden.add(min(shown, key=lambda unit_id: (units[unit_id]["answered"], units[unit_id]["invited"])))
    return hidden


def campaign_figures(*, campaign: Campaign) -> CampaignFigures:
    """The campaign's invitation figures, pools and units, from the counts of its invitations per org unit and
    kind (`_invitation_groups`), and the names of the few units found, in the database's order (staff without a
    unit last)."""
    counts = {"invited": 0, "answered": 0, "sent": 0, "without_email": 0}
    units: dict[int | None, dict] = {}
    pooled = set()
    for _campaign_id, unit_id, is_pooled, invited, answered, sent in _invitation_groups([campaign.pk]):
        counts["invited"] += invited
        counts["answered"] += answered
        counts["sent"] += sent
        unit = units.setdefault(unit_id, {"invited": 0, "answered": 0})
        unit["invited"] += invited
        unit["answered"] += answered
        if is_pooled:
            counts["without_email"] += invited
            pooled.add(unit_id)
    names = list(
        OrgUnit.objects.filter(pk__in=[pk for pk in units if pk is not None])
        .order_by(*text_order(OrgUnit, "name", "pk"))
        .values_list("pk", "name")
    )
    if None in units:
        names.append((None, None))
    hidden = _participation_hidden(units, campaign.k)
    for unit_id, unit in units.items():
        if unit_id in hidden:
            unit["answered"] = None
        elif not campaign.is_closed:
            unit["answered"] = _stepped(unit["answered"], campaign.k)
    return CampaignFigures(
        counts=counts,
        units=[{"org_unit_id": pk, "org_unit__name": name, **units[pk]} for pk, name in names],
        pools=[{"org_unit_id": pk, "org_unit__name": name} for pk, name in names if pk in pooled],
    )


def invitation_counts(*, campaign: Campaign) -> dict:
    """How many were invited and how many answered: never who. `answered` counts the invitations whose answers
    were released into the results (`counted`): while the campaign is open it moves only when a release moves
    at least k answers at once (Celery beat, not the moment someone submits), so that whoever watched one
    person answer cannot see the figure move with that answer. Once closed, every answer is counted."""
    return campaign_figures(campaign=campaign).counts


def invitation_counts_of(campaign_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{campaign id: (invited, answered)} for the campaigns of a list page, answered as in `invitation_counts`;
    a campaign without invitations is missing. From the counts of these campaigns' invitations
    (`_invitation_groups`): the list's query joined to the invitations and grouped made PostgreSQL read the
    whole invitation table (every partner's campaigns) for the page and again for its paginator's count."""
    if not campaign_ids:
        return {}
    figures: dict[int, tuple[int, int]] = {}
    for campaign_id, _unit, _pooled, invited, answered, _sent in _invitation_groups(campaign_ids):
        before = figures.get(campaign_id, (0, 0))
        figures[campaign_id] = (before[0] + invited, before[1] + answered)
    return figures


def _stepped(count: int, k: int) -> int:
    """`count` rounded down to a multiple of k: a figure that moves only in steps of k."""
    return count - count % k


def unit_participation(*, campaign: Campaign) -> list[dict]:
    """Invited and answered per org unit the invitations count for (e-mail and pooled codes alike), by name.
    Answered counts released answers only (as `invitation_counts`); while the campaign is open a release of k
    answers may still hold one of a small unit, so each unit's figure is also rounded down to a multiple of k:
    it moves only once k more of the unit's answers have been released. Answered is None where it would tell
    who took part (`_participation_hidden`), open or closed."""
    return campaign_figures(campaign=campaign).units


def _offered_unit_ids(campaign: Campaign) -> list[int]:
    return sorted(
        Invitation.objects.filter(campaign=campaign, org_unit__isnull=False)
        .values("org_unit_id")
        .annotate(invited=Count("pk"))
        .filter(invited__gte=campaign.k)
        .values_list("org_unit_id", flat=True)
    )


def offered_units(*, campaign: Campaign) -> list[OrgUnit]:
    """The org units a respondent may name: those with at least k invitations, by name."""
    ids = campaign.offered_unit_ids
    if ids is None:
        ids = _offered_unit_ids(campaign)
    if not ids:
        return []
    with connection.cursor() as cursor:  # plain SQL: the answer page needs it for every respondent
        placeholders = ", ".join(["%s"] * len(ids))
        cursor.execute(
            f"SELECT id, name FROM vielfalt_orgunit WHERE id IN ({placeholders}) ORDER BY name COLLATE {NAMES_SQL}, id",  # noqa: S608
            list(ids),
        )
        return [OrgUnit.from_db(connection.alias, ("id", "name"), row) for row in cursor.fetchall()]


# --- Responses -----------------------------------------------------------------------------------------------

VOID = "void"  # in a held answer: 1 if its invitation had been used already (the release drops it)


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


def credential_for_code(typed: str) -> str:
    """The session's credential for a typed code; raises InvitationUnknown. A used and an unused code give
    the same answer here (and the same pages afterwards)."""
    code = normalise_code(typed)
    if code is None:
        raise InvitationUnknown
    digest = (
        Invitation.objects.filter(code_hash__in=code_hashes(code)).values_list("code_hash", flat=True).first()
    )
    if digest is None:
        raise InvitationUnknown
    return f"c:{digest}"


def credential_for_token(token: str) -> str:
    return f"t:{token_hash(token)}"


def _by_credential(credential: str) -> Q:
    kind, _sep, digest = credential.partition(":")
    if kind == "c":
        return Q(code_hash=digest)
    if kind == "t":
        return Q(token_hash=digest)
    return Q(pk__in=[])


# The campaign of a link or code, with what the questionnaire shows: one statement without the ORM's query
# building (the answer page runs it for every respondent on launch morning). The fields in the model's order,
# which is how Model.from_db takes them; offered_unit_ids last, decoded apart.
_CAMPAIGN_FIELDS = ("id", "organisation_id", "title", "k", "purpose", "legal_basis", "dpo_contact", "status")
_QUESTIONNAIRE = """
    SELECT campaign.id, campaign.organisation_id, campaign.title, campaign.k, campaign.purpose,
        campaign.legal_basis, campaign.dpo_contact, campaign.status, campaign.offered_unit_ids
    FROM surveys_invitation AS invitation JOIN surveys_campaign AS campaign ON campaign.id = invitation.campaign_id
    WHERE invitation.{column} = %s
"""
_QUESTIONNAIRE_BY = {
    "t": _QUESTIONNAIRE.format(column="token_hash"),
    "c": _QUESTIONNAIRE.format(column="code_hash"),
}


def questionnaire_for_credential(credential: str) -> tuple[Campaign, list[OrgUnit]]:
    """The open campaign of a respondent's link or code, used or not (the pages must not tell), and the org
    units it offers, by name; raises InvitationUnknown or CampaignNotOpen. The campaign holds the fields the
    questionnaire shows (others are deferred)."""
    kind, _sep, digest = credential.partition(":")
    if kind not in _QUESTIONNAIRE_BY:
        raise InvitationUnknown
    with connection.cursor() as cursor:
        cursor.execute(_QUESTIONNAIRE_BY[kind], [digest])
        row = cursor.fetchone()
    if row is None:
        raise InvitationUnknown
    *values, offered = row
    campaign = Campaign.from_db(connection.alias, _CAMPAIGN_FIELDS, values)
    if not campaign.is_open:
        raise CampaignNotOpen
    # A JSONField read without the ORM arrives as its text (Django reads jsonb as text, SQLite stores text).
    campaign.offered_unit_ids = None if offered is None else json.loads(offered)
    return campaign, offered_units(campaign=campaign)


@sensitive_variables()
def response_submit(*, credential: str, answers: Answers, campaign_id: int | None = None) -> None:
    """Mark the invitation used and hold the answer, in one transaction (retried after a deadlock or
    serialization failure). A used invitation's answer is dropped without a sign: the respondent sees the
    same page whether the code was used or not, so that whoever got hold of a code cannot learn whether its
    holder answered. Returns nothing: not even the caller learns where the answer went.

    No `actor`, by design: the respondent has no account, and an actor would link the answer to a person.
    The credential (an issued, unused invitation's link or code of an open campaign) is the authorisation.
    `campaign_id`: the campaign the answer page showed (the respondent's sealed cookie keeps it), which saves a
    lookup; an invitation of another campaign is then unknown."""
    if campaign_id is None:
        campaign_id = (
            Invitation.objects.filter(_by_credential(credential))
            .values_list("campaign_id", flat=True)
            .first()
        )
        if campaign_id is None:
            raise InvitationUnknown
    with_retry(_response_submit, credential=credential, answers=answers, campaign_id=campaign_id)


# Marks the invitation used and returns what it was before, with its campaign's state read after the campaign's
# lock: one statement instead of a locking read, a campaign read and an update. The subquery's row lock makes a
# second submission of the same credential wait until the first has committed; it then sees `used`.
_MARK_USED = """
    UPDATE surveys_invitation AS invitation SET used = TRUE
    FROM (
        SELECT before.id, before.used, campaign.status, campaign.offered_unit_ids::text AS offered
        FROM surveys_invitation AS before JOIN surveys_campaign AS campaign ON campaign.id = before.campaign_id
        WHERE before.{column} = %s AND before.campaign_id = %s
        FOR UPDATE OF before
    ) AS before
    WHERE invitation.id = before.id
    RETURNING before.used, before.status, before.offered
"""
_MARK_USED_BY = {"t": _MARK_USED.format(column="token_hash"), "c": _MARK_USED.format(column="code_hash")}


@transaction.atomic
@sensitive_variables()
def _response_submit(*, credential: str, answers: Answers, campaign_id: int) -> None:
    kind, _sep, digest = credential.partition(":")
    if kind not in _MARK_USED_BY:
        raise InvitationUnknown
    if connection.vendor != "postgresql":
        return _response_submit_portable(credential=credential, answers=answers, campaign_id=campaign_id)
    # The campaign's lock first, then the invitation's row: closing takes them in the same order.
    _lock_campaign(campaign_id, shared=True)
    # The same statements whether the invitation was used or not, so that a used code costs what an unused
    # one does (its timing tells nobody whether its holder answered): the answer is always sealed and held, the
    # row always set used (a HOT update either way: no index mentions `used`). A used invitation's answer is
    # held as void and dropped by the release.
    with connection.cursor() as cursor:
        cursor.execute(_MARK_USED_BY[kind], [digest, campaign_id])
        row = cursor.fetchone()
        if row is None:
            raise InvitationUnknown
        used, status, offered = row
        if status != Campaign.Status.OPEN:
            raise CampaignNotOpen  # the transaction, with its update, is rolled back
        _check_unit(answers, campaign_id, None if offered is None else json.loads(offered))
        cursor.execute(
            "INSERT INTO surveys_heldanswer (id, campaign_id, sealed) VALUES (%s, %s, %s)",
            [uuid.uuid4(), campaign_id, _sealed_answer(answers, used=used)],
        )


def _check_unit(answers: Answers, campaign_id: int, offered_unit_ids: list[int] | None) -> None:
    if answers.org_unit is None:
        return
    if offered_unit_ids is None:
        offered_unit_ids = _offered_unit_ids(Campaign.objects.get(pk=campaign_id))
    if answers.org_unit.pk not in offered_unit_ids:
        raise UnitNotOffered


@sensitive_variables()
def _sealed_answer(answers: Answers, *, used: bool) -> str:
    fields = response_fields(answers)
    unit = fields.pop("org_unit")
    fields["org_unit_id"] = unit.pk if unit else None
    fields[VOID] = int(used)  # 0 or 1: the sealed answer has the same length either way
    return seal(fields)


def _response_submit_portable(*, credential: str, answers: Answers, campaign_id: int) -> None:
    """The same on SQLite (one writing transaction at a time: no lock needed), with the ORM."""
    invitation = Invitation.objects.filter(_by_credential(credential), campaign_id=campaign_id).first()
    if invitation is None:
        raise InvitationUnknown
    campaign = Campaign.objects.only("status", "k", "offered_unit_ids").get(pk=campaign_id)
    if not campaign.is_open:
        raise CampaignNotOpen
    _check_unit(answers, campaign_id, campaign.offered_unit_ids)
    Invitation.objects.filter(pk=invitation.pk).update(used=True)
    HeldAnswer.objects.create(campaign_id=campaign_id, sealed=_sealed_answer(answers, used=invitation.used))


# --- Releasing held answers ----------------------------------------------------------------------------------


def held_release(*, actor, campaign: Campaign) -> int:
    """Move the held answers of an open campaign into the responses if at least k are held; returns how many
    were moved. Runs under REPEATABLE READ, so that the answers moved and the invitations marked counted are
    those of one snapshot (submissions committed meanwhile wait for the next release)."""
    require(actor, Role.HR, campaign.organisation_id)
    return with_retry(_held_release, campaign_id=campaign.pk)


def _held_release(*, campaign_id: int) -> int:
    outer = connection.in_atomic_block  # then the isolation level is the outer transaction's
    with transaction.atomic():
        if connection.vendor == "postgresql" and not outer:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if not campaign.is_open:
            return 0
        return _release(campaign, closing=False)


def _release(campaign: Campaign, *, closing: bool) -> int:
    held = list(HeldAnswer.objects.filter(campaign_id=campaign.pk).values_list("pk", "sealed"))
    answers = [unseal(sealed) for _pk, sealed in held]
    answers = [fields for fields in answers if not fields.pop(VOID, 0)]  # a used credential's answer
    if not closing and len(answers) < campaign.k:
        return 0
    if held:
        HeldAnswer.objects.filter(pk__in=[pk for pk, _sealed in held]).delete()
        secrets.SystemRandom().shuffle(answers)  # the physical order of the responses says nothing
        Response.objects.bulk_create(
            [
                Response(
                    campaign_id=campaign.pk, questionnaire_version=campaign.questionnaire_version, **fields
                )
                for fields in answers
            ],
            batch_size=1000,
        )
    used = Invitation.objects.filter(campaign_id=campaign.pk, used=True)
    # While open, the invitations used since the last release; when closing, every used invitation once, so
    # that none keeps the transaction id (and order) of an earlier release.
    (used if closing else used.filter(counted=False)).update(counted=True)
    return len(answers)
