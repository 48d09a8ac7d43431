"""Enrolment, waiting list, quota, cancellation and attendance: the rules, and the rules under concurrency
(real PostgreSQL, one thread per request)."""

import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation

from tests.factories import EmployeeFactory, OrganisationFactory, UserFactory, hr_user
from tests.trainings.conftest import employees_of
from tests.trainings.factories import CourseDateFactory, EnrolmentFactory, begin
from trainings.models import Certificate, Enrolment
from trainings.services import (
    EnrolmentRefused,
    attendance_mark,
    certificate_issue,
    course_date_cancel,
    course_date_update,
    course_participants_set,
    enrolment_cancel,
    enrolment_create_from_file,
    enrolment_create_many,
)
from vielfalt.models import AuditEntry, Role

pytestmark = pytest.mark.django_db


def statuses(course_date):
    return list(course_date.enrolments.order_by("pk").values_list("employee__personnel_number", "status"))


def test_seats_then_waiting_list_in_order(course_date, duisburg, hr_duisburg):
    people = employees_of(duisburg, 15)
    result = enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people)
    assert [e.employee for e in result.seated] == people[:12]
    assert [(e.employee, position) for e, position in result.waiting] == [
        (people[12], 1),
        (people[13], 2),
        (people[14], 3),
    ]
    assert [e.waiting_position for e, _ in result.waiting] == [1, 2, 3]
    assert AuditEntry.objects.filter(action="create", object_id=str(course_date.pk)).count() == 1


def test_enrolment_after_the_deadline_is_refused_with_the_reason(course, duisburg, hr_duisburg):
    course_date = CourseDateFactory(course=course, enrolment_deadline=timezone.now() - timedelta(minutes=1))
    with pytest.raises(EnrolmentRefused) as refused:
        enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 1))
    assert "deadline" in str(refused.value)
    assert Enrolment.objects.count() == 0


def test_cancelled_date_refuses_enrolment(course_date, duisburg, hr_duisburg, organiser):
    course_date_cancel(actor=organiser, course_date=course_date)
    with pytest.raises(EnrolmentRefused):
        enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 1))


def test_other_organisations_employee_and_duplicates_refuse_the_whole_batch(
    course, course_date, duisburg, hr_duisburg
):
    stranger_org = EmployeeFactory().organisation
    stranger = EmployeeFactory(organisation=stranger_org)
    people = employees_of(duisburg, 3)
    other_date = CourseDateFactory(course=course)
    enrolment_create_many(actor=hr_duisburg, course_date=other_date, employees=[people[2]])
    with pytest.raises(EnrolmentRefused) as refused:
        enrolment_create_many(
            actor=hr_duisburg, course_date=course_date, employees=[people[0], stranger, people[1], people[2]]
        )
    messages = [p.message for p in refused.value.problems]
    assert len(messages) == 2
    assert "another organisation" in messages[0] and stranger.personnel_number in messages[0]
    assert "already enrolled in this course" in messages[1] and people[2].personnel_number in messages[1]
    assert course_date.enrolments.count() == 0


def test_hr_of_an_organisation_not_taking_part_may_not_enrol(course_date):
    from tests.factories import hr_user

    outsider = EmployeeFactory()
    with pytest.raises(PermissionDenied):
        enrolment_create_many(
            actor=hr_user(outsider.organisation), course_date=course_date, employees=[outsider]
        )


def test_database_refuses_a_second_active_enrolment_on_the_same_date(course_date, duisburg):
    employee = EmployeeFactory(organisation=duisburg)
    EnrolmentFactory(course_date=course_date, employee=employee)
    with pytest.raises(IntegrityError), transaction.atomic():
        EnrolmentFactory(course_date=course_date, employee=employee, status=Enrolment.Status.WAITING)
    # after a cancellation the employee may enrol again
    Enrolment.objects.filter(employee=employee).update(status=Enrolment.Status.CANCELLED)
    EnrolmentFactory(course_date=course_date, employee=employee)


def test_quota_sends_the_rest_to_the_waiting_list_and_leaves_seats_to_others(
    course, course_date, duisburg, oberhausen, hr_duisburg, hr_oberhausen
):
    course.participants.filter(organisation=duisburg).update(seat_quota=3)
    result = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 5)
    )
    assert len(result.seated) == 3 and len(result.waiting) == 2
    # the organiser's own organisation has no quota: it still finds free seats
    result = enrolment_create_many(
        actor=hr_oberhausen, course_date=course_date, employees=employees_of(oberhausen, 4)
    )
    assert len(result.seated) == 4 and result.waiting == []


