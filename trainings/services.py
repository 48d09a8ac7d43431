"""Every write of the trainings app. Capacity, quotas and the waiting list are settled here, inside a
transaction that holds the course date's row lock, so concurrent requests take seats one after another.

Each service checks its keyword-only `actor` through vielfalt.permissions: courses, dates, attendance and
certificates are the organiser's (`Role.ORGANISER` of the course's organiser); enrolments are the HR's of the
organisations taking part; the organiser may also cancel any enrolment of its courses."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from vielfalt.audit import audit_record, model_changes, record_text
from vielfalt.concurrency import check_opened_version
from vielfalt.jobs import job_enqueue, send_after_commit
from vielfalt.models import AuditEntry, Employee, Job, Role, User, personnel_number_text
from vielfalt.permissions import may, organisation_ids, recorded_user, require
from vielfalt.seal import SealCheck, check_pdf
from vielfalt.seats import Seats, fill_free_seats, seat_counts
from vielfalt.tabular import (
    PERSONNEL_NUMBER_COLUMNS,
    Problem,
    Table,
    TableRefused,
    estimated_rows,
    listed_twice,
    normalise_header,
    read_table,
)
from vielfalt.validation import refuse_moving

from .models import Certificate, Course, CourseDate, CourseParticipant, Enrolment


@dataclass(frozen=True)
class Refusal:
    message: str
    line: int | None = None

    def __str__(self):
        if self.line is None:
            return self.message
        return _("Line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


class EnrolmentRefused(Exception):
    """Nothing was changed; `problems` says every reason (with the file's line where there is one)."""

    def __init__(self, problems: list[Refusal]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class EnrolmentResult:
    seated: list[Enrolment] = field(default_factory=list)
    waiting: list[tuple[Enrolment, int]] = field(default_factory=list)  # (enrolment, position)
    # Why someone went to the waiting list, by employee pk: "full" (no free seat) or "quota" (the
    # organisation's seats on this date are taken while others are still free).
    waiting_reasons: dict[int, str] = field(default_factory=dict)


# --- Who may do what ------------------------------------------------------------------------------------------


def taking_part_ids(course: Course) -> set[int]:
    return {course.organiser_id, *course.participants.values_list("organisation_id", flat=True)}


def enrolling_organisation_ids(user: User, course: Course) -> set[int]:
    """Organisations whose employees `user` may enrol in `course`: its HR offices among those taking part."""
    hr_ids = organisation_ids(user, Role.HR)
    if hr_ids is not None and not hr_ids:
        return set()
    taking_part = taking_part_ids(course)
    return taking_part if hr_ids is None else taking_part & hr_ids


def _require_enrolling(actor, course: Course) -> set[int]:
    """The organisations the actor enrols for in `course`; PermissionDenied if none."""
    require(actor, Role.HR)
    allowed = enrolling_organisation_ids(actor, course)
    if not allowed:
        raise PermissionDenied(_("You may not enrol employees in this course."))
    return allowed


# --- Courses and dates ----------------------------------------------------------------------------------------

# What a date's calendar entry shows of its course (`course_date_ics`).
COURSE_FIELDS_IN_CALENDAR = {"title", "description"}
# What everyone enrolled (seated or waiting) is told of when it changes, with a calendar entry that replaces theirs.
DATE_FIELDS_TOLD = {"starts_at", "ends_at", "location", "online_link"}
# What a date that has begun keeps: moved, it would leave its attendance and certificates on a date to come.
DATE_FIELDS_FIXED_ONCE_BEGUN = ("starts_at", "enrolment_deadline", "cancellation_deadline")
DATE_FIELDS = [
    "target_group",
    "starts_at",
    "ends_at",
    "location",
    "online_link",
    "trainer",
    "capacity",
    "enrolment_deadline",
    "cancellation_deadline",
]


@transaction.atomic
def course_create(*, actor: User, participants: dict | None = None, **fields) -> Course:
    """`participants`: organisation → seat quota (None for no quota)."""
    require(actor, Role.ORGANISER, fields["organiser"])
    course = Course(**fields)
    course.full_clean()
    course.save()
    for organisation, quota in (participants or {}).items():
        course.participants.create(organisation=organisation, seat_quota=quota)
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, obj=course)
    return course


@transaction.atomic
def course_update(*, actor: User, course: Course, opened_version: str | None = None, **fields) -> Course:
    """`opened_version`: the course's `updated_at` when the form was opened; EditConflict when a colleague has
    changed it since (vielfalt.concurrency). The course is read again under its row's lock; a save that
    changes nothing writes nothing."""
    if "organiser" in fields:
        # Its dates, enrolments, quotas, jobs and certificates hang on the organiser: no page hands a course to
        # another organisation, nor does the admin (trainings/admin.py), and neither does this.
        raise TypeError("course_update does not change a course's organiser")
    require(actor, Role.ORGANISER, course.organiser_id)
    course = Course.objects.select_for_update().get(pk=course.pk)
    require(actor, Role.ORGANISER, course.organiser_id)  # as it is now, not as the caller read it
    check_opened_version(course, opened_version, actor=actor)
    names = list(fields)
    before = {name: getattr(course, name) for name in names}
    for name, value in fields.items():
        setattr(course, name, value)
    course.full_clean()
    changes = model_changes(course, names, before)
    if changes.keys() & COURSE_FIELDS_IN_CALENDAR:  # calendars replace the entries of its dates
        course.calendar_version += 1
    if changes:
        course.save()
        audit_record(actor=actor, action=AuditEntry.Action.CHANGE, obj=course, changes=changes)
    return course


@transaction.atomic
def course_participants_set(*, actor: User, course: Course, quotas: dict) -> int:
    """Make exactly the organisations in `quotas` (organisation → seat quota or None) take part. An
    organisation whose employees hold active enrolments on dates that have not begun cannot be removed (the
    enrolments of dates that have begun are records and stay). Lowering a quota keeps the seats already taken;
    further enrolments of that organisation wait. Raising one (or lifting it) moves that organisation's waiting
    employees up, in waiting-list order, on every date that has not begun, as far as seats are free. Returns how
    many moved up."""
    require(actor, Role.ORGANISER, course.organiser_id)
    # In the order enrolments lock them (`_lock_enrolling`): first the dates, then the participations. An
    # enrolment under way for an organisation removed here is waited for, and then seen below.
    dates = list(
        CourseDate.objects.filter(course=course, starts_at__gt=timezone.now(), cancelled_at__isnull=True)
        .select_related("course")
        .order_by("pk")
        .select_for_update(of=("self",))
    )
    current = {p.organisation_id: p for p in course.participants.order_by("pk").select_for_update()}
    wanted = {organisation.pk: (organisation, quota) for organisation, quota in quotas.items()}
    wanted.pop(course.organiser_id, None)
    removed = set(current) - set(wanted)
    if removed:
        busy = (
            Enrolment.objects.active()
            .filter(
                course_date__course=course,
                course_date__starts_at__gt=timezone.now(),
                organisation_id__in=removed,
            )
            .values_list("organisation__name", flat=True)
            .distinct()
        )
        if busy:
            raise ValidationError(
                _("%(names)s still have employees enrolled in this course.") % {"names": ", ".join(busy)}
            )
    changes = {}
    for organisation_id in removed:
        changes[str(current[organisation_id].organisation)] = [str(current[organisation_id].seat_quota), ""]
        current[organisation_id].delete()
    for organisation_id, (organisation, quota) in wanted.items():
        participant = current.get(organisation_id)
        if participant is None:
            course.participants.create(organisation=organisation, seat_quota=quota)
            changes[str(organisation)] = ["", str(quota)]
        elif participant.seat_quota != quota:
            changes[str(organisation)] = [str(participant.seat_quota), str(quota)]
            participant.seat_quota = quota
            participant.save(update_fields=["seat_quota"])
    promoted = 0
    if changes:
        audit_record(
            actor=actor, action=AuditEntry.Action.CHANGE, obj=course, changes={"participants": changes}
        )
        # A quota raised or lifted frees seats for those of its organisation waiting.
        for course_date in dates:
            moved = [e.pk for e in _fill_free_seats(course_date, actor=actor)]
            _send_on_commit(moved, "promoted")
            promoted += len(moved)
    return promoted


@transaction.atomic
def course_date_create(*, actor: User, course: Course, **fields) -> CourseDate:
    require(actor, Role.ORGANISER, course.organiser_id)
    course_date = CourseDate(course=course, **fields)
    course_date.full_clean()  # with CourseDate.clean: deadlines before the start
    course_date.save()
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, obj=course_date, organisation=course.organiser)
    return course_date


