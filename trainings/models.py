import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Now
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from vielfalt.collation import collated
from vielfalt.generation import figures_changed
from vielfalt.models import Employee, Organisation, Role, TargetGroup
from vielfalt.permissions import scope
from vielfalt.validation import span_error

# The tallies are kept by database triggers; a user never meets their constraints, but each gets a sentence.
TALLY_EXISTS = _("This count exists already; the database keeps it.")

# Value → (lazy) label of the target groups: translated when shown.
TARGET_GROUP_LABELS = dict(TargetGroup.choices)

COURSE_TARGET_GROUPS = [
    (TargetGroup.TRAINEE, TargetGroup.TRAINEE.label),
    (TargetGroup.PUBLIC_FACING, TargetGroup.PUBLIC_FACING.label),
    (TargetGroup.MANAGER, TargetGroup.MANAGER.label),
]


def target_group_labels(values) -> list[str]:
    return [str(TARGET_GROUP_LABELS.get(value, value)) for value in values]


def duration_text(hours) -> str:
    """ "3 h", "1,5 Std." and so on: a course's duration as the course list and page show it."""
    return gettext("%(hours)s h") % {"hours": floatformat(hours, "-1")}


class CourseQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Ministry and administrators see every course; the organiser's staff (course organisers and HR)
        and the HR of every organisation taking part see theirs; everyone else sees none."""
        return self.filter(
            scope(user, (Role.MINISTRY, Role.HR, Role.ORGANISER), "organiser")
            | Q(pk__in=CourseParticipant.objects.filter(scope(user, Role.HR)).values("course_id"))
        )

    def organised_by(self, user):
        """Courses whose dates, attendance and certificates `user` manages."""
        return self.filter(scope(user, Role.ORGANISER, "organiser"))


class Course(models.Model):
    class Format(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        ONLINE = "online", _("Online")

    class Language(models.TextChoices):
        GERMAN = "de", _("German")
        ENGLISH = "en", _("English")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(
        _("content"), help_text=_("What the course covers; printed on certificates.")
    )
    # A list of TargetGroup values: JSON keeps it portable between PostgreSQL and SQLite.
    target_groups = models.JSONField(_("target groups"), default=list)
    organiser = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="organised_courses", verbose_name=_("organiser")
    )
    duration_hours = models.DecimalField(_("duration (hours)"), max_digits=5, decimal_places=1)
    format = models.CharField(_("format"), max_length=20, choices=Format.choices, default=Format.IN_PERSON)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices, default="de")
    created_at = models.DateTimeField(auto_now_add=True)
    # The version an edit form was opened at (vielfalt.concurrency); the database fills it in for rows it is
    # given directly (seed_scale's COPY).
    updated_at = models.DateTimeField(_("changed"), auto_now=True, db_default=Now())
    # Part of each date's iCalendar SEQUENCE (`course_date_ics`): raised when what their calendar entries show
    # of the course (title, content) changes, so that calendars replace the entries. Kept here rather than
    # raised on every date: a date's own `sequence` is also the version its edit form was opened at.
    calendar_version = models.PositiveIntegerField(
        _("calendar version"), default=0, db_default=0, editable=False
    )

    objects = CourseQuerySet.as_manager()
    # The choices of the items of the list fields (a JSONField has none), for the audit log (ChangeReader).
    item_choices = {"target_groups": TargetGroup.choices}

    class Meta:
        ordering = [collated("title").asc(), "pk"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_hours__gt=0),
                name="course_duration_positive",
                violation_error_message=_("The duration must be more than 0 hours."),
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("trainings:course_detail", args=[self.pk])

    @property
    def target_group_labels(self) -> list[str]:
        return target_group_labels(self.target_groups)

    @property
    def duration_text(self) -> str:
        return duration_text(self.duration_hours)

    @property
    def organisation(self):
        return self.organiser


class CourseParticipant(models.Model):
    """An organisation taking part in a (joint) course, with an optional seat quota per date."""

    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="participants", verbose_name=_("course")
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    seat_quota = models.PositiveIntegerField(
        _("seats per date"), null=True, blank=True, help_text=_("Empty: no limit beyond the capacity.")
    )

    class Meta:
        ordering = [collated("organisation__name").asc()]
        verbose_name = _("taking part")
        verbose_name_plural = _("taking part")
        constraints = [
            models.UniqueConstraint(
                fields=["course", "organisation"],
                name="courseparticipant_unique",
                violation_error_message=_("This organisation already takes part in the course."),
            ),
        ]

    def __str__(self):
        return f"{self.course} – {self.organisation}"


class CourseDateQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(course__in=Course.objects.visible_to(user))

    def organised_by(self, user):
        return self.filter(course__in=Course.objects.organised_by(user))

    def with_counts(self):
        """Seated and waiting enrolments of each date. On PostgreSQL read from `DateTally` (two index lookups a
        date): counting a date's enrolments visits each of their rows (40 a date, a millisecond for a page of
        25 dates at full scale), and a join grouped over all enrolments read every enrolment of the programme.
        On SQLite (no triggers) counted per date in the (course_date, status) index. Written as SQL of their
        own (compiling two ORM subqueries cost each page about a millisecond): they name the date's table, so
        dates must be the query's main table, not a subquery's."""
        count = _TALLIED_COUNT if connection.vendor == "postgresql" else _ENROLMENT_COUNT
        return self.annotate(
            seated_count=RawSQL(count, (Enrolment.Status.SEATED,), output_field=models.IntegerField()),  # noqa: S611 (a constant statement)
            waiting_count=RawSQL(count, (Enrolment.Status.WAITING,), output_field=models.IntegerField()),  # noqa: S611
        )


_TALLIED_COUNT = (
    "COALESCE((SELECT t.enrolments FROM trainings_datetally t"
    " WHERE t.course_date_id = trainings_coursedate.id AND t.status = %s), 0)"
)
_ENROLMENT_COUNT = "(SELECT COUNT(*) FROM trainings_enrolment e WHERE e.course_date_id = trainings_coursedate.id AND e.status = %s)"


# A course date of more than a month is a year typed wrong (CourseDate.clean).
COURSE_DATE_MAX_DAYS = 31


class CourseDate(models.Model):
    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="dates", verbose_name=_("course")
    )
    target_group = models.CharField(
        _("for target group"), max_length=20, choices=COURSE_TARGET_GROUPS, blank=True
    )
    starts_at = models.DateTimeField(_("start"))
    ends_at = models.DateTimeField(_("end"))
    location = models.CharField(_("location"), max_length=300, blank=True)
    online_link = models.URLField(_("online link"), blank=True)
    trainer = models.CharField(_("trainer"), max_length=200, blank=True)
    capacity = models.PositiveIntegerField(_("capacity"))
    enrolment_deadline = models.DateTimeField(_("enrolment deadline"))
    cancellation_deadline = models.DateTimeField(_("cancellation deadline"))
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    # iCalendar SEQUENCE: raised on every change so calendars replace the earlier invitation.
    sequence = models.PositiveIntegerField(_("calendar version"), default=0)
    # What an edit form compares before it saves (vielfalt.concurrency): the calendar version grows with every
    # change of the date's fields.
    edit_version_field = "sequence"
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CourseDateQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "pk"]
        verbose_name = _("course date")
        verbose_name_plural = _("course dates")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="coursedate_ends_after",
                violation_error_message=_("The end must be after the start."),
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=1),
                name="coursedate_capacity_positive",
                violation_error_message=_("A date needs at least 1 seat."),
            ),
        ]
        # A course's dates in order: its next date (the course list) and its page of dates.
        indexes = [models.Index(fields=["course", "starts_at"], name="coursedate_course_start")]

    def __str__(self):
        local = timezone.localtime(self.starts_at)
        return f"{self.course.title}, {local:%d.%m.%Y %H:%M}"

    def get_absolute_url(self):
        return reverse("trainings:date_detail", args=[self.pk])

    def clean(self):
        # Checked here, not only in a service, so that a form reports them together with every other problem.
        errors = {}
        if self.starts_at and self.enrolment_deadline and self.enrolment_deadline > self.starts_at:
            errors["enrolment_deadline"] = _("The enrolment deadline must not be after the start.")
        if self.starts_at and self.cancellation_deadline and self.cancellation_deadline > self.starts_at:
            errors["cancellation_deadline"] = _("The cancellation deadline must not be after the start.")
        if message := span_error(self.starts_at, self.ends_at, days=COURSE_DATE_MAX_DAYS):
            errors["ends_at"] = message
        if errors:
            raise ValidationError(errors)

    @property
    def organisation(self):
        return self.course.organiser

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def enrolment_open(self) -> bool:
        return not self.is_cancelled and timezone.now() <= self.enrolment_deadline

    @property
    def cancellation_open(self) -> bool:
        return timezone.now() <= self.cancellation_deadline

    @property
    def has_begun(self) -> bool:
        """From its start a date is a record of what happened: attendance is taken and certificates are issued,
        and who takes part no longer changes (no cancellation of it or of an enrolment, nobody moves up from the
        waiting list)."""
        return timezone.now() >= self.starts_at

    def told_of_changes(self):
        """Whom a change of its time or place is told (with a calendar entry replacing theirs): everyone enrolled,
        seated or waiting, until it begins; from then on only the seated (nobody moves up any more), and nobody
        once it has ended: a change then corrects the record, and an e-mail about it would only confuse."""
        enrolments = self.enrolments.active()
        if timezone.now() >= self.ends_at:
            return enrolments.none()
        if self.has_begun:
            return enrolments.filter(status=Enrolment.Status.SEATED)
        return enrolments


class EnrolmentQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The organiser sees every enrolment of its courses; HR only its own organisations'. Not the ministry:
        it follows the programme in counts (seats, waiting lists, no-shows, people trained: the report, the
        dates' figures and the programme figures, read from tallies), and an enrolment names a city's employee,
        their attendance and certificate (GDPR Art. 5(1)(c); the record of processing names no ministry as
        their recipient). Where the ministry runs a course itself it holds the organiser role there and sees
        the course's enrolments as its organiser."""
        return self.filter(
            scope(user, Role.ORGANISER, "course_date__course__organiser")
            | scope(user, Role.HR, "organisation")
        )

    def active(self):
        return self.exclude(status=Enrolment.Status.CANCELLED)

    def attended(self):
        """Seated and marked as attended: what counts as "trained" everywhere (reports, certificates, figures)."""
        return self.filter(status=Enrolment.Status.SEATED, attendance=Enrolment.Attendance.ATTENDED)


