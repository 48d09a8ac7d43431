"""The dashboard and the programme-wide survey figures read counts that PostgreSQL's triggers keep in step
with every write (trainings: StaffTally, EmployeeAttendance, AttendanceTally; surveys: ResponseTally,
LanguageTally). They must equal what counting the rows gives, after any kind of write, by any path; they
must show a write at once, without a cache in between, also when Redis is unreachable; and they must not
make a survey answer visible earlier than the answers themselves are."""

import datetime
import uuid

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from surveys import results as survey_results
from surveys import services as survey_services
from surveys.models import HeldAnswer, LanguageTally, Response, ResponseTally
from tests.factories import EmployeeFactory, OrgUnitFactory, ministry_user
from tests.processes import free_port
from tests.surveys.conftest import open_campaign_with_invitations
from tests.surveys.test_anonymity import _answers
from tests.trainings.factories import CourseDateFactory, EnrolmentFactory
from trainings import selectors
from trainings.models import AttendanceTally, CourseDate, EmployeeAttendance, Enrolment
from trainings.services import attendance_mark
from vielfalt.models import Employee, TargetGroup
from vielfalt.permissions import SYSTEM

from .conftest import make_partner
from .test_views import figure

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgres(postgres):
    """The tallies are PostgreSQL's (on SQLite the selectors count the rows)."""


def _normalised(rows) -> dict:
    found = {}
    for organisation_id, target_group, is_active, employees, attended in rows:
        entry = found.setdefault((organisation_id, target_group, is_active), [0, 0])
        entry[0] += employees
        entry[1] += attended
    return {key: tuple(value) for key, value in found.items() if value != [0, 0]}


def assert_training_tallies_agree():
    """For every period the dashboard and the reports ask for: the tallies give what counting gives."""
    today = timezone.localdate()
    periods = [(None, today), (datetime.date(today.year, 1, 1), today)]
    periods += [(datetime.date(year, 1, 1), datetime.date(year, 12, 31)) for year in (2013, 2014, 2015)]
    for start, as_of in periods:
        tallied = _normalised(selectors._training_rows_tallied(None, as_of, start))
        counted = _normalised(selectors._training_rows_counted(None, as_of, start))
        assert tallied == counted, (start, as_of)
    assert all(value >= 0 for value in AttendanceTally.objects.values_list("employees", flat=True))
    counted_groups = {
        group: Employee.objects.filter(target_group=group, enrolments__in=Enrolment.objects.attended())
        .distinct()
        .count()
        for group in TargetGroup.values
    }
    assert selectors.trained_by_target_group() == counted_groups
    # Per org unit too (the training report's unit table, trainings migration 0013).
    tallied_units = {
        (organisation, unit, group, active): employees
        for organisation, unit, group, active, employees in AttendanceTally.objects.filter(year=0)
        .exclude(employees=0)
        .values_list("organisation_id", "unit", "target_group", "is_active", "employees")
    }
    counted_units = {
        (row["organisation_id"], row["org_unit_id"] or 0, row["target_group"], row["is_active"]): row["n"]
        for row in Employee.objects.filter(enrolments__in=Enrolment.objects.attended())
        .values("organisation_id", "org_unit_id", "target_group", "is_active")
        .annotate(n=Count("pk", distinct=True))
    }
    assert tallied_units == counted_units


