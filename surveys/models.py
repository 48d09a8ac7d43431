"""Survey campaigns, one-time invitations and anonymous responses.

Anonymity is a property of the schema: `Invitation` and `Response` share no key, column or ordering. An
invitation knows its employee, a hash of its token and whether it was used; a response knows its campaign
and the answers, under a random primary key, and nothing about who, when or from where."""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vielfalt.collation import collated
from vielfalt.counts import count_triggers
from vielfalt.generation import figures_changed
from vielfalt.models import Employee, Organisation, OrgUnit, Role
from vielfalt.permissions import scope
from vielfalt.validation import span_error

from . import questionnaire as q

# The tallies are kept by database triggers; a user never meets their constraints, but each gets a sentence.
TALLY_EXISTS = _("This count exists already; the database keeps it.")

MIN_K = 3


class CampaignQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Partner HR sees its own organisations' campaigns, administrators every campaign. The ministry sees
        the programme-wide figures (and the campaigns of the organisations where it holds the HR role)."""
        return self.filter(scope(user, Role.HR))


# A campaign open for more than a year is a year typed wrong (Campaign.clean): results need it closed.
CAMPAIGN_MAX_DAYS = 366


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="survey_campaigns",
        verbose_name=_("organisation"),
    )
    title = models.CharField(_("title"), max_length=200)
    opens_on = models.DateField(_("opens on"))
    closes_on = models.DateField(_("closes on"))
    units = models.ManyToManyField(
        OrgUnit,
        blank=True,
        related_name="survey_campaigns",
        verbose_name=_("participating org units"),
        help_text=_("Leave empty for the whole organisation."),
    )
    k = models.PositiveSmallIntegerField(
        _("minimum group size"),
        default=5,
        validators=[MinValueValidator(MIN_K)],
        help_text=_("Figures for fewer respondents than this are never shown (at least 3)."),
    )
    previous_estimate = models.CharField(
        _("previous estimate"),
        max_length=100,
        blank=True,
        help_text=_("The share of staff with a migration background assumed so far, e.g. “2–3 %”."),
    )
    # Printed on every code sheet, a one-page letter whose text cannot flow on: a longer purpose pushed the code,
    # the link and the closing off the page's end (tests/surveys/test_codes.py measures the longest).
    purpose = models.TextField(_("purpose of the survey"), max_length=600)
    legal_basis = models.TextField(_("legal basis"), max_length=2000)
    dpo_contact = models.CharField(_("contact of the data protection officer"), max_length=300)
    contact = models.CharField(
        _("contact for questions"),
        max_length=300,
        blank=True,
        help_text=_("Printed on the code sheets, e.g. “Personalamt, Frau Beispiel, 0203 123-4567”."),
    )
    questionnaire_version = models.CharField(
        _("questionnaire version"), max_length=20, default=q.VERSION, editable=False
    )
    # The units a respondent may name (at least k invited), fixed when invitations are made: a submission
    # must not count the campaign's invitations to know them.
    # (None: not known yet, work it out from the invitations).
    offered_unit_ids = models.JSONField(null=True, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    # The e-mail telling HR that the campaign closed on its closing day did not get through
    # (tasks.task_tell_campaign_closed); shown on the campaign's page.
    mail_failed_at = models.DateTimeField(_("e-mail not delivered"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # The version an edit form was opened at (vielfalt.concurrency); the database fills it in for rows it is
    # given directly (seed_scale's COPY).
    updated_at = models.DateTimeField(_("changed"), auto_now=True, db_default=Now())

    objects = CampaignQuerySet.as_manager()

    class Meta:
        triggers = [figures_changed()]  # the programme's figures (vielfalt.generation)
        ordering = ["-opens_on", collated("title").asc()]
        verbose_name = _("survey campaign")
        verbose_name_plural = _("survey campaigns")
        constraints = [
            models.CheckConstraint(
                condition=Q(k__gte=MIN_K),
                name="campaign_k_at_least_3",
                violation_error_message=_("The minimum group size must be at least 3."),
            ),
            models.CheckConstraint(
                condition=Q(closes_on__gte=models.F("opens_on")),
                name="campaign_period",
                violation_error_message=_("The campaign cannot close before it opens."),
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("surveys:campaign_detail", args=[self.pk])

    def clean(self):
        if message := span_error(self.opens_on, self.closes_on, days=CAMPAIGN_MAX_DAYS):
            raise ValidationError({"closes_on": message})

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def first_day_to_come(self) -> bool:
        """Its first day lies ahead: it is opened from that day on (`campaign_open`)."""
        return self.opens_on > timezone.localdate()

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class Invitation(models.Model):
    """One credential that answers once: a link (token) and a short code to type, both stored only as hashes.
    Sending, reminding or printing issues a new token and code (and replaces the hashes), so only the latest
    works.

    An e-mail invitation names its employee. A code of a unit's pool (for staff without e-mail) names no one:
    its sheet is handed out without a name, and it counts only for the unit's response rate.

    `used` is set by the submission, in the same transaction as the answer goes into `HeldAnswer`; `counted`
    by the release that moves the held answers into `Response`, so that a used invitation carries the
    transaction id of a release shared by at least k answers, not that of its own submission. No index
    mentions `used`: setting it is then a HOT update whether it was set before or not, so a used and an
    unused credential cost a submission the same."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="invitations")
    employee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, null=True, blank=True, related_name="survey_invitations"
    )
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    code_hash = models.CharField(max_length=64, unique=True)
    used = models.BooleanField(default=False)
    counted = models.BooleanField(default=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "employee"],
                name="invitation_one_per_employee",
                violation_error_message=_("This employee has been invited to the campaign already."),
            ),
            models.CheckConstraint(
                condition=Q(counted=False) | Q(used=True),
                name="invitation_counted_used",
                violation_error_message=_("Only an answered invitation can be counted."),
            ),
        ]
        # InvitationCount follows every statement that adds, removes or changes invitations. It keeps no count
        # of `used`: a submission's update moves no count (its trigger finds nothing to write), so that no count
        # changes with one person's answer and none shares a submission's transaction id.
        triggers = count_triggers(
            "invitation_count",
            "surveys_invitationcount",
            {
                "campaign_id": "campaign_id",
                "unit": "COALESCE(org_unit_id, 0)",
                "pooled": "employee_id IS NULL",
                "counted": "counted",
                "sent": "sent_at IS NOT NULL",
            },
            "invitations",
        )

    def __str__(self):
        return f"{self.campaign} – {self.employee or self.org_unit or '–'}"

    @property
    def is_pooled(self) -> bool:
        return self.employee_id is None