class Enrolment(models.Model):
    class Status(models.TextChoices):
        SEATED = "seated", _("seat confirmed")
        WAITING = "waiting", _("waiting list")
        CANCELLED = "cancelled", _("cancelled")

    class Attendance(models.TextChoices):
        UNKNOWN = "unknown", _("not recorded")
        ATTENDED = "attended", _("attended")
        NO_SHOW = "no_show", _("no-show")

    course_date = models.ForeignKey(
        CourseDate, on_delete=models.PROTECT, related_name="enrolments", verbose_name=_("course date")
    )
    employee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, related_name="enrolments", verbose_name=_("employee")
    )
    # The employee's organisation when enrolled: quotas and visibility are decided by it.
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    attendance = models.CharField(
        _("attendance"), max_length=10, choices=Attendance.choices, default=Attendance.UNKNOWN
    )
    # Enrolments are created while the date is locked, so the primary key is the order of requests:
    # the waiting list is ordered by it.
    created_at = models.DateTimeField(_("enrolled"), auto_now_add=True)
    enrolled_by = models.ForeignKey(
        "vielfalt.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("enrolled by"),
    )
    promoted_at = models.DateTimeField(_("moved up from the waiting list"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("enrolment cancelled"), null=True, blank=True)
    reminder_sent_at = models.DateTimeField(_("reminder sent"), null=True, blank=True)
    # The last e-mail about this enrolment could not be handed to the mail server, even after its retries.
    mail_failed_at = models.DateTimeField(_("e-mail not delivered"), null=True, blank=True)

    objects = EnrolmentQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(
                fields=["course_date", "employee"],
                condition=~Q(status="cancelled"),
                name="enrolment_one_active_per_date",
                violation_error_message=_("This employee is already enrolled for this date."),
            ),
            models.CheckConstraint(
                condition=Q(status="seated") | Q(attendance="unknown"),
                name="enrolment_attendance_if_seated",
                violation_error_message=_("Attendance can only be recorded for someone with a seat."),
            ),
        ]
        indexes = [
            models.Index(fields=["course_date", "status"], name="enrolment_date_status"),
            # The no-shows of each date (the training report), without reading its other enrolments.
            models.Index(
                fields=["course_date"],
                name="enrolment_date_no_show",
                condition=Q(status="seated", attendance="no_show"),
            ),
        ]

    def __str__(self):
        return f"{self.employee.full_name} – {self.course_date}"

    @cached_property
    def waiting_position(self) -> int | None:
        if self.status != self.Status.WAITING:
            return None
        return Enrolment.objects.filter(
            course_date_id=self.course_date_id, status=self.Status.WAITING, pk__lte=self.pk
        ).count()