def test_the_training_tallies_follow_every_kind_of_write(partners, staff):
    assert_training_tallies_agree()
    first, second = partners
    employee = EmployeeFactory(organisation=first, target_group=TargetGroup.MANAGER)
    assert_training_tallies_agree()
    # Enrolled, then marked attended through the service: the employee counts from then on.
    course_date = CourseDateFactory(starts_at=timezone.now() - datetime.timedelta(days=3))
    enrolment = EnrolmentFactory(course_date=course_date, employee=employee)
    assert_training_tallies_agree()
    attendance_mark(
        actor=SYSTEM, course_date=course_date, marks={enrolment.pk: Enrolment.Attendance.ATTENDED}
    )
    assert EmployeeAttendance.objects.filter(employee=employee).count() == 2  # this year, and any year
    assert_training_tallies_agree()
    # A second course in 2014, attendance marked ahead for a date next month (counted only from then on).
    EnrolmentFactory(
        course_date=CourseDateFactory(starts_at=datetime.datetime(2014, 12, 31, 23, 30, tzinfo=datetime.UTC)),
        employee=employee,
        attendance=Enrolment.Attendance.ATTENDED,
    )
    ahead = EnrolmentFactory(
        course_date=CourseDateFactory(starts_at=timezone.now() + datetime.timedelta(days=40)),
        employee=EmployeeFactory(organisation=second),
        attendance=Enrolment.Attendance.ATTENDED,
    )
    assert_training_tallies_agree()
    # The employee moves to another org unit, to none, changes target group, is deactivated, moves to another
    # organisation.
    unit = OrgUnitFactory(organisation=first)
    Employee.objects.filter(pk=employee.pk).update(org_unit=unit)
    assert_training_tallies_agree()
    assert set(EmployeeAttendance.objects.filter(employee=employee).values_list("unit", flat=True)) == {
        unit.pk
    }
    Employee.objects.filter(pk=employee.pk).update(org_unit=None)
    assert_training_tallies_agree()
    Employee.objects.filter(pk=employee.pk).update(target_group=TargetGroup.TRAINEE)
    assert_training_tallies_agree()
    employee.is_active = False
    employee.save()
    assert_training_tallies_agree()
    Employee.objects.filter(pk=employee.pk).update(organisation=second, is_active=True)
    assert_training_tallies_agree()
    # A course date moves to another year; one is cancelled; an enrolment moves to another employee.
    CourseDate.objects.filter(pk=ahead.course_date_id).update(
        starts_at=datetime.datetime(2015, 5, 1, 9, tzinfo=datetime.UTC)
    )
    assert_training_tallies_agree()
    # Cancelled (the service refuses it once a date has begun; an administrator's correction in the database).
    Enrolment.objects.filter(pk=enrolment.pk).update(
        status=Enrolment.Status.CANCELLED, attendance=Enrolment.Attendance.UNKNOWN
    )
    assert_training_tallies_agree()
    Enrolment.objects.filter(pk=ahead.pk).update(employee=employee)
    assert_training_tallies_agree()
    # Bulk writes (the seeds, an import): one statement, many rows.
    Enrolment.objects.filter(organisation=first, status=Enrolment.Status.SEATED).update(
        attendance=Enrolment.Attendance.NO_SHOW
    )
    assert_training_tallies_agree()
    Enrolment.objects.filter(organisation=first, status=Enrolment.Status.SEATED).update(
        attendance=Enrolment.Attendance.ATTENDED
    )
    Employee.objects.bulk_create(
        [
            Employee(organisation=first, personnel_number=f"B{n}", first_name="A", last_name="B")
            for n in range(5)
        ]
    )
    assert_training_tallies_agree()
    # Deleted: enrolments first (they protect the employee), then the employee.
    Enrolment.objects.filter(employee=employee).delete()
    Employee.objects.filter(pk=employee.pk).delete()
    assert_training_tallies_agree()
    assert not EmployeeAttendance.objects.filter(employee_id=employee.pk).exists()


def test_the_dashboard_shows_an_attendance_at_once(client, staff, partners):
    client.force_login(staff)
    before = int(figure(client.get(reverse("dashboard")).text, "trained"))
    employee = EmployeeFactory(organisation=partners[0], target_group=TargetGroup.MANAGER)
    course_date = CourseDateFactory(starts_at=timezone.now() - datetime.timedelta(days=1))
    enrolment = EnrolmentFactory(course_date=course_date, employee=employee)
    assert int(figure(client.get(reverse("dashboard")).text, "trained")) == before
    attendance_mark(
        actor=SYSTEM, course_date=course_date, marks={enrolment.pk: Enrolment.Attendance.ATTENDED}
    )
    assert int(figure(client.get(reverse("dashboard")).text, "trained")) == before + 1


def _query_counts(client) -> list[int]:
    counts = []
    for url in (reverse("dashboard"), reverse("surveys:programme")):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    return counts


def test_the_cold_dashboard_and_survey_page_make_as_many_queries_for_one_partner_as_for_three(
    client, staff, ministry, settings
):
    settings.PROGRAMME_FIGURES_CACHE_SECONDS = 0  # cold: the dashboard's figures computed, not cached
    client.force_login(staff)
    make_partner(1)
    client.get(reverse("dashboard"))  # the first request of a session stores its second-factor state
    one = _query_counts(client)
    make_partner(2)
    make_partner(3)
    assert _query_counts(client) == one


# --- Surveys -----------------------------------------------------------------------------------------------


def assert_survey_tallies_agree(monkeypatch):
    """The tallies hold the released responses, no more (no held answer), and give the programme's figures
    that counting the responses gives."""
    assert (ResponseTally.objects.aggregate(n=Sum("n"))["n"] or 0) == Response.objects.count()
    for code in survey_results.q.LANGUAGE_CODES:
        tallied = LanguageTally.objects.filter(code=code).aggregate(n=Sum("n"))["n"] or 0
        assert tallied == Response.objects.filter(languages__contains=f"|{code}|").count(), code
    tallied = survey_results.programme_results()
    with monkeypatch.context() as patched:
        patched.setattr(survey_results, "_tallied", lambda: False)
        counted = survey_results.programme_results()
    assert tallied == counted
    return tallied


