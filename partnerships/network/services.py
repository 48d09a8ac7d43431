"""Every write of the partners' network. Each service takes a keyword-only `actor` and asks
`vielfalt.permissions.require`; registrations take seats through the core's seat engine under the meeting's
row lock."""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

from vielfalt.audit import audit_record, model_changes, record_text
from vielfalt.concurrency import check_opened_version
from vielfalt.jobs import send_after_commit
from vielfalt.models import AuditEntry, Employee, Organisation, Role, User
from vielfalt.permissions import may, organisation_ids, require
from vielfalt.seats import Seats, fill_free_seats, seat_counts
from vielfalt.validation import refuse_moving

from .models import (
    AUTHOR_ROLES,
    MEETING_MAX_DOCUMENTS,
    PROGRAMME_ROLES,
    Answer,
    Attachment,
    ContactPerson,
    Meeting,
    MeetingDocument,
    NotificationSettings,
    PartnerProfile,
    PracticeEntry,
    Question,
    Registration,
    mail_language,
)
from .selectors import registrations_of_accounts_to_end
from .uploads import check_document

Status = PracticeEntry.Status

PROFILE_FIELDS = ["description", "fields_of_action", "open_for_visits", "website"]
ORGANISATION_FIELDS = ["kind", "district"]
CONTACT_FIELDS = ["name", "function", "email", "phone", "open_for_visits"]
PRACTICE_FIELDS = [
    "title",
    "field_of_action",
    "target_groups",
    "summary",
    "what_was_done",
    "effort",
    "what_worked",
    "what_did_not_work",
    "contact",
    "commitment",
]
# What everyone registered (seated or waiting) is told of when it changes, with a calendar entry replacing theirs.
MEETING_FIELDS_TOLD = {"starts_at", "ends_at", "location", "online_link"}
# What a meeting that has begun keeps: moved, its registrations, minutes and participants list would belong to a
# meeting to come.
MEETING_FIELDS_FIXED_ONCE_BEGUN = ("starts_at", "registration_deadline")
MEETING_FIELDS = [
    "kind",
    "title",
    "agenda",
    "starts_at",
    "ends_at",
    "location",
    "online_link",
    "capacity",
    "registration_deadline",
    "open_to_all",
    "fields_of_action",
]
QUESTION_FIELDS = ["title", "body", "fields_of_action"]


# --- Partner directory ----------------------------------------------------------------------------------------


def profile_of(organisation: Organisation) -> PartnerProfile:
    profile, _created = PartnerProfile.objects.get_or_create(organisation=organisation)
    return profile


@transaction.atomic
def profile_update(
    *, actor: User, organisation: Organisation, opened_version: str | None = None, **fields
) -> PartnerProfile:
    """The organisation's own HR (or the ministry) edits its profile, including its kind and district.
    `opened_version`: the profile's `updated_at` when the form was opened; EditConflict when a colleague has
    changed it (or the organisation's kind or district) since. A save that changes nothing writes nothing."""
    require(actor, AUTHOR_ROLES, organisation)
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    profile = profile_of(organisation)  # under the organisation's lock: the profile's lock as well
    check_opened_version(profile, opened_version, actor=actor)
    org_fields = {name: fields.pop(name) for name in ORGANISATION_FIELDS if name in fields}
    if (
        org_fields.get("kind") == Organisation.Kind.STATE_MINISTRY
        and organisation.kind != Organisation.Kind.STATE_MINISTRY
    ):  # it would leave the programme's partners, its own profile page and every partner list
        raise ValidationError({"kind": _("A partner of the programme cannot be the state ministry.")})
    if unknown := fields.keys() - set(PROFILE_FIELDS):
        raise TypeError(f"{', '.join(sorted(unknown))}: not a profile field")
    before = {name: getattr(profile, name) for name in PROFILE_FIELDS}
    org_before = {name: getattr(organisation, name) for name in ORGANISATION_FIELDS}
    for name, value in fields.items():
        setattr(profile, name, value)
    for name, value in org_fields.items():
        setattr(organisation, name, value)
    profile.full_clean()
    organisation.full_clean()
    org_changes = model_changes(organisation, ORGANISATION_FIELDS, org_before)
    changes = model_changes(profile, PROFILE_FIELDS, before) | org_changes
    if org_changes:
        organisation.save(update_fields=list(org_changes))
    if changes:  # the profile's version also when only the kind or the district changed
        profile.save()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CHANGE,
            obj=profile,
            organisation=organisation,
            changes=changes,
        )
    return profile


@transaction.atomic
def contact_create(*, actor: User, organisation: Organisation, consent: bool, **fields) -> ContactPerson:
    """List a contact person; only with the person's consent, which is recorded with its time."""
    require(actor, AUTHOR_ROLES, organisation)
    if not consent:
        raise ValidationError({"consent": _("A person is listed only after agreeing to it.")})
    contact = ContactPerson(organisation=organisation, consent_given_at=timezone.now(), **fields)
    contact.full_clean()
    contact.save()
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, obj=contact, organisation=organisation)
    return contact


