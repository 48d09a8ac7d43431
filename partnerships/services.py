"""Every write of the partnerships app. Views, tasks and commands call these; each write is audited and
checks its keyword-only `actor` through vielfalt.permissions: agreements are the ministry's, progress reports
and anonymised procedures the partner HR's; commands and the beat pass `permissions.SYSTEM`."""

import csv
import hashlib
import io
import tempfile
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from itertools import zip_longest
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from vielfalt.audit import audit_record, model_changes, record_text
from vielfalt.collation import text_order
from vielfalt.concurrency import check_opened_version
from vielfalt.jobs import job_enqueue, send_after_commit
from vielfalt.models import AuditEntry, Job, Organisation, Role, User
from vielfalt.pdf import letterhead_for, render_pdf
from vielfalt.permissions import actor_from_id, recorded_user, require, require_for_partner, require_role
from vielfalt.seal import SealCheck, check_basis, check_pdf, seal_pdf
from vielfalt.tabular import neutralise
from vielfalt.validation import one_line

from .models import (
    Agreement,
    AgreementDocument,
    AnonymisedProcedure,
    Commitment,
    ExpiryNotice,
    ProgressReport,
    Side,
    Signatory,
    StatusChange,
)
from .triggers import FROZEN

AGREEMENT_FIELDS = [
    "partner",
    "state_party",
    "title",
    "preamble",
    "body",
    "place",
    "signed_on",
    "valid_from",
    "valid_until",
    "amends",
]
SIGNATORY_FIELDS = ["side", "name", "function", "order"]
COMMITMENT_FIELDS = [
    "field_of_action",
    "description",
    "indicator",
    "target_value",
    "unit",
    "due_on",
    "responsible_unit",
    "indicator_source",
    "order",
]

Status = Agreement.Status
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    Status.DRAFT: {Status.IN_REVIEW},
    Status.IN_REVIEW: {Status.DRAFT, Status.READY_FOR_SIGNATURE},
    Status.READY_FOR_SIGNATURE: {Status.IN_REVIEW, Status.SIGNED},
    Status.SIGNED: {Status.ENDED},
    Status.ENDED: set(),
}
SIGNED_COPY_MAX_BYTES = 20 * 1024 * 1024
# A signed agreement with its annexes runs to a few dozen pages. The bound keeps the work a file causes small: a
# few megabytes can hold a hundred thousand pages, and the agreement page reads every document for its seal.
SIGNED_COPY_MAX_PAGES = 500
EXPIRY_NOTICE_DAYS = (90, 30)


class AgreementFrozen(ValidationError):
    """The agreement is signed: its content changes only through an amendment."""

    def __init__(self):
        super().__init__(
            _(
                "This agreement has been signed, so its content can no longer be changed. "
                "Create an amendment to change it."
            ),
            code="frozen",
        )


def _sync_children(*, agreement: Agreement, model, rows: list[dict], fields: list[str]) -> dict:
    """Make the agreement's signatories or commitments exactly `rows` (each optionally with the `id` of an
    existing one); returns counts for the audit log."""
    existing = {child.pk: child for child in model.objects.filter(agreement=agreement)}
    kept = set()
    created = changed = 0
    for position, row in enumerate(rows):
        row = {**row}
        row.setdefault("order", position)
        child = existing.get(row.pop("id", None))
        if child is None:
            child = model(agreement=agreement, **{name: row.get(name) for name in fields if name in row})
            child.full_clean()
            child.save()
            created += 1
        else:
            before = {name: getattr(child, name) for name in fields}
            for name in fields:
                if name in row:
                    setattr(child, name, row[name])
            child.full_clean()
            if model_changes(child, fields, before):
                child.save()
                changed += 1
        kept.add(child.pk)
    removed = [pk for pk in existing if pk not in kept]
    model.objects.filter(pk__in=removed).delete()
    return {"created": created, "changed": changed, "deleted": len(removed)}


def _clean_commitment_rows(partner: Organisation, rows: list[dict]) -> None:
    for row in rows:
        unit = row.get("responsible_unit")
        if unit is not None and unit.organisation_id != partner.pk:
            raise ValidationError(
                {"responsible_unit": _("The responsible org unit must belong to the partner.")}
            )


@transaction.atomic
def agreement_create(
    *,
    actor: User,
    partner: Organisation,
    state_party: Organisation,
    signatories: list[dict] = (),
    commitments: list[dict] = (),
    **fields,
) -> Agreement:
    require(actor, Role.MINISTRY, partner)
    agreement = Agreement(
        partner=partner,
        state_party=state_party,
        created_by=recorded_user(actor),
        **fields,
    )
    agreement.full_clean()
    agreement.save()
    _clean_commitment_rows(partner, list(commitments))
    _sync_children(agreement=agreement, model=Signatory, rows=list(signatories), fields=SIGNATORY_FIELDS)
    _sync_children(
        agreement=agreement,
        model=Commitment,
        rows=list(commitments),
        fields=[*COMMITMENT_FIELDS, "continues"],  # an amendment's copies (amendment_create), never a form's
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=agreement,
        organisation=partner,
        changes={"signatories": len(signatories), "commitments": len(commitments)},
    )
    return agreement