def course_date_update(
    *, actor: User, course_date: CourseDate, opened_version: str | None = None, **fields
) -> CourseDate:
    """`opened_version`: the date's calendar version when the form was opened; EditConflict when a colleague
    has changed it since (vielfalt.concurrency)."""
    with transaction.atomic():
        locked = CourseDate.objects.select_for_update().select_related("course").get(pk=course_date.pk)
        require(actor, Role.ORGANISER, locked.course.organiser_id)
        if locked.is_cancelled:
            raise ValidationError(_("A cancelled date cannot be changed."))
        check_opened_version(locked, opened_version, actor=actor)
        if locked.has_begun:
            refuse_moving(
                locked,
                fields,
                DATE_FIELDS_FIXED_ONCE_BEGUN,
                _("The date has begun; its start and deadlines stay as they were."),
            )
        before = {name: getattr(locked, name) for name in DATE_FIELDS}
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.full_clean()
        seated = locked.enrolments.filter(status=Enrolment.Status.SEATED).count()
        if locked.capacity < seated:
            raise ValidationError(
                {
                    "capacity": ngettext(
                        "%(count)s seat is already taken; the capacity cannot be lower.",
                        "%(count)s seats are already taken; the capacity cannot be lower.",
                        seated,
                    )
                    % {"count": seated}
                }
            )
        changes = model_changes(locked, DATE_FIELDS, before)
        if changes:
            locked.sequence += 1
        locked.save()
        if "starts_at" in changes:  # the day before the new start, everyone is reminded again
            locked.enrolments.filter(reminder_sent_at__isnull=False).update(reminder_sent_at=None)
        if changes:
            audit_record(
                actor=actor,
                action=AuditEntry.Action.CHANGE,
                obj=locked,
                organisation=locked.course.organiser,
                changes=changes,
            )
        promoted = _fill_free_seats(locked, actor=actor)
        _send_on_commit([e.pk for e in promoted], "promoted")
        if changes.keys() & DATE_FIELDS_TOLD:  # the promoted learn the new details from their own e-mail
            told = locked.told_of_changes().exclude(pk__in=[e.pk for e in promoted])
            _send_on_commit(list(told.values_list("pk", flat=True)), "changed")
    return locked