def test_raising_a_quota_moves_that_organisation_s_waiting_employees_up(
    course, duisburg, oberhausen, hr_duisburg, organiser, mailoutbox, django_capture_on_commit_callbacks
):
    """The organiser raised Duisburg's quota on a joint course with free seats: its waiting employees stayed
    waiting (until somebody else happened to cancel)."""
    course.participants.filter(organisation=duisburg).update(seat_quota=1)
    course_date = CourseDateFactory(course=course, capacity=5)
    held = begin(CourseDateFactory(course=course, capacity=5))  # begun: nobody moves up any more
    d1, d2, d3 = employees_of(duisburg, 3, email="")
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=[d1, d2, d3])
    assert statuses(course_date) == [
        (d1.personnel_number, "seated"),
        (d2.personnel_number, "waiting"),
        (d3.personnel_number, "waiting"),
    ]
    Enrolment.objects.filter(employee=d3).update(course_date=held)  # waiting on a date since begun
    d2.email = "d2@duisburg.example"
    d2.save()
    with django_capture_on_commit_callbacks(execute=True):
        course_participants_set(actor=organiser, course=course, quotas={duisburg: 3})
    assert statuses(course_date) == [(d1.personnel_number, "seated"), (d2.personnel_number, "seated")]
    assert statuses(held) == [(d3.personnel_number, "waiting")]
    assert [message.to for message in mailoutbox] == [["d2@duisburg.example"]]

    Enrolment.objects.filter(employee=d3).update(course_date=course_date)
    with django_capture_on_commit_callbacks(execute=True):  # no quota at all: the capacity decides
        course_participants_set(actor=organiser, course=course, quotas={duisburg: None})
    assert Enrolment.objects.get(employee=d3).status == "seated"


def test_hr_cancellation_promotes_the_first_waiting_who_fits_the_quota(
    course, duisburg, oberhausen, hr_duisburg, hr_oberhausen, django_capture_on_commit_callbacks
):
    course.participants.filter(organisation=duisburg).update(seat_quota=1)
    course_date = CourseDateFactory(course=course, capacity=2)
    d1, d2 = employees_of(duisburg, 2)
    o1, o2 = employees_of(oberhausen, 2)
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=[d1])
    enrolment_create_many(actor=hr_oberhausen, course_date=course_date, employees=[o1])
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=[d2])
    enrolment_create_many(actor=hr_oberhausen, course_date=course_date, employees=[o2])
    # waiting: d2 (first, but Duisburg's quota is taken), o2
    seat_o1 = Enrolment.objects.get(employee=o1)
    promoted = enrolment_cancel(actor=hr_oberhausen, enrolment=seat_o1)
    assert [e.employee for e in promoted] == [o2]
    assert Enrolment.objects.get(employee=d2).status == "waiting"
    # Duisburg cancels its seat: now d2 fits
    promoted = enrolment_cancel(actor=hr_duisburg, enrolment=Enrolment.objects.get(employee=d1))
    assert [e.employee for e in promoted] == [d2]
    assert Enrolment.objects.get(employee=d2).promoted_at is not None


def test_hr_cannot_cancel_after_the_deadline_but_the_organiser_can(course, duisburg, hr_duisburg, organiser):
    course_date = CourseDateFactory(
        course=course,
        enrolment_deadline=timezone.now() + timedelta(days=1),
        cancellation_deadline=timezone.now() - timedelta(minutes=5),
    )
    result = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 1)
    )
    enrolment = result.seated[0]
    with pytest.raises(EnrolmentRefused) as refused:
        enrolment_cancel(actor=hr_duisburg, enrolment=enrolment)
    assert "only the organiser" in str(refused.value)
    enrolment_cancel(actor=organiser, enrolment=enrolment)
    assert Enrolment.objects.get(pk=enrolment.pk).status == "cancelled"


