"""Reads that aggregate: the training report per organisation and org unit, and per course date."""

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from vielfalt.models import Employee, Organisation, Role, TargetGroup

from .models import CourseDate, Enrolment


def report_organisations(user):
    """The ministry sees every organisation, HR its own."""
    return Organisation.objects.acting_for(user, (Role.MINISTRY, Role.HR))


def report_by_unit(user) -> list[dict]:
    """One row per organisation, org unit and target group: active employees, how many attended a course,
    and the share; computed in the database (a constant number of queries)."""
    attended = Enrolment.objects.attended().filter(employee=OuterRef("pk"))
    rows = (
        Employee.objects.filter(organisation__in=report_organisations(user), is_active=True)
        .values("organisation__name", "org_unit__name", "target_group")
        .annotate(employees=Count("pk"), trained=Count("pk", filter=Exists(attended)))
        .order_by("organisation__name", "org_unit__name", "target_group")
    )
    labels = dict(TargetGroup.choices)
    result = []
    for row in rows:
        result.append(
            {
                "organisation": row["organisation__name"],
                "org_unit": row["org_unit__name"] or "",
                "target_group": str(labels.get(row["target_group"], row["target_group"])),
                "employees": row["employees"],
                "trained": row["trained"],
                "share": round(100 * row["trained"] / row["employees"], 1) if row["employees"] else 0.0,
            }
        )
    return result


def report_by_date(user):
    return (
        CourseDate.objects.visible_to(user)
        .select_related("course")
        .annotate(
            seated_count=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.SEATED)),
            waiting_count=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.WAITING)),
            no_shows=Count(
                "enrolments",
                filter=Q(
                    enrolments__status=Enrolment.Status.SEATED,
                    enrolments__attendance=Enrolment.Attendance.NO_SHOW,
                ),
            ),
        )
        .order_by("starts_at", "pk")
    )


def trained_by_target_group(*, organisation_ids=None) -> dict[str, int]:
    """Employees who attended at least one course, per target group: the figure the programme dashboard and
    the commitments' indicators ("people trained per target group") read. One query."""
    attended = Enrolment.objects.attended().filter(employee=OuterRef("pk"))
    employees = Employee.objects.filter(Exists(attended))
    if organisation_ids is not None:
        employees = employees.filter(organisation_id__in=organisation_ids)
    counts = dict(employees.values("target_group").annotate(n=Count("pk")).values_list("target_group", "n"))
    return {group: counts.get(group, 0) for group in TargetGroup.values}


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
        .order_by("organisation__name")
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