def new_verification_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are typed from paper
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


class CertificateQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(enrolment__in=Enrolment.objects.visible_to(user))


class Certificate(models.Model):
    """A Teilnahmebescheinigung. What it states is copied here when it is issued, so that the verify page
    shows exactly what the paper says, even if the course is edited later."""

    enrolment = models.OneToOneField(
        Enrolment, on_delete=models.PROTECT, related_name="certificate", verbose_name=_("enrolment")
    )
    code = models.CharField(_("verification code"), max_length=20, unique=True, default=new_verification_code)
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)
    holder_name = models.CharField(_("name"), max_length=310)
    course_title = models.CharField(_("course"), max_length=200)
    course_content = models.TextField(_("content"))
    date_text = models.CharField(_("date"), max_length=100)
    duration_hours = models.DecimalField(_("duration (hours)"), max_digits=5, decimal_places=1)
    organiser_name = models.CharField(_("organiser"), max_length=200)
    file = models.FileField(_("file"), upload_to="certificates/%Y/", blank=True)
    # Set when the organiser corrects the holder's attendance away from "attended" (trainings.services
    # .attendance_mark); the verification page then says the certificate no longer stands. Cleared when the
    # attendance is put back.
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    # When the retention purge removes the holder's name, a keyed digest of code and name stays, so that the
    # verify page can still confirm the name printed on the paper (trainings.privacy).
    holder_name_digest = models.CharField(max_length=64, blank=True, editable=False)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")

    def __str__(self):
        return f"{self.holder_name} – {self.course_title} ({self.code})"

    @property
    def organisation(self):
        return self.enrolment.organisation

    @property
    def file_name(self) -> str:
        return f"teilnahmebescheinigung-{self.code}.pdf"

    @property
    def verify_url(self) -> str:
        """Where anyone checks the certificate: the full address, printed and as QR code on the PDF."""
        return settings.PORTAL_URL + reverse("trainings:verify", args=[self.code])