@transaction.atomic
def contact_delete(*, actor: User, contact: ContactPerson) -> None:
    """Remove a contact person everywhere: the directory, and every practice entry that named them."""
    require(actor, AUTHOR_ROLES, contact.organisation_id)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.DELETE,
        obj=contact,
        organisation=contact.organisation,
        object_repr=record_text(
            gettext_noop("Contact person of %(organisation)s"), organisation=contact.organisation
        ),
    )
    contact.delete()


# --- Practice library -----------------------------------------------------------------------------------------


def check_practice_links(entry: PracticeEntry, *, linked_before: int | None = None) -> None:
    """The contact and the commitment are the organisation's own; a commitment newly linked is one of an
    agreement signed (a draft's is not yet a commitment). `linked_before`: the entry's commitment until now."""
    if entry.contact_id and entry.contact.organisation_id != entry.organisation_id:
        raise ValidationError({"contact": _("The contact person belongs to another organisation.")})
    if entry.commitment_id and entry.commitment.agreement.partner_id != entry.organisation_id:
        raise ValidationError(
            {"commitment": _("The commitment belongs to another organisation's agreement.")}
        )
    if (
        entry.commitment_id
        and entry.commitment_id != linked_before
        and not entry.commitment.agreement.is_frozen
    ):
        raise ValidationError({"commitment": _("The commitment belongs to an agreement not yet signed.")})


@transaction.atomic
def practice_create(*, actor: User, organisation: Organisation, **fields) -> PracticeEntry:
    require(actor, AUTHOR_ROLES, organisation)
    entry = PracticeEntry(
        organisation=organisation,
        created_by=actor if isinstance(actor, User) else None,
        language=mail_language(),
        **fields,
    )
    entry.full_clean(exclude=["search_vector"])
    check_practice_links(entry)
    entry.save()
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, obj=entry)
    return entry


@transaction.atomic
def practice_update(
    *, actor: User, entry: PracticeEntry, opened_version: str | None = None, **fields
) -> PracticeEntry:
    """Authors edit drafts and returned entries; the ministry edits any entry. `opened_version`: the entry's
    `updated_at` when the form was opened; EditConflict when a colleague has changed it since."""
    require(actor, AUTHOR_ROLES, entry.organisation_id)
    entry = PracticeEntry.objects.select_for_update().get(pk=entry.pk)
    check_opened_version(entry, opened_version, actor=actor)
    if not entry.is_editable and not may(actor, Role.MINISTRY):
        raise ValidationError(_("A submitted or published entry can be changed by the ministry only."))
    before = {name: getattr(entry, name) for name in PRACTICE_FIELDS}
    linked_before = entry.commitment_id
    for name, value in fields.items():
        if name not in PRACTICE_FIELDS:
            raise TypeError(f"{name} is not a practice entry field")
        setattr(entry, name, value)
    entry.full_clean(exclude=["search_vector"])
    check_practice_links(entry, linked_before=linked_before)
    changes = model_changes(entry, PRACTICE_FIELDS, before)
    if changes:  # else no newer version for a colleague's open form
        entry.save()
        audit_record(actor=actor, action=AuditEntry.Action.CHANGE, obj=entry, changes=changes)
    return entry


# status → (statuses it may come from, roles allowed)
TRANSITIONS = {
    Status.SUBMITTED: ((Status.DRAFT, Status.RETURNED), AUTHOR_ROLES),
    Status.PUBLISHED: ((Status.SUBMITTED,), (Role.MINISTRY,)),
    Status.RETURNED: ((Status.SUBMITTED, Status.PUBLISHED), (Role.MINISTRY,)),
    Status.DRAFT: ((Status.SUBMITTED,), AUTHOR_ROLES),  # withdraw a submission
}


def practice_allowed_transitions(user, entry: PracticeEntry) -> list[str]:
    return [
        target
        for target, (sources, roles) in TRANSITIONS.items()
        if entry.status in sources and may(user, roles, entry.organisation_id)
    ]


