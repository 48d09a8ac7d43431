"""The counts of a course's dates (`CourseDateQuerySet.with_counts`) read DateTally, which PostgreSQL's
triggers keep in step with every write to enrolments: they must equal what counting the enrolments gives,
after any kind of write, by any path."""

import pytest
from django.db.models import Count

from tests.trainings.conftest import employees_of
from tests.trainings.factories import CourseDateFactory, EnrolmentFactory
from trainings.models import CourseDate, DateTally, Enrolment
from trainings.services import enrolment_cancel, enrolment_create_many

pytestmark = pytest.mark.django_db


def counted() -> dict:
    rows = Enrolment.objects.values("course_date_id", "status").annotate(n=Count("pk")).order_by()
    return {(row["course_date_id"], row["status"]): row["n"] for row in rows}


def tallied() -> dict:
    rows = DateTally.objects.exclude(enrolments=0).values_list("course_date_id", "status", "enrolments")
    return {(date_id, status): n for date_id, status, n in rows}


def assert_counts_agree():
    assert tallied() == counted()
    expected = counted()
    for course_date in CourseDate.objects.with_counts():
        assert (course_date.seated_count, course_date.waiting_count) == (
            expected.get((course_date.pk, "seated"), 0),
            expected.get((course_date.pk, "waiting"), 0),
        )


def test_date_tally_follows_every_kind_of_write(postgres, course_date, duisburg, hr_duisburg, organiser):
    other_date = CourseDateFactory(course=course_date.course, capacity=1)
    result = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 14)
    )
    assert_counts_agree()
    assert (len(result.seated), len(result.waiting)) == (12, 2)
    enrolment_cancel(actor=organiser, enrolment=result.seated[0])  # the first waiting moves up
    assert_counts_agree()
    enrolment_create_many(actor=hr_duisburg, course_date=other_date, employees=employees_of(duisburg, 3))
    assert_counts_agree()
    # Paths around the services: a bulk update moving enrolments between dates and statuses, a save, deletes.
    Enrolment.objects.filter(course_date=other_date).update(course_date=course_date, status="waiting")
    assert_counts_agree()
    enrolment = Enrolment.objects.filter(status="waiting").first()
    enrolment.status = "cancelled"
    enrolment.save()
    Enrolment.objects.filter(course_date=course_date, attendance="unknown").update(attendance="unknown")
    assert_counts_agree()
    Enrolment.objects.filter(status="cancelled").delete()
    EnrolmentFactory(course_date=other_date, employee=employees_of(duisburg, 1)[0], status="waiting")
    assert_counts_agree()
    assert CourseDate.objects.with_counts().get(pk=other_date.pk).waiting_count == 1


def test_dates_without_enrolments_count_zero(postgres, course_date):
    assert CourseDate.objects.with_counts().values_list("seated_count", "waiting_count").get() == (0, 0)
