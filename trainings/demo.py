"""Demo data (called by `manage.py seed_demo`): the joint course of Oberhausen and Duisburg from the press
report, with dates for trainees, public-facing staff and managers; some full with a waiting list, some past with
attendance and certificates. Idempotent: once the course exists, nothing is added."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from vielfalt.models import Employee, Organisation, TargetGroup, User

from .models import Course, CourseDate, Enrolment
from .services import attendance_mark, certificate_issue, course_create, enrolment_create_many

TITLE = "Interkulturelle Sensibilisierung"
DESCRIPTION = (
    "Kulturelle Prägungen und eigene Bilder erkennen; Kommunikation mit Bürgerinnen und Bürgern "
    "unterschiedlicher Herkunft; Umgang mit Vorurteilen und Diskriminierung; rechtliche Grundlagen "
    "(AGG, Teilhabe- und Integrationsgesetz NRW); Fallbeispiele aus Bürgerservice, Ausländerbehörde und "
    "Jugendamt."
)


def _at(days: int, hour: int) -> datetime:
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def seed(*, stdout) -> None:
    oberhausen = Organisation.objects.get(slug="oberhausen")
    duisburg = Organisation.objects.get(slug="duisburg")
    if Course.objects.filter(title=TITLE, organiser=oberhausen).exists():
        stdout.write("Trainings demo data already present.")
        return
    organiser = User.objects.get(username="schulung-oberhausen")
    hr_duisburg = User.objects.get(username="hr-duisburg")
    hr_oberhausen = User.objects.get(username="hr-oberhausen")
    course = course_create(
        actor=organiser,
        participants={duisburg: 12},
        title=TITLE,
        description=DESCRIPTION,
        target_groups=[TargetGroup.TRAINEE, TargetGroup.PUBLIC_FACING, TargetGroup.MANAGER],
        organiser=oberhausen,
        duration_hours=Decimal("7.5"),
        format=Course.Format.IN_PERSON,
        language=Course.Language.GERMAN,
    )

    def new_date(days, group, capacity, location="Rathaus Oberhausen, Ratssaal"):
        return CourseDate.objects.create(
            course=course,
            target_group=group,
            starts_at=_at(days, 9),
            ends_at=_at(days, 16) + timedelta(minutes=30),
            location=location,
            trainer="Dr. Aylin Demir",
            capacity=capacity,
            enrolment_deadline=_at(days - 7, 12),
            cancellation_deadline=_at(days - 3, 12),
        )

    def staff(organisation, group, count):
        return list(
            Employee.objects.filter(organisation=organisation, target_group=group, is_active=True).order_by(
                "personnel_number"
            )[:count]
        )

    # Trainees: full, with a waiting list.
    trainees = new_date(21, TargetGroup.TRAINEE, 10)
    enrolment_create_many(
        actor=hr_duisburg,
        course_date=trainees,
        employees=staff(duisburg, TargetGroup.TRAINEE, 12),
        notify=False,
    )
    enrolment_create_many(
        actor=hr_oberhausen,
        course_date=trainees,
        employees=staff(oberhausen, TargetGroup.TRAINEE, 4),
        notify=False,
    )
    # Public-facing staff: seats still free.
    public = new_date(35, TargetGroup.PUBLIC_FACING, 16, "Bürgerservice Hamborn, Schulungsraum")
    enrolment_create_many(
        actor=hr_duisburg,
        course_date=public,
        employees=staff(duisburg, TargetGroup.PUBLIC_FACING, 6),
        notify=False,
    )
    # Managers: online.
    managers = new_date(49, TargetGroup.MANAGER, 12, "")
    managers.online_link = "https://konferenz.oberhausen.example/interkulturell"
    managers.save(update_fields=["online_link"])
    enrolment_create_many(
        actor=hr_duisburg,
        course_date=managers,
        employees=staff(duisburg, TargetGroup.MANAGER, 4),
        notify=False,
    )

    # Past dates: attendance recorded, certificates issued.
    for days, group in ((-30, TargetGroup.PUBLIC_FACING), (-60, TargetGroup.MANAGER)):
        past = new_date(days, group, 12)
        people = staff(duisburg, group, 14)[6:14] + staff(oberhausen, group, 3)
        Enrolment.objects.bulk_create(
            Enrolment(
                course_date=past,
                employee=person,
                organisation_id=person.organisation_id,
                status=Enrolment.Status.SEATED,
                enrolled_by=hr_duisburg,
            )
            for person in people
        )
        marks = {}
        for index, enrolment in enumerate(past.enrolments.order_by("pk")):
            marks[enrolment.pk] = (
                Enrolment.Attendance.NO_SHOW if index % 5 == 4 else Enrolment.Attendance.ATTENDED
            )
        attendance_mark(actor=organiser, course_date=past, marks=marks)
        for enrolment in past.enrolments.filter(attendance=Enrolment.Attendance.ATTENDED).select_related(
            "employee", "course_date__course__organiser"
        ):
            certificate_issue(actor=organiser, enrolment=enrolment)
    stdout.write(f"Trainings: course “{TITLE}” with {course.dates.count()} dates.")