@transaction.atomic
def practice_transition(*, actor: User, entry: PracticeEntry, to: str, comment: str = "") -> PracticeEntry:
    """Draft → submitted → published, or returned with a comment (which is required)."""
    if to not in TRANSITIONS:
        raise ValidationError(_("Unknown status."))
    sources, roles = TRANSITIONS[to]
    require(actor, roles, entry.organisation_id)
    entry = PracticeEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status not in sources:
        raise ValidationError(_("This entry cannot change to this status now."))
    comment = comment.strip()
    if to == Status.RETURNED and not comment:
        raise ValidationError({"comment": _("Please say what should be changed.")})
    before = entry.status
    entry.status = to
    if to == Status.RETURNED:
        entry.return_comment = comment
    if to == Status.PUBLISHED:
        entry.published_at = timezone.now()
        entry.return_comment = ""
    elif to != Status.PUBLISHED:
        entry.published_at = None
    entry.save(update_fields=["status", "return_comment", "published_at", "updated_at"])
    changes = {"status": [before, to]}
    if comment:
        changes["comment"] = comment
    audit_record(actor=actor, action=AuditEntry.Action.CHANGE, obj=entry, changes=changes)
    # The ministry hears of a submission (not again of one withdrawn and submitted anew within a day: a partner's
    # clicks do not fill every ministry inbox), the author of the ministry's decision (unless it was their own).
    submitted = to == Status.SUBMITTED and not (before == Status.DRAFT and _submitted_since(entry, hours=24))
    decided = to in (Status.RETURNED, Status.PUBLISHED)
    if submitted or (decided and entry.created_by_id not in (None, getattr(actor, "pk", None))):
        from .tasks import task_send_practice_mail

        send_after_commit(task_send_practice_mail, entry_id=entry.pk, event=to)
    return entry


def _submitted_since(entry: PracticeEntry, *, hours: int) -> bool:
    """Whether the entry was submitted before, within the last `hours`, besides the submission just recorded (the
    audit log holds every change of status)."""
    return (
        AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(PracticeEntry),
            object_id=str(entry.pk),
            changes__status__1=Status.SUBMITTED,
            at__gte=timezone.now() - timedelta(hours=hours),
        )[:2].count()
        > 1
    )


@transaction.atomic
def attachment_add(*, actor: User, entry: PracticeEntry, upload) -> Attachment:
    require(actor, AUTHOR_ROLES, entry.organisation_id)
    entry = PracticeEntry.objects.select_for_update().get(pk=entry.pk)
    if not entry.is_editable and not may(actor, Role.MINISTRY):
        raise ValidationError(_("A submitted or published entry can be changed by the ministry only."))
    if entry.attachments.count() >= 10:
        raise ValidationError(_("An entry has at most 10 attachments."))
    checked = check_document(upload)
    attachment = Attachment(
        entry=entry,
        name=checked.name,
        kind=checked.kind,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=actor if isinstance(actor, User) else None,
    )
    attachment.file.save(checked.sha256, ContentFile(checked.content), save=False)
    attachment.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=attachment,
        organisation=entry.organisation,
        changes={"sha256": checked.sha256},
    )
    return attachment


@transaction.atomic
def attachment_delete(*, actor: User, attachment: Attachment) -> None:
    entry = attachment.entry
    require(actor, AUTHOR_ROLES, entry.organisation_id)
    if not entry.is_editable and not may(actor, Role.MINISTRY):
        raise ValidationError(_("A submitted or published entry can be changed by the ministry only."))
    audit_record(
        actor=actor, action=AuditEntry.Action.DELETE, obj=attachment, organisation=entry.organisation
    )
    file = attachment.file
    attachment.delete()
    transaction.on_commit(lambda: file.delete(save=False))


# --- Network meetings -----------------------------------------------------------------------------------------


def _check_meeting(meeting: Meeting) -> None:
    errors = {}
    if meeting.starts_at and meeting.ends_at and meeting.ends_at <= meeting.starts_at:
        errors["ends_at"] = _("The end must be after the start.")
    if (
        meeting.starts_at
        and meeting.registration_deadline
        and meeting.registration_deadline > meeting.starts_at
    ):
        errors["registration_deadline"] = _("The registration deadline must not be after the start.")
    if not meeting.location and not meeting.online_link:
        errors["location"] = _("Please give a place or an online link.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def meeting_create(*, actor: User, host: Organisation, invited=(), **fields) -> Meeting:
    """The ministry or a partner's HR announces a meeting, hosted by an organisation it acts for."""
    require(actor, AUTHOR_ROLES, host)
    meeting = Meeting(host=host, created_by=actor if isinstance(actor, User) else None, **fields)
    meeting.full_clean()
    _check_meeting(meeting)
    meeting.save()
    meeting.invited.set(invited)
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, obj=meeting)
    return meeting


def _fill_free_seats(meeting: Meeting) -> list[Registration]:
    """Promote from the waiting list in strict order (the meeting must be locked); nobody once it has begun."""
    if meeting.is_cancelled or meeting.has_begun:
        return []
    now = timezone.now()

    def promote(registration):
        registration.status = Registration.Status.SEATED
        registration.promoted_at = now
        registration.save(update_fields=["status", "promoted_at"])

    waiting = meeting.registrations.filter(status=Registration.Status.WAITING).order_by("pk")
    return fill_free_seats(_seats(meeting), waiting, promote=promote)