@transaction.atomic
def agreement_update(
    *,
    actor: User,
    agreement: Agreement,
    signatories: list[dict] | None = None,
    commitments: list[dict] | None = None,
    opened_version: str | None = None,
    **fields,
) -> Agreement:
    """`opened_version`: the agreement's `updated_at` when the form was opened; EditConflict when it has changed
    since (vielfalt.concurrency): the form's signatories and commitments are the whole list, so saving it over
    a newer version would also delete what the other save added. A save that changes nothing writes nothing,
    so that it is no newer version for a colleague's open form."""
    require(actor, Role.MINISTRY, agreement.partner_id)
    agreement = Agreement.objects.select_for_update().get(pk=agreement.pk)
    if agreement.is_frozen:
        raise AgreementFrozen()
    check_opened_version(agreement, opened_version, actor=actor)
    before = {name: getattr(agreement, name) for name in AGREEMENT_FIELDS}
    for name, value in fields.items():
        if name not in AGREEMENT_FIELDS:
            raise TypeError(f"{name} is not an agreement field")
        setattr(agreement, name, value)
    if agreement.partner_id != before["partner"].pk:
        require(actor, Role.MINISTRY, agreement.partner_id)
    agreement.full_clean()
    changes = model_changes(agreement, AGREEMENT_FIELDS, before)
    saved = bool(changes)
    if saved:
        agreement.save()
    if signatories is not None:
        counts = _sync_children(
            agreement=agreement, model=Signatory, rows=signatories, fields=SIGNATORY_FIELDS
        )
        if any(counts.values()):
            changes["signatories"] = counts
    if commitments is not None:
        _clean_commitment_rows(agreement.partner, commitments)
        counts = _sync_children(
            agreement=agreement, model=Commitment, rows=commitments, fields=COMMITMENT_FIELDS
        )
        if any(counts.values()):
            changes["commitments"] = counts
    if changes and not saved:  # only its rows changed: still a new version (EditConflict)
        agreement.save(update_fields=["updated_at"])
    if changes:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CHANGE,
            obj=agreement,
            organisation=agreement.partner,
            changes=changes,
        )
    return agreement


def signing_date_problem(agreement: Agreement | None, signed_on: date | None) -> str | None:
    """Why `signed_on` cannot be the agreement's date of signing: it lies between the day the agreement was
    created in the portal (today for a new one) and today."""
    if signed_on is None:
        return None
    today = timezone.localdate()
    created = timezone.localdate(agreement.created_at) if agreement and agreement.created_at else today
    if signed_on > today:
        return _("The date of signing lies in the future.")
    if signed_on < created:
        return _("The date of signing lies before the agreement was created (%(created)s).") % {
            "created": formats.date_format(created, "SHORT_DATE_FORMAT")
        }
    return None


def agreement_sign_problems(agreement: Agreement) -> list[str]:
    """Why the agreement cannot be marked signed yet (empty when it can)."""
    problems = []
    sides = set(agreement.signatories.values_list("side", flat=True))
    if Side.PARTNER not in sides:
        problems.append(_("At least one signatory for the partner is needed."))
    if Side.STATE not in sides:
        problems.append(_("At least one signatory for the state is needed."))
    if agreement.signed_on is None:
        problems.append(_("The date of signing is missing."))
    elif problem := signing_date_problem(agreement, agreement.signed_on):
        problems.append(problem)
    signed_copy = (
        agreement.documents.filter(kind=AgreementDocument.Kind.SIGNED)
        .order_by("-version")
        .only("created_at")
        .first()
    )
    if signed_copy is None:
        problems.append(_("The signed copy has not been uploaded."))
    elif signed_copy.created_at < agreement.updated_at:
        # A copy is uploaded once the agreement is ready for signature; anything that changed the agreement since
        # (an edit of its text, signatories or commitments, a step back into review) may have changed what the
        # paper says: the status "signed" would freeze a text that nobody signed.
        problems.append(
            _(
                "The agreement has changed since the signed copy was uploaded (%(date)s). Please upload the copy "
                "signed on its current text."
            )
            % {
                "date": formats.date_format(
                    timezone.localtime(signed_copy.created_at), "SHORT_DATETIME_FORMAT"
                )
            }
        )
    if replacement := _replacement_of(agreement.amends_id, besides=agreement.pk):
        problems.append(
            _(
                "The agreement it amends has already been replaced by the amendment “%(title)s” signed on "
                "%(date)s: please amend that one."
            )
            % {
                "title": replacement.title,
                "date": formats.date_format(replacement.signed_on, "SHORT_DATE_FORMAT"),
            }
        )
    return problems


def _replacement_of(agreement_id: int | None, *, besides: int | None = None) -> Agreement | None:
    """The signed (or since ended) amendment that replaced the agreement, if one did."""
    if agreement_id is None:
        return None
    amendments = Agreement.objects.filter(amends_id=agreement_id, status__in=FROZEN)
    amendments = amendments.exclude(pk=besides) if besides else amendments
    return amendments.order_by("signed_on", "pk").first()


STATUS_ORDER = [Status.DRAFT, Status.IN_REVIEW, Status.READY_FOR_SIGNATURE, Status.SIGNED, Status.ENDED]


def transition_needs_reason(from_status: str, to_status: str) -> bool:
    """Steps back in the life cycle, the step to "signed" and the step to "ended" are confirmed with a reason
    (kept in the audit log): they undo work, make the agreement binding, or end it for good (nothing follows
    "ended")."""
    if to_status in (Status.SIGNED, Status.ENDED):
        return True
    return STATUS_ORDER.index(to_status) < STATUS_ORDER.index(from_status)