def test_hr_takes_someone_off_the_waiting_list_after_the_cancellation_deadline(
    client, course, duisburg, hr_duisburg
):
    """The cancellation deadline keeps the seats the organiser plans with. Before, it also kept HR from taking an
    employee who could no longer come off the waiting list: moved up days later, they were told they had a seat,
    and it went unused while others waited behind them."""
    course_date = CourseDateFactory(
        course=course,
        capacity=1,
        enrolment_deadline=timezone.now() + timedelta(days=1),
        cancellation_deadline=timezone.now() - timedelta(minutes=5),
    )
    result = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 2)
    )
    (seat,), ((waiting, _position),) = result.seated, result.waiting
    client.force_login(hr_duisburg)
    page = client.get(course_date.get_absolute_url()).text
    cancel = reverse("trainings:enrolment_cancel", args=[waiting.pk])
    assert cancel in page
    assert reverse("trainings:enrolment_cancel", args=[seat.pk]) not in page
    assert client.post(cancel).status_code == 302
    assert Enrolment.objects.get(pk=waiting.pk).status == "cancelled"
    with pytest.raises(EnrolmentRefused):
        enrolment_cancel(actor=hr_duisburg, enrolment=seat)
    assert Enrolment.objects.get(pk=seat.pk).status == "seated"


def test_other_hr_cannot_cancel(course_date, duisburg, hr_duisburg, hr_oberhausen):
    enrolment = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 1)
    ).seated[0]
    with pytest.raises(PermissionDenied):
        enrolment_cancel(actor=hr_oberhausen, enrolment=enrolment)


def test_raising_the_capacity_promotes_the_waiting(course_date, duisburg, hr_duisburg, organiser):
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 14))
    course_date_update(actor=organiser, course_date=course_date, capacity=13)
    assert course_date.enrolments.filter(status="seated").count() == 13
    assert course_date.enrolments.filter(status="waiting").count() == 1


def test_cancelling_a_date_ends_every_enrolment(course_date, duisburg, hr_duisburg, organiser):
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 14))
    course_date_cancel(actor=organiser, course_date=course_date)
    assert set(course_date.enrolments.values_list("status", flat=True)) == {"cancelled"}
    course_date.refresh_from_db()
    assert course_date.is_cancelled and course_date.sequence == 1


def test_attendance_and_certificate(course_date, duisburg, hr_duisburg, organiser):
    seated = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 2)
    ).seated
    begin(course_date)
    with pytest.raises(PermissionDenied):
        attendance_mark(actor=hr_duisburg, course_date=course_date, marks={seated[0].pk: "attended"})
    attendance_mark(
        actor=organiser, course_date=course_date, marks={seated[0].pk: "attended", seated[1].pk: "no_show"}
    )
    seated[0].refresh_from_db()
    seated[1].refresh_from_db()
    certificate = certificate_issue(actor=organiser, enrolment=seated[0])
    assert certificate_issue(actor=organiser, enrolment=seated[0]) == certificate
    assert certificate.holder_name == seated[0].employee.full_name
    assert certificate.course_title == "Interkulturelle Sensibilisierung"
    assert len(certificate.code) == 14
    with pytest.raises(EnrolmentRefused):
        certificate_issue(actor=organiser, enrolment=seated[1])


def test_the_certificates_job_issues_none_for_an_attendance_corrected_after_it_read_the_list(
    course_date, duisburg, hr_duisburg, organiser
):
    """The job reads the date's attended enrolments, then renders one certificate after another; the organiser
    correcting a mark meanwhile ("nicht erschienen") still got that person a certificate that stood."""
    (seat,) = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 1)
    ).seated
    begin(course_date)
    attendance_mark(actor=organiser, course_date=course_date, marks={seat.pk: "attended"})
    read_by_the_job = Enrolment.objects.attended().get(pk=seat.pk)
    attendance_mark(actor=organiser, course_date=course_date, marks={seat.pk: "no_show"})
    with pytest.raises(EnrolmentRefused):
        certificate_issue(actor=organiser, enrolment=read_by_the_job)
    assert not Certificate.objects.filter(enrolment=seat).exists()