def _seats(meeting: Meeting) -> Seats:
    seated = meeting.registrations.filter(status=Registration.Status.SEATED)
    return Seats(capacity=meeting.capacity, by_organisation=seat_counts(seated))


def meeting_update(
    *, actor: User, meeting: Meeting, invited=None, opened_version: str | None = None, **fields
) -> Meeting:
    """`opened_version`: the meeting's calendar version when the form was opened; EditConflict when a colleague
    has changed it since (vielfalt.concurrency)."""
    require(actor, AUTHOR_ROLES, meeting.host_id)
    with transaction.atomic():
        locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if locked.is_cancelled:
            raise ValidationError(_("A cancelled meeting cannot be changed."))
        check_opened_version(locked, opened_version, actor=actor)
        if locked.has_begun:
            refuse_moving(
                locked,
                fields,
                MEETING_FIELDS_FIXED_ONCE_BEGUN,
                _("The meeting has begun; its start and deadline stay as they were."),
            )
        before = {name: getattr(locked, name) for name in MEETING_FIELDS}
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.full_clean()
        _check_meeting(locked)
        seated = locked.registrations.filter(status=Registration.Status.SEATED).count()
        if locked.capacity < seated:
            raise ValidationError(
                {
                    "capacity": _("%(count)s seats are already taken; the capacity cannot be lower.")
                    % {"count": seated}
                }
            )
        changes = model_changes(locked, MEETING_FIELDS, before)
        if invited is not None:
            was_invited = dict(locked.invited.values_list("pk", "name"))
            if set(was_invited) != {organisation.pk for organisation in invited}:
                locked.invited.set(invited)
                # A change of its own, and a new version for a colleague's open form (which would undo it).
                changes["invited"] = [
                    sorted(was_invited.values()),
                    sorted(organisation.name for organisation in invited),
                ]
        if changes.keys() & {"invited", "open_to_all"}:
            _refuse_shutting_out_registered(locked)
        if changes:
            locked.sequence += 1
            locked.save()
            audit_record(actor=actor, action=AuditEntry.Action.CHANGE, obj=locked, changes=changes)
        promoted = _fill_free_seats(locked)
        _mail_on_commit([r.pk for r in promoted], "promoted")
        if changes.keys() & MEETING_FIELDS_TOLD:  # the promoted learn the new details from their own e-mail
            told = locked.told_of_changes().exclude(pk__in=[r.pk for r in promoted])
            _mail_on_commit(list(told.values_list("pk", flat=True)), "changed")
    return locked


def meeting_cancel(*, actor: User, meeting: Meeting) -> Meeting:
    require(actor, AUTHOR_ROLES, meeting.host_id)
    with transaction.atomic():
        locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if locked.is_cancelled:
            return locked
        if locked.has_begun:
            raise ValidationError(_("A meeting that has begun cannot be cancelled."))
        locked.cancelled_at = timezone.now()
        locked.sequence += 1
        locked.save(update_fields=["cancelled_at", "sequence"])
        affected = list(
            locked.registrations.exclude(status=Registration.Status.CANCELLED).values_list("pk", flat=True)
        )
        Registration.objects.filter(pk__in=affected).update(
            status=Registration.Status.CANCELLED, cancelled_at=locked.cancelled_at
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CHANGE,
            obj=locked,
            changes={"cancelled": ["", str(locked.cancelled_at)], "registrations_cancelled": len(affected)},
        )
        _mail_on_commit(affected, "meeting_cancelled")
    return locked


def _refuse_shutting_out_registered(meeting: Meeting) -> None:
    """An organisation whose people have registered stays invited: narrowed away from the meeting, their seats
    would belong to an organisation that may not take part, and nobody would tell them."""
    if meeting.open_to_all:
        return
    audience = [meeting.host_id, *meeting.invited.values_list("pk", flat=True)]
    shut_out = sorted(
        set(
            meeting.registrations.exclude(status=Registration.Status.CANCELLED)
            .exclude(organisation_id__in=audience)
            .values_list("organisation__name", flat=True)
        )
    )
    if shut_out:
        raise ValidationError(
            {
                "invited": _(
                    "%(names)s registered for this meeting: cancel those registrations first, or keep inviting "
                    "them."
                )
                % {"names": ", ".join(shut_out)}
            }
        )


def may_register(user, meeting: Meeting, organisation: Organisation | int) -> bool:
    organisation_id = organisation if isinstance(organisation, int) else organisation.pk
    if not may(user, PROGRAMME_ROLES, organisation_id):
        return False
    if meeting.open_to_all or organisation_id == meeting.host_id:
        return True
    return meeting.invited.filter(pk=organisation_id).exists()