@transaction.atomic
def agreement_transition(*, actor: User, agreement: Agreement, to_status: str, reason: str = "") -> Agreement:
    """Move the agreement along its life cycle; only the transitions in ALLOWED_TRANSITIONS exist, and those
    of `transition_needs_reason` need a `reason`."""
    require(actor, Role.MINISTRY, agreement.partner_id)
    given, agreement = agreement, Agreement.objects.select_for_update().get(pk=agreement.pk)
    from_status = agreement.status
    if to_status not in ALLOWED_TRANSITIONS.get(from_status, set()):
        raise ValidationError(
            _("An agreement cannot go from “%(from)s” to “%(to)s”.")
            % {
                "from": Status(from_status).label,
                "to": Status(to_status).label if to_status in Status else to_status,
            },
            code="transition",
        )
    reason = reason.strip()
    if transition_needs_reason(from_status, to_status) and not reason:
        raise ValidationError(
            _("Please confirm the change of status to “%(to)s” and give a reason.")
            % {"to": Status(to_status).label},
            code="reason_missing",
        )
    if to_status == Status.SIGNED:
        # One amendment at a time replaces the agreement it amends: a second one signed now waits, then sees it.
        if agreement.amends_id:
            Agreement.objects.select_for_update().filter(pk=agreement.amends_id).first()
        problems = agreement_sign_problems(agreement)
        if problems:
            raise ValidationError(problems, code="not_signable")
    agreement.status = to_status
    agreement.save(update_fields=["status", "updated_at"])
    StatusChange.objects.create(
        agreement=agreement,
        from_status=from_status,
        to_status=to_status,
        changed_by=recorded_user(actor),
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CHANGE,
        obj=agreement,
        organisation=agreement.partner,
        changes={"status": [from_status, to_status], **({"reason": reason} if reason else {})},
    )
    given.status, given.updated_at = agreement.status, agreement.updated_at
    if to_status == Status.SIGNED and agreement.amends_id:
        _take_over_reports(actor=actor, amendment=agreement)
        _end_when_replaced(actor=actor, amendment=agreement, today=timezone.localdate())
    return agreement


def _take_over_reports(*, actor: User, amendment: Agreement) -> None:
    """The progress reported on the amended agreement's commitments, carried over to the amendment's copies of
    them (the facts reached stay facts when a target or wording changes), so that a partner's progress does not
    start afresh with an amendment; from its signing on, progress is reported on the amendment."""
    copies = dict(
        Commitment.objects.filter(
            agreement=amendment, continues__agreement_id=amendment.amends_id
        ).values_list("continues_id", "pk")
    )
    reports = [
        ProgressReport(
            commitment_id=copies[report.commitment_id],
            reported_on=report.reported_on,
            value_reached=report.value_reached,
            text=report.text,
            reported_by_id=report.reported_by_id,
        )
        for report in ProgressReport.objects.filter(commitment_id__in=copies).order_by("reported_on", "pk")
    ]
    if reports:
        ProgressReport.objects.bulk_create(reports)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CHANGE,
            obj=amendment,
            organisation=amendment.partner,
            changes={"progress_reports_taken_over": len(reports)},
        )


def _end_when_replaced(*, actor: User, amendment: Agreement, today: date) -> bool:
    """An amendment is the agreement as changed, in full: the agreement it amends ends when the amendment takes
    effect (its "valid from", or its signing without one), so that one of them is in force, once in every list,
    figure and expiry notice. One that takes effect later ends it that night (`agreements_end_expired`)."""
    if amendment.valid_from and amendment.valid_from > today:
        return False
    amended = Agreement.objects.select_for_update().get(pk=amendment.amends_id)
    if amended.status != Status.SIGNED:  # ended already (by hand, or its validity ran out)
        return False
    with translation.override(settings.LANGUAGE_CODE):  # kept in the audit log, read by the ministry
        reason = _("Replaced by the amendment “%(title)s” signed on %(date)s.") % {
            "title": amendment.title,
            "date": formats.date_format(amendment.signed_on, "SHORT_DATE_FORMAT"),
        }
    agreement_transition(actor=actor, agreement=amended, to_status=Status.ENDED, reason=reason)
    return True


def agreement_sign(*, actor: User, agreement: Agreement, reason: str) -> Agreement:
    return agreement_transition(actor=actor, agreement=agreement, to_status=Status.SIGNED, reason=reason)


@transaction.atomic
def amendment_create(*, actor: User, agreement: Agreement) -> Agreement:
    """A new draft that amends a signed agreement, starting as a copy of it."""
    require(actor, Role.MINISTRY, agreement.partner_id)
    if not agreement.is_frozen:
        raise ValidationError(_("Only a signed agreement can be amended; edit this one directly."))
    if replacement := _replacement_of(agreement.pk):
        raise ValidationError(
            _("This agreement has been replaced by the amendment “%(title)s”: please amend that one.")
            % {"title": replacement.title}
        )
    amendment = agreement_create(
        actor=actor,
        partner=agreement.partner,
        state_party=agreement.state_party,
        title=agreement.title,
        preamble=agreement.preamble,
        body=agreement.body,
        place=agreement.place,
        valid_from=None,
        valid_until=agreement.valid_until,
        amends=agreement,
        signatories=[
            {name: getattr(s, name) for name in SIGNATORY_FIELDS} for s in agreement.signatories.all()
        ],
        commitments=[
            {**{name: getattr(c, name) for name in COMMITMENT_FIELDS}, "continues": c}
            for c in agreement.commitments.all()
        ],
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CHANGE,
        obj=agreement,
        organisation=agreement.partner,
        changes={"amendment": amendment.pk},
    )
    return amendment


@transaction.atomic
def progress_report_create(
    *,
    actor: User,
    commitment: Commitment,
    reported_on: date,
    value_reached: Decimal,
    text: str = "",
) -> ProgressReport:
    """Partner HR (or an administrator) reports what came of a commitment of a signed agreement."""
    require(actor, Role.HR, commitment.agreement.partner_id)
    # Locked: an amendment being signed takes over the reports made until then (_take_over_reports).
    agreement = Agreement.objects.select_for_update(no_key=True).get(pk=commitment.agreement_id)
    if replacement := _replacement_of(agreement.pk):
        raise ValidationError(
            _("This agreement has been replaced by the amendment “%(title)s”: please report progress there.")
            % {"title": replacement.title}
        )
    if agreement.status != Status.SIGNED:
        raise ValidationError(_("Progress is reported for signed agreements only."))
    report = ProgressReport(
        commitment=commitment,
        reported_on=reported_on,
        value_reached=value_reached,
        text=text,
        reported_by=recorded_user(actor),
    )
    report.full_clean()
    report.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=report,
        organisation=agreement.partner,
        changes={"commitment": commitment.pk, "value_reached": str(value_reached)},
    )
    return report