def test_answers_reach_the_programme_figures_only_when_released_and_closed(monkeypatch, ministry):
    campaign, tokens, hr = open_campaign_with_invitations(employees=12, k=3)
    ministry_client = Client()
    ministry_client.force_login(ministry_user())
    empty = assert_survey_tallies_agree(monkeypatch)
    programme_page = ministry_client.get(reverse("surveys:programme")).text.split("<main")[-1]
    for number, token in enumerate(tokens[:4]):
        survey_services.response_submit(
            credential=survey_services.credential_for_token(token), answers=_answers(number + 1)
        )
    # Held answers are in no tally.
    assert HeldAnswer.objects.count() == 4 and not ResponseTally.objects.exists()
    assert assert_survey_tallies_agree(monkeypatch) == empty
    # Released (at least k at a time, by the beat task): counted in the tallies in the same transaction ...
    assert survey_services.held_release(actor=SYSTEM, campaign=campaign) == 4
    assert ResponseTally.objects.filter(campaign=campaign).aggregate(n=Sum("n"))["n"] == 4
    # ... but the campaign is open: nothing shows, as before.
    assert assert_survey_tallies_agree(monkeypatch) == empty
    assert ministry_client.get(reverse("surveys:programme")).text.split("<main")[-1] == programme_page
    # Closing releases the rest and publishes everything at once.
    survey_services.response_submit(
        credential=survey_services.credential_for_token(tokens[4]), answers=_answers(9)
    )
    survey_services.campaign_close(actor=hr, campaign=campaign)
    shown = assert_survey_tallies_agree(monkeypatch)
    assert (shown.respondents, shown.organisations) == (5, 1)
    assert ministry_client.get(reverse("surveys:programme")).context["results"].respondents == 5
    # Responses changed or deleted by hand (the purge, the admin) are taken back out.
    Response.objects.filter(pk=Response.objects.order_by("pk").first().pk).update(
        target_group="manager", languages="|tr|ar|"
    )
    assert_survey_tallies_agree(monkeypatch)
    Response.objects.filter(pk=Response.objects.order_by("pk").first().pk).delete()
    assert assert_survey_tallies_agree(monkeypatch).respondents == 4


def test_the_dashboard_counts_a_closed_campaigns_answers(client, staff, partners):
    from .conftest import closed_campaign

    client.force_login(staff)
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    before = int(figure(client.get(reverse("dashboard"), **english).text, "respondents"))
    closed_campaign(make_partner(3, survey=None), yes=5, no=6)
    assert int(figure(client.get(reverse("dashboard"), **english).text, "respondents")) == before + 11


# --- Redis -----------------------------------------------------------------------------------------------------


def _redis_caches(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "vielfalt.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"test-tallies-{uuid.uuid4().hex[:8]}",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


def test_a_write_while_redis_is_unreachable_shows_on_the_dashboard_at_once_and_later(
    client, staff, partners, settings, redis_url
):
    """The pages answer with Redis unreachable, and what was written meanwhile is not lost once Redis is
    back (there is no cached page whose version bump could have failed)."""
    from django.core.cache import cache

    from partnerships.models import AnonymisedProcedure

    reachable = _redis_caches(redis_url)
    unreachable = _redis_caches(f"redis://127.0.0.1:{free_port()}/0")
    settings.CACHE_OUTAGE_SECONDS = 0  # try Redis again at every call
    settings.DASHBOARD_CACHE_SECONDS = 300  # what production had for the dashboard before it kept no cache
    client.force_login(staff)
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    settings.CACHES = reachable
    assert figure(client.get(reverse("dashboard"), **english).text, "posts_filled") == "12"
    client.get(reverse("surveys:programme"))
    settings.CACHES = unreachable
    AnonymisedProcedure.objects.create(
        organisation=partners[0],
        post="Sachbearbeitung",
        held_on=datetime.date(2014, 9, 1),
        method=AnonymisedProcedure.Method.REDACTED_COPIES,
        applications=30,
        invited=6,
        posts_filled=2,
    )
    page = client.get(reverse("dashboard"), **english)
    assert page.status_code == 200
    assert figure(page.text, "posts_filled") == "14"
    assert client.get(reverse("surveys:programme")).status_code == 200
    settings.CACHES = reachable
    assert figure(client.get(reverse("dashboard"), **english).text, "posts_filled") == "14"
    cache.clear()