def registration_create(
    *,
    actor: User,
    meeting: Meeting,
    organisation: Organisation,
    name: str,
    email: str,
    user: User | None = None,
) -> Registration:
    """Register oneself or a colleague of an organisation one acts for: a seat while there is one, else the
    waiting list. The meeting's row lock serialises every registration and cancellation."""
    require(actor, PROGRAMME_ROLES, organisation)
    with transaction.atomic():
        locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if locked.is_cancelled:
            raise ValidationError(_("This meeting has been cancelled."))
        if timezone.now() > locked.registration_deadline:
            raise ValidationError(_("The registration deadline has passed."))
        if not may_register(actor, locked, organisation):
            raise PermissionDenied(_("Your organisation is not invited to this meeting."))
        email = email.strip().lower()
        if locked.registrations.exclude(status=Registration.Status.CANCELLED).filter(email=email).exists():
            raise ValidationError({"email": _("This person is already registered.")})
        seats = _seats(locked)
        status = Registration.Status.SEATED if seats.fits(organisation.pk) else Registration.Status.WAITING
        registration = Registration(
            meeting=locked,
            organisation=organisation,
            name=name.strip(),
            email=email,
            user=user,
            status=status,
            registered_by=actor if isinstance(actor, User) else None,
            language=mail_language(),
        )
        registration.full_clean()
        try:
            with transaction.atomic():
                registration.save()
        except IntegrityError as error:
            raise ValidationError({"email": _("This person is already registered.")}) from error
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=registration,
            organisation=organisation,
            object_repr=record_text(gettext_noop("Registration for %(meeting)s"), meeting=locked),
            changes={"status": status},
        )
        _mail_on_commit([registration.pk], "registered")
    return registration


def registration_cancel(*, actor: User, registration: Registration) -> list[Registration]:
    """Cancel a registration (its organisation or the host) until the meeting begins; a freed seat goes to the
    first waiting."""
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=registration.meeting_id)
        registration = Registration.objects.get(pk=registration.pk)
        if not (
            may(actor, PROGRAMME_ROLES, registration.organisation_id)
            or may(actor, AUTHOR_ROLES, meeting.host_id)
        ):
            raise PermissionDenied(_("You may not cancel this registration."))
        if registration.status == Registration.Status.CANCELLED:
            raise ValidationError(_("This registration has already been cancelled."))
        if meeting.has_begun:
            raise ValidationError(_("The meeting has begun; its registrations can no longer be cancelled."))
        return _cancel_registrations(actor=actor, meeting=meeting, registrations=[registration])


def _cancel_registrations(
    *, actor, meeting: Meeting, registrations: list[Registration]
) -> list[Registration]:
    """Cancel `registrations` of the meeting locked by the caller; seats they free go to the first waiting, and
    everyone concerned gets an e-mail once the transaction commits. Returns who was promoted."""
    now = timezone.now()
    seat_freed = False
    for registration in registrations:
        before = registration.status
        seat_freed = seat_freed or before == Registration.Status.SEATED
        registration.status = Registration.Status.CANCELLED
        registration.cancelled_at = now
        registration.save(update_fields=["status", "cancelled_at"])
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CHANGE,
            obj=registration,
            organisation=registration.organisation,
            changes={"status": [before, registration.status]},
        )
    promoted = _fill_free_seats(meeting) if seat_freed else []
    _mail_on_commit([registration.pk for registration in registrations], "cancelled")
    _mail_on_commit([r.pk for r in promoted], "promoted")
    return promoted


def _end_registrations(*, actor, condition: Q) -> int:
    """Cancel the registrations matching `condition` for meetings that have not begun (and are not cancelled),
    in the caller's transaction, each meeting locked in the order of the keys; returns how many."""

    def upcoming(**filters):
        return (
            Registration.objects.filter(condition, **filters)
            .exclude(status=Registration.Status.CANCELLED)
            .filter(meeting__starts_at__gt=timezone.now(), meeting__cancelled_at=None)
            .select_related("organisation")
            .order_by("pk")
        )

    meeting_ids = set(upcoming().values_list("meeting_id", flat=True))
    ended = 0
    for meeting in Meeting.objects.select_for_update().filter(pk__in=meeting_ids).order_by("pk"):
        if meeting.is_cancelled or meeting.has_begun:  # meanwhile
            continue
        registrations = list(upcoming(meeting=meeting))
        _cancel_registrations(actor=actor, meeting=meeting, registrations=registrations)
        ended += len(registrations)
    return ended


def registrations_end_for_accounts(*, actor: User, user_ids: list[int]) -> int:
    """Cancel the registrations that accounts deactivated, or no longer acting for the registration's
    organisation, made for themselves (`vielfalt.signals.accounts_left`) for meetings that have not begun: nobody
    comes, and the seat goes to the waiting list. Registrations such an account made for colleagues stay theirs,
    as do the ones HR made by e-mail address (a colleague need not use an account to come; theirs end when the
    colleague leaves the organisation). Runs in the caller's transaction; returns how many it cancelled."""
    require(actor, Role.ADMIN)
    users = User.objects.in_bulk(list(user_ids))
    registrations = registrations_of_accounts_to_end(users).only("pk", "user_id", "organisation_id")
    ended = [
        registration.pk
        for registration in registrations
        if not may(users[registration.user_id], PROGRAMME_ROLES, registration.organisation_id)
    ]
    return _end_registrations(actor=actor, condition=Q(pk__in=ended)) if ended else 0