# --- Documents ------------------------------------------------------------------------------------------------


def _sha256_of(file) -> str:
    digest = hashlib.sha256()
    for chunk in file.chunks() if hasattr(file, "chunks") else iter(lambda: file.read(1 << 20), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _is_sealed_revision_of(document: AgreementDocument, unsealed: bytes) -> bool:
    """Whether the stored (sealed) file is `unsealed` with a seal appended: the seal is an incremental update,
    so the rendered PDF stays byte for byte at the start of the sealed file."""
    if document.size < len(unsealed):
        return False
    with document.file.open("rb") as stored:
        return stored.read(len(unsealed)) == unsealed


def document_store(
    *,
    actor: User,
    agreement: Agreement,
    kind: str,
    content,
    skip_if_unchanged: bool = False,
    unsealed: bytes | None = None,
) -> tuple[AgreementDocument, bool]:
    """Store a PDF (bytes or an uploaded file) as the agreement's next version of `kind`, with its SHA-256.

    Returns the document and whether it is new. With `skip_if_unchanged`, content equal to the latest
    version is not stored again, so a repeated render leaves exactly one version; for a sealed PDF (whose
    seal differs each time) `unsealed` is the rendering before the seal, compared with the latest version's
    sealed revision."""
    require(actor, Role.MINISTRY, agreement.partner_id)
    file = ContentFile(content) if isinstance(content, bytes) else content
    sha256 = _sha256_of(file)
    with transaction.atomic():
        # The row lock serialises concurrent stores of the same agreement (a retried job and a fresh one).
        Agreement.objects.select_for_update().filter(pk=agreement.pk).get()
        latest = AgreementDocument.objects.filter(agreement=agreement, kind=kind).order_by("-version").first()
        if (
            skip_if_unchanged
            and latest is not None
            and (
                latest.sha256 == sha256 or (unsealed is not None and _is_sealed_revision_of(latest, unsealed))
            )
        ):
            return latest, False
        document = AgreementDocument(
            agreement=agreement,
            kind=kind,
            version=(latest.version + 1) if latest else 1,
            sha256=sha256,
            size=file.size,
            created_by=recorded_user(actor),
        )
        document.file.save("document.pdf", file, save=False)
        try:
            document.save()
        except Exception:
            document.file.delete(save=False)
            raise
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=document,
            organisation=agreement.partner,
            object_repr=f"{agreement.title} – {document}",
            changes={"agreement": agreement.pk, "sha256": sha256},
        )
    return document, True


LONG_AGREEMENT_COMMITMENTS = 6
LONG_AGREEMENT_CHARACTERS = 6000


def agreement_pdf_bytes(agreement: Agreement, *, sealed: bool = True) -> bytes:
    """The agreement as the PDF that is signed. Nothing time-dependent goes in: same content, same bytes
    before the seal (`sealed=False`)."""
    agreement = (
        Agreement.objects.select_related("partner", "state_party", "amends", "amends__partner")
        .prefetch_related("signatories", "commitments__responsible_unit")
        .get(pk=agreement.pk)
    )
    signatories = list(agreement.signatories.all())
    commitments = list(agreement.commitments.all())
    partner_signatories = [s for s in signatories if s.side == Side.PARTNER]
    state_signatories = [s for s in signatories if s.side == Side.STATE]
    with translation.override(settings.LANGUAGE_CODE):
        return render_pdf(
            "pdf/partnerships/agreement.html",
            {
                "agreement": agreement,
                "partner_signatories": partner_signatories,
                "state_signatories": state_signatories,
                # Side by side, a row per pair: both sides' lines on one baseline grid.
                "signature_rows": list(zip_longest(partner_signatories, state_signatories)),
                "commitments": commitments,
                # A cover page with contents for an agreement that runs over several pages.
                "long_document": len(commitments) > LONG_AGREEMENT_COMMITMENTS
                or len(agreement.preamble) + len(agreement.body) > LONG_AGREEMENT_CHARACTERS,
                # The ministry issues the agreement; its date is the date of the last change, and once it is
                # signed its date of signing: what follows (signed → ended) changes no word of it, nor its PDF.
                "letterhead": letterhead_for(agreement.state_party),
                "document_date": agreement.signed_on
                if agreement.is_frozen
                else timezone.localtime(agreement.updated_at).date(),
                "reference": agreement.reference,
            },
            sealed=sealed,
        )


def agreement_render_pdf(*, agreement_id: int, actor_id: int) -> tuple[AgreementDocument, bool]:
    """The task's work: render and store the PDF as the user who asked for it (loaded again)."""
    agreement = Agreement.objects.select_related("partner").get(pk=agreement_id)
    actor = actor_from_id(actor_id)
    require(actor, Role.MINISTRY, agreement.partner_id)
    unsealed = agreement_pdf_bytes(agreement, sealed=False)
    latest = agreement.documents.filter(kind=AgreementDocument.Kind.GENERATED).order_by("-version").first()
    if latest is not None and _is_sealed_revision_of(latest, unsealed):
        return latest, False  # nothing changed: no new seal, no new version
    return document_store(
        actor=actor,
        agreement=agreement,
        kind=AgreementDocument.Kind.GENERATED,
        content=seal_pdf(unsealed),
        skip_if_unchanged=True,
        unsealed=unsealed,
    )


