"""Every service that changes data checks its `actor` (vielfalt.permissions.require): another organisation's
HR or organiser is refused, a missing actor is an error, and the system actor is recorded as "system"."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext

from partnerships.models import Agreement
from partnerships.services import agreement_transition, agreement_update, procedure_create
from surveys.services import campaign_close, campaign_open, campaign_update, invitations_create
from tests.factories import EmployeeFactory, OrganisationFactory, UserFactory, hr_user, ministry_user
from tests.partnerships.factories import AgreementFactory
from tests.surveys.conftest import make_campaign
from tests.trainings.factories import CourseDateFactory, CourseFactory, CourseParticipantFactory
from trainings.services import (
    course_date_cancel,
    course_date_create,
    course_date_update,
    course_participants_set,
    course_update,
)
from vielfalt.models import AuditEntry, Employee, Organisation, Role
from vielfalt.permissions import SYSTEM
from vielfalt.services import employee_create, employee_deactivate, employee_update, employees_import_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def duisburg():
    return OrganisationFactory(slug="duisburg", name="Stadt Duisburg")


@pytest.fixture
def oberhausen():
    return OrganisationFactory(slug="oberhausen", name="Stadt Oberhausen")


@pytest.fixture
def hr_oberhausen(oberhausen):
    return hr_user(oberhausen, username="hr-oberhausen")


def test_hr_of_another_city_may_not_change_an_employee(duisburg, hr_oberhausen):
    employee = EmployeeFactory(organisation=duisburg, last_name="Yılmaz")
    with pytest.raises(PermissionDenied):
        employee_update(actor=hr_oberhausen, employee=employee, last_name="Changed")
    with pytest.raises(PermissionDenied):
        employee_deactivate(actor=hr_oberhausen, employee=employee)
    employee.refresh_from_db()
    assert (employee.last_name, employee.is_active) == ("Yılmaz", True)


def test_hr_of_another_city_may_not_add_or_import_employees(duisburg, hr_oberhausen):
    with pytest.raises(PermissionDenied):
        employee_create(
            actor=hr_oberhausen, organisation=duisburg, personnel_number="DU-1", first_name="A", last_name="B"
        )
    with pytest.raises(PermissionDenied):
        employees_import_file(
            actor=hr_oberhausen, organisation=duisburg, data=b"Personalnummer;Nachname;Vorname\nDU-2;B;A\n"
        )
    assert not Employee.objects.filter(organisation=duisburg).exists()


def test_an_employee_moves_only_between_organisations_the_actor_keeps(duisburg, oberhausen):
    hr = hr_user(duisburg)
    employee = EmployeeFactory(organisation=duisburg)
    with pytest.raises(PermissionDenied):
        employee_update(actor=hr, employee=employee, organisation=oberhausen, org_unit=None)
    assert Employee.objects.get(pk=employee.pk).organisation == duisburg


def test_course_services_refuse_another_organiser_and_participating_hr(duisburg, oberhausen):
    course = CourseFactory(organiser=oberhausen, title="Sensibilisierung")
    CourseParticipantFactory(course=course, organisation=duisburg)
    course_date = CourseDateFactory(course=course, capacity=10)
    other_organiser = UserFactory(roles=[(OrganisationFactory(slug="bildungswerk"), Role.ORGANISER)])
    participating_hr = hr_user(duisburg)
    for actor in (other_organiser, participating_hr, ministry_user()):
        with pytest.raises(PermissionDenied):
            course_update(actor=actor, course=course, title="Taken over")
        with pytest.raises(PermissionDenied):
            course_participants_set(actor=actor, course=course, quotas={})
        with pytest.raises(PermissionDenied):
            course_date_create(
                actor=actor,
                course=course,
                starts_at=course_date.starts_at,
                ends_at=course_date.ends_at,
                capacity=5,
                enrolment_deadline=course_date.enrolment_deadline,
                cancellation_deadline=course_date.cancellation_deadline,
            )
        with pytest.raises(PermissionDenied):
            course_date_update(actor=actor, course_date=course_date, capacity=3)
        with pytest.raises(PermissionDenied):
            course_date_cancel(actor=actor, course_date=course_date)
    course.refresh_from_db()
    course_date.refresh_from_db()
    assert (course.title, course.participants.count(), course.dates.count()) == ("Sensibilisierung", 1, 1)
    assert (course_date.capacity, course_date.cancelled_at) == (10, None)


def test_an_organiser_may_not_create_a_course_for_another_organisation(oberhausen):
    from trainings.services import course_create

    organiser = UserFactory(roles=[(OrganisationFactory(slug="bildungswerk"), Role.ORGANISER)])
    with pytest.raises(PermissionDenied):
        course_create(
            actor=organiser,
            organiser=oberhausen,
            title="Im fremden Namen",
            description="x",
            target_groups=["manager"],
            duration_hours=4,
        )


def test_campaign_services_refuse_hr_of_another_city(duisburg, hr_oberhausen):
    campaign = make_campaign(organisation=duisburg)
    with pytest.raises(PermissionDenied):
        campaign_update(actor=hr_oberhausen, campaign=campaign, title="Taken over")
    with pytest.raises(PermissionDenied):
        campaign_open(actor=hr_oberhausen, campaign=campaign)
    with pytest.raises(PermissionDenied):
        invitations_create(actor=hr_oberhausen, campaign=campaign)
    campaign_open(actor=hr_user(duisburg), campaign=campaign)
    with pytest.raises(PermissionDenied):
        campaign_close(actor=hr_oberhausen, campaign=campaign)
    campaign.refresh_from_db()
    assert (campaign.title, campaign.status, campaign.invitations.count()) == ("Befragung 2024", "open", 0)


def test_a_missing_actor_is_an_error_not_a_pass(duisburg):
    ministry = OrganisationFactory(slug="mais-nrw", kind=Organisation.Kind.STATE_MINISTRY)
    agreement = AgreementFactory(partner=duisburg, state_party=ministry, title="Vereinbarung")
    employee = EmployeeFactory(organisation=duisburg)
    campaign = make_campaign(organisation=duisburg)
    calls = [
        lambda: agreement_update(actor=None, agreement=agreement, title="Without anyone"),
        lambda: agreement_transition(actor=None, agreement=agreement, to_status=Agreement.Status.IN_REVIEW),
        lambda: employee_update(actor=None, employee=employee, last_name="Nobody"),
        lambda: campaign_open(actor=None, campaign=campaign),
        lambda: procedure_create(
            actor=None, organisation=duisburg, post="x", held_on=datetime.date(2024, 1, 1), applications=1
        ),
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()
    agreement.refresh_from_db()
    assert (agreement.title, agreement.status) == ("Vereinbarung", Agreement.Status.DRAFT)


def test_a_command_acts_as_the_system_and_is_recorded_as_such(duisburg, tmp_path):
    from django.core.management import call_command

    data = tmp_path / "beschaeftigte.csv"
    data.write_text("Personalnummer;Nachname;Vorname\nDU-9;Demir;Ayşe\n", encoding="utf-8")
    call_command("import_employees", str(data), organisation="duisburg", stdout=io.StringIO())
    entry = AuditEntry.objects.get(action=AuditEntry.Action.IMPORT)
    assert (entry.actor, entry.actor_name) == (None, "system")
    employee = employee_create(
        actor=SYSTEM, organisation=duisburg, personnel_number="DU-10", first_name="Ali", last_name="Kaya"
    )
    entry = AuditEntry.objects.get(object_id=str(employee.pk), action=AuditEntry.Action.CREATE)
    assert (entry.actor, entry.actor_name) == (None, "system")


@pytest.mark.allow_error_log  # Celery logs the task's refusal
def test_a_job_checks_the_user_again_when_it_runs(duisburg, django_capture_on_commit_callbacks):
    """A task loads the user who started it: a role withdrawn meanwhile makes the job fail."""
    from partnerships.services import agreement_request_pdf
    from vielfalt.models import Job, Membership

    ministry = OrganisationFactory(slug="mais-nrw", kind=Organisation.Kind.STATE_MINISTRY)
    staff = ministry_user()
    agreement = AgreementFactory(partner=duisburg, state_party=ministry)
    with django_capture_on_commit_callbacks() as callbacks:
        job = agreement_request_pdf(actor=staff, agreement=agreement)
    Membership.objects.filter(user=staff).delete()
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert (job.status, job.error) == (
        Job.Status.FAILED,
        gettext("You may not do this for this organisation."),
    )
    assert not agreement.documents.exists()