def registrations_end_for_leavers(*, actor: User, employee_ids: list[int]) -> int:
    """Cancel the registrations of employees who left their organisation (`vielfalt.signals.employees_left`: HR
    of their organisation marked them inactive), found by the organisation and the employee's e-mail address, for
    meetings that have not begun: their seats go to the waiting list. Runs in the caller's transaction; returns
    how many it cancelled."""
    organisation_ids, leavers = set(), {}
    for part in range(0, len(employee_ids), 5000):  # an import's
        for organisation_id, email, is_active in Employee.objects.filter(
            pk__in=employee_ids[part : part + 5000]
        ).values_list("organisation_id", "email", "is_active"):
            organisation_ids.add(organisation_id)
            if email and not is_active:
                leavers.setdefault(organisation_id, set()).add(email.strip().lower())
    for organisation_id in organisation_ids:
        require(actor, Role.HR, organisation_id)
    condition = Q(pk__in=[])
    for organisation_id, emails in leavers.items():
        condition |= Q(organisation_id=organisation_id, email__in=sorted(emails))
    return _end_registrations(actor=actor, condition=condition) if leavers else 0


def may_read_documents(user, meeting: Meeting) -> bool:
    """The host, the ministry and organisations with a confirmed seat read minutes and materials."""
    if may(user, AUTHOR_ROLES, meeting.host_id):
        return True
    ids = organisation_ids(user, PROGRAMME_ROLES)
    registered = meeting.registrations.filter(status=Registration.Status.SEATED)
    return registered.exists() if ids is None else registered.filter(organisation_id__in=ids).exists()


@transaction.atomic
def meeting_document_add(*, actor: User, meeting: Meeting, kind: str, upload) -> MeetingDocument:
    """The host adds minutes or material, at most MEETING_MAX_DOCUMENTS per meeting; a cancelled meeting has
    neither. The meeting's row lock serialises uploads, so that two at once do not pass the limit."""
    require(actor, AUTHOR_ROLES, meeting.host_id)
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.is_cancelled:
        raise ValidationError(_("The meeting has been cancelled: it takes no minutes or materials."))
    if meeting.documents.count() >= MEETING_MAX_DOCUMENTS:
        raise ValidationError(
            _("A meeting has at most %(count)s documents.") % {"count": MEETING_MAX_DOCUMENTS}
        )
    checked = check_document(upload)
    document = MeetingDocument(
        meeting=meeting,
        kind=kind,
        name=checked.name,
        file_type=checked.kind,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=actor if isinstance(actor, User) else None,
    )
    document.full_clean(exclude=["file"])
    document.file.save(checked.sha256, ContentFile(checked.content), save=False)
    document.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=document,
        organisation=meeting.host,
        changes={"sha256": checked.sha256},
    )
    return document


@transaction.atomic
def meeting_document_delete(*, actor: User, document: MeetingDocument) -> None:
    """The host removes minutes or material (one uploaded by mistake frees its place among the
    MEETING_MAX_DOCUMENTS); the file goes once the transaction commits."""
    meeting = document.meeting
    require(actor, AUTHOR_ROLES, meeting.host_id)
    audit_record(actor=actor, action=AuditEntry.Action.DELETE, obj=document, organisation=meeting.host)
    file = document.file
    document.delete()
    transaction.on_commit(lambda: file.delete(save=False))


def participants_pdf_job(*, actor: User, meeting: Meeting):
    from vielfalt.jobs import job_enqueue

    from .tasks import task_render_participants

    require(actor, AUTHOR_ROLES, meeting.host_id)
    if meeting.is_cancelled:
        raise ValidationError(_("A cancelled meeting has no participants list."))
    audit_record(
        actor=actor,
        action=AuditEntry.Action.EXPORT,
        obj=meeting,
        object_repr=record_text(gettext_noop("Participants of %(meeting)s"), meeting=meeting),
    )
    return job_enqueue(
        task=task_render_participants,
        kind="network.participants",
        description=_("Participants list: %(meeting)s") % {"meeting": meeting},
        requested_by=actor,
        organisation=meeting.host,
        role=AUTHOR_ROLES,
        meeting_id=meeting.pk,
        language=get_language(),
    )


def _mail_on_commit(registration_ids: list[int], event: str) -> None:
    if not registration_ids:
        return
    from .tasks import task_send_registration_mails

    send_after_commit(task_send_registration_mails, registration_ids=list(registration_ids), event=event)


# --- Questions to the network ---------------------------------------------------------------------------------