def agreement_request_pdf(*, actor: User, agreement: Agreement) -> Job:
    """Start rendering the agreement's PDF in the background (once the transaction commits)."""
    from .tasks import task_render_agreement_pdf

    require(actor, Role.MINISTRY, agreement.partner_id)
    return job_enqueue(
        task=task_render_agreement_pdf,
        kind="partnerships.agreement_render_pdf",
        description=_("PDF of “%(title)s” (%(partner)s)")
        % {"title": agreement.title, "partner": agreement.partner.name},
        requested_by=actor,
        organisation=agreement.partner,
        role=Role.MINISTRY,
        origin=agreement,
        agreement_id=agreement.pk,
        actor_id=actor.pk,
    )


def signed_copy_check(upload) -> None:
    """A signed copy is a PDF of at most 20 MB that a PDF library opens and that has pages, at most
    SIGNED_COPY_MAX_PAGES (the content is parsed, not its first bytes trusted), and is not encrypted (it is
    archived, and PDF/A forbids encryption)."""
    import pikepdf

    if upload.size > SIGNED_COPY_MAX_BYTES:
        raise ValidationError(
            _("The file is larger than %(limit)s.") % {"limit": filesizeformat(SIGNED_COPY_MAX_BYTES)},
            code="too_large",
        )
    not_pdf = ValidationError(
        _("The file is not a PDF document. Please upload the scan of the signed agreement as PDF."),
        code="not_pdf",
    )
    upload.seek(0)
    try:
        with pikepdf.open(upload) as document:
            pages, encrypted = len(document.pages), document.is_encrypted
    except pikepdf.PasswordError:
        raise ValidationError(
            _("The PDF is protected by a password. Please upload it without protection."), code="encrypted"
        ) from None
    except Exception:  # anything qpdf cannot read is not a PDF we keep
        raise not_pdf from None
    finally:
        upload.seek(0)
    if encrypted:  # an owner password and an empty user password: it opens, but PDF/A forbids encryption
        raise ValidationError(
            _(
                "The PDF is encrypted (protected against changes or printing). A signed copy is archived and "
                "must not be encrypted: please upload it without protection."
            ),
            code="encrypted",
        )
    if pages == 0:
        raise not_pdf
    if pages > SIGNED_COPY_MAX_PAGES:
        raise ValidationError(
            _("The PDF has more than %(limit)s pages. Please upload the scan of the signed agreement alone.")
            % {"limit": SIGNED_COPY_MAX_PAGES},
            code="too_many_pages",
        )


def signed_copy_unsigned_problem(agreement: Agreement, upload) -> str | None:
    """Why the upload cannot be the signed copy because it is a PDF the portal generated, unsigned: the same
    SHA-256 as a generated version, or the portal's intact seal (a generated PDF, of this or any agreement)."""
    sha256 = _sha256_of(upload)
    generated = (
        AgreementDocument.objects.filter(
            agreement=agreement, kind=AgreementDocument.Kind.GENERATED, sha256=sha256
        )
        .order_by("-version")
        .first()
    )
    if generated is not None:
        return _(
            "This file is the unsigned PDF the portal generated (version %(version)s), not a signed copy. Please "
            "print it, have it signed by both sides and upload the scan of the signed paper."
        ) % {"version": generated.version}
    upload.seek(0)
    check = check_pdf(upload.read())
    upload.seek(0)
    if check.issued_by_portal:
        return _(
            "This file is a PDF the portal generated and sealed, unchanged: it carries no signatures. Please "
            "upload the scan of the signed paper."
        )
    return None


@transaction.atomic
def signed_copy_upload(*, actor: User, agreement: Agreement, upload) -> AgreementDocument:
    require(actor, Role.MINISTRY, agreement.partner_id)
    signed_copy_check(upload)
    if problem := signed_copy_unsigned_problem(agreement, upload):
        raise ValidationError(problem, code="unsigned")
    status = Agreement.objects.select_for_update().values_list("status", flat=True).get(pk=agreement.pk)
    if status not in (Status.READY_FOR_SIGNATURE, Status.SIGNED):
        raise ValidationError(_("A signed copy can be uploaded once the agreement is ready for signature."))
    document, _created = document_store(
        actor=actor, agreement=agreement, kind=AgreementDocument.Kind.SIGNED, content=upload
    )
    return document


def document_seal_check(document: AgreementDocument) -> SealCheck:
    """Whether the stored file still carries the portal's intact seal.

    The agreement page shows this for every document on every view, and parsing a PDF costs what its author
    wanted: a signed copy with 200,000 objects took about 7 s, on each view by the ministry and HR. A stored
    document never changes, and the answer depends on nothing else but the portal's certificate, the
    authority's roots and whether the certificate is still valid (vielfalt.seal.check_basis): so it is made
    once, on first need, and kept with the row together with that basis. It is used again only while the basis
    is the same. The file is still read and hashed on every view (milliseconds): one changed where it is kept
    no longer has the SHA-256 recorded when it was stored, and is checked afresh (and nothing kept)."""
    try:
        with document.file.open("rb") as stored:
            data = stored.read()
    except FileNotFoundError:
        return SealCheck("unreadable")
    sha256 = hashlib.sha256(data).hexdigest()
    if sha256 != document.sha256:
        return check_pdf(data)
    basis = check_basis()
    if basis and document.seal_checked_with == basis:
        return SealCheck(
            document.seal_state,
            signed_at=document.seal_signed_at,
            timestamped=document.seal_timestamped,
            sha256=sha256,
        )
    check = check_pdf(data)
    if basis:
        AgreementDocument.objects.filter(pk=document.pk, sha256=sha256).update(
            seal_state=check.state,
            seal_signed_at=check.signed_at,
            seal_timestamped=check.timestamped,
            seal_checked_with=basis,
        )
    return check