def course_date_cancel(*, actor: User, course_date: CourseDate) -> CourseDate:
    """Cancel the date, until it begins, and every enrolment on it; everyone enrolled (seated or waiting) is
    told."""
    with transaction.atomic():
        locked = CourseDate.objects.select_for_update().select_related("course").get(pk=course_date.pk)
        require(actor, Role.ORGANISER, locked.course.organiser_id)
        if locked.is_cancelled:
            return locked
        if locked.has_begun:
            raise ValidationError(
                _("A date that has begun cannot be cancelled; record who attended instead.")
            )
        locked.cancelled_at = timezone.now()
        locked.sequence += 1
        locked.save(update_fields=["cancelled_at", "sequence"])
        affected = list(locked.enrolments.active().values_list("pk", flat=True))
        Enrolment.objects.filter(pk__in=affected).update(
            status=Enrolment.Status.CANCELLED,
            attendance=Enrolment.Attendance.UNKNOWN,
            cancelled_at=locked.cancelled_at,
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CHANGE,
            obj=locked,
            organisation=locked.course.organiser,
            changes={"cancelled": ["", str(locked.cancelled_at)], "enrolments_cancelled": len(affected)},
        )
        _send_on_commit(affected, "date_cancelled")
    return locked


# --- Enrolment ------------------------------------------------------------------------------------------------


def _seat_counts(course_date: CourseDate) -> dict[int, int]:
    return seat_counts(Enrolment.objects.filter(course_date=course_date, status=Enrolment.Status.SEATED))


class _Seats(Seats):
    """Free seats of a locked date: the capacity, and each organisation's quota (the core's seat engine)."""

    def __init__(self, course_date: CourseDate):
        super().__init__(
            capacity=course_date.capacity,
            by_organisation=_seat_counts(course_date),
            quotas=dict(course_date.course.participants.values_list("organisation_id", "seat_quota")),
        )