def test_a_correction_waiting_for_the_certificates_job_revokes_what_it_issued(
    transactional_db, postgres, course_date, duisburg, hr_duisburg, organiser
):
    """The job holds the enrolment while it issues its certificate; the organiser's correction waits for it. The
    correction's read of the enrolments had begun before the certificate existed and did not see it: the
    certificate of someone marked "nicht erschienen" stood."""
    (seat,) = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 1)
    ).seated
    begin(course_date)
    attendance_mark(actor=organiser, course_date=course_date, marks={seat.pk: "attended"})
    errors = []

    def correct():
        try:
            attendance_mark(actor=organiser, course_date=course_date, marks={seat.pk: "no_show"})
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    with transaction.atomic():
        Enrolment.objects.select_for_update().get(pk=seat.pk)  # the job's lock, as certificate_issue takes it
        correction = threading.Thread(target=correct)
        correction.start()
        time.sleep(0.5)  # the correction is now waiting for the lock
        certificate = certificate_issue(actor=organiser, enrolment=Enrolment.objects.get(pk=seat.pk))
    correction.join(timeout=30)
    assert errors == [] and not correction.is_alive()
    seat.refresh_from_db()
    certificate.refresh_from_db()
    assert seat.attendance == "no_show"
    assert certificate.revoked_at is not None


def test_a_date_is_a_record_from_its_start(course, duisburg, hr_duisburg, organiser):
    """Before its start nobody can have attended a date; from its start who took part no longer changes. The
    organiser could mark a date of next month as attended and have its certificates sealed, and cancel an
    enrolment of a date held last week: the attendance was wiped, the first on the waiting list was moved up
    into the past date and e-mailed that a seat was free."""
    course_date = CourseDateFactory(course=course, capacity=2)
    result = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 3)
    )
    (first, second), ((third, _position),) = result.seated, result.waiting
    with pytest.raises(ValidationError, match="once the date has begun"):
        attendance_mark(actor=organiser, course_date=course_date, marks={first.pk: "attended"})
    Enrolment.objects.filter(pk=first.pk).update(attendance="attended")  # however it got there
    first.refresh_from_db()
    with pytest.raises(EnrolmentRefused):
        certificate_issue(actor=organiser, enrolment=first)
    Enrolment.objects.filter(pk=first.pk).update(attendance="unknown")

    begin(course_date)
    attendance_mark(
        actor=organiser, course_date=course_date, marks={first.pk: "attended", second.pk: "no_show"}
    )
    first.refresh_from_db()
    assert certificate_issue(actor=organiser, enrolment=first).holder_name == first.employee.full_name
    for actor, enrolment in ((organiser, first), (organiser, second), (hr_duisburg, second)):
        with pytest.raises(EnrolmentRefused, match="begun"):
            enrolment_cancel(actor=actor, enrolment=enrolment)
    with pytest.raises(PermissionDenied):  # who may not is told so first
        enrolment_cancel(actor=hr_user(OrganisationFactory()), enrolment=second)
    with pytest.raises(ValidationError, match="begun"):
        course_date_cancel(actor=organiser, course_date=course_date)
    course_date_update(actor=organiser, course_date=course_date, capacity=3)  # a seat more: nobody moves up
    later = timezone.now() + timedelta(days=7)
    with pytest.raises(ValidationError, match="begonnen|begun") as refused:  # it would un-begin it
        course_date_update(
            actor=organiser, course_date=course_date, starts_at=later, ends_at=later + timedelta(hours=7)
        )
    assert list(refused.value.message_dict) == ["starts_at"]
    assert dict(course_date.enrolments.values_list("pk", "status")) == {
        first.pk: "seated",
        second.pk: "seated",
        third.pk: "waiting",
    }
    assert dict(course_date.enrolments.values_list("pk", "attendance")) == {
        first.pk: "attended",
        second.pk: "no_show",
        third.pk: "unknown",
    }
    course_date.refresh_from_db()
    assert not course_date.is_cancelled


def test_an_organisation_leaves_a_course_once_its_dates_lie_behind_it(
    course, duisburg, hr_duisburg, organiser
):
    """Enrolments on dates that have begun are records and cannot be cancelled: they must not keep their
    organisation in the course for ever."""
    course_date = CourseDateFactory(course=course)
    (seat,) = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 1)
    ).seated
    with pytest.raises(ValidationError, match="Stadt Duisburg"):
        course_participants_set(actor=organiser, course=course, quotas={})
    attendance_mark(actor=organiser, course_date=begin(course_date), marks={seat.pk: "attended"})
    course_participants_set(actor=organiser, course=course, quotas={})
    assert not course.participants.exists()
    seat.refresh_from_db()
    assert (seat.status, seat.attendance) == ("seated", "attended")


# --- Concurrency (real PostgreSQL) ------------------------------------------------------------------------------


def waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