@transaction.atomic
def question_ask(*, actor: User, organisation: Organisation, **fields) -> Question:
    require(actor, PROGRAMME_ROLES, organisation)
    question = Question(
        organisation=organisation,
        asked_by=actor if isinstance(actor, User) else None,
        language=mail_language(),
        **fields,
    )
    question.full_clean()
    question.save()
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, obj=question)
    return question


@transaction.atomic
def answer_create(*, actor: User, question: Question, organisation: Organisation, body: str) -> Answer:
    require(actor, PROGRAMME_ROLES, organisation)
    answer = Answer(
        question=question,
        organisation=organisation,
        author=actor if isinstance(actor, User) else None,
        body=body.strip(),
    )
    answer.full_clean()
    answer.save()
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, obj=answer, organisation=organisation)
    from .tasks import task_send_answer_mail

    send_after_commit(task_send_answer_mail, answer_id=answer.pk)
    return answer


def may_mark_helpful(user, question: Question) -> bool:
    """The asker, while still acting for the asking organisation, and that organisation's HR (or the ministry)."""
    return _is_author(user, question.asked_by_id, question.organisation_id) or may(
        user, AUTHOR_ROLES, question.organisation_id
    )


@transaction.atomic
def answer_mark_helpful(*, actor: User, question: Question, answer: Answer | None) -> Question:
    """The asker (or the asking organisation's HR) marks the answer that helped; None takes the mark back."""
    if actor is None:
        raise TypeError("A service that changes data needs an actor.")
    if not (getattr(actor, "is_system", False) or may_mark_helpful(actor, question)):
        raise PermissionDenied(_("Only the asker marks the helpful answer."))
    question = Question.objects.select_for_update().get(pk=question.pk)
    if answer is not None and answer.question_id != question.pk:
        raise ValidationError(_("This answer belongs to another question."))
    question.helpful_answer = answer
    question.save(update_fields=["helpful_answer"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CHANGE,
        obj=question,
        changes={"helpful_answer": answer.pk if answer else ""},
    )
    return question


def _is_author(user, author_id: int | None, organisation_id: int) -> bool:
    """The user wrote it and still acts for the organisation it was written for."""
    return bool(
        author_id is not None
        and getattr(user, "is_authenticated", False)
        and author_id == user.pk
        and may(user, PROGRAMME_ROLES, organisation_id)
    )


def may_change_question(user, question: Question) -> bool:
    """Its asker edits and deletes a question; the ministry moderates every question."""
    return _is_author(user, question.asked_by_id, question.organisation_id) or may(user, Role.MINISTRY)


def may_change_answer(user, answer: Answer) -> bool:
    """Its author edits and deletes an answer; the ministry moderates every answer."""
    return _is_author(user, answer.author_id, answer.organisation_id) or may(user, Role.MINISTRY)


def _require_author_or_ministry(actor, author_id: int | None, organisation_id: int) -> None:
    if actor is None:
        raise TypeError("A service that changes data needs an actor.")
    if not _is_author(actor, author_id, organisation_id):
        require(actor, Role.MINISTRY)


# The audit log names the fields an edit changed, not their texts: an author who takes a name or a detail out
# of a post must not find it kept in the append-only log.
def _changed_fields(instance, names, before) -> list[str]:
    return [name for name in names if getattr(instance, name) != before[name]]


@transaction.atomic
def question_update(*, actor: User, question: Question, **fields) -> Question:
    _require_author_or_ministry(actor, question.asked_by_id, question.organisation_id)
    question = Question.objects.select_for_update().get(pk=question.pk)
    before = {name: getattr(question, name) for name in QUESTION_FIELDS}
    for name, value in fields.items():
        if name not in QUESTION_FIELDS:
            raise TypeError(f"question_update() got an unexpected field {name!r}")
        setattr(question, name, value.strip() if isinstance(value, str) else value)
    changed = _changed_fields(question, QUESTION_FIELDS, before)
    if not changed:
        return question
    question.edited_at = timezone.now()
    question.full_clean()
    question.save(update_fields=[*changed, "edited_at"])
    audit_record(actor=actor, action=AuditEntry.Action.CHANGE, obj=question, changes={"fields": changed})
    return question


@transaction.atomic
def question_delete(*, actor: User, question: Question) -> None:
    """Delete a question with its answers (a practice entry made from it stays)."""
    _require_author_or_ministry(actor, question.asked_by_id, question.organisation_id)
    question = Question.objects.select_for_update().get(pk=question.pk)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.DELETE,
        obj=question,
        object_repr=record_text(
            gettext_noop("Question %(pk)s of %(organisation)s with %(count)s answers"),
            pk=question.pk,
            organisation=question.organisation,
            count=question.answers.count(),
        ),
    )
    question.delete()