def _fill_free_seats(course_date: CourseDate, *, actor: User) -> list[Enrolment]:
    """Promote, in waiting-list order, everyone who now fits (capacity and quota), each move in the audit log
    under the actor whose change freed the seat (a cancellation, a capacity or a quota raised). The date must be
    locked. Once it has begun nobody moves up: a seat that comes free then is of no use to anyone waiting."""
    if course_date.is_cancelled or course_date.has_begun:
        return []
    now = timezone.now()

    def promote(enrolment):
        enrolment.status = Enrolment.Status.SEATED
        enrolment.promoted_at = now
        enrolment.save(update_fields=["status", "promoted_at"])
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CHANGE,
            obj=enrolment,
            changes={"status": [Enrolment.Status.WAITING, Enrolment.Status.SEATED]},
        )

    waiting = course_date.enrolments.filter(status=Enrolment.Status.WAITING).order_by("pk")
    return fill_free_seats(_Seats(course_date), waiting, promote=promote)


def enrolment_create_many(
    *,
    actor: User,
    course_date: CourseDate,
    employees: list[Employee],
    lines: dict[int, int] | None = None,
    notify: bool = True,
) -> EnrolmentResult:
    """Enrol `employees` in the given order: a seat while capacity and quota allow, else the waiting list.

    All or nothing: any refusal (deadline, another organisation's employee, already enrolled in this course)
    raises `EnrolmentRefused` and nothing is stored. `lines` maps employee pk → line of an uploaded file.
    An actor who enrols for no organisation taking part is refused with PermissionDenied."""
    _require_enrolling(actor, course_date.course)
    lines = lines or {}
    employees = list(employees)
    if not employees:
        raise EnrolmentRefused([Refusal(_("Please choose at least one employee."))])
    with transaction.atomic():
        # The lock serialises every enrolment and cancellation of this date: seats are counted and taken
        # by one transaction at a time.
        locked = CourseDate.objects.select_for_update().get(pk=course_date.pk)
        course = Course.objects.select_related("organiser").get(pk=locked.course_id)
        locked.course = course
        _lock_enrolling(course, employees)
        _require_enrolling(actor, course)  # again, now that no organisation can leave the course meanwhile
        problems = _enrolment_problems(actor=actor, course_date=locked, employees=employees, lines=lines)
        if problems:
            raise EnrolmentRefused(problems)

        seats = _Seats(locked)
        waiting_before = Enrolment.objects.filter(course_date=locked, status=Enrolment.Status.WAITING).count()
        new = []
        reasons = {}
        for employee in employees:
            if seats.fits(employee.organisation_id):
                seats.take(employee.organisation_id)
                status = Enrolment.Status.SEATED
            else:
                status = Enrolment.Status.WAITING
                reasons[employee.pk] = "full" if seats.full else "quota"
            new.append(
                Enrolment(
                    course_date=locked,
                    employee=employee,
                    organisation_id=employee.organisation_id,
                    status=status,
                    enrolled_by=recorded_user(actor),
                )
            )
        created = Enrolment.objects.bulk_create(new, batch_size=1000)
        result = EnrolmentResult(waiting_reasons=reasons)
        position = waiting_before
        for enrolment in created:
            if enrolment.status == Enrolment.Status.SEATED:
                result.seated.append(enrolment)
            else:
                position += 1
                result.waiting.append((enrolment, position))
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=locked,
            organisation=employees[0].organisation,
            object_repr=record_text(gettext_noop("Enrolments in %(date)s"), date=locked),
            changes={
                "seated": [e.employee.personnel_number for e in result.seated],
                "waiting": [e.employee.personnel_number for e, _position in result.waiting],
            },
        )
        if notify:
            _send_on_commit([e.pk for e in created], "enrolled")
    return result


def _lock_enrolling(course: Course, employees: list[Employee]) -> None:
    """Lock the participation of the employees' organisations in `course` and the employees themselves, in the
    order every caller takes them (date, participations, employees; each by pk): removing an organisation from
    the course (`course_participants_set`) then waits for this enrolment, or this one for the removal, and
    sees what the other did; and enrolling the same person on another date of the course at the same moment
    waits and then finds them enrolled. (No key lock: the new enrolments' own references to the employees
    do not wait for it.)"""
    list(
        CourseParticipant.objects.filter(
            course=course, organisation_id__in={employee.organisation_id for employee in employees}
        )
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )
    list(
        Employee.objects.filter(pk__in=[employee.pk for employee in employees])
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )


def _enrolment_problems(*, actor, course_date, employees, lines) -> list[Refusal]:
    course = course_date.course
    now = timezone.now()
    if course_date.is_cancelled:
        return [Refusal(_("This date has been cancelled."))]
    if now > course_date.enrolment_deadline:
        deadline = formats.date_format(timezone.localtime(course_date.enrolment_deadline), "DATETIME_FORMAT")
        return [Refusal(_("The enrolment deadline (%(deadline)s) has passed.") % {"deadline": deadline})]
    allowed = enrolling_organisation_ids(actor, course)
    taken = set(
        Enrolment.objects.active()
        .filter(
            course_date__course=course,
            course_date__cancelled_at__isnull=True,
            employee_id__in=[e.pk for e in employees],
        )
        .values_list("employee_id", flat=True)
    )
    problems = []
    seen: set[int] = set()
    for employee in employees:
        label = {"name": employee.full_name, "number": employee.personnel_number}
        line = lines.get(employee.pk)
        if employee.organisation_id not in allowed:
            message = _("%(name)s (%(number)s) is an employee of another organisation.") % label
        elif not employee.is_active:
            message = _("%(name)s (%(number)s) is no longer active.") % label
        elif employee.pk in seen:
            message = _("%(name)s (%(number)s) is listed twice.") % label
        elif employee.pk in taken:
            message = _("%(name)s (%(number)s) is already enrolled in this course.") % label
        else:
            seen.add(employee.pk)
            continue
        seen.add(employee.pk)
        problems.append(Refusal(message, line))
    return problems


def enrolment_create_from_file(*, actor: User, course_date: CourseDate, data: bytes) -> EnrolmentResult:
    """Enrol the employees whose personnel numbers a CSV/XLSX lists (column "Personalnummer", or the only
    column). All or nothing; every refusal names its line. Raises `TableRefused` or `EnrolmentRefused`.

    It runs inside the request, so the file may hold at most IMPORT_INLINE_MAX_ROWS rows (no course date seats
    more), counted before anything is parsed: a list of 50,000 numbers would hold the web worker for seconds."""
    if estimated_rows(data) > settings.IMPORT_INLINE_MAX_ROWS + 1:  # + the header
        raise TableRefused(
            [
                Problem(
                    1,
                    "",
                    _("An enrolment list has at most %(limit)s rows. Please split it into several files.")
                    % {"limit": number_format(settings.IMPORT_INLINE_MAX_ROWS, force_grouping=True)},
                )
            ]
        )
    return enrolment_create_from_table(actor=actor, course_date=course_date, table=read_table(data))


def enrolment_create_from_table(*, actor: User, course_date: CourseDate, table: Table) -> EnrolmentResult:
    allowed = _require_enrolling(actor, course_date.course)
    header = [normalise_header(name) for name in table.header]
    column = next((i for i, name in enumerate(header) if name in PERSONNEL_NUMBER_COLUMNS), None)
    rows = table.rows
    if column is None:
        if len(header) == 1 and header[0] and any(ch.isdigit() for ch in header[0]):
            # A bare list of numbers without a heading: the first line is a number too.
            rows = [(1, table.header), *rows]
            column = 0
        elif len(header) == 1:
            column = 0
        else:
            raise EnrolmentRefused([Refusal(_("The column “Personalnummer” is missing."), 1)])
    numbers: list[tuple[int, str]] = []
    problems = []
    for line, cells in rows:
        number = personnel_number_text(cells[column]) if column < len(cells) else ""
        if not number:
            problems.append(Refusal(_("The personnel number is missing."), line))
        else:
            numbers.append((line, number))
    if not numbers and not problems:
        raise EnrolmentRefused([Refusal(_("The file lists no personnel numbers."), 2)])

    found: dict[str, list[Employee]] = {}
    wanted = [number for _line, number in numbers]
    for start in range(0, len(wanted), 5000):
        # Only among the employees the actor may see: another organisation's personnel number is unknown to
        # them, as its record is (404), not confirmed to exist.
        for employee in Employee.objects.visible_to(actor).filter(
            personnel_number__in=wanted[start : start + 5000]
        ):
            found.setdefault(employee.personnel_number, []).append(employee)
    employees: list[Employee] = []
    lines: dict[int, int] = {}
    first_line: dict[str, int] = {}
    for line, number in numbers:
        if twice := listed_twice(first_line, number, line):
            problems.append(Refusal(twice, line))
            continue
        candidates = found.get(number, [])
        own = [e for e in candidates if e.organisation_id in allowed]
        if len(own) == 1:
            employees.append(own[0])
            lines[own[0].pk] = line
        elif len(own) > 1:
            problems.append(
                Refusal(
                    _("The personnel number %(number)s exists in more than one of your organisations.")
                    % {"number": number},
                    line,
                )
            )
        elif candidates:
            problems.append(
                Refusal(
                    _(
                        "The personnel number %(number)s belongs to an employee of an organisation that does "
                        "not take part in this course."
                    )
                    % {"number": number},
                    line,
                )
            )
        else:
            problems.append(
                Refusal(_("The personnel number %(number)s is unknown.") % {"number": number[:40]}, line)
            )
    if problems:
        if employees:
            # Report the enrolment's own reasons too, so that the user sees every problem at once.
            current = CourseDate.objects.select_related("course").get(pk=course_date.pk)
            problems += _enrolment_problems(
                actor=actor, course_date=current, employees=employees, lines=lines
            )
        problems.sort(key=lambda p: p.line or 0)
        raise EnrolmentRefused(problems)
    return enrolment_create_many(actor=actor, course_date=course_date, employees=employees, lines=lines)