def run_in_threads(calls, *, hold_date):
    """Run each call in its own thread while another connection holds the date's row lock. Each request is
    started only once the one before it is queued on the lock, so the queue is the order of the requests.
    Returns each call's result or exception."""
    outcomes = [None] * len(calls)
    locked = threading.Event()
    release = threading.Event()

    def holder():
        try:
            with transaction.atomic():
                type(hold_date).objects.select_for_update().get(pk=hold_date.pk)
                locked.set()
                release.wait(60)
        finally:
            connection.close()

    def worker(index, call):
        try:
            with translation.override("en"):
                outcomes[index] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcomes[index] = exc
        finally:
            connection.close()

    holder_thread = threading.Thread(target=holder)
    holder_thread.start()
    assert locked.wait(10)
    threads = []
    for index, call in enumerate(calls):
        thread = threading.Thread(target=worker, args=(index, call))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 20
        while waiting_on_locks() < index + 1:
            assert time.monotonic() < deadline, "request did not queue on the lock"
            time.sleep(0.01)
    release.set()
    holder_thread.join(30)
    for thread in threads:
        thread.join(60)
    return outcomes


def _while_held(work, then):
    """Run `then` in another thread while this one is inside a transaction that did `work`; wait until `then`
    queues on a lock (or finishes), commit, and return what `then` returned or raised."""
    outcome = {}

    def other():
        try:
            with translation.override("en"):
                outcome["result"] = then()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome["result"] = exc
        finally:
            connection.close()

    with transaction.atomic():
        work()
        thread = threading.Thread(target=other)
        thread.start()
        deadline = time.monotonic() + 5
        while waiting_on_locks() < 1 and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
    thread.join(30)
    assert not thread.is_alive()
    return outcome["result"]


@pytest.mark.django_db(transaction=True)
def test_an_enrolment_racing_the_organisation_s_removal_from_the_course_is_refused(
    postgres, course, duisburg, hr_duisburg, organiser
):
    """The organiser removed Duisburg from the joint course while Duisburg's HR enrolled someone: the removal
    found no enrolment yet, the enrolment found Duisburg still taking part, and both went through. The course
    then held an enrolment of an organisation not taking part, which nobody could see or cancel."""
    course_date = CourseDateFactory(course=course)
    people = employees_of(duisburg, 1)
    hr_duisburg.organisation_ids("hr")  # fill the cache before the threads share the user
    outcome = _while_held(
        lambda: course_participants_set(actor=organiser, course=course, quotas={}),
        lambda: enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people),
    )
    assert isinstance(outcome, PermissionDenied), outcome
    assert not course.participants.exists()
    assert not Enrolment.objects.filter(course_date=course_date).exists()


@pytest.mark.django_db(transaction=True)
def test_one_person_enrolled_on_two_dates_of_a_course_at_once_gets_one(
    postgres, course, duisburg, hr_duisburg
):
    """Two colleagues enrolled the same person on two dates of the course at the same moment: each date's lock
    was its own, neither saw the other's enrolment, and the person held two seats of one course."""
    first, second = CourseDateFactory(course=course), CourseDateFactory(course=course)
    (person,) = employees_of(duisburg, 1)
    hr_duisburg.organisation_ids("hr")
    outcome = _while_held(
        lambda: enrolment_create_many(actor=hr_duisburg, course_date=first, employees=[person]),
        lambda: enrolment_create_many(actor=hr_duisburg, course_date=second, employees=[person]),
    )
    assert isinstance(outcome, EnrolmentRefused), outcome
    assert "already enrolled in this course" in str(outcome)
    assert list(Enrolment.objects.filter(employee=person).values_list("course_date", flat=True)) == [first.pk]


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_enrolments_for_the_last_seat(postgres, course, duisburg, hr_duisburg):
    course_date = CourseDateFactory(course=course, capacity=5)
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 4))
    people = employees_of(duisburg, 20)
    hr_duisburg.organisation_ids("hr")  # fill the cache before the threads share the user
    calls = [
        (lambda p=p: enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=[p]))
        for p in people
    ]
    outcomes = run_in_threads(calls, hold_date=course_date)
    assert [type(o).__name__ for o in outcomes] == ["EnrolmentResult"] * 20
    seated = course_date.enrolments.filter(status="seated", employee__in=people)
    assert seated.count() == 1
    waiting = list(course_date.enrolments.filter(status="waiting").order_by("pk"))
    assert len(waiting) == 19
    # strict request order: the first request got the seat, the others queue behind it in order
    assert seated.get().employee == people[0]
    assert [e.employee for e in waiting] == people[1:]
    assert [e.waiting_position for e in waiting] == list(range(1, 20))
    positions = sorted(position for o in outcomes for _e, position in o.waiting)
    assert positions == list(range(1, 20))


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_enrolments_respect_the_quota(postgres, course, duisburg, hr_duisburg):
    course.participants.filter(organisation=duisburg).update(seat_quota=3)
    course_date = CourseDateFactory(course=course, capacity=10)
    people = employees_of(duisburg, 20)
    hr_duisburg.organisation_ids("hr")
    calls = [
        (lambda p=p: enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=[p]))
        for p in people
    ]
    run_in_threads(calls, hold_date=course_date)
    assert course_date.enrolments.filter(status="seated").count() == 3
    assert [e.employee for e in course_date.enrolments.filter(status="seated")] == people[:3]
    assert [e.employee for e in course_date.enrolments.filter(status="waiting").order_by("pk")] == people[3:]


