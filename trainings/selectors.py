"""Reads that aggregate: the training report per organisation and org unit, and per course date."""

from datetime import date, datetime, time

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from vielfalt.collation import NAMES_SQL, text_order
from vielfalt.models import Employee, Organisation, Role, TargetGroup
from vielfalt.permissions import organisation_ids

from .models import AttendanceTally, CourseDate, EmployeeAttendance, Enrolment, StaffTally


def report_organisations(user):
    """The ministry sees every organisation, HR its own."""
    return Organisation.objects.acting_for(user, (Role.MINISTRY, Role.HR))


def report_by_unit(user) -> list[dict]:
    """One row per organisation, org unit and target group: active employees, how many attended a course,
    and the share; computed in the database (a constant number of queries)."""
    return UnitReport(user).read(0, None)[0]


class UnitReport:
    """`report_by_unit` a page at a time (`read`), for vielfalt.pagination.ReadPaginator: on PostgreSQL the page's
    rows and the total come from one statement, and only the page's rows become dictionaries (the ministry's
    2,030 rows took 4 ms of Python each time)."""

    def __init__(self, user):
        self.organisations = report_organisations(user)

    def count(self) -> int:
        return self.read(0, 1)[1] or 0

    def __getitem__(self, window: slice) -> list[dict]:
        """Rows as a slice of a list gives them (what Paginator takes once it has counted)."""
        start = window.start or 0
        return self.read(start, None if window.stop is None else window.stop - start)[0]

    def read(self, start: int, count: int | None) -> tuple[list[dict], int | None]:
        """The rows from `start` (`count` of them, None: all) and the number of rows in all (None past the end,
        where no row tells it)."""
        if _tallied():
            rows, total = _units_from_counts(self.organisations, start, count)
        else:
            attended = Enrolment.objects.attended().filter(employee=OuterRef("pk"))
            everyone = list(
                Employee.objects.filter(organisation__in=self.organisations, is_active=True)
                .values("organisation__name", "org_unit__name", "target_group")
                .annotate(employees=Count("pk"), trained=Count("pk", filter=Exists(attended)))
                .order_by(*text_order(Employee, "organisation__name", "org_unit__name", "target_group"))
            )
            rows, total = everyone[start : None if count is None else start + count], len(everyone)
        labels = {group: str(label) for group, label in TargetGroup.choices}  # translated once, not per row
        return [
            {
                "organisation": row["organisation__name"],
                "org_unit": row["org_unit__name"] or "",
                "target_group": labels.get(row["target_group"], row["target_group"]),
                "employees": row["employees"],
                "trained": row["trained"],
                "share": round(100 * row["trained"] / row["employees"], 1) if row["employees"] else 0.0,
            }
            for row in rows
        ], total


# Active employees per organisation, org unit and target group from the counts kept by triggers
# (vielfalt.EmployeeCount), and those of them who attended a course from AttendanceTally (kept by triggers too,
# per unit since trainings migration 0013): a few rows per unit, not every employee of the programme checked
# for an attended enrolment (300 ms for the ministry at full scale), nor every employee who attended (128 ms;
# one city of 100,000: 111 ms). Grouped by names, as the ORM's query for SQLite is; the total of rows with
# each row, so that a page is one statement.
_UNITS = """
    SELECT o.name, u.name, c.target_group, SUM(c.employees)::integer, SUM(COALESCE(t.employees, 0))::integer,
        COUNT(*) OVER ()
    FROM vielfalt_employeecount c
    JOIN vielfalt_organisation o ON o.id = c.organisation_id
    LEFT JOIN vielfalt_orgunit u ON u.id = c.unit
    LEFT JOIN trainings_attendancetally t
        ON t.organisation_id = c.organisation_id AND t.unit = c.unit AND t.target_group = c.target_group
        AND t.is_active AND t.year = 0
    WHERE c.is_active AND c.employees > 0 AND c.organisation_id IN ({scope})
    GROUP BY o.name, u.name, c.target_group
    ORDER BY o.name COLLATE {names}, u.name COLLATE {names}, c.target_group
    LIMIT %s OFFSET %s
"""