class InvitationCount(models.Model):
    """How many invitations a campaign has, per org unit, pooled or not, counted (answered and released) or not,
    and sent or not, kept by PostgreSQL triggers on Invitation in the same transaction as every write: the
    campaign page's figures without reading a city's 20,000 invitations on every view. Not maintained on SQLite
    (no triggers there): read through `surveys.services.campaign_figures`."""

    # Deleted with its campaign, after its invitations (whose triggers write here): Django deletes the related
    # rows in the order of the models' declarations, and this one is declared after Invitation.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="invitation_counts")
    # The org unit's id, 0 for none: a key column the upsert of the triggers can match (NULLs never conflict).
    unit = models.BigIntegerField(default=0)
    pooled = models.BooleanField()
    counted = models.BooleanField()
    sent = models.BooleanField()
    invitations = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "unit", "pooled", "counted", "sent"],
                name="invitation_count_key",
                violation_error_message=TALLY_EXISTS,
            )
        ]

    def __str__(self):
        return f"{self.campaign_id}/{self.unit}/{self.pooled}/{self.counted}/{self.sent}: {self.invitations}"


class HeldAnswer(models.Model):
    """An answer between its submission and its release into `Response`, encrypted with a key derived from the
    portal's secret (so that the database alone cannot read it). It shares its submission's transaction id
    with the invitation it used; the release deletes it and stores the answer as a response, in random order
    with at least k others."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="held_answers")
    sealed = models.TextField()

    class Meta:
        verbose_name = _("held answer")
        verbose_name_plural = _("held answers")

    def __str__(self):
        return str(_("Held answer"))


class Response(models.Model):
    """An anonymous answer. No user, employee, invitation, token, address, agent, referrer or time: the
    primary key is random so that not even the order of insertion can be read from it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="responses")
    questionnaire_version = models.CharField(max_length=20)
    own_citizenship = models.CharField(max_length=12, choices=q.Citizenship.choices)
    birth_country = models.CharField(max_length=12, choices=q.BirthCountry.choices)
    # Only whether the person immigrated since 1950, not the year: the derivation needs no more.
    immigrated_since_1950 = models.CharField(max_length=12, choices=q.YesNo.choices)
    mother_citizenship = models.CharField(max_length=12, choices=q.Citizenship.choices)
    father_citizenship = models.CharField(max_length=12, choices=q.Citizenship.choices)
    mother_immigrated = models.CharField(max_length=12, choices=q.YesNo.choices)
    father_immigrated = models.CharField(max_length=12, choices=q.YesNo.choices)
    target_group = models.CharField(max_length=20, choices=q.TargetGroupAnswer.choices)
    # A unit with at least k invited employees, or null: then "other units" or "keine Angabe".
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    org_unit_other = models.BooleanField(default=False)
    # Language codes between bars ("|de|tr|"), so that counting one is a portable `contains` filter.
    languages = models.CharField(max_length=200, blank=True)
    migration_background = models.CharField(max_length=10, choices=q.Derived.choices)
    immigration_history = models.CharField(max_length=10, choices=q.Derived.choices)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        # The results count a campaign's responses per group, unit and measure: with these columns in the
        # index, PostgreSQL reads them from it (an index-only scan) instead of one heap page per response.
        indexes = [
            models.Index(
                fields=["campaign", "target_group"],
                include=["org_unit", "org_unit_other", "migration_background", "immigration_history"],
                name="response_campaign_counts",
            )
        ]

    def __str__(self):
        return str(_("Anonymous response"))