@pytest.mark.django_db(transaction=True)
def test_racing_cancellations_promote_exactly_once(
    postgres, course, duisburg, hr_duisburg, organiser, django_capture_on_commit_callbacks
):
    course_date = CourseDateFactory(course=course, capacity=3)
    people = employees_of(duisburg, 6)
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people)
    first_seat = Enrolment.objects.get(employee=people[0])
    second_seat = Enrolment.objects.get(employee=people[1])
    organiser.organisation_ids("organiser")
    hr_duisburg.organisation_ids("hr")
    # the same seat cancelled twice at once (HR and organiser), and another seat at the same time
    calls = [
        lambda: enrolment_cancel(actor=hr_duisburg, enrolment=first_seat),
        lambda: enrolment_cancel(actor=organiser, enrolment=first_seat),
        lambda: enrolment_cancel(actor=hr_duisburg, enrolment=second_seat),
    ]
    outcomes = run_in_threads(calls, hold_date=course_date)
    refusals = [o for o in outcomes if isinstance(o, EnrolmentRefused)]
    assert len(refusals) == 1 and "already been cancelled" in str(refusals[0])
    promoted = sorted(e.employee.pk for o in outcomes if isinstance(o, list) for e in o)
    assert promoted == [people[3].pk, people[4].pk]
    assert course_date.enrolments.filter(status="seated").count() == 3
    assert list(course_date.enrolments.filter(status="waiting").values_list("employee", flat=True)) == [
        people[5].pk
    ]


def test_every_write_is_audited(course_date, duisburg, hr_duisburg, organiser):
    seated = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 2)
    ).seated
    enrolment_cancel(actor=hr_duisburg, enrolment=seated[0])
    course_date_update(actor=organiser, course_date=course_date, capacity=20)
    course_date_cancel(actor=organiser, course_date=CourseDateFactory(course=course_date.course))
    attendance_mark(actor=organiser, course_date=begin(course_date), marks={seated[1].pk: "attended"})
    entries = AuditEntry.objects.order_by("pk")
    assert [(e.actor_name, e.action) for e in entries] == [
        ("hr-duisburg", "create"),
        ("hr-duisburg", "change"),
        ("schulung-oberhausen", "change"),
        ("schulung-oberhausen", "change"),
        ("schulung-oberhausen", "change"),
    ]
    assert entries[1].changes == {"status": ["seated", "cancelled"]}
    assert entries[2].changes == {"capacity": [12, 20]}
    assert entries[4].changes == {"attendance": ["unknown", "attended"]}