def _units_from_counts(organisations, start: int, count: int | None) -> tuple[list[dict], int | None]:
    """`_UNITS` for these organisations (a queryset: its statement goes in as a subquery, its values bound), from
    `start`, `count` rows (None: all), and the number of rows in all (None past the end)."""
    scope, params = organisations.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_UNITS.format(scope=scope, names=NAMES_SQL), [*params, count, start])
        rows = cursor.fetchall()
    return [
        {
            "organisation__name": organisation,
            "org_unit__name": unit,
            "target_group": group,
            "employees": employees,
            "trained": trained,
        }
        for organisation, unit, group, employees, trained, _total in rows
    ], rows[0][5] if rows else (None if start else 0)


REPORT_DATE_ORDER = ("starts_at", "pk")


def report_by_date(user):
    """The dates the user may see, with their seated and waiting enrolments (`with_counts`: kept by triggers on
    PostgreSQL) and no-shows (a partial index of them): a join grouped over every enrolment of the programme took
    the ministry's report 180 ms."""
    return (
        CourseDate.objects.visible_to(user)
        .select_related("course")
        .with_counts()
        .annotate(no_shows=_no_shows(user))
        .order_by(*REPORT_DATE_ORDER)
    )


class DateReport:
    """`report_by_date` as a list of dictionaries that a paginator slices: a page's dates are chosen by their ids
    first, in a subquery, and only they are counted (PostgreSQL computes the counts of the rows an OFFSET skips
    too: 22 ms for the ministry's fiftieth page at full scale)."""

    FIELDS = (
        "pk",
        "course__title",
        "starts_at",
        "cancelled_at",
        "capacity",
        "seated_count",
        "waiting_count",
        "no_shows",
    )

    def __init__(self, user):
        self.user = user
        self.ids = CourseDate.objects.visible_to(user).order_by(*REPORT_DATE_ORDER).values("pk")

    def count(self) -> int:
        return self.ids.count()

    def __getitem__(self, window: slice) -> list[dict]:
        return list(report_by_date(self.user).filter(pk__in=self.ids[window]).values(*self.FIELDS))


# The constants written out, not bound: PostgreSQL uses a partial index only where it can see the statement
# asks for its condition, which a parameter hides from a plan prepared for any value.
# Enrolment.Status.SEATED and Enrolment.Attendance.NO_SHOW, as the index enrolment_date_no_show names them.
_NO_SHOWS = (
    "(SELECT COUNT(*) FROM trainings_enrolment e WHERE e.course_date_id = trainings_coursedate.id"
    " AND e.status = 'seated' AND e.attendance = 'no_show')"
)


def no_shows_of_all(user) -> bool:
    """Whether the no-shows `user` is shown count every organisation's employees (the ministry,
    administrators), not only those of their own (`_no_shows`)."""
    return organisation_ids(user, Role.MINISTRY) is None


def _no_shows(user) -> RawSQL:
    """Each date's no-shows: a count of every one for the ministry (which sees no enrolment itself,
    `Enrolment.visible_to`, but follows the programme in counts) and for the organiser of the course, else of
    those of the organisations the user is HR of (as `Enrolment.visible_to`). A partner's
    HR was shown the no-shows of every city on a joint date: other cities' attendance, which the page's own
    seated list does not show it, read as its own staff's. Organisation ids are written as parameters after the
    constant conditions, which the partial index still sees."""
    if no_shows_of_all(user):
        return RawSQL(_NO_SHOWS, (), output_field=IntegerField())  # noqa: S611 (a constant statement)
    scopes = (
        (organisation_ids(user, Role.HR), "e.organisation_id IN ({})"),
        (
            organisation_ids(user, Role.ORGANISER),
            "trainings_coursedate.course_id IN (SELECT c.id FROM trainings_course c WHERE c.organiser_id IN ({}))",
        ),
    )
    conditions, params = [], []
    for ids, condition in scopes:
        if ids:
            conditions.append(condition.format(", ".join(["%s"] * len(ids))))
            params += sorted(ids)
    scoped = f"{_NO_SHOWS[:-1]} AND ({' OR '.join(conditions) or '1 = 0'}))"
    return RawSQL(scoped, params, output_field=IntegerField())  # noqa: S611 (constants and bound ids)