def enrolment_cancel(*, actor: User, enrolment: Enrolment) -> list[Enrolment]:
    """Cancel an enrolment. HR of its organisation may do so until the cancellation deadline (a place on the
    waiting list, which holds no seat the organiser plans with, until the date begins), the organiser until the
    date begins. A freed seat goes to the first on the waiting list who fits the quota. Returns who was
    promoted."""
    with transaction.atomic():
        locked_date = (
            CourseDate.objects.select_for_update().select_related("course").get(pk=enrolment.course_date_id)
        )
        enrolment = Enrolment.objects.select_related("employee").get(pk=enrolment.pk)
        if enrolment.status == Enrolment.Status.CANCELLED:
            raise EnrolmentRefused([Refusal(_("This enrolment has already been cancelled."))])
        organiser = may(actor, Role.ORGANISER, locked_date.course.organiser_id)
        if not organiser:
            require(actor, Role.HR, enrolment.organisation_id)
        if locked_date.has_begun:
            raise EnrolmentRefused(
                [
                    Refusal(
                        _(
                            "The date has begun; its enrolments can no longer be cancelled, only marked as no-show."
                        )
                    )
                ]
            )
        if (
            not organiser
            and enrolment.status == Enrolment.Status.SEATED
            and timezone.now() > locked_date.cancellation_deadline
        ):
            raise EnrolmentRefused(
                [Refusal(_("The cancellation deadline has passed; only the organiser can cancel now."))]
            )
        return _cancel(actor=actor, locked_date=locked_date, enrolments=[enrolment])


def enrolments_end_for_leavers(*, actor: User, employee_ids: list[int]) -> int:
    """Cancel the enrolments of employees who left their organisation (`vielfalt.signals.employees_left`: HR of
    their organisation marked them inactive) on dates that have not begun, also after the cancellation deadline
    (nobody will come): their seats go to the waiting list, and nobody reminds them or lists them on a sign-in
    sheet. Dates that have begun keep them (attendance, certificates); employees still active keep theirs. Runs in
    the caller's transaction, which made them inactive; returns how many it cancelled."""
    now = timezone.now()
    parts = [employee_ids[start : start + 5000] for start in range(0, len(employee_ids), 5000)]  # an import's
    for part in parts:
        for organisation_id in set(
            Employee.objects.filter(pk__in=part).values_list("organisation_id", flat=True)
        ):
            require(actor, Role.HR, organisation_id)

    def upcoming(**filters):
        for part in parts:
            yield from (
                Enrolment.objects.active()
                .select_related("employee", "course_date__course")
                .filter(
                    employee_id__in=part,
                    employee__is_active=False,
                    course_date__starts_at__gt=now,
                    course_date__cancelled_at=None,
                    **filters,
                )
            )

    date_ids = {enrolment.course_date_id for enrolment in upcoming()}
    ended = 0
    # Locked in the order of their keys, as every other write that locks more than one date.
    for locked_date in (
        CourseDate.objects.select_for_update().select_related("course").filter(pk__in=date_ids).order_by("pk")
    ):
        enrolments = sorted(upcoming(course_date=locked_date), key=lambda enrolment: enrolment.pk)
        _cancel(actor=actor, locked_date=locked_date, enrolments=enrolments)
        ended += len(enrolments)
    return ended