def document_download_record(*, actor: User, document: AgreementDocument) -> None:
    """Audit a download: the ministry, or the partner's HR, reads an agreement's document."""
    require(actor, (Role.MINISTRY, Role.HR), document.agreement.partner_id)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.DOWNLOAD,
        obj=document,
        organisation=document.agreement.partner,
        object_repr=f"{document.agreement.title} – {document}",
    )


# --- Archive check --------------------------------------------------------------------------------------------


def _stored_sha256(document: AgreementDocument) -> str | None:
    """The SHA-256 of the file as it is stored now, read piece by piece; None when it is gone or unreadable."""
    try:
        with document.file.open("rb") as stored:
            return _sha256_of(stored)
    except OSError:
        return None


def documents_check_archive(*, actor: User) -> dict[str, int]:
    """Read every stored agreement document again and compare it with the SHA-256 recorded when it was stored
    (Celery beat, daily, and `manage.py check_archive`, as `permissions.SYSTEM`). Each document keeps the
    outcome and its time (shown on the agreement page and in the admin); a change of outcome is audited (not
    the first "intact", which would be an entry per document). While any file is missing or changed, every run
    e-mails the administrators, until it is restored. Returns how many documents are in each state."""
    require_role(actor, Role.ADMIN)
    ArchiveState = AgreementDocument.ArchiveState  # noqa: N806
    counts = dict.fromkeys(ArchiveState.values, 0)
    damaged = []
    documents = AgreementDocument.objects.select_related("agreement__partner").order_by("pk")
    for document in documents.iterator(chunk_size=200):
        sha256 = _stored_sha256(document)
        if sha256 is None:
            state = ArchiveState.MISSING
        else:
            state = ArchiveState.INTACT if sha256 == document.sha256 else ArchiveState.CHANGED
        counts[state] += 1
        with transaction.atomic():
            AgreementDocument.objects.filter(pk=document.pk).update(
                archive_state=state, archive_checked_at=timezone.now()
            )
            if state != document.archive_state and (document.archive_state or state != ArchiveState.INTACT):
                audit_record(
                    actor=actor,
                    action=AuditEntry.Action.CHANGE,
                    obj=document,
                    organisation=document.agreement.partner,
                    object_repr=f"{document.agreement.title} – {document}",
                    changes={"archive_state": [document.archive_state, state]},
                )
        if state != ArchiveState.INTACT:
            document.archive_state = state
            damaged.append(document)
    if damaged:
        _archive_alert(damaged)
    return counts


def _archive_alert(documents: list[AgreementDocument]) -> None:
    """One e-mail to each administrator's address listing the documents missing or changed, each its own task
    (retried; one that never gets through is marked on the account, in the admin's list of accounts)."""
    from .tasks import task_send_archive_alert  # the tasks module imports this one

    administrators = (
        User.objects.filter(is_active=True, email__gt="")
        .filter(Q(is_superuser=True) | Q(memberships__role=Role.ADMIN))
        .order_by("pk")
    )
    accounts = {}  # one e-mail per address: the first account that uses it
    for pk, address in administrators.values_list("pk", "email"):
        accounts.setdefault(address, pk)
    document_ids = [document.pk for document in documents]
    for address in sorted(accounts):
        send_after_commit(task_send_archive_alert, user_id=accounts[address], document_ids=document_ids)


def archive_alert_message(*, user_id: int, document_ids: list[int]) -> EmailMessage | None:
    """The archive alert to one administrator, in the language of their network e-mail settings, else the
    portal's (as the network's mails to the ministry); None when the account or the documents are gone."""
    account = (
        User.objects.filter(pk=user_id, email__gt="").values_list("email", "network_mail__language").first()
    )
    documents = list(
        AgreementDocument.objects.filter(pk__in=document_ids)
        .select_related("agreement__partner")
        .order_by("pk")
    )
    if account is None or not documents:
        return None
    address, language = account
    with translation.override(language or settings.LANGUAGE_CODE):
        lines = [
            _("%(partner)s: %(title)s – %(document)s: %(state)s")
            % {
                "partner": document.agreement.partner.name,
                "title": document.agreement.title,
                "document": document,
                "state": document.get_archive_state_display(),
            }
            + f"\n  {settings.PORTAL_URL}{document.agreement.get_absolute_url()}#documents"
            for document in documents
        ]
        subject = ngettext(
            "Archive check: %(count)s agreement document is missing or changed",
            "Archive check: %(count)s agreement documents are missing or changed",
            len(documents),
        ) % {"count": len(documents)}
        body = (
            _(
                "The archive check read every stored agreement document again. These are missing, or no "
                "longer have the SHA-256 recorded when they were stored. Please restore them from the "
                "backup; until then the check reports them every day."
            )
            + "\n\n"
            + "\n".join(f"- {line}" for line in lines)
            + "\n"
        )
    return EmailMessage(subject=subject, body=body, to=[address])


# --- Export ---------------------------------------------------------------------------------------------------

EXPORT_HEADER = [
    "Partner",
    "Titel",
    "Status",
    "Unterzeichnet am",
    "Unterzeichnende",
    "Datei",
    "SHA-256",
]


def agreements_export_zip(*, actor: User, agreements, out) -> int:
    """Write a ZIP with each agreement's signed copy (or a freshly rendered final PDF where none was
    uploaded) and an `index.csv` to the binary file `out`, one file at a time. Returns the count. Only the
    ministry exports (`manage.py export_agreements` as `SYSTEM`), and it reads every agreement."""
    require_role(actor, Role.MINISTRY)
    with translation.override(settings.LANGUAGE_CODE):
        return _agreements_export_zip(actor=actor, agreements=agreements, out=out)