def _tallied() -> bool:
    """Whether the database keeps the counts (PostgreSQL's triggers, migration 0005 and 0006)."""
    return connection.vendor == "postgresql"


def trained_total(*, organisation_ids, target_group=None, unit=None) -> int | None:
    """Active employees of these organisations (optionally of one target group, of one org unit's id) who
    attended a course, from AttendanceTally; None where the database keeps no tallies (SQLite)."""
    if not _tallied():
        return None
    tally = AttendanceTally.objects.filter(year=0, is_active=True, organisation_id__in=organisation_ids)
    if target_group:
        tally = tally.filter(target_group=target_group)
    if unit:
        tally = tally.filter(unit=unit)
    return tally.aggregate(n=Sum("employees"))["n"] or 0


def trained_by_target_group(*, organisation_ids=None) -> dict[str, int]:
    """Employees who attended at least one course, per target group: the figure the programme dashboard and
    the commitments' indicators ("people trained per target group") read. One query."""
    if _tallied():
        tally = AttendanceTally.objects.filter(year=0)
        if organisation_ids is not None:
            tally = tally.filter(organisation_id__in=organisation_ids)
        counts = dict(
            tally.values("target_group").annotate(n=Sum("employees")).values_list("target_group", "n")
        )
    else:
        attended = Enrolment.objects.attended().filter(employee=OuterRef("pk"))
        employees = Employee.objects.filter(Exists(attended))
        if organisation_ids is not None:
            employees = employees.filter(organisation_id__in=organisation_ids)
        counts = dict(
            employees.values("target_group").annotate(n=Count("pk")).values_list("target_group", "n")
        )
    return {group: counts.get(group, 0) for group in TargetGroup.values}


def course_in_period(start: date | None, as_of: date, prefix: str = "course_date__") -> Q:
    """Course dates that began on a (local) day from `start` (if given) to `as_of`."""
    condition = Q(**{f"{prefix}starts_at__lte": timezone.make_aware(datetime.combine(as_of, time.max))})
    if start:
        condition &= Q(**{f"{prefix}starts_at__gte": timezone.make_aware(datetime.combine(start, time.min))})
    return condition


def training_by_organisation(organisation_ids, as_of: date, start: date | None = None) -> dict[int, dict]:
    """Per organisation (all of them for None): active employees ("employees"), and the employees who
    attended a course that began from `start` (if given) to `as_of`, per target group ("groups") and those of
    them still active ("trained_active"). Three small queries over the tallies the database keeps
    (StaffTally, AttendanceTally and, for first days after `as_of`, EmployeeAttendance), or, on SQLite, one
    over the employees and their enrolments; the same figures either way."""
    rows = (
        _training_rows_tallied(organisation_ids, as_of, start)
        if _tallied()
        else _training_rows_counted(organisation_ids, as_of, start)
    )
    result: dict[int, dict] = {}
    groups = TargetGroup.values  # a property that builds a list: once, not per row
    for organisation_id, target_group, is_active, employees, attended in rows:
        entry = result.get(organisation_id)
        if entry is None:
            entry = result[organisation_id] = {
                "employees": 0,
                "trained_active": 0,
                "groups": dict.fromkeys(groups, 0),
            }
        if is_active:
            entry["employees"] += employees
            entry["trained_active"] += attended
        entry["groups"][target_group] += attended
    return result


def _scoped(queryset, organisation_ids):
    return queryset if organisation_ids is None else queryset.filter(organisation_id__in=organisation_ids)


