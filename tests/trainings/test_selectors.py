import pytest

from tests.trainings.conftest import employees_of
from tests.trainings.factories import begin
from trainings.models import Enrolment
from trainings.selectors import trained_by_target_group, visible_employee_names
from trainings.services import attendance_mark, enrolment_create_many

pytestmark = pytest.mark.django_db


def test_trained_by_target_group(course_date, duisburg, oberhausen, hr_duisburg, hr_oberhausen, organiser):
    trainees = employees_of(duisburg, 2, target_group="trainee")
    manager = employees_of(oberhausen, 1, target_group="manager")
    seated = enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=trainees).seated
    seated += enrolment_create_many(actor=hr_oberhausen, course_date=course_date, employees=manager).seated
    attendance_mark(
        actor=organiser,
        course_date=begin(course_date),
        marks={seated[0].pk: "attended", seated[1].pk: "no_show", seated[2].pk: "attended"},
    )
    assert trained_by_target_group() == {"trainee": 1, "public_facing": 0, "manager": 1, "other": 0}
    assert trained_by_target_group(organisation_ids=[duisburg.pk])["manager"] == 0


@pytest.mark.parametrize("count", [1, 3])
def test_visible_employee_names_costs_one_query_however_many(
    count, course_date, duisburg, oberhausen, hr_duisburg, hr_oberhausen, django_assert_num_queries
):
    own = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, count)
    ).seated
    other = enrolment_create_many(
        actor=hr_oberhausen, course_date=course_date, employees=employees_of(oberhausen, 1)
    ).seated
    enrolments = list(Enrolment.objects.filter(pk__in=[e.pk for e in own + other]).order_by("pk"))
    with django_assert_num_queries(1):
        names = visible_employee_names(hr_duisburg, enrolments)
    assert names == [e.employee.full_name for e in own]