@transaction.atomic
def answer_update(*, actor: User, answer: Answer, body: str) -> Answer:
    _require_author_or_ministry(actor, answer.author_id, answer.organisation_id)
    answer = Answer.objects.select_for_update().get(pk=answer.pk)
    body = body.strip()
    if body == answer.body:
        return answer
    answer.body = body
    answer.edited_at = timezone.now()
    answer.full_clean()
    answer.save(update_fields=["body", "edited_at"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CHANGE,
        obj=answer,
        organisation=answer.organisation,
        changes={"fields": ["body"]},
    )
    return answer


@transaction.atomic
def answer_delete(*, actor: User, answer: Answer) -> None:
    """Delete an answer; a helpful mark on it goes with it."""
    _require_author_or_ministry(actor, answer.author_id, answer.organisation_id)
    answer = Answer.objects.select_for_update().get(pk=answer.pk)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.DELETE,
        obj=answer,
        organisation=answer.organisation,
        object_repr=record_text(
            gettext_noop("Answer %(pk)s of %(organisation)s to question %(question)s"),
            pk=answer.pk,
            organisation=answer.organisation,
            question=answer.question_id,
        ),
    )
    answer.delete()


@transaction.atomic
def question_to_practice(*, actor: User, question: Question) -> PracticeEntry:
    """The ministry turns a good thread into a draft practice entry of the organisation whose answer helped
    (else the asking one), to edit and publish."""
    require(actor, Role.MINISTRY)
    question = Question.objects.select_for_update().get(pk=question.pk)
    if question.practice_entry_id:
        return question.practice_entry
    answers = list(question.answers.select_related("organisation"))
    if not answers:
        raise ValidationError(_("A question without answers cannot become a practice entry."))
    helpful = question.helpful_answer
    organisation_id = helpful.organisation_id if helpful else question.organisation_id
    ordered = ([helpful] if helpful else []) + [a for a in answers if not helpful or a.pk != helpful.pk]
    body = "\n\n".join(f"{a.organisation.name}: {a.body}" for a in ordered)
    entry = practice_create(
        actor=actor,
        organisation=Organisation.objects.get(pk=organisation_id),
        title=question.title[:200],
        field_of_action=(question.fields_of_action or ["sensitisation"])[0],
        summary=(question.body or question.title)[:1000],
        what_was_done=body[:20_000],
    )
    question.practice_entry = entry
    question.save(update_fields=["practice_entry"])
    return entry


# --- E-mail settings ------------------------------------------------------------------------------------------


def mail_settings_of(user: User) -> NotificationSettings:
    """The user's row, created (in the language of the current request, which the network's e-mails to the user
    are written in until they save their settings) on first use."""
    settings, _created = NotificationSettings.objects.get_or_create(
        user=user, defaults={"language": mail_language()}
    )
    return settings


@transaction.atomic
def mail_settings_update(
    *, actor: User, user: User, answers: bool, weekly_digest: bool
) -> NotificationSettings:
    if actor is None:
        raise TypeError("A service that changes data needs an actor.")
    if not (getattr(actor, "is_system", False) or actor.pk == user.pk):
        raise PermissionDenied(_("You may change only your own e-mail settings."))
    settings = NotificationSettings.objects.select_for_update().get(pk=mail_settings_of(user).pk)
    before = {"answers": settings.answers, "weekly_digest": settings.weekly_digest}
    settings.answers = answers
    settings.weekly_digest = weekly_digest
    settings.language = mail_language()  # the digest comes in the language the settings were saved in
    settings.save(update_fields=["answers", "weekly_digest", "language"])
    # Recorded as the one-click unsubscribe records the same choice (`unsubscribe`): whoever asks why someone no
    # longer gets the digest, or gets it again, finds both ways in the log. Saving unchanged records nothing.
    if changes := model_changes(settings, ["answers", "weekly_digest"], before):
        audit_record(
            actor=actor, action=AuditEntry.Action.CHANGE, obj=settings, organisation=None, changes=changes
        )
    return settings


@dataclass(frozen=True)
class Unsubscribed:
    user: User
    kind: str


@transaction.atomic
def unsubscribe(*, token: str) -> Unsubscribed:
    """One-click unsubscribe without logging in: the signed token is the actor's proof. Unsubscribing again (a
    second click, an old e-mail's link) changes and records nothing."""
    from .mail import read_unsubscribe_token

    user, kind = read_unsubscribe_token(token)
    settings = NotificationSettings.objects.select_for_update().get(pk=mail_settings_of(user).pk)
    if not getattr(settings, kind):
        return Unsubscribed(user=user, kind=kind)
    setattr(settings, kind, False)
    settings.save(update_fields=[kind])
    audit_record(
        actor=user,
        action=AuditEntry.Action.CHANGE,
        obj=settings,
        organisation=None,
        changes={kind: [True, False]},
    )
    return Unsubscribed(user=user, kind=kind)
