from datetime import date
from decimal import Decimal

import pgtrigger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vielfalt.counts import count_triggers, total
from vielfalt.generation import figures_changed
from vielfalt.models import Organisation, OrgUnit, Role, unit_of_another_organisation
from vielfalt.permissions import scope

from .triggers import FROZEN, REFUSE, PartOfSignedAgreement, SignedAgreementUnchanged

DEFAULT_TITLE = "Vielfalt verbindet. Interkulturelle Öffnung als Erfolgsfaktor"


class AgreementQuerySet(models.QuerySet):
    # Ministry staff and administrators see every agreement, partner HR its own organisations' (the agreement
    # list's total counts the same: vielfalt.permissions.organisation_ids of these roles).
    VISIBLE_TO_ROLES = (Role.MINISTRY, Role.HR)

    def visible_to(self, user):
        """Ministry staff and administrators see every agreement, partner HR its own organisations'."""
        return self.filter(scope(user, self.VISIBLE_TO_ROLES, "partner"))

    def not_replaced(self, *, signed_by: date | None = None):
        """Less the agreements replaced by a signed amendment (signed by `signed_by`, if given): the amendment, a
        copy of the whole agreement as changed, is what is in force and counts in their place."""
        return self.filter(~Exists(_signed_amendments(signed_by)))


def _signed_amendments(signed_by: date | None):
    amendments = Agreement.objects.filter(amends=OuterRef("pk"), status__in=FROZEN)
    return amendments.filter(signed_on__lte=signed_by) if signed_by else amendments


class Agreement(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        IN_REVIEW = "in_review", _("in review")
        READY_FOR_SIGNATURE = "ready_for_signature", _("ready for signature")
        SIGNED = "signed", _("signed")
        ENDED = "ended", _("ended")

    partner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="agreements", verbose_name=_("partner")
    )
    state_party = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("state side")
    )
    title = models.CharField(_("title"), max_length=300, default=DEFAULT_TITLE)
    preamble = models.TextField(_("preamble"), blank=True, max_length=20_000)
    body = models.TextField(
        _("text"),
        blank=True,
        max_length=100_000,
        help_text=_(
            "Paragraphs are separated by an empty line. Lines starting with “- ” form a list, lines "
            "starting with “1. ” a numbered list; *emphasis* and **strong**."
        ),
    )
    place = models.CharField(_("place of signing"), max_length=200, blank=True)
    signed_on = models.DateField(_("date of signing"), null=True, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    amends = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="amendments",
        verbose_name=_("amends"),
    )
    status = models.CharField(_("status"), max_length=30, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    objects = AgreementQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("agreement")
        verbose_name_plural = _("agreements")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_until__gte=F("valid_from")),
                name="agreement_validity_ordered",
                violation_error_message=_("The agreement cannot end before it begins."),
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["signed", "ended"]) | Q(signed_on__isnull=False),
                name="agreement_signed_has_date",
                violation_error_message=_("A signed agreement needs its date of signing."),
            ),
            models.CheckConstraint(
                condition=~Q(amends=F("pk")),
                name="agreement_not_amending_itself",
                violation_error_message=_("An agreement cannot amend itself."),
            ),
            models.CheckConstraint(
                condition=~Q(partner=F("state_party")),
                name="agreement_two_parties",
                violation_error_message=_("The partner and the state side must be different organisations."),
            ),
            models.CheckConstraint(
                condition=~Q(title=""),
                name="agreement_title_set",
                violation_error_message=_("Please enter a title."),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "signed_on"], name="agreement_status_signed"),
            # The agreement list's default order: its first page is read from the index, not sorted.
            models.Index(fields=["-updated_at", "-id"], name="agreement_updated"),
            # The list's filter offers the years of signing: one probe per year (filters.signing_years).
            models.Index(fields=["signed_on"], name="agreement_signed_on"),
        ]
        # Signed is signed, whichever path writes (admin, shell, SQL); PostgreSQL only (partnerships/triggers.py).
        triggers = [
            figures_changed(),  # the programme's figures (vielfalt.generation)
            SignedAgreementUnchanged(name="signed_agreement_unchanged"),
            pgtrigger.Trigger(
                name="signed_agreement_kept",
                when=pgtrigger.Before,
                operation=pgtrigger.Delete,
                condition=pgtrigger.Q(old__status__in=FROZEN),
                func=REFUSE,
            ),
            # AgreementCount follows every statement that adds, removes or moves agreements (vielfalt.counts).
            *count_triggers("agreement_count", "partnerships_agreementcount", "partner_id", "agreements"),
        ]

    def __str__(self):
        return f"{self.partner.name}: {self.title}"

    def get_absolute_url(self):
        return reverse("partnerships:detail", args=[self.pk])

    def clean(self):
        """An amendment replaces the agreement it amends once it takes effect (partnerships.services): only a
        signed agreement of the same partner, whichever path sets it (the form offers no other; the admin and
        the services check it here)."""
        super().clean()
        if self.amends_id is None or self.is_frozen:
            return
        amended = Agreement.objects.only("partner_id", "status").get(pk=self.amends_id)
        if amended.partner_id != self.partner_id:
            raise ValidationError({"amends": _("The amended agreement belongs to another partner.")})
        if not amended.is_frozen:
            raise ValidationError({"amends": _("Only a signed agreement can be amended.")})

    @property
    def reference(self) -> str:
        """The reference number printed on the agreement's documents (Aktenzeichen of the portal)."""
        return f"VV-{self.created_at:%Y}-{self.pk:05d}"

    @property
    def is_frozen(self) -> bool:
        return self.status in (self.Status.SIGNED, self.Status.ENDED)