def _training_rows_tallied(organisation_ids, as_of, start):
    """(organisation, target group, active, employees, attended) from the tallies, in one round trip. A
    year's tally (or that of all years) counts whoever attended in it at all; those whose first day in it lies
    after `as_of` (the current year, attendance marked ahead) are taken off again."""
    tables = {model: model._meta.db_table for model in (StaffTally, AttendanceTally, EmployeeAttendance)}
    scope, scope_params = "", []
    if organisation_ids is not None:
        scope, scope_params = " AND organisation_id = ANY(%s)", [list(organisation_ids)]
    year = start.year if start else 0
    sql = (
        "SELECT organisation_id, target_group, is_active, employees, 0 "  # noqa: S608 (table names only)
        f"FROM {tables[StaffTally]} WHERE employees <> 0{scope} "
        "UNION ALL SELECT organisation_id, target_group, is_active, 0, employees "
        f"FROM {tables[AttendanceTally]} WHERE year = %s AND employees <> 0{scope} "
        "UNION ALL SELECT organisation_id, target_group, is_active, 0, -count(*) "
        f"FROM {tables[EmployeeAttendance]} WHERE year = %s AND first_day > %s{scope} "
        "GROUP BY organisation_id, target_group, is_active"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*scope_params, year, *scope_params, year, as_of, *scope_params])
        return cursor.fetchall()


def _training_rows_counted(organisation_ids, as_of, start):
    """The same rows counted from the employees and enrolments: one query that checks each employee's
    attendance once (an uncorrelated subquery, read once into a hash)."""
    attended = Enrolment.objects.attended().filter(course_in_period(start, as_of)).values("employee_id")
    rows = (
        _scoped(Employee.objects.all(), organisation_ids)
        .annotate(attended=ExpressionWrapper(Q(pk__in=attended), output_field=BooleanField()))
        .values("organisation_id", "target_group", "is_active", "attended")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [
        (
            row["organisation_id"],
            row["target_group"],
            row["is_active"],
            row["n"],
            row["n"] if row["attended"] else 0,
        )
        for row in rows
    ]


def seats_for_organisations(course_date: CourseDate, organisation_ids) -> list[dict]:
    """For each organisation in `organisation_ids` taking part: how many seats it can still take on this date,
    limited by the free seats and by its quota. Read without a lock: what the enrolment screens announce;
    the enrolment itself counts again under the date's lock. One query (two without `with_counts()`)."""
    from .models import CourseParticipant

    if not organisation_ids:
        return []
    seated = getattr(course_date, "seated_count", None)
    if seated is None:
        seated = course_date.enrolments.filter(status=Enrolment.Status.SEATED).count()
    free = max(course_date.capacity - seated, 0)
    taken = (
        Enrolment.objects.filter(
            course_date=course_date,
            organisation_id=OuterRef("organisation_id"),
            status=Enrolment.Status.SEATED,
        )
        .values("organisation_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    participants = (
        CourseParticipant.objects.filter(
            course_id=course_date.course_id, organisation_id__in=organisation_ids
        )
        .select_related("organisation")
        .annotate(taken=Coalesce(Subquery(taken), 0))
        .order_by(*text_order(CourseParticipant, "organisation__name"))
    )
    rows = []
    for participant in participants:
        quota = participant.seat_quota
        can_take = free if quota is None else max(min(free, quota - participant.taken), 0)
        rows.append(
            {
                "organisation": participant.organisation,
                "capacity": course_date.capacity,
                "free": free,
                "quota": quota,
                "taken": participant.taken,
                "can_take": can_take,
            }
        )
    return rows


def visible_employee_names(user, enrolments) -> list[str]:
    """The names of the employees of those `enrolments` the user may see, in their order; one query."""
    visible = (
        Enrolment.objects.visible_to(user)
        .filter(pk__in=[e.pk for e in enrolments])
        .values_list("pk", "employee__first_name", "employee__last_name")
    )
    names = {pk: f"{first} {last}" for pk, first, last in visible}
    return [names[e.pk] for e in enrolments if e.pk in names]


def taking_part_names(course_id: int) -> list[tuple[str, int | None]]:
    """(name, seat quota per date) of the organisations taking part in a course, by name: one statement of its
    own, a fraction of what compiling the ORM query costs the course page (a dozen rows, no dates)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.name, p.seat_quota FROM trainings_courseparticipant p"  # noqa: S608 (constants only)
            " JOIN vielfalt_organisation o ON o.id = p.organisation_id"
            f" WHERE p.course_id = %s ORDER BY o.name COLLATE {NAMES_SQL}, p.id",
            [course_id],
        )
        return cursor.fetchall()
