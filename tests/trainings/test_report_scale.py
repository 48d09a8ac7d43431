"""The training report at full scale: on PostgreSQL its unit table comes from the counts kept by triggers
(EmployeeCount, EmployeeAttendance) and says exactly what counting every employee said; its date table reads
the tallies and the no-shows' own index."""

import pytest
from django.db import connection
from django.db.models import Count, Exists, OuterRef
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import need
from tests.factories import EmployeeFactory, OrgUnitFactory, ministry_user
from tests.trainings.conftest import employees_of
from tests.trainings.factories import CourseDateFactory, CourseFactory, CourseParticipantFactory, begin
from trainings.models import Enrolment
from trainings.selectors import report_by_unit
from trainings.services import attendance_mark, enrolment_create_many
from vielfalt.models import Employee, TargetGroup

pytestmark = pytest.mark.django_db


def _counted(user) -> list[tuple]:
    """The unit table as counting every employee gives it (the query the report ran before)."""
    attended = Enrolment.objects.attended().filter(employee=OuterRef("pk"))
    return [
        (
            row["organisation__name"],
            row["org_unit__name"] or "",
            row["target_group"],
            row["employees"],
            row["trained"],
        )
        for row in Employee.objects.filter(is_active=True)
        .values("organisation__name", "org_unit__name", "target_group")
        .annotate(employees=Count("pk"), trained=Count("pk", filter=Exists(attended)))
        .order_by("organisation__name", "org_unit__name", "target_group")
    ]


def test_the_unit_table_from_the_kept_counts_says_what_counting_says(
    course, duisburg, oberhausen, hr_duisburg, organiser
):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    office, school = (
        OrgUnitFactory(organisation=duisburg, name="Bürgeramt"),
        OrgUnitFactory(organisation=duisburg),
    )
    people = employees_of(duisburg, 4, org_unit=office) + employees_of(duisburg, 2, org_unit=None)
    people += employees_of(duisburg, 2, org_unit=school, target_group=TargetGroup.TRAINEE)
    employees_of(oberhausen, 3)
    other_course = CourseFactory(organiser=oberhausen)
    CourseParticipantFactory(course=other_course, organisation=duisburg)
    first, second = (
        CourseDateFactory(course=course, capacity=20),
        CourseDateFactory(course=other_course, capacity=20),
    )
    seated = enrolment_create_many(actor=hr_duisburg, course_date=first, employees=people[:6]).seated
    attendance_mark(
        actor=organiser,
        course_date=begin(first),
        marks={
            seated[0].pk: "attended",
            seated[1].pk: "attended",
            seated[4].pk: "attended",
            seated[5].pk: "no_show",
        },
    )
    again = enrolment_create_many(actor=hr_duisburg, course_date=second, employees=[people[0]]).seated
    attendance_mark(
        actor=organiser, course_date=begin(second), marks={again[0].pk: "attended"}
    )  # trained twice
    # Who is counted where moves with the employee: another unit, another group, deactivated.
    Employee.objects.filter(pk=people[1].pk).update(org_unit=school, target_group=TargetGroup.MANAGER)
    Employee.objects.filter(pk=people[4].pk).update(is_active=False)
    ministry = ministry_user()
    labels = dict(TargetGroup.choices)
    expected = [(o, u, str(labels[g]), e, t) for o, u, g, e, t in _counted(ministry)]
    rows = report_by_unit(ministry)
    assert [
        (r["organisation"], r["org_unit"], r["target_group"], r["employees"], r["trained"]) for r in rows
    ] == expected
    assert sum(r["trained"] for r in rows) == 2
    assert [r for r in report_by_unit(hr_duisburg) if r["organisation"] != duisburg.name] == []


def test_the_report_reads_no_employee_to_count_and_no_enrolment_but_the_no_shows(client, course, duisburg):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    EmployeeFactory.create_batch(3, organisation=duisburg)
    CourseDateFactory(course=course)
    client.force_login(ministry_user())
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("trainings:report")).status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    assert not [sql for sql in statements if 'COUNT("vielfalt_employee"."id")' in sql]
    enrolments = [sql for sql in statements if "trainings_enrolment" in sql]
    assert enrolments and all("e.attendance = 'no_show'" in sql for sql in enrolments)
