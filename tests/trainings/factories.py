from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from tests.factories import OrganisationFactory
from trainings.models import Course, CourseDate, CourseParticipant, Enrolment


class CourseFactory(DjangoModelFactory):
    class Meta:
        model = Course

    title = factory.Sequence(lambda n: f"Interkulturelle Sensibilisierung {n}")
    description = "Kultur, Kommunikation, Vorurteile; Fallbeispiele aus dem Bürgerservice."
    target_groups = factory.LazyFunction(lambda: ["trainee", "public_facing", "manager"])
    organiser = factory.SubFactory(OrganisationFactory)
    duration_hours = Decimal("7.5")


class CourseParticipantFactory(DjangoModelFactory):
    class Meta:
        model = CourseParticipant

    course = factory.SubFactory(CourseFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    seat_quota = None


class CourseDateFactory(DjangoModelFactory):
    class Meta:
        model = CourseDate

    course = factory.SubFactory(CourseFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))
    ends_at = factory.LazyAttribute(lambda d: d.starts_at + timedelta(hours=7))
    location = "Rathaus Oberhausen, Raum 101"
    trainer = "Dr. Aylin Demir"
    capacity = 12
    enrolment_deadline = factory.LazyAttribute(lambda d: d.starts_at - timedelta(days=3))
    cancellation_deadline = factory.LazyAttribute(lambda d: d.starts_at - timedelta(days=2))


class EnrolmentFactory(DjangoModelFactory):
    class Meta:
        model = Enrolment

    course_date = factory.SubFactory(CourseDateFactory)
    employee = None
    organisation = factory.LazyAttribute(lambda e: e.employee.organisation)
    status = Enrolment.Status.SEATED


def begin(course_date: CourseDate, *, ago: timedelta = timedelta(hours=1)) -> CourseDate:
    """Let `course_date` have begun `ago` (as the clock moves on after HR enrolled): its start and deadlines
    move into the past, its length stays. Returns it read again."""
    starts_at = timezone.now() - ago
    CourseDate.objects.filter(pk=course_date.pk).update(
        starts_at=starts_at,
        ends_at=starts_at + (course_date.ends_at - course_date.starts_at),
        enrolment_deadline=starts_at - timedelta(days=3),
        cancellation_deadline=starts_at - timedelta(days=2),
    )
    course_date.refresh_from_db()
    return course_date