def _cancel(*, actor: User, locked_date: CourseDate, enrolments: list[Enrolment]) -> list[Enrolment]:
    """Cancel `enrolments` of the date locked by the caller; seats they free go to the first on the waiting list
    who fit the quota, and everyone concerned gets an e-mail once the transaction commits. Returns who was
    promoted."""
    now = timezone.now()
    seat_freed = False
    for enrolment in enrolments:
        before = enrolment.status
        seat_freed = seat_freed or before == Enrolment.Status.SEATED
        enrolment.status = Enrolment.Status.CANCELLED
        enrolment.attendance = Enrolment.Attendance.UNKNOWN
        enrolment.cancelled_at = now
        enrolment.save(update_fields=["status", "attendance", "cancelled_at"])
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CHANGE,
            obj=enrolment,
            changes={"status": [before, enrolment.status]},
        )
    promoted = _fill_free_seats(locked_date, actor=actor) if seat_freed else []
    # The HR office of an employee whose enrolment the organiser cancelled did not do it, and is told it when
    # the employee has no e-mail address (trainings.tasks.TOLD_THROUGH_HR).
    by_organiser = {e.pk for e in enrolments if not may(actor, Role.HR, e.organisation_id)}
    _send_on_commit([e.pk for e in enrolments if e.pk not in by_organiser], "cancelled")
    _send_on_commit(sorted(by_organiser), "cancelled_by_organiser")
    _send_on_commit([e.pk for e in promoted], "promoted")
    return promoted


# --- Attendance and certificates ------------------------------------------------------------------------------


@dataclass
class AttendanceMarked:
    """What saving a date's attendance did: marks changed, and certificates revoked or standing again with them."""

    changed: int = 0
    revoked: int = 0
    reinstated: int = 0


@transaction.atomic
def attendance_mark(*, actor: User, course_date: CourseDate, marks: dict[int, str]) -> AttendanceMarked:
    """`marks`: enrolment pk → Enrolment.Attendance value, for seated enrolments of this date only, once the
    date has begun (before, nobody can have attended it)."""
    require(actor, Role.ORGANISER, course_date.course.organiser_id)
    if not course_date.has_begun:
        raise ValidationError(_("Attendance can be recorded once the date has begun."))
    valid = set(Enrolment.Attendance.values)
    result = AttendanceMarked()
    enrolments = list(
        course_date.enrolments.filter(status=Enrolment.Status.SEATED, pk__in=list(marks))
        .order_by("pk")  # locked in one order by everyone: two saves of the same page wait, never deadlock
        .select_for_update()
    )
    # Their certificates read once the enrolments are locked, in a statement of its own: a certificate the
    # certificates job issued while this waited for the lock is seen (the locking statement would not see it).
    certificates = Certificate.objects.in_bulk(
        [enrolment.pk for enrolment in enrolments], field_name="enrolment_id"
    )
    for enrolment in enrolments:
        value = marks[enrolment.pk]
        if value not in valid or value == enrolment.attendance:
            continue
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CHANGE,
            obj=enrolment,
            changes={"attendance": [enrolment.attendance, value]},
        )
        enrolment.attendance = value
        enrolment.save(update_fields=["attendance"])
        if certificate := certificates.get(enrolment.pk):
            _certificate_follows_attendance(
                actor=actor, enrolment=enrolment, certificate=certificate, result=result
            )
        result.changed += 1
    return result


def _certificate_follows_attendance(
    *, actor: User, enrolment: Enrolment, certificate: Certificate, result: AttendanceMarked
) -> None:
    """A certificate stands only while its holder's attendance says "attended": corrected away from it, the
    certificate is revoked (its verification page says so, it is no longer handed out); put back, it stands
    again. `enrolment` is locked; `result` counts what happened to the certificate."""
    attended = enrolment.attendance == Enrolment.Attendance.ATTENDED
    if attended == (certificate.revoked_at is None):
        return
    if attended:
        result.reinstated += 1
    else:
        result.revoked += 1
    before = certificate.revoked_at
    certificate.revoked_at = None if attended else timezone.now()
    certificate.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CHANGE,
        obj=certificate,
        changes={"revoked": [str(before or ""), str(certificate.revoked_at or "")]},
    )