# --- Figures kept up to date by the database -----------------------------------------------------------------
# The programme dashboard counts employees and who attended a course across every partner. At full scale
# (100,000s of employees and enrolments) counting them per request takes the database most of a second, so
# PostgreSQL triggers (migration 0006) keep the counts below in step with every write to employees,
# enrolments and course dates, in the same transaction, whatever the path (services, admin, bulk writes,
# COPY). Nothing else writes them. Read through trainings.selectors; on SQLite (the embedded default, no
# triggers) the selectors count the rows themselves.


class StaffTally(models.Model):
    """How many employees an organisation has, per target group and whether they are active."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    target_group = models.CharField(max_length=20)
    is_active = models.BooleanField()
    employees = models.IntegerField()

    class Meta:
        triggers = [figures_changed()]  # the programme's figures (vielfalt.generation)
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "target_group", "is_active"],
                name="stafftally_unique",
                violation_error_message=TALLY_EXISTS,
            )
        ]

    def __str__(self):
        return f"{self.organisation_id} {self.target_group} {self.is_active}: {self.employees}"


class EmployeeAttendance(models.Model):
    """Per employee who attended a course (seated, marked attended): the first day (local date of the course
    date's start) they attended one in each year (`year`) and at all (`year` 0), with the organisation, org
    unit, target group and activity they are counted under in `AttendanceTally`."""

    employee = models.ForeignKey(Employee, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    year = models.PositiveSmallIntegerField()
    first_day = models.DateField()
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    # The org unit's id, 0 for none (as in vielfalt.EmployeeCount).
    unit = models.BigIntegerField(default=0)
    target_group = models.CharField(max_length=20)
    is_active = models.BooleanField()

    class Meta:
        triggers = [figures_changed()]  # the programme's figures (vielfalt.generation)
        constraints = [
            models.UniqueConstraint(
                fields=["employee", "year"],
                name="employeeattendance_unique",
                violation_error_message=TALLY_EXISTS,
            )
        ]
        # The few whose first day of a year lies after the day a figure is taken for (see selectors).
        indexes = [models.Index(fields=["year", "first_day"], name="employeeattendance_day")]

    def __str__(self):
        return f"{self.employee_id} {self.year}: {self.first_day}"


class AttendanceTally(models.Model):
    """How many employees of an organisation, org unit, target group and activity attended a course in `year`
    (0: in any year): `EmployeeAttendance` counted. Per unit, so that the training report's unit table reads
    a few rows per unit instead of every employee who attended (migration 0013)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    # The org unit's id, 0 for none: a key column the triggers' upsert can match (NULLs never conflict).
    unit = models.BigIntegerField(default=0)
    target_group = models.CharField(max_length=20)
    is_active = models.BooleanField()
    year = models.PositiveSmallIntegerField()
    employees = models.IntegerField()

    class Meta:
        triggers = [figures_changed()]  # the programme's figures (vielfalt.generation)
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "unit", "target_group", "is_active", "year"],
                name="attendancetally_unique",
                violation_error_message=TALLY_EXISTS,
            )
        ]

    def __str__(self):
        return (
            f"{self.organisation_id} {self.unit} {self.target_group} {self.is_active} {self.year}: "
            f"{self.employees}"
        )


class DateTally(models.Model):
    """How many enrolments of a course date have a status (seated, waiting, cancelled): the counts of a course's
    dates (`CourseDateQuerySet.with_counts`), kept by PostgreSQL triggers on Enrolment (migration 0009) in the
    same transaction as every write, whatever the path. Nothing else writes them."""

    course_date = models.ForeignKey(
        CourseDate, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    status = models.CharField(max_length=10)
    enrolments = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["course_date", "status"],
                name="datetally_unique",
                violation_error_message=TALLY_EXISTS,
            )
        ]

    def __str__(self):
        return f"{self.course_date_id} {self.status}: {self.enrolments}"