def zip_entry(name: str, when) -> zipfile.ZipInfo:
    """A ZIP entry dated like the document it holds (in local time, as ZIP stores it), compressed."""
    entry = zipfile.ZipInfo(name, date_time=timezone.localtime(when).timetuple()[:6])
    entry.compress_type = zipfile.ZIP_DEFLATED
    return entry


def _agreements_export_zip(*, actor: User, agreements, out) -> int:
    agreements = (
        agreements.select_related("partner")
        .prefetch_related("signatories")
        .order_by(*text_order(Agreement, "partner__name", "pk"))
    )
    index = io.StringIO()
    writer = csv.writer(index, delimiter=";", lineterminator="\r\n")
    writer.writerow(EXPORT_HEADER)
    count = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for agreement in agreements.iterator(chunk_size=200):
            signed = (
                AgreementDocument.objects.filter(agreement=agreement, kind=AgreementDocument.Kind.SIGNED)
                .order_by("-version")
                .first()
            )
            slug = agreement.partner.slug
            digest = hashlib.sha256()
            if signed is not None:
                name = f"{slug}-{agreement.pk}-unterzeichnet-v{signed.version}.pdf"
                entry = zip_entry(name, signed.created_at)
                with signed.file.open("rb") as source, archive.open(entry, "w") as target:
                    for chunk in iter(lambda: source.read(1 << 20), b""):
                        digest.update(chunk)
                        target.write(chunk)
            else:
                name = f"{slug}-{agreement.pk}-vereinbarung.pdf"
                pdf = agreement_pdf_bytes(agreement)
                digest.update(pdf)
                archive.writestr(zip_entry(name, agreement.updated_at), pdf)
            # Opened in a spreadsheet: a title or a name typed as a formula stays text (as in every export).
            writer.writerow(
                [
                    neutralise(value)
                    for value in (
                        agreement.partner.name,
                        agreement.title,
                        agreement.get_status_display(),
                        agreement.signed_on.isoformat() if agreement.signed_on else "",
                        ", ".join(f"{s.name} ({s.function})" for s in agreement.signatories.all()),
                        name,
                        digest.hexdigest(),
                    )
                ]
            )
            count += 1
        archive.writestr(zip_entry("index.csv", timezone.now()), "\ufeff" + index.getvalue())
    audit_record(
        actor=actor,
        action=AuditEntry.Action.EXPORT,
        object_repr=record_text(gettext_noop("Agreements (ZIP)")),
        changes={"agreements": count},
    )
    return count


def agreements_export_job(*, actor: User, filters: dict) -> Job:
    from .tasks import task_export_agreements

    require_role(actor, Role.MINISTRY)
    return job_enqueue(
        task=task_export_agreements,
        kind="partnerships.export_agreements",
        description=_("Export of agreements"),
        requested_by=actor,
        role=Role.MINISTRY,
        origin=(reverse("partnerships:index"), _("Partnerships")),
        actor_id=actor.pk,
        filters=filters,
    )


def agreements_export_for_job(*, job_id, actor_id: int, filters: dict) -> None:
    """Build the export on disk and attach it to the job without holding the ZIP in memory."""
    from .filters import AgreementFilter

    actor = actor_from_id(actor_id)
    require_role(actor, Role.MINISTRY)
    queryset = AgreementFilter(filters, queryset=Agreement.objects.visible_to(actor)).qs
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "export.zip"
        with path.open("wb") as out:
            agreements_export_zip(actor=actor, agreements=queryset, out=out)
        job = Job.objects.get(pk=job_id)
        if job.result_file:
            job.result_file.delete(save=False)
        name = f"vereinbarungen-{timezone.localdate().isoformat()}.zip"
        with path.open("rb") as source:
            job.result_file.save(name, File(source), save=False)
        job.result_name = name
        job.save(update_fields=["result_file", "result_name"])


# --- Expiry notices -------------------------------------------------------------------------------------------


def agreements_announce_expiring(*, actor: User, today: date | None = None) -> int:
    """E-mail ministry staff about signed agreements whose validity ends in 90 or 30 days; each notice once,
    and again the next day while its e-mail is marked as not delivered. A notice the beat missed goes out the next
    day; an agreement already within 30 days gets only that one.
    The beat runs it as `permissions.SYSTEM`."""
    require_role(actor, Role.MINISTRY)
    today = today or timezone.localdate()
    from .tasks import task_send_expiry_notice  # the tasks module imports this one

    recipients = ministry_addresses()
    sent = 0
    longest = max(EXPIRY_NOTICE_DAYS)
    candidates = (
        Agreement.objects.filter(
            status=Status.SIGNED, valid_until__gt=today, valid_until__lte=today + timedelta(days=longest)
        )
        .not_replaced()  # its amendment, in force from a later day, is announced instead
        .select_related("partner")
    )
    for agreement in candidates:
        remaining = (agreement.valid_until - today).days
        due = [days for days in EXPIRY_NOTICE_DAYS if remaining <= days]
        with transaction.atomic():
            notices = agreement.expiry_notices.filter(days__in=due)
            if len(due) == notices.filter(mail_failed_at__isnull=True).count():
                continue
            # A notice whose e-mail the mail server never took (marked by its task) is due again, as a dormancy
            # notice is: taken back by clearing its mark, which a run at the same time then finds cleared.
            again = notices.filter(mail_failed_at__isnull=False).update(mail_failed_at=None)
            # Another run at the same time (a second beat, a retried task) that wrote these notices first has
            # sent the e-mail: this one waits for it at the notices' unique constraint and finds them written.
            written = [ExpiryNotice.objects.get_or_create(agreement=agreement, days=days)[1] for days in due]
            if not (again or any(written)):
                continue
            if recipients:
                send_after_commit(
                    task_send_expiry_notice,
                    notice_ids=list(
                        agreement.expiry_notices.filter(days__in=due).values_list("pk", flat=True)
                    ),
                    remaining=remaining,
                )
            audit_record(
                actor=actor,
                action=AuditEntry.Action.CHANGE,
                obj=agreement,
                organisation=agreement.partner,
                changes={"expiry_notice": min(due), "recipients": len(recipients)},
            )
            sent += 1
    return sent