class ResponseTally(models.Model):
    """The released responses of a campaign counted per target group, kept in step by PostgreSQL triggers on
    `Response` (migration 0009) in the transaction that writes them, so that programme-wide figures need not
    count 500,000 answers. It holds nothing that `Response` does not (counts of released answers only, never
    of held ones), and is read under the same rules: only closed campaigns' figures are shown."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, db_constraint=False, related_name="+")
    target_group = models.CharField(max_length=20)
    n = models.IntegerField()
    mh_yes = models.IntegerField()
    mh_not = models.IntegerField()
    eg_yes = models.IntegerField()
    eg_not = models.IntegerField()

    class Meta:
        triggers = [figures_changed()]  # the programme's figures (vielfalt.generation)
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "target_group"],
                name="responsetally_unique",
                violation_error_message=TALLY_EXISTS,
            )
        ]

    def __str__(self):
        return f"{self.campaign_id} {self.target_group}: {self.n}"


class LanguageTally(models.Model):
    """The released responses of a campaign that name a language (`Response.languages`), per language."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, db_constraint=False, related_name="+")
    code = models.CharField(max_length=20)
    n = models.IntegerField()

    class Meta:
        triggers = [figures_changed()]  # the programme's figures (vielfalt.generation)
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "code"],
                name="languagetally_unique",
                violation_error_message=TALLY_EXISTS,
            )
        ]

    def __str__(self):
        return f"{self.campaign_id} {self.code}: {self.n}"


# The cells of a campaign's results that the programme's figures add up: the overall row and each target group's
# row (each with COUNT_COLUMNS) and each language (its respondents), as field names of `PublishedCounts`.
COUNT_COLUMNS = ["n", "mh_yes", "mh_not", "eg_yes", "eg_not"]


def published_field(row: str, column: str = "n") -> str:
    """The field of `PublishedCounts` for a results row ("overall", a target group, "language_<code>")."""
    return f"{row}_{column}"


PUBLISHED_FIELDS = [
    published_field(row, column)
    for row in ["overall", *q.TargetGroupAnswer.values]
    for column in COUNT_COLUMNS
] + [published_field(f"language_{code}") for code in q.LANGUAGE_CODES]


class PublishedCounts(models.Model):
    """What a closed campaign's own results publish (`surveys.results.campaign_results`), with every cell they
    suppress stored as 0: the programme's figures are sums of these rows, never of the exact tallies. Otherwise
    the ministry could save the programme page before and after one city closes and subtract, and read that
    city's unsuppressed table. Written when the campaign closes (its answers are final then) and, for a campaign
    closed otherwise, the first time the programme's figures need it (`surveys.results.published_counts_store`);
    dropped by triggers when its responses change (migration 0018).

    One row per campaign with a column per cell (added below), rather than a row per target group or language:
    a write then names no group and no language, only numbers (tests/surveys/test_logging.py reads the SQL
    log for answers' values)."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="+")

    class Meta:
        triggers = [figures_changed()]  # the programme's figures (vielfalt.generation)

    def __str__(self):
        return f"{self.campaign_id}: {self.overall_n}"


for _name in PUBLISHED_FIELDS:
    PublishedCounts.add_to_class(_name, models.IntegerField(default=0))