class AgreementCount(models.Model):
    """How many agreements a partner has, kept by PostgreSQL triggers on Agreement (vielfalt.counts): the
    agreement list's total without counting every agreement on every page. Not maintained on SQLite: read
    through `agreement_total`."""

    # Deleted with its organisation by PostgreSQL itself, also when plain SQL removes organisations.
    partner = models.OneToOneField(
        Organisation, on_delete=models.DB_CASCADE, primary_key=True, related_name="agreement_count"
    )
    agreements = models.IntegerField(default=0)

    def __str__(self):
        return f"{self.partner_id}: {self.agreements}"


def agreement_total(partner_ids) -> int | None:
    """The number of agreements of these partners (None: of every partner), from AgreementCount; None where the
    counts are not kept (SQLite)."""
    return total(AgreementCount, "agreements", partner_ids)


class Side(models.TextChoices):
    PARTNER = "partner", _("Partner")
    STATE = "state", _("State")


class Signatory(models.Model):
    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="signatories", verbose_name=_("agreement")
    )
    side = models.CharField(_("side"), max_length=10, choices=Side.choices)
    name = models.CharField(_("name"), max_length=200)
    function = models.CharField(_("function"), max_length=200)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("signatory")
        verbose_name_plural = _("signatories")
        constraints = [
            models.CheckConstraint(
                condition=~Q(name=""),
                name="signatory_name_set",
                violation_error_message=_("Please enter the signatory's name."),
            )
        ]
        triggers = [PartOfSignedAgreement(name="signed_agreement_signatory")]

    def __str__(self):
        return f"{self.name} ({self.function})"