def test_an_enrolment_list_does_not_confirm_another_organisation_s_personnel_numbers(
    course, course_date, duisburg, oberhausen, hr_duisburg
):
    """Another organisation's employee answers 404 on every page, and the list of employees to tick offers
    only one's own. Before, an uploaded list told Duisburg's HR which of the numbers it tried belong to an
    employee of some other organisation and which exist nowhere: a list of guesses found every other
    organisation's personnel numbers."""
    elsewhere = EmployeeFactory(organisation=oberhausen, personnel_number="OB-1")
    own_not_taking_part = OrganisationFactory(name="Duisburger Verkehrsbetriebe")
    both = UserFactory(roles=[(duisburg, Role.HR), (own_not_taking_part, Role.HR)])
    not_taking_part = EmployeeFactory(organisation=own_not_taking_part, personnel_number="DVG-1")
    content = f"Personalnummer\n{elsewhere.personnel_number}\nNIEMAND-1\n".encode()
    with pytest.raises(EnrolmentRefused) as refused:
        enrolment_create_from_file(actor=hr_duisburg, course_date=course_date, data=content)
    assert [p.message for p in refused.value.problems] == [
        "The personnel number OB-1 is unknown.",
        "The personnel number NIEMAND-1 is unknown.",
    ]
    # An employee of one's own organisation that does not take part is named as such.
    content = f"Personalnummer\n{not_taking_part.personnel_number}\n".encode()
    with pytest.raises(EnrolmentRefused) as refused:
        enrolment_create_from_file(actor=both, course_date=course_date, data=content)
    assert [p.message for p in refused.value.problems] == [
        "The personnel number DVG-1 belongs to an employee of an organisation that does not take part in this "
        "course."
    ]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_an_enrolment_list_saved_as_unicode_text_is_read(course_date, duisburg, hr_duisburg, encoding):
    """Excel's "Unicode Text" (UTF-16 with a byte order mark, tab-separated) is how many HR offices export a
    list. It was refused as "neither a CSV nor an XLSX file", which it is not far from, and which told HR nothing
    about how to save it instead."""
    people = employees_of(duisburg, 2)
    text = "Personalnummer\tName\r\n" + "".join(f"{e.personnel_number}\t{e.last_name}\r\n" for e in people)
    data = (
        text.encode(encoding) if encoding == "utf-16" else "\ufeff".encode(encoding) + text.encode(encoding)
    )
    result = enrolment_create_from_file(actor=hr_duisburg, course_date=course_date, data=data)
    assert [e.employee for e in result.seated] == people


def test_every_move_up_from_the_waiting_list_is_audited_whatever_freed_the_seat(
    course, duisburg, hr_duisburg, organiser
):
    """A cancellation recorded who moved up in its place; a capacity raised on the date or a quota raised on the
    course moved people up with no entry in the audit log, so an enrolment's history (and the person's Art. 15
    record of it) lacked how they got their seat."""
    course_date = CourseDateFactory(course=course, capacity=1)
    first, by_capacity, by_quota, by_cancellation = employees_of(duisburg, 4)
    enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=[first, by_capacity, by_quota, by_cancellation]
    )
    course_date_update(actor=organiser, course_date=course_date, capacity=2)
    # A seat more, kept from Duisburg by its quota (written directly: no service moves anybody up here).
    course.participants.filter(organisation=duisburg).update(seat_quota=2)
    type(course_date).objects.filter(pk=course_date.pk).update(capacity=3, sequence=F("sequence") + 1)
    course_participants_set(actor=organiser, course=course, quotas={duisburg: 3})
    enrolment_cancel(actor=hr_duisburg, enrolment=Enrolment.objects.get(employee=first))
    moves = {
        entry.object_id: entry.actor_name
        for entry in AuditEntry.objects.filter(
            content_type__model="enrolment", changes={"status": ["waiting", "seated"]}
        )
    }
    promoted = Enrolment.objects.filter(employee__in=[by_capacity, by_quota, by_cancellation])
    assert sorted(promoted.values_list("status", flat=True)) == ["seated"] * 3
    assert moves == {
        str(promoted.get(employee=by_capacity).pk): "schulung-oberhausen",
        str(promoted.get(employee=by_quota).pk): "schulung-oberhausen",
        str(promoted.get(employee=by_cancellation).pk): "hr-duisburg",
    }


def test_a_course_is_not_handed_to_another_organiser_by_its_service(course, oberhausen, duisburg):
    """The admin no longer hands a course to another organiser; course_update still did, for an organiser of both
    organisations: its dates, enrolments, quotas and certificates moved with it, unasked. No page offers it."""
    from trainings.services import course_update

    both = UserFactory(roles=[(oberhausen, Role.ORGANISER), (duisburg, Role.ORGANISER)])
    with pytest.raises(TypeError):
        course_update(actor=both, course=course, organiser=duisburg, title="Übernommen")
    course.refresh_from_db()
    assert (course.organiser, course.title) == (oberhausen, "Interkulturelle Sensibilisierung")
