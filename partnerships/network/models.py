"""The partners' network: profiles and contact persons (directory), practice entries (library), meetings with
registrations, and questions with answers. Who sees what is decided by `vielfalt.permissions` through each
queryset's `visible_to(user)`."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from vielfalt.collation import collated
from vielfalt.models import Organisation, Role, TargetGroup
from vielfalt.permissions import has_role, scope
from vielfalt.validation import span_error

# Who takes part in the network: everyone who holds a role in the programme.
PROGRAMME_ROLES = (Role.HR, Role.ORGANISER, Role.MINISTRY, Role.ADMIN)
# Who writes for an organisation: its HR office, and the ministry for every organisation.
AUTHOR_ROLES = (Role.HR, Role.MINISTRY)


class FieldOfAction(models.TextChoices):
    SENSITISATION = "sensitisation", _("Intercultural sensitisation")
    ANONYMISED_APPLICATIONS = "anonymised_applications", _("Anonymised application procedures")
    STAFF_SURVEY = "staff_survey", _("Voluntary staff survey")
    JOINT_TRAINING = "joint_training", _("Joint training with other partners")
    RECRUITMENT = "recruitment", _("Recruitment and apprenticeships")
    LEADERSHIP = "leadership", _("Intercultural leadership")
    PUBLIC_SERVICE = "public_service", _("Services for the public")


def field_labels(values) -> list[str]:
    labels = dict(FieldOfAction.choices)
    return [str(labels.get(value, value)) for value in values or []]


def in_programme(user) -> bool:
    return has_role(user, PROGRAMME_ROLES)


class ProgrammeQuerySet(models.QuerySet):
    """Rows every participant of the programme may read (profiles, meetings, questions)."""

    def visible_to(self, user):
        return self if in_programme(user) else self.none()


# --- Partner directory ----------------------------------------------------------------------------------------


class PartnerProfile(models.Model):
    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="network_profile", verbose_name=_("organisation")
    )
    description = models.TextField(_("about us"), blank=True, max_length=5000)
    fields_of_action = models.JSONField(_("fields of action"), default=list, blank=True)
    open_for_visits = models.BooleanField(
        _("open for visits and job shadowing"),
        default=False,
        help_text=_("Other partners may ask to visit you or to shadow your staff."),
    )
    website = models.URLField(_("website"), blank=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    objects = ProgrammeQuerySet.as_manager()
    # The choices of the items of the list fields (a JSONField has none), for the audit log (ChangeReader).
    item_choices = {"fields_of_action": FieldOfAction.choices}

    class Meta:
        verbose_name = _("partner profile")
        verbose_name_plural = _("partner profiles")

    def __str__(self):
        return str(self.organisation)

    def get_absolute_url(self):
        return reverse("network:partner_detail", args=[self.organisation.slug])

    @property
    def field_labels(self) -> list[str]:
        return field_labels(self.fields_of_action)


class ContactPerson(models.Model):
    """A person who agreed to be listed as a contact for the programme. Deleting the row removes them from
    every page (practice entries refer to it and lose the contact)."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="network_contacts",
        verbose_name=_("organisation"),
    )
    name = models.CharField(_("name"), max_length=200)
    function = models.CharField(_("function"), max_length=200)
    email = models.EmailField(_("e-mail"))
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    open_for_visits = models.BooleanField(_("open for visits and job shadowing"), default=False)
    consent_given_at = models.DateTimeField(_("agreed to be listed"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = [collated("name").asc(), "pk"]
        verbose_name = _("contact person")
        verbose_name_plural = _("contact persons")
        constraints = [
            models.CheckConstraint(
                condition=~Q(name=""),
                name="network_contact_name_set",
                violation_error_message=_("Please enter the name."),
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.function})"


# --- Practice library -----------------------------------------------------------------------------------------


class SearchGinIndex(GinIndex):
    """A GIN index on PostgreSQL; an ordinary index where GIN does not exist (SQLite, the embedded default)."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return models.Index.create_sql(self, model, schema_editor, using=using, **kwargs)
        return super().create_sql(model, schema_editor, using=using, **kwargs)


def practice_search_vector() -> SearchVector:
    """Title (weight A), summary (B) and the rest (C) in the German configuration; queries must use the same
    configuration to match the stored column."""
    return (
        SearchVector("title", config="german", weight="A")
        + SearchVector("summary", config="german", weight="B")
        + SearchVector(
            "what_was_done", "effort", "what_worked", "what_did_not_work", config="german", weight="C"
        )
    )


def practice_rank_vector() -> SearchVector:
    """Title (A) and summary (B) only: what the ranking weighs. Short whatever the length of the text, so that
    ranking thousands of matches does not walk every position of every word of the whole text."""
    return SearchVector("title", config="german", weight="A") + SearchVector(
        "summary", config="german", weight="B"
    )


class PracticeSearchVector(models.Func):
    """The entry's search vector, computed by PostgreSQL as a stored generated column (immutable: the
    configuration is named). SQLite has no text search: the column stays NULL there and the library falls back
    to a contains-search."""

    output_field = SearchVectorField()

    @staticmethod
    def build() -> SearchVector:
        return practice_search_vector()

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False):
        resolved = super().resolve_expression(query, allow_joins, reuse, summarize, for_save)
        resolved.vector = self.build().resolve_expression(query, allow_joins, reuse, summarize, for_save)
        return resolved

    def as_sql(self, compiler, connection, **extra_context):
        return "NULL", []

    def as_postgresql(self, compiler, connection, **extra_context):
        return compiler.compile(self.vector)


class PracticeRankVector(PracticeSearchVector):
    """The entry's ranking vector (title and summary), a stored generated column like the search vector."""

    @staticmethod
    def build() -> SearchVector:
        return practice_rank_vector()


class StoredGeneratedField(models.GeneratedField):
    """A stored generated column whose system checks open no database connection. Django 6.1 runs the model
    checks against every database, and PostgreSQL's backend connects to learn whether it has virtual generated
    columns; `manage.py check --deploy` must pass before the database is reachable. Stored generated columns
    exist on every database the portal runs on (PostgreSQL ≥ 12, SQLite ≥ 3.31); migrations see a plain
    GeneratedField."""

    def _check_supported(self, databases):
        return []

    def _check_persistence(self, databases):
        return []

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.GeneratedField", args, kwargs


class PracticeEntryQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Published entries for every participant of the programme; drafts, submitted and returned entries
        for their own organisation and the ministry."""
        if not in_programme(user):
            return self.none()
        own = scope(user, (*AUTHOR_ROLES, Role.ORGANISER))
        if not own:  # an empty Q: the user acts for every organisation (ministry, administrators)
            return self
        return self.filter(Q(status=PracticeEntry.Status.PUBLISHED) | own)

    def published(self):
        return self.filter(status=PracticeEntry.Status.PUBLISHED)

    def unpublished_visible_to(self, user):
        """The entries on their way (draft, submitted, returned) that `user` may see: `visible_to` without the
        published ones, written as the organisation filter alone so that PostgreSQL can use its index (the
        negated status under an OR made it scan the whole library)."""
        if not in_programme(user):
            return self.none()
        own = scope(user, (*AUTHOR_ROLES, Role.ORGANISER))
        return self.exclude(status=PracticeEntry.Status.PUBLISHED).filter(own)


class PracticeEntry(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")
        PUBLISHED = "published", _("published")
        RETURNED = "returned", _("returned")

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="practice_entries",
        verbose_name=_("organisation"),
    )
    title = models.CharField(_("title"), max_length=200)
    field_of_action = models.CharField(_("field of action"), max_length=40, choices=FieldOfAction.choices)
    target_groups = models.JSONField(_("target groups"), default=list, blank=True)
    summary = models.TextField(_("summary"), max_length=1000)
    what_was_done = models.TextField(_("what was done"), max_length=20_000)
    effort = models.TextField(_("what it cost and took"), blank=True, max_length=5000)
    what_worked = models.TextField(_("what worked"), blank=True, max_length=5000)
    what_did_not_work = models.TextField(_("what did not work"), blank=True, max_length=5000)
    contact = models.ForeignKey(
        ContactPerson,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="practice_entries",
        verbose_name=_("contact"),
    )
    commitment = models.ForeignKey(
        "partnerships.Commitment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="practice_entries",
        verbose_name=_("commitment it fulfils"),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    return_comment = models.TextField(_("comment of the ministry"), blank=True, max_length=5000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    # The e-mail telling of its last step (submitted: to the ministry; returned or published: to its author) did
    # not get through (tasks.PracticeMailTask); shown on the entry's page.
    mail_failed_at = models.DateTimeField(_("e-mail not delivered"), null=True, blank=True)
    # The language of the page the entry was written on: its author's e-mails about it (returned, published) are
    # written in it.
    language = models.CharField(_("language"), max_length=10, default="de")
    search_vector = StoredGeneratedField(
        expression=PracticeSearchVector(), output_field=SearchVectorField(), db_persist=True
    )
    rank_vector = StoredGeneratedField(
        expression=PracticeRankVector(), output_field=SearchVectorField(), db_persist=True
    )

    objects = PracticeEntryQuerySet.as_manager()
    # The choices of the items of the list fields (a JSONField has none), for the audit log (ChangeReader).
    item_choices = {"target_groups": TargetGroup.choices}

    class Meta:
        ordering = ["-published_at", "-pk"]
        verbose_name = _("practice entry")
        verbose_name_plural = _("practice entries")
        constraints = [
            models.CheckConstraint(
                condition=~Q(title=""),
                name="network_practice_title_set",
                violation_error_message=_("Please enter a title."),
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="network_practice_published_at",
                violation_error_message=_("A published entry needs its date of publication."),
            ),
        ]
        indexes = [
            # Without the pending list of "fastupdate", every entry is in the index proper as soon as it is
            # written: a pending list is searched linearly, and a full one made PostgreSQL scan the whole
            # table instead (until a VACUUM, which a quiet database may not get for a long time). Entries
            # are written rarely; the extra cost of each write does not matter.
            SearchGinIndex(fields=["search_vector"], name="network_practice_search", fastupdate=False),
            models.Index(fields=["status", "-published_at"], name="network_practice_status"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("network:practice_detail", args=[self.pk])

    @property
    def target_group_labels(self) -> list[str]:
        labels = dict(TargetGroup.choices)
        return [str(labels.get(value, value)) for value in self.target_groups]

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.RETURNED)


def attachment_path(instance, filename):
    return f"network/practice/{instance.entry_id}/{instance.sha256}"


class Attachment(models.Model):
    class Kind(models.TextChoices):
        PDF = "pdf", "PDF"
        DOCX = "docx", "DOCX"
        ODT = "odt", "ODT"
        XLSX = "xlsx", "XLSX"

    entry = models.ForeignKey(
        PracticeEntry, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("practice entry")
    )
    file = models.FileField(_("file"), upload_to=attachment_path)
    name = models.CharField(_("file name"), max_length=200)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.name


# --- Network meetings -----------------------------------------------------------------------------------------


class MeetingQuerySet(ProgrammeQuerySet):
    def with_counts(self):
        return self.annotate(
            seated_count=models.Count("registrations", filter=Q(registrations__status="seated")),
            waiting_count=models.Count("registrations", filter=Q(registrations__status="waiting")),
        )

    def upcoming(self):
        return self.filter(ends_at__gte=timezone.now(), cancelled_at__isnull=True)


# A meeting of more than a week is a year typed wrong (Meeting.clean).
MEETING_MAX_DAYS = 7
# Minutes and materials of one meeting, together (services.meeting_document_add).
MEETING_MAX_DOCUMENTS = 20


class Meeting(models.Model):
    class Kind(models.TextChoices):
        MEETING = "meeting", _("Network meeting")
        CONFERENCE = "conference", _("Conference day")

    host = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="hosted_meetings", verbose_name=_("host")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MEETING)
    title = models.CharField(_("title"), max_length=200)
    agenda = models.TextField(_("agenda"), max_length=10_000)
    starts_at = models.DateTimeField(_("start"))
    ends_at = models.DateTimeField(_("end"))
    location = models.CharField(_("place"), max_length=300, blank=True)
    online_link = models.URLField(_("online link"), blank=True)
    capacity = models.PositiveIntegerField(_("capacity"))
    registration_deadline = models.DateTimeField(_("registration deadline"))
    open_to_all = models.BooleanField(
        _("open to every partner"), default=True, help_text=_("Otherwise only the invited organisations.")
    )
    invited = models.ManyToManyField(
        Organisation, blank=True, related_name="meeting_invitations", verbose_name=_("invited organisations")
    )
    fields_of_action = models.JSONField(_("fields of action"), default=list, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    # iCalendar SEQUENCE, raised on every change
    sequence = models.PositiveIntegerField(_("calendar version"), default=0)
    # What the edit form compares before it saves (vielfalt.concurrency).
    edit_version_field = "sequence"
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = MeetingQuerySet.as_manager()
    # The choices of the items of the list fields (a JSONField has none), for the audit log (ChangeReader).
    item_choices = {"fields_of_action": FieldOfAction.choices}

    class Meta:
        ordering = ["starts_at", "pk"]
        verbose_name = _("network meeting")
        verbose_name_plural = _("network meetings")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="network_meeting_ends_after",
                violation_error_message=_("The end must be after the start."),
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=1),
                name="network_meeting_capacity_positive",
                violation_error_message=_("A meeting needs at least 1 place."),
            ),
        ]

    def __str__(self):
        return f"{self.title}, {timezone.localtime(self.starts_at):%d.%m.%Y}"

    def get_absolute_url(self):
        return reverse("network:meeting_detail", args=[self.pk])

    def clean(self):
        if message := span_error(self.starts_at, self.ends_at, days=MEETING_MAX_DAYS):
            raise ValidationError({"ends_at": message})

    @property
    def organisation(self):
        return self.host

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def registration_open(self) -> bool:
        return not self.is_cancelled and timezone.now() <= self.registration_deadline

    @property
    def has_begun(self) -> bool:
        """From its start a meeting is a record of who took part (the participants list, who reads the minutes):
        neither it nor a registration can be cancelled any more, and nobody moves up from the waiting list."""
        return timezone.now() >= self.starts_at

    def told_of_changes(self):
        """Whom a change of its time or place is told (with a calendar entry replacing theirs): everyone
        registered, seated or waiting, until it begins; from then on only the seated (nobody moves up any more),
        and nobody once it has ended: a change then corrects the record."""
        registrations = self.registrations.exclude(status=Registration.Status.CANCELLED)
        if timezone.now() >= self.ends_at:
            return registrations.none()
        if self.has_begun:
            return registrations.filter(status=Registration.Status.SEATED)
        return registrations

    @property
    def field_labels(self) -> list[str]:
        return field_labels(self.fields_of_action)


class Registration(models.Model):
    class Status(models.TextChoices):
        SEATED = "seated", _("seat confirmed")
        WAITING = "waiting", _("waiting list")
        CANCELLED = "cancelled", _("cancelled")

    meeting = models.ForeignKey(
        Meeting, on_delete=models.CASCADE, related_name="registrations", verbose_name=_("network meeting")
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("registered by"),
    )
    # Created while the meeting is locked: the primary key is the order of requests (the waiting list's order).
    created_at = models.DateTimeField(_("registered"), auto_now_add=True)
    promoted_at = models.DateTimeField(_("moved up from the waiting list"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("registration cancelled"), null=True, blank=True)
    # Set when its last e-mail could not be handed to the mail server after every retry (shown to the host and
    # the registering organisation); cleared by the next one that gets through.
    mail_failed_at = models.DateTimeField(_("e-mail not delivered"), null=True, blank=True)
    # The language of the request that wrote this row: the network's e-mails about it are written in it.
    language = models.CharField(_("language"), max_length=10, default="de")
    # Set by the retention purge (partnerships.privacy): name, e-mail address and the link to the user are gone.
    pseudonymised_at = models.DateTimeField(_("pseudonymised"), null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "email"],
                condition=~Q(status="cancelled") & Q(pseudonymised_at=None),
                name="network_registration_one_active",
                violation_error_message=_("This e-mail address is registered for the meeting already."),
            ),
        ]
        indexes = [models.Index(fields=["meeting", "status"], name="network_registration_status")]

    def __str__(self):
        return f"{self.name} – {self.meeting}"

    @property
    def waiting_position(self) -> int | None:
        if self.status != self.Status.WAITING:
            return None
        return Registration.objects.filter(
            meeting_id=self.meeting_id, status=self.Status.WAITING, pk__lte=self.pk
        ).count()


def meeting_document_path(instance, filename):
    return f"network/meetings/{instance.meeting_id}/{instance.sha256}"


class MeetingDocument(models.Model):
    class Kind(models.TextChoices):
        MINUTES = "minutes", _("Minutes")
        MATERIAL = "material", _("Material")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    file = models.FileField(upload_to=meeting_document_path)
    name = models.CharField(_("file name"), max_length=200)
    file_type = models.CharField(_("type"), max_length=10)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["kind", "pk"]
        verbose_name = _("meeting document")
        verbose_name_plural = _("meeting documents")

    def __str__(self):
        return self.name


# --- Questions to the network ---------------------------------------------------------------------------------


class QuestionQuerySet(ProgrammeQuerySet):
    def open(self):
        return self.filter(helpful_answer__isnull=True)


class Question(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="network_questions",
        verbose_name=_("organisation"),
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="network_questions",
        verbose_name=_("asked by"),
    )
    title = models.CharField(_("question"), max_length=300)
    body = models.TextField(_("details"), blank=True, max_length=10_000)
    fields_of_action = models.JSONField(_("fields of action"), default=list, blank=True)
    helpful_answer = models.OneToOneField(
        "Answer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("helpful answer"),
    )
    practice_entry = models.ForeignKey(
        PracticeEntry,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="source_questions",
        verbose_name=_("practice entry"),
    )
    created_at = models.DateTimeField(_("asked"), auto_now_add=True)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)
    # The language of the request that wrote this row: the network's e-mails about it are written in it.
    language = models.CharField(_("language"), max_length=10, default="de")

    objects = QuestionQuerySet.as_manager()
    # The choices of the items of the list fields (a JSONField has none), for the audit log (ChangeReader).
    item_choices = {"fields_of_action": FieldOfAction.choices}

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.CheckConstraint(
                condition=~Q(title=""),
                name="network_question_title_set",
                violation_error_message=_("Please enter a title."),
            )
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("network:question_detail", args=[self.pk])

    @property
    def field_labels(self) -> list[str]:
        return field_labels(self.fields_of_action)


class Answer(models.Model):
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="answers", verbose_name=_("question")
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("written by"),
    )
    body = models.TextField(_("answer"), max_length=10_000)
    created_at = models.DateTimeField(_("answered"), auto_now_add=True)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)
    # Set when the e-mail telling the asker could not be handed to the mail server after every retry (shown to
    # the answer's author).
    mail_failed_at = models.DateTimeField(_("e-mail not delivered"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.CheckConstraint(
                condition=~Q(body=""),
                name="network_answer_body_set",
                violation_error_message=_("Please write an answer."),
            )
        ]

    def __str__(self):
        return f"{self.question} – {self.organisation}"


class NotificationSettings(models.Model):
    """A user's e-mail choices for the network: answers to own questions (on unless switched off) and the
    weekly digest (opt-in). Each mail carries a one-click unsubscribe link."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="network_mail"
    )
    answers = models.BooleanField(_("e-mail me answers to my questions"), default=True)
    weekly_digest = models.BooleanField(
        _("weekly digest of new entries, meetings and questions"), default=False
    )
    digest_sent_at = models.DateTimeField(null=True, blank=True)
    # When the last weekly digest could not be handed to the mail server after every retry (shown on the user's
    # e-mail settings page); cleared by the next digest that gets through.
    digest_failed_at = models.DateTimeField(null=True, blank=True)
    # The language of the request that wrote this row: the network's e-mails about it are written in it.
    language = models.CharField(_("language"), max_length=10, default="de")

    class Meta:
        verbose_name = _("network e-mail settings")
        verbose_name_plural = _("network e-mail settings")

    def __str__(self):
        return str(self.user)


def mail_language() -> str:
    """The language of the current request (or German, the portal's), as one of the portal's languages."""
    try:
        return translation.get_supported_language_variant(
            translation.get_language() or settings.LANGUAGE_CODE
        )
    except LookupError:
        return settings.LANGUAGE_CODE