class Commitment(models.Model):
    class Progress(models.TextChoices):
        ON_TRACK = "on_track", _("on track")
        BEHIND = "behind", _("behind")
        DONE = "done", _("done")

    class IndicatorSource(models.TextChoices):
        """Where the portal itself finds the value reached; the dashboard layer computes it."""

        NONE = "", _("progress reports only")
        TRAINED_TRAINEES = "trained_trainees", _("trainees who attended a course")
        TRAINED_PUBLIC_FACING = "trained_public_facing", _("public-facing staff who attended a course")
        TRAINED_MANAGERS = "trained_managers", _("managers who attended a course")
        TRAINED_SHARE = "trained_share", _("share of active employees who attended a course (%)")
        SURVEY_MIGRATION_SHARE = "survey_migration_share", _("survey: share with a migration background (%)")
        ANONYMISED_POSTS_FILLED = "anonymised_posts_filled", _("posts filled through anonymised procedures")

    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="commitments", verbose_name=_("agreement")
    )
    field_of_action = models.CharField(_("field of action"), max_length=200)
    description = models.TextField(_("description"), max_length=5000)
    indicator = models.CharField(_("indicator"), max_length=200, blank=True)
    target_value = models.DecimalField(
        _("target value"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    unit = models.CharField(_("unit"), max_length=50, blank=True)
    due_on = models.DateField(_("due date"), null=True, blank=True)
    responsible_unit = models.ForeignKey(
        OrgUnit,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responsible org unit"),
    )
    indicator_source = models.CharField(
        _("computed from"),
        max_length=30,
        choices=IndicatorSource.choices,
        default=IndicatorSource.NONE,
        blank=True,
        help_text=_("Optional: the portal computes the value reached from its own data."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    # The commitment of the amended agreement this one was copied from: its progress reports carry over when
    # the amendment is signed (partnerships.services.amendment_create).
    continues = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("continues"),
    )

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        constraints = [
            models.CheckConstraint(
                condition=~Q(field_of_action=""),
                name="commitment_field_set",
                violation_error_message=_("Please enter the field of action."),
            ),
            models.CheckConstraint(
                condition=Q(target_value__isnull=True) | Q(target_value__gte=0),
                name="commitment_target_not_negative",
                violation_error_message=_("The target value cannot be negative."),
            ),
        ]
        # Where the portal computes the value reached is a setting of the portal, not part of the signed text
        # (the PDF does not show it); a deleted org unit leaves its commitments without one (SET_NULL).
        triggers = [
            figures_changed(),  # the programme's figures (vielfalt.generation)
            PartOfSignedAgreement(
                name="signed_agreement_commitment",
                may_change=("indicator_source",),
                may_clear=("responsible_unit",),
            ),
        ]

    def __str__(self):
        return self.field_of_action

    def latest_report(self):
        """The newest progress report; uses prefetched reports when the view prefetched them."""
        reports = list(self.progress_reports.all())
        return max(reports, key=lambda r: (r.reported_on, r.pk)) if reports else None

    def progress(self, today: date | None = None, reached: Decimal | None = None) -> str:
        """Done when the target is reached; behind when the due date passed, or when the reached value lags
        the share of the target that time alone would suggest; on track otherwise. `reached` is the value the
        portal computed from its own data (an indicator source); without it the latest report counts."""
        latest = self.latest_report()
        return commitment_progress(
            target_value=self.target_value,
            due_on=self.due_on,
            start=self.agreement.signed_on or self.agreement.valid_from,
            today=today or timezone.localdate(),
            reached=reached,
            reported=latest.value_reached if latest else None,
        )


def commitment_progress(
    *,
    target_value: Decimal | None,
    due_on: date | None,
    start: date | None,
    today: date,
    reached: Decimal | None,
    reported: Decimal | None,
) -> str:
    """`Commitment.progress` from the values it depends on (`start`: the agreement's signing or validity,
    `reported`: the value of the newest progress report), for callers that read thousands of commitments as
    plain rows (the programme dashboard)."""
    Progress = Commitment.Progress  # noqa: N806
    if reached is None:
        known = reported is not None
        reached = reported if known else Decimal(0)
    else:
        known = True
    if target_value is not None and known and reached >= target_value:
        return Progress.DONE
    if due_on is None:
        return Progress.ON_TRACK
    if due_on < today:
        return Progress.BEHIND
    if target_value is None or start is None or start >= due_on or today <= start:
        return Progress.ON_TRACK
    # Behind when the reached value lags the share of the target that the time elapsed suggests, less a year's
    # grace (a partner reports once a year, so lagging by less than that is not "behind"):
    # reached < target × (elapsed − 365) / span, compared without a division so that it is exact, as
    # vielfalt.programme.figures computes it in SQL.
    span = (due_on - start).days
    if reached * span < target_value * ((today - start).days - 365):
        return Progress.BEHIND
    return Progress.ON_TRACK


class ProgressReport(models.Model):
    commitment = models.ForeignKey(
        Commitment, on_delete=models.CASCADE, related_name="progress_reports", verbose_name=_("commitment")
    )
    reported_on = models.DateField(_("date"))
    value_reached = models.DecimalField(_("value reached"), max_digits=12, decimal_places=2)
    text = models.TextField(_("report"), max_length=2000, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("reported by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        triggers = [figures_changed()]  # the programme's figures (vielfalt.generation)
        ordering = ["-reported_on", "-pk"]
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        constraints = [
            models.CheckConstraint(
                condition=Q(value_reached__gte=0),
                name="progress_value_not_negative",
                violation_error_message=_("The value reached cannot be negative."),
            ),
        ]

    def __str__(self):
        return f"{self.commitment}: {self.value_reached} ({self.reported_on})"


class StatusChange(models.Model):
    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="status_changes", verbose_name=_("agreement")
    )
    from_status = models.CharField(_("from status"), max_length=30, choices=Agreement.Status.choices)
    to_status = models.CharField(_("to status"), max_length=30, choices=Agreement.Status.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed"), auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_status=F("to_status")),
                name="status_change_changes",
                violation_error_message=_("The agreement already has this status."),
            ),
        ]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


def document_path(document, filename):
    return f"agreements/{document.agreement_id}/{document.kind}-v{document.version}.pdf"


class AgreementDocument(models.Model):
    class Kind(models.TextChoices):
        GENERATED = "generated", _("generated PDF")
        SIGNED = "signed", _("signed copy")

    class ArchiveState(models.TextChoices):
        INTACT = "intact", _("intact")
        MISSING = "missing", _("missing or unreadable")
        CHANGED = "changed", _("changed")

    agreement = models.ForeignKey(
        Agreement, on_delete=models.PROTECT, related_name="documents", verbose_name=_("agreement")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    version = models.PositiveIntegerField(_("version"))
    file = models.FileField(_("file"), upload_to=document_path)
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveBigIntegerField(_("size"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # The seal check of the stored file (vielfalt.seal.SealCheck), made on first need and kept: what it depends
    # on besides the file is `seal_checked_with` (partnerships.services.document_seal_check).
    seal_state = models.CharField(max_length=10, blank=True, editable=False)
    seal_signed_at = models.DateTimeField(null=True, blank=True, editable=False)
    seal_timestamped = models.BooleanField(default=False, editable=False)
    seal_checked_with = models.CharField(max_length=64, blank=True, editable=False)
    # The last archive check (partnerships.services.documents_check_archive, daily): whether the stored file was
    # still there with the SHA-256 recorded when it was stored. A file replaced or damaged where it is kept was
    # otherwise noticed only when someone opened the agreement.
    archive_state = models.CharField(
        _("archive check"), max_length=10, choices=ArchiveState.choices, blank=True, editable=False
    )
    archive_checked_at = models.DateTimeField(_("archive checked"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["kind", "-version"]
        verbose_name = _("agreement document")
        verbose_name_plural = _("agreement documents")
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "kind", "version"],
                name="agreement_document_unique_version",
                violation_error_message=_("This version of the document exists already."),
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1),
                name="agreement_document_version_positive",
                violation_error_message=_("Versions are counted from 1."),
            ),
        ]
        # The record of what was signed (partnerships/triggers.py): once the agreement is signed its documents
        # are neither changed nor deleted; a replaced scan is a new version (an INSERT). The seal check's
        # result is not part of it: it is written on first need, and again when its basis changes; nor is the
        # archive check's, written daily.
        triggers = [
            PartOfSignedAgreement(
                name="signed_agreement_document",
                operation=pgtrigger.Update | pgtrigger.Delete,
                may_change=(
                    "seal_state",
                    "seal_signed_at",
                    "seal_timestamped",
                    "seal_checked_with",
                    "archive_state",
                    "archive_checked_at",
                ),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} v{self.version}"

    def get_absolute_url(self):
        return reverse("partnerships:document_download", args=[self.agreement_id, self.pk])

    @property
    def file_name(self) -> str:
        return f"vereinbarung-{self.agreement_id}-{self.kind}-v{self.version}.pdf"


class ExpiryNotice(models.Model):
    """That the ministry was told an agreement's validity ends in `days` days; each notice goes out once."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="expiry_notices")
    days = models.PositiveSmallIntegerField(_("days before the end"))
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)
    # The e-mail to ministry staff did not get through after its retries (partnerships.tasks.ExpiryNoticeMailTask);
    # shown on the agreement in the admin. The next that does clears it.
    mail_failed_at = models.DateTimeField(_("e-mail not delivered"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("expiry notice")
        verbose_name_plural = _("expiry notices")
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "days"],
                name="expiry_notice_once",
                violation_error_message=_("This reminder was sent already."),
            ),
        ]

    def __str__(self):
        return f"{self.agreement_id}: {self.days}"


class ProcedureQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Ministry staff see every procedure, partner HR its own organisations'."""
        return self.filter(scope(user, (Role.MINISTRY, Role.HR)))


class AnonymisedProcedure(models.Model):
    """A recruitment procedure a partner ran anonymously: counts only, never an applicant."""

    class Method(models.TextChoices):
        STANDARD_FORM = "standard_form", _("standardised application form")
        BLANKED_FIELDS = "blanked_fields", _("blanked fields in the online system")
        REDACTED_COPIES = "redacted_copies", _("redacted copies")

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="anonymised_procedures",
        verbose_name=_("organisation"),
    )
    org_unit = models.ForeignKey(
        OrgUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("org unit"),
    )
    post = models.CharField(_("post"), max_length=200)
    held_on = models.DateField(_("date"))
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    applications = models.PositiveIntegerField(_("applications received"))
    invited = models.PositiveIntegerField(_("invited to interview"))
    posts_filled = models.PositiveIntegerField(_("posts filled"))
    stated_migration_background = models.PositiveIntegerField(
        _("applicants who stated a migration background"),
        null=True,
        blank=True,
        help_text=_(
            "Only where the voluntary question was asked. Shown only where at least 5 applicants stated "
            "one and at least 5 did not."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProcedureQuerySet.as_manager()

    K = 5  # figures about fewer applicants than this are not shown

    class Meta:
        triggers = [figures_changed()]  # the programme's figures (vielfalt.generation)
        ordering = ["-held_on", "-pk"]
        verbose_name = _("anonymised application procedure")
        verbose_name_plural = _("anonymised application procedures")
        constraints = [
            models.CheckConstraint(
                condition=Q(invited__lte=F("applications")),
                name="procedure_invited_le_received",
                violation_error_message=_("More people were invited than applied."),
            ),
            models.CheckConstraint(
                condition=Q(posts_filled__lte=F("invited")),
                name="procedure_filled_le_invited",
                violation_error_message=_("More posts were filled than people were invited."),
            ),
            models.CheckConstraint(
                condition=Q(stated_migration_background__isnull=True)
                | Q(stated_migration_background__lte=F("applications")),
                name="procedure_stated_le_received",
                violation_error_message=_("More applicants stated a migration background than applied."),
            ),
            models.CheckConstraint(
                condition=~Q(post=""),
                name="procedure_post_set",
                violation_error_message=_("Please enter the post."),
            ),
        ]
        indexes = [models.Index(fields=["organisation", "held_on"], name="procedure_org_date")]

    def __str__(self):
        return f"{self.post} ({self.held_on:%d.%m.%Y})"

    def get_absolute_url(self):
        return reverse("partnerships:procedure_update", args=[self.pk])

    def clean(self):
        # Whatever the path (the services, the admin): a unit of another organisation put the procedure into that
        # organisation's unit in this one's figures.
        if unit_of_another_organisation(self.org_unit_id, self.organisation_id):
            raise ValidationError({"org_unit": _("The org unit must belong to the organisation.")})

    @property
    def stated_migration_background_shown(self) -> int | None:
        """The count as published: hidden when it, or the applicants who did not state one, are under k."""
        stated = self.stated_migration_background
        if stated is None or stated < self.K or self.applications - stated < self.K:
            return None
        return stated