@transaction.atomic
def certificate_issue(*, actor: User, enrolment: Enrolment) -> Certificate:
    """The certificate of an attended enrolment, issued by the course's organiser; issuing again returns the
    same one. Decided on the enrolment as it stands, locked: the certificates job, working through a date's
    list read earlier, issues none to someone whose attendance the organiser corrected meanwhile (and a
    correction waiting for the lock revokes the certificate issued before it, `attendance_mark`)."""
    require(actor, Role.ORGANISER, enrolment.course_date.course.organiser_id)
    course_date = enrolment.course_date
    enrolment = Enrolment.objects.select_for_update().select_related("employee").get(pk=enrolment.pk)
    if (
        enrolment.status != Enrolment.Status.SEATED
        or enrolment.attendance != Enrolment.Attendance.ATTENDED
        or not course_date.has_begun
    ):
        raise EnrolmentRefused([Refusal(_("Only attended enrolments get a certificate."))])
    existing = Certificate.objects.filter(enrolment=enrolment).first()
    if existing:
        return existing
    course = course_date.course
    start = timezone.localtime(course_date.starts_at)
    end = timezone.localtime(course_date.ends_at)
    date_text = formats.date_format(start, "d.m.Y")
    if end.date() != start.date():
        date_text = f"{date_text} – {formats.date_format(end, 'd.m.Y')}"
    certificate = Certificate.objects.create(  # none can be added meanwhile: the enrolment is locked
        enrolment=enrolment,
        holder_name=enrolment.employee.full_name,
        course_title=course.title,
        course_content=course.description,
        date_text=date_text,
        duration_hours=Decimal(course.duration_hours),
        organiser_name=course.organiser.name,
    )
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, obj=certificate)
    return certificate


# --- E-mail ---------------------------------------------------------------------------------------------------


def _send_on_commit(enrolment_ids: list[int], event: str) -> None:
    if not enrolment_ids:
        return
    from .tasks import task_send_enrolment_mails

    send_after_commit(task_send_enrolment_mails, enrolment_ids=list(enrolment_ids), event=event)


def certificate_seal_check(certificate: Certificate) -> SealCheck | None:
    """Whether the certificate's stored PDF still carries the portal's intact seal (None: no PDF yet)."""
    if not certificate.file:
        return None
    try:
        with certificate.file.open("rb") as stored:
            return check_pdf(stored.read())
    except FileNotFoundError:
        return SealCheck("unreadable")


# --- Background jobs for a course date ----------------------------------------------------------------------


def sign_in_sheet_request(*, actor: User, course_date: CourseDate) -> Job:
    """The sign-in sheet of a date as a PDF, rendered in the background once the transaction commits."""
    from .tasks import task_render_sign_in_sheet  # the tasks module imports this one

    require(actor, Role.ORGANISER, course_date.course.organiser_id)
    if course_date.is_cancelled:
        raise ValidationError(_("A cancelled date has no sign-in sheet."))
    return job_enqueue(
        task=task_render_sign_in_sheet,
        origin=course_date,
        kind="trainings.sign_in_sheet",
        description=_("Sign-in sheet: %(date)s") % {"date": course_date},
        requested_by=actor,
        organisation=course_date.course.organiser,
        role=Role.ORGANISER,
        course_date_id=course_date.pk,
        actor_id=actor.pk,
    )


def certificates_request(*, actor: User, course_date: CourseDate) -> Job:
    """The certificates of everyone who attended a date, built in the background once the transaction
    commits."""
    from .tasks import task_build_certificates  # the tasks module imports this one

    require(actor, Role.ORGANISER, course_date.course.organiser_id)
    return job_enqueue(
        task=task_build_certificates,
        origin=course_date,
        kind="trainings.certificates",
        description=_("Certificates: %(date)s") % {"date": course_date},
        requested_by=actor,
        organisation=course_date.course.organiser,
        role=Role.ORGANISER,
        course_date_id=course_date.pk,
        actor_id=actor.pk,
    )