def expiry_notice_message(*, notice_ids: list[int], remaining: int) -> EmailMessage | None:
    """The e-mail telling ministry staff that an agreement's validity ends in `remaining` days (its notices
    `notice_ids`), in the portal's language; None when the agreement is gone or nobody is to be told."""
    notice = ExpiryNotice.objects.filter(pk__in=notice_ids).select_related("agreement__partner").first()
    recipients = ministry_addresses()
    if notice is None or not recipients:
        return None
    agreement = notice.agreement
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Agreement with %(partner)s ends on %(date)s") % {
            "partner": one_line(agreement.partner.name),
            "date": agreement.valid_until.strftime("%d.%m.%Y"),
        }
        body = _(
            "The agreement “%(title)s” with %(partner)s is valid until %(date)s "
            "(%(days)s days from today).\n\n%(url)s"
        ) % {
            "title": agreement.title,
            "partner": agreement.partner.name,
            "date": agreement.valid_until.strftime("%d.%m.%Y"),
            "days": remaining,
            # PORTAL_URL (e.g. https://vielfalt.nrw.example) makes the link absolute.
            "url": settings.PORTAL_URL + agreement.get_absolute_url(),
        }
    return EmailMessage(subject=subject, body=body, to=recipients)


def ministry_addresses() -> list[str]:
    """Whom the expiry notices go to: the ministry's staff with an address."""
    return sorted(
        set(
            User.objects.filter(is_active=True, memberships__role=Role.MINISTRY, email__gt="").values_list(
                "email", flat=True
            )
        )
    )


def agreements_end_expired(*, actor: User, today: date | None = None) -> int:
    """End every signed agreement whose validity has run out (Celery beat, daily, as `permissions.SYSTEM`):
    the day after its "valid until" it is no longer in force, and the lists, figures and the partner's page say
    so; and every one replaced by an amendment in effect by today. The step is recorded as any other (status
    history, audit log with the reason). Returns how many."""
    require_role(actor, Role.MINISTRY)
    today = today or timezone.localdate()
    ended = 0
    taking_effect = (  # also one signed before amendments ended what they amend: both stayed "signed"
        Agreement.objects.filter(status=Status.SIGNED, amends__status=Status.SIGNED)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=today))
        .order_by("pk")
    )
    for amendment in taking_effect:
        with transaction.atomic():
            amendment = Agreement.objects.select_for_update().get(pk=amendment.pk)
            if amendment.status == Status.SIGNED:  # not ended since the list was read
                ended += _end_when_replaced(actor=actor, amendment=amendment, today=today)
    expired = Agreement.objects.filter(status=Status.SIGNED, valid_until__lt=today).order_by("pk")
    for agreement in expired:
        with translation.override(settings.LANGUAGE_CODE):  # kept in the audit log, read by the ministry
            reason = _("Its validity ended on %(date)s.") % {
                "date": formats.date_format(agreement.valid_until, "SHORT_DATE_FORMAT")
            }
        try:
            agreement_transition(actor=actor, agreement=agreement, to_status=Status.ENDED, reason=reason)
        except ValidationError:  # ended by hand since the list was read
            continue
        ended += 1
    return ended


# --- Anonymised application procedures ------------------------------------------------------------------------

PROCEDURE_FIELDS = [
    "org_unit",
    "post",
    "held_on",
    "method",
    "applications",
    "invited",
    "posts_filled",
    "stated_migration_background",
]


def _check_procedure(procedure: AnonymisedProcedure) -> None:
    procedure.full_clean()  # the unit's organisation too (AnonymisedProcedure.clean)


@transaction.atomic
def procedure_create(*, actor: User, organisation: Organisation, **fields) -> AnonymisedProcedure:
    """Partner HR records an anonymised application procedure of its organisation (the ministry is no partner:
    its own organisation's HR records none)."""
    require_for_partner(actor, Role.HR, organisation)
    procedure = AnonymisedProcedure(
        organisation=organisation,
        created_by=recorded_user(actor),
        **{name: fields.get(name) for name in PROCEDURE_FIELDS},
    )
    _check_procedure(procedure)
    procedure.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=procedure,
        organisation=organisation,
        changes={name: str(getattr(procedure, name) or "") for name in PROCEDURE_FIELDS},
    )
    return procedure


@transaction.atomic
def procedure_update(
    *, actor: User, procedure: AnonymisedProcedure, opened_version: str | None = None, **fields
) -> AnonymisedProcedure:
    """`opened_version`: the procedure's `updated_at` when the form was opened; EditConflict when a colleague
    has corrected it since (vielfalt.concurrency)."""
    require_for_partner(actor, Role.HR, procedure.organisation)
    procedure = AnonymisedProcedure.objects.select_for_update().get(pk=procedure.pk)
    check_opened_version(procedure, opened_version, actor=actor)
    before = {name: getattr(procedure, name) for name in PROCEDURE_FIELDS}
    for name in PROCEDURE_FIELDS:
        if name in fields:
            setattr(procedure, name, fields[name])
    _check_procedure(procedure)
    changes = model_changes(procedure, PROCEDURE_FIELDS, before)
    if changes:
        procedure.save()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CHANGE,
            obj=procedure,
            organisation=procedure.organisation,
            changes=changes,
        )
    return procedure
