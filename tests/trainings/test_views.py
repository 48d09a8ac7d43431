import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone, translation
from pypdf import PdfReader

from tests.factories import EmployeeFactory, OrganisationFactory, UserFactory, hr_user, ministry_user
from tests.helpers import assert_archival
from tests.trainings.conftest import employees_of
from tests.trainings.factories import (
    CourseDateFactory,
    CourseFactory,
    CourseParticipantFactory,
    EnrolmentFactory,
    begin,
)
from trainings.models import Certificate, Course, CourseDate, Enrolment
from trainings.services import attendance_mark, enrolment_create_many
from vielfalt.management.commands.seed_demo import ORGANISATIONS
from vielfalt.models import AuditEntry, Employee, Job, Membership, OrgUnit, Role
from vielfalt.permissions import SYSTEM
from vielfalt.services import employees_import_file

pytestmark = pytest.mark.django_db

SAMPLE_CSV = settings.BASE_DIR / "vielfalt" / "fixtures" / "employees-duisburg.csv"


def test_course_list_shows_courses_to_taking_part_organisations_only(client, course, hr_duisburg, organiser):
    other_course = CourseFactory(title="Anderer Kurs")
    for user in (hr_duisburg, organiser):
        client.force_login(user)
        response = client.get(reverse("trainings:index"))
        assert response.status_code == 200
        assert [row.pk for row in response.context["courses"]] == [course.pk]
    client.force_login(ministry_user())
    assert {row.pk for row in client.get(reverse("trainings:index")).context["courses"]} == {
        course.pk,
        other_course.pk,
    }
    stranger = hr_user(OrganisationFactory())
    client.force_login(stranger)
    assert list(client.get(reverse("trainings:index")).context["courses"]) == []
    assert client.get(course.get_absolute_url()).status_code == 404


def test_course_and_date_of_another_organisation_answer_404(client, course_date):
    client.force_login(hr_user(OrganisationFactory()))
    for name in ("date_detail", "enrol", "date_ics"):
        assert client.get(reverse(f"trainings:{name}", args=[course_date.pk])).status_code == 404


def test_hr_cannot_manage_dates(client, course, course_date, hr_duisburg):
    client.force_login(hr_duisburg)
    assert client.get(reverse("trainings:date_create", args=[course.pk])).status_code == 404
    assert client.get(reverse("trainings:date_update", args=[course_date.pk])).status_code == 404
    assert client.post(reverse("trainings:date_cancel", args=[course_date.pk])).status_code == 404
    assert client.post(reverse("trainings:attendance", args=[course_date.pk])).status_code == 404


@pytest.mark.parametrize("count", [1, 3])
def test_course_list_query_count(client, hr_duisburg, duisburg, django_assert_num_queries, count):
    for _ in range(count):
        CourseParticipantFactory(organisation=duisburg, course=CourseDateFactory().course)
    client.force_login(hr_duisburg)
    with django_assert_num_queries(6):  # a page that is not full needs no COUNT
        response = client.get(reverse("trainings:index"))
    assert len(response.context["courses"]) == count


@pytest.mark.parametrize("count", [1, 3])
def test_date_detail_query_count(
    client, course_date, duisburg, hr_duisburg, django_assert_num_queries, count
):
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, count))
    enrolment_create_many(
        actor=hr_duisburg,
        course_date=CourseDateFactory(course=course_date.course, capacity=1),
        employees=employees_of(duisburg, count),
    )
    client.force_login(hr_duisburg)
    # One for the seats Duisburg can still take; nobody waits, so no waiting positions are read.
    with django_assert_num_queries(9):
        response = client.get(course_date.get_absolute_url())
    assert len(response.context["seated"]) == count


@pytest.mark.parametrize("when", ["deadline passed", "begun"])
def test_a_date_closed_to_enrolment_does_not_offer_seats(client, course_date, duisburg, hr_duisburg, when):
    """Before, HR read "Stadt Duisburg can still take 12 of 12 seats on this date … Anyone beyond that goes to the
    waiting list" on a date whose enrolment deadline had passed, and on one that had already taken place: there
    was no button to enrol, and no word why. The page says that enrolment has closed instead."""
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 1))
    if when == "begun":
        begin(course_date)
    else:
        CourseDate.objects.filter(pk=course_date.pk).update(
            enrolment_deadline=timezone.now() - timedelta(hours=1)
        )
    client.force_login(hr_duisburg)
    response = client.get(course_date.get_absolute_url())
    assert response.context["seats"] == []
    assert "can still take" not in response.text
    assert 'id="enrolment-closed"' in response.text
    assert (
        'id="enrolment-closed"'
        not in client.get(CourseDateFactory(course=course_date.course).get_absolute_url()).text
    )


def test_the_seats_a_city_can_take_read_as_german_for_one_seat(
    client, course, course_date, duisburg, hr_duisburg
):
    """The last free seat, and a quota of one, read "insgesamt 1 Plätze frei" and "Kontingent: 1 Plätze je
    Termin" on the date's page and the enrolment pages."""
    course.participants.filter(organisation=duisburg).update(seat_quota=1)
    CourseDate.objects.filter(pk=course_date.pk).update(capacity=1)
    client.force_login(hr_duisburg)
    page = client.get(course_date.get_absolute_url(), headers={"accept-language": "de"}).text
    assert (
        "Freie Plätze an diesem Termin: 1 von 1. Stadt Duisburg kann davon 1 belegen (Kontingent je Termin: 1, davon 0 belegt)."
        in " ".join(page.split())
    )
    assert not re.search(r"\b1 Plätze\b", page)


def test_the_enrolment_page_of_a_date_closed_to_enrolment_leads_to_the_date(
    client, course_date, duisburg, hr_duisburg
):
    """Reached by a bookmark or the browser's back button after the deadline, the page offered the list to tick
    and the seats still free, and refused only once HR had ticked and sent them. The date's page says that
    enrolment has closed."""
    employees_of(duisburg, 1)
    CourseDate.objects.filter(pk=course_date.pk).update(
        enrolment_deadline=timezone.now() - timedelta(hours=1)
    )
    client.force_login(hr_duisburg)
    response = client.get(reverse("trainings:enrol", args=[course_date.pk]))
    assert response.status_code == 302
    assert response.url == course_date.get_absolute_url()


@pytest.mark.parametrize("count", [1, 3])
def test_enrol_page_query_count(client, course_date, duisburg, hr_duisburg, django_assert_num_queries, count):
    employees_of(duisburg, count)
    client.force_login(hr_duisburg)
    # One for the seats Duisburg can still take, two for whether the rows shown are enrolled here or trained.
    with django_assert_num_queries(13):
        response = client.get(reverse("trainings:enrol", args=[course_date.pk]))
    assert len(response.context["employees"]) == count


def test_course_list_shows_each_course_s_next_date_not_cancelled(client, course):
    now = timezone.now()
    later = datetime(now.year + 1, 3, 4, 8, 30, tzinfo=UTC)  # 09:30 in Berlin
    CourseDateFactory(course=course, starts_at=now - timedelta(days=3))
    CourseDateFactory(course=course, starts_at=later - timedelta(days=7), cancelled_at=now)
    CourseDateFactory(course=course, starts_at=later + timedelta(days=7))
    CourseDateFactory(course=course, starts_at=later)
    without = CourseFactory(title="Ohne Termine")
    CourseDateFactory(course=without, starts_at=now - timedelta(days=1))
    client.force_login(ministry_user())
    rows = {row.pk: row.next_date for row in client.get(reverse("trainings:index")).context["courses"]}
    assert rows == {course.pk: later, without.pk: None}
    assert f"<td>04.03.{later.year} 09:30</td>" in client.get(reverse("trainings:index")).text


def test_course_detail_names_the_organisations_taking_part_with_their_quotas(client, course, hr_duisburg):
    CourseParticipantFactory(
        course=course, organisation=OrganisationFactory(name="Zweckverband <Nord>"), seat_quota=3
    )
    client.force_login(hr_duisburg)
    response = client.get(course.get_absolute_url())
    assert (
        '<dd class="col-sm-7">Stadt Duisburg, Zweckverband &lt;Nord&gt; (3 Plätze pro Termin)</dd>'
        in response.text
    )


@pytest.mark.parametrize("count", [1, 3])
def test_course_detail_query_count(client, course, hr_duisburg, django_assert_num_queries, count):
    for _ in range(count):
        CourseDateFactory(course=course)
    client.force_login(hr_duisburg)
    with django_assert_num_queries(9):  # the number of dates comes with the course
        response = client.get(course.get_absolute_url())
    assert len(response.context["dates"]) == count


def test_course_detail_lists_25_dates_a_page_with_their_counts(client, course, hr_duisburg):
    dates = [CourseDateFactory(course=course) for _ in range(27)]
    EnrolmentFactory(course_date=dates[0], employee=EmployeeFactory())
    client.force_login(hr_duisburg)
    first = client.get(course.get_absolute_url())
    assert [d.pk for d in first.context["dates"]] == [
        d.pk for d in sorted(dates, key=lambda d: (d.starts_at, d.pk))
    ][:25]
    assert {
        (d.pk, d.seated_count, d.waiting_count) for d in first.context["dates"] if d.pk == dates[0].pk
    } <= {(dates[0].pk, 1, 0)}
    second = client.get(course.get_absolute_url(), {"page": 2})
    assert len(second.context["dates"]) == 2
    assert "Seite 2 von 2" in second.text


def test_enrol_selected_employees_and_see_the_result(client, course_date, duisburg, hr_duisburg):
    people = employees_of(duisburg, 14)
    client.force_login(hr_duisburg)
    response = client.post(
        reverse("trainings:enrol", args=[course_date.pk]), {"employees": [p.pk for p in people]}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("trainings:enrol_result", args=[course_date.pk])
    response = client.get(response["Location"])
    assert len(response.context["seated"]) == 12
    assert [position for _e, position, _reason in response.context["waiting"]] == [1, 2]
    assert course_date.enrolments.filter(status="seated").count() == 12


def test_enrol_refuses_other_organisations_employee_by_404(client, course_date, hr_duisburg):
    stranger = EmployeeFactory()
    client.force_login(hr_duisburg)
    response = client.post(reverse("trainings:enrol", args=[course_date.pk]), {"employees": [stranger.pk]})
    assert response.status_code == 404
    assert Enrolment.objects.count() == 0


@pytest.mark.parametrize("value", ["²", "abc", "99999999999999999999", ""])
def test_enrol_refuses_a_value_that_is_no_employee_id_by_404(
    client, course_date, duisburg, hr_duisburg, value
):
    """ "²" is a digit to str.isdigit() but not to int(): it was a server error."""
    person = EmployeeFactory(organisation=duisburg)
    client.force_login(hr_duisburg)
    response = client.post(
        reverse("trainings:enrol", args=[course_date.pk]), {"employees": [person.pk, value]}
    )
    assert response.status_code == 404
    assert Enrolment.objects.count() == 0


def test_enrol_after_deadline_shows_the_reason(client, course, duisburg, hr_duisburg):
    course_date = CourseDateFactory(course=course, enrolment_deadline=timezone.now() - timedelta(hours=1))
    person = EmployeeFactory(organisation=duisburg)
    client.force_login(hr_duisburg)
    with translation.override("en"):
        response = client.post(
            reverse("trainings:enrol", args=[course_date.pk]),
            {"employees": [person.pk]},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 422
    assert len(response.context["problems"]) == 1


def test_bulk_enrolment_from_the_sample_employees_file(client, course, duisburg, hr_duisburg):
    units = next(units for slug, *_rest, units in ORGANISATIONS if slug == "duisburg")
    for name in units:
        OrgUnit.objects.create(organisation=duisburg, name=name)
    employees_import_file(actor=SYSTEM, organisation=duisburg, data=SAMPLE_CSV.read_bytes())
    course_date = CourseDateFactory(course=course, capacity=100)
    client.force_login(hr_duisburg)
    with SAMPLE_CSV.open("rb") as handle:
        response = client.post(
            reverse("trainings:enrol", args=[course_date.pk]), {"action": "upload", "file": handle}
        )
    assert response.status_code == 302
    total = Employee.objects.filter(organisation=duisburg).count()
    assert total == 120
    assert course_date.enrolments.filter(status="seated").count() == 100
    waiting = course_date.enrolments.filter(status="waiting").order_by("pk")
    assert waiting.count() == 20
    # the file's order is the waiting list's order
    assert waiting.first().employee.personnel_number == "DU-10101"
    result = client.get(response["Location"]).context
    assert [position for _e, position, _reason in result["waiting"]] == list(range(1, 21))


def test_faulty_file_is_refused_whole_with_line_numbers(client, course, course_date, duisburg, hr_duisburg):
    people = employees_of(duisburg, 3)
    stranger = EmployeeFactory(personnel_number="FREMD-1")
    enrolment_create_many(
        actor=hr_duisburg, course_date=CourseDateFactory(course=course), employees=[people[2]]
    )
    content = "\n".join(
        [
            "Personalnummer;Name",
            f"{people[0].personnel_number};A",
            "UNBEKANNT-9;B",
            f"{stranger.personnel_number};C",
            f"{people[1].personnel_number};D",
            f"{people[0].personnel_number};E",
            f"{people[2].personnel_number};F",
        ]
    ).encode()
    client.force_login(hr_duisburg)
    upload = io.BytesIO(content)
    upload.name = "liste.csv"
    response = client.post(
        reverse("trainings:enrol", args=[course_date.pk]), {"action": "upload", "file": upload}
    )
    assert response.status_code == 422
    assert [p.line for p in response.context["problems"]] == [3, 4, 6, 7]
    assert course_date.enrolments.count() == 0


def test_an_enrolment_list_in_full_width_digits_enrols_the_employees_it_names(
    client, course, course_date, duisburg, hr_duisburg
):
    person = EmployeeFactory(organisation=duisburg, personnel_number="DU-4711")
    client.force_login(hr_duisburg)
    upload = io.BytesIO("Personalnummer\n ＤＵ－４７１１\n".encode())  # DU-4711 as an input method writes it
    upload.name = "liste.csv"
    response = client.post(
        reverse("trainings:enrol", args=[course_date.pk]), {"action": "upload", "file": upload}
    )
    assert response.status_code == 302
    assert list(course_date.enrolments.values_list("employee", flat=True)) == [person.pk]


def test_hr_cancels_and_the_first_waiting_is_promoted(client, course, duisburg, hr_duisburg):
    course_date = CourseDateFactory(course=course, capacity=2)
    people = employees_of(duisburg, 3)
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people)
    client.force_login(hr_duisburg)
    first = Enrolment.objects.get(employee=people[0])
    response = client.post(reverse("trainings:enrolment_cancel", args=[first.pk]))
    assert response.status_code == 302
    assert Enrolment.objects.get(employee=people[2]).status == "seated"
    assert client.post(reverse("trainings:enrolment_cancel", args=[first.pk])).status_code == 302
    stranger = hr_user(OrganisationFactory())
    client.force_login(stranger)
    second = Enrolment.objects.get(employee=people[1])
    assert client.post(reverse("trainings:enrolment_cancel", args=[second.pk])).status_code == 404


def test_organiser_creates_edits_and_cancels_a_date(client, course, organiser, duisburg, hr_duisburg):
    client.force_login(organiser)
    start = timezone.localtime() + timedelta(days=10)
    data = {
        "target_group": "trainee",
        "starts_at": start.strftime("%Y-%m-%dT09:00"),
        "ends_at": start.strftime("%Y-%m-%dT16:00"),
        "location": "Rathaus",
        "trainer": "T",
        "capacity": "2",
        "enrolment_deadline": (start - timedelta(days=3)).strftime("%Y-%m-%dT12:00"),
        "cancellation_deadline": (start - timedelta(days=2)).strftime("%Y-%m-%dT12:00"),
    }
    response = client.post(reverse("trainings:date_create", args=[course.pk]), data)
    assert response.status_code == 302
    course_date = CourseDate.objects.get(course=course)
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 3))
    response = client.post(reverse("trainings:date_update", args=[course_date.pk]), {**data, "capacity": "1"})
    assert response.status_code == 200  # two seats are taken
    assert response.context["form"].errors["capacity"]
    response = client.post(reverse("trainings:date_update", args=[course_date.pk]), {**data, "capacity": "3"})
    assert response.status_code == 302
    assert course_date.enrolments.filter(status="seated").count() == 3
    response = client.post(reverse("trainings:date_cancel", args=[course_date.pk]))
    assert response.status_code == 302
    assert set(course_date.enrolments.values_list("status", flat=True)) == {"cancelled"}


def test_ics_download(client, course_date, hr_duisburg):
    client.force_login(hr_duisburg)
    response = client.get(reverse("trainings:date_ics", args=[course_date.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    text = response.content.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")


def test_attendance_certificates_and_verify(
    client, course_date, duisburg, hr_duisburg, organiser, django_capture_on_commit_callbacks
):
    seated = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 3)
    ).seated
    begin(course_date)
    client.force_login(organiser)
    response = client.post(
        reverse("trainings:attendance", args=[course_date.pk]),
        {
            f"attendance-{seated[0].pk}": "attended",
            f"attendance-{seated[1].pk}": "attended",
            f"attendance-{seated[2].pk}": "no_show",
        },
    )
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("trainings:certificates_build", args=[course_date.pk]))
    job = Job.objects.get(kind="trainings.certificates")
    assert response["Location"] == job.get_absolute_url()
    job.refresh_from_db()
    assert job.status == "ready", job.error
    with zipfile.ZipFile(job.result_file.open("rb")) as archive:
        assert len(archive.namelist()) == 2
        # Entries carry the certificates' real dates (not 1980 or a fixed date).
        dates = {entry.date_time[:5] for entry in archive.infolist()}
        issued = Certificate.objects.filter(enrolment__in=seated[:2]).values_list("issued_at", flat=True)
        assert dates == {timezone.localtime(when).timetuple()[:5] for when in issued}

    certificate = Certificate.objects.get(enrolment=seated[0])
    client.force_login(hr_duisburg)
    response = client.get(reverse("trainings:certificate_download", args=[certificate.pk]))
    assert response.status_code == 200
    text = " ".join(
        page.extract_text() for page in PdfReader(io.BytesIO(b"".join(response.streaming_content))).pages
    )
    text = " ".join(text.split())
    assert seated[0].employee.full_name in text
    assert "Interkulturelle Sensibilisierung" in text
    assert timezone.localtime(course_date.starts_at).strftime("%d.%m.%Y") in text
    assert certificate.code in text
    # The full address to check it (also as QR code), not just a path.
    assert f"{settings.PORTAL_URL}/trainings/verify/{certificate.code}/" in text.replace(" ", "")
    assert_archival(
        b"".join(
            client.get(reverse("trainings:certificate_download", args=[certificate.pk])).streaming_content
        ),
        title="Teilnahmebescheinigung",
    )
    # another organisation's HR cannot download it
    client.force_login(hr_user(OrganisationFactory()))
    assert client.get(reverse("trainings:certificate_download", args=[certificate.pk])).status_code == 404

    client.logout()
    response = client.get(reverse("trainings:verify", args=[certificate.code]))
    assert response.status_code == 200
    assert seated[0].employee.full_name in response.content.decode()
    assert seated[0].employee.personnel_number not in response.content.decode()
    wrong = client.get(reverse("trainings:verify", args=["AAAA-BBBB-CCCC"]))
    assert wrong.status_code == 404
    assert seated[0].employee.full_name not in wrong.content.decode()
    assert "Interkulturelle" not in wrong.content.decode()


def test_sign_in_sheet_job(
    client, course_date, duisburg, hr_duisburg, organiser, django_capture_on_commit_callbacks
):
    people = employees_of(duisburg, 2)
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people)
    client.force_login(organiser)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("trainings:sign_in_sheet", args=[course_date.pk]))
    job = Job.objects.get(kind="trainings.sign_in_sheet")
    assert job.status == "ready", job.error
    text = PdfReader(job.result_file.open("rb")).pages[0].extract_text()
    assert people[0].last_name in text and people[1].last_name in text


def test_a_cancelled_date_has_no_sign_in_sheet(
    client, course_date, duisburg, hr_duisburg, organiser, django_capture_on_commit_callbacks
):
    """Offered and made for a cancelled date: a PDF "Anwesenheitsliste" with nobody on it; and a sheet asked for
    before the cancellation, its job run after it (the worker was down), made the same."""
    from trainings.services import course_date_cancel, sign_in_sheet_request

    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 2))
    with django_capture_on_commit_callbacks() as callbacks:
        asked_before = sign_in_sheet_request(actor=organiser, course_date=course_date)
    course_date_cancel(actor=organiser, course_date=course_date)
    for callback in callbacks:  # the job runs now
        callback()
    asked_before.refresh_from_db()
    assert (asked_before.status, asked_before.error) == (
        "failed",
        "A cancelled date has no sign-in sheet.",
    )

    client.force_login(organiser)
    url = reverse("trainings:sign_in_sheet", args=[course_date.pk])
    assert url not in client.get(course_date.get_absolute_url()).text
    response = client.post(url, follow=True)
    assert "Ein abgesagter Termin hat keine Anwesenheitsliste." in response.text
    assert Job.objects.filter(kind="trainings.sign_in_sheet").count() == 1


def test_a_sign_in_sheet_is_not_made_for_an_organiser_who_lost_the_role_before_it_ran(
    course_date, duisburg, hr_duisburg, organiser, django_capture_on_commit_callbacks
):
    """The job waits for a worker (a queue, a broker down, a retry later); meanwhile the organiser's role may be
    withdrawn. Before, the task rendered and stored the list of everyone seated, with their offices, all the
    same: personal data made for someone who may no longer see the date. Now it checks the requester again."""
    from trainings.services import sign_in_sheet_request

    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 2))
    with django_capture_on_commit_callbacks() as callbacks:
        job = sign_in_sheet_request(actor=organiser, course_date=course_date)
    Membership.objects.filter(user=organiser, role=Role.ORGANISER).delete()
    for callback in callbacks:  # the job runs now
        callback()
    job.refresh_from_db()
    assert (job.status, job.error, bool(job.result_file)) == (
        "failed",
        "You may not do this for this organisation.",
        False,
    )


def test_sign_in_sheet_prints_each_name_on_one_line_and_asks_the_trainer_to_confirm(
    course_date, duisburg, hr_duisburg, organiser, django_capture_on_commit_callbacks
):
    from trainings.services import sign_in_sheet_request

    people = employees_of(duisburg, 2)
    people[0].last_name, people[0].first_name = "Wiśniewski-Kaya", "Aleksandra"
    people[0].save()
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people)
    with django_capture_on_commit_callbacks(execute=True):
        job = sign_in_sheet_request(actor=organiser, course_date=course_date)
    job.refresh_from_db()
    lines = PdfReader(job.result_file.open("rb")).pages[0].extract_text().splitlines()
    assert any("Wiśniewski-Kaya, Aleksandra" in line for line in lines), lines
    assert any("Unterschrift der Kursleitung" in line for line in lines), lines


@pytest.mark.allow_error_log  # Celery logs the task's refusal
def test_attendance_says_which_marks_it_did_not_understand(
    client, course_date, duisburg, hr_duisburg, organiser
):
    """A mark no choice of the page has was skipped under "Attendance saved": now the page says so."""
    seated = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 3)
    ).seated
    begin(course_date)
    client.force_login(organiser)
    response = client.post(
        reverse("trainings:attendance", args=[course_date.pk]),
        {
            f"attendance-{seated[0].pk}": "attended",
            f"attendance-{seated[1].pk}": "999999",
            f"attendance-{seated[2].pk}": "<script>",
        },
        follow=True,
    )
    text = response.content.decode()
    assert "Anwesenheit gespeichert (1 Änderung)" in text
    assert "2 Einträge waren unverständlich und wurden nicht gespeichert" in text
    assert sorted(
        Enrolment.objects.filter(pk__in=[e.pk for e in seated]).values_list("attendance", flat=True)
    ) == [
        "attended",
        "unknown",
        "unknown",
    ]


def test_the_organiser_records_a_date_from_its_start_and_no_longer_changes_who_takes_part(
    client, course_date, duisburg, hr_duisburg, organiser
):
    """Before its start the page takes no attendance and builds no certificates; from its start it offers no
    cancellation, and a form from before (or a hand-made request) is refused with a message."""
    (seated,) = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 1)
    ).seated
    client.force_login(organiser)
    url = course_date.get_absolute_url()
    german = {"accept-language": "de"}
    html = client.get(url, headers=german).text
    assert 'id="attendance-later"' in html and 'form="attendance-form"' not in html
    assert reverse("trainings:certificates_build", args=[course_date.pk]) not in html
    assert reverse("trainings:date_cancel", args=[course_date.pk]) in html
    response = client.post(
        reverse("trainings:attendance", args=[course_date.pk]),
        {f"attendance-{seated.pk}": "attended"},
        headers=german,
        follow=True,
    )
    assert "Die Anwesenheit kann erfasst werden, sobald der Termin begonnen hat." in response.text
    seated.refresh_from_db()
    assert seated.attendance == "unknown"

    begin(course_date)
    html = client.get(url, headers=german).text
    assert 'form="attendance-form"' in html and 'id="attendance-later"' not in html
    assert reverse("trainings:certificates_build", args=[course_date.pk]) in html
    assert reverse("trainings:date_cancel", args=[course_date.pk]) not in html
    assert reverse("trainings:enrolment_cancel", args=[seated.pk]) not in html
    response = client.post(
        reverse("trainings:date_cancel", args=[course_date.pk]), headers=german, follow=True
    )
    assert "Ein Termin, der begonnen hat, kann nicht mehr abgesagt werden" in response.text
    response = client.post(
        reverse("trainings:enrolment_cancel", args=[seated.pk]), headers=german, follow=True
    )
    assert "Der Termin hat begonnen; seine Anmeldungen können nicht mehr storniert" in response.text
    course_date.refresh_from_db()
    seated.refresh_from_db()
    assert not course_date.is_cancelled and seated.status == "seated"
    # Its edit form keeps the start and the deadlines: what is sent for them is not taken.
    edit_url = reverse("trainings:date_update", args=[course_date.pk])
    form = client.get(edit_url).context["form"]
    assert [name for name, field in form.fields.items() if field.disabled] == [
        "starts_at",
        "enrolment_deadline",
        "cancellation_deadline",
    ]
    later = timezone.localtime() + timedelta(days=7)
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        starts_at=later.strftime("%Y-%m-%dT%H:%M"),
        ends_at=(timezone.localtime(course_date.ends_at) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        enrolment_deadline="",
        cancellation_deadline="",
        trainer="Dr. Aylin Demir und Team",
    )
    response = client.post(edit_url, data)
    assert response.status_code == 302, response.context["form"].errors
    starts_at = course_date.starts_at
    course_date.refresh_from_db()
    assert (course_date.starts_at, course_date.trainer) == (starts_at, "Dr. Aylin Demir und Team")


def test_a_certificate_no_longer_stands_once_its_holder_s_attendance_is_corrected(
    client, course_date, duisburg, hr_duisburg, organiser
):
    """The organiser marked someone as attended by mistake, built the certificates, and corrected the mark to
    no-show: the certificate's verification page still said it was genuine, and HR could still download it."""
    from trainings.services import certificate_issue
    from trainings.tasks import certificate_store_file

    (seat,) = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 1)
    ).seated
    attendance_mark(actor=organiser, course_date=begin(course_date), marks={seat.pk: "attended"})
    seat.refresh_from_db()
    certificate = certificate_issue(actor=organiser, enrolment=seat)
    certificate_store_file(certificate)
    verify = reverse("trainings:verify", args=[certificate.code])
    download = reverse("trainings:certificate_download", args=[certificate.pk])
    german = {"accept-language": "de"}
    assert 'id="certificate-revoked"' not in client.get(verify, headers=german).text

    client.force_login(organiser)
    client.post(reverse("trainings:attendance", args=[course_date.pk]), {f"attendance-{seat.pk}": "no_show"})
    page = client.get(course_date.get_absolute_url(), headers=german).text
    assert "widerrufen" in page and download not in page
    client.force_login(hr_duisburg)
    assert client.get(download).status_code == 404
    client.logout()
    page = client.get(verify, headers=german).text
    assert 'id="certificate-revoked"' in page
    assert "Sie bescheinigt keine Teilnahme." in page
    assert "ist echt" not in page

    client.force_login(organiser)
    client.post(reverse("trainings:attendance", args=[course_date.pk]), {f"attendance-{seat.pk}": "attended"})
    assert 'id="certificate-revoked"' not in client.get(verify, headers=german).text
    client.force_login(hr_duisburg)
    assert client.get(download).status_code == 200
    changes = [
        entry.changes
        for entry in AuditEntry.objects.filter(object_id=str(certificate.pk)).order_by("pk")
        if "revoked" in entry.changes
    ]
    assert [bool(before) for before, _after in (c["revoked"] for c in changes)] == [False, True]


def test_saving_attendance_says_which_certificates_it_revoked_and_reinstated(
    client, course_date, duisburg, hr_duisburg, organiser
):
    """A mark corrected from "attended" revokes that person's certificate, which its public verification page then
    says. The organiser read only "Attendance saved (1 change).": nothing told them that a certificate the holder
    may already have handed on no longer stands, nor that putting the mark back reinstated it."""
    from trainings.services import certificate_issue

    (seat,) = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 1)
    ).seated
    attendance_mark(actor=organiser, course_date=begin(course_date), marks={seat.pk: "attended"})
    seat.refresh_from_db()
    certificate_issue(actor=organiser, enrolment=seat)
    client.force_login(organiser)
    url = reverse("trainings:attendance", args=[course_date.pk])

    english = {"accept-language": "en"}
    response = client.post(url, {f"attendance-{seat.pk}": "no_show"}, headers=english, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Attendance saved (1 change).",
        "1 certificate was revoked: its verification page now says that it does not attest participation.",
    ]
    response = client.post(url, {f"attendance-{seat.pk}": "attended"}, headers=english, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Attendance saved (1 change).",
        "1 revoked certificate stands again.",
    ]


def test_building_certificates_without_attendance_fails_visibly(
    client, course_date, organiser, django_capture_on_commit_callbacks
):
    client.force_login(organiser)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("trainings:certificates_build", args=[course_date.pk]))
    assert Job.objects.get().status == "failed"


def test_report_and_export_neutralise_formulas(client, course_date, duisburg, hr_duisburg, organiser):
    unit = EmployeeFactory(organisation=duisburg).org_unit
    unit.name = "=HYPERLINK(1)"
    unit.save()
    people = employees_of(duisburg, 2)
    people[0].org_unit = unit
    people[0].save()
    seated = enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people).seated
    attendance_mark(actor=organiser, course_date=begin(course_date), marks={seated[0].pk: "attended"})
    client.force_login(hr_duisburg)
    response = client.get(reverse("trainings:report"))
    assert response.status_code == 200
    row = next(r for r in response.context["units"] if r["org_unit"] == "=HYPERLINK(1)")
    assert (row["employees"], row["trained"], row["share"]) == (2, 1, 50.0)
    date_row = response.context["dates"][0]
    assert (date_row["seated_count"], date_row["waiting_count"], date_row["no_shows"]) == (2, 0, 0)
    assert "2 / 12 (16,7&nbsp;%)" in response.text  # 2 of 12 seats, as German writes the share
    csv_text = client.get(reverse("trainings:report") + "?export=csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in csv_text
    xlsx = client.get(reverse("trainings:report") + "?export=xlsx")
    assert xlsx.content.startswith(b"PK")
    client.force_login(organiser)
    assert client.get(reverse("trainings:report")).status_code == 403


def test_the_xlsx_report_holds_the_dates_table_and_numbers_as_numbers(
    client, course_date, duisburg, hr_duisburg, organiser
):
    """The page and the CSV show a table per course date (capacity, seats taken, waiting list, no-shows); the XLSX
    held the unit table only, and its figures as text, which Excel neither sums nor sorts as numbers."""
    people = employees_of(duisburg, 2)
    seated = enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=people).seated
    attendance_mark(
        actor=organiser,
        course_date=begin(course_date),
        marks={seated[0].pk: "attended", seated[1].pk: "no_show"},
    )
    client.force_login(hr_duisburg)
    response = client.get(reverse("trainings:report") + "?export=xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Schulungen", "Termine"]
    units = list(workbook["Schulungen"].iter_rows(min_row=2, values_only=True))
    assert sorted(row[3:] for row in units) == [(1, 0, 0), (1, 1, 100)]
    dates = list(workbook["Termine"].iter_rows(values_only=True))
    assert dates[0][0] == "Kurs"
    assert [row[2:] for row in dates[1:]] == [(12, 2, 16.7, 0, 1)]


def test_the_report_shows_hr_the_no_shows_of_its_own_employees_only(
    client, course_date, duisburg, oberhausen, hr_duisburg, organiser
):
    """A joint date: Duisburg's employee attended, Mülheim's did not come. Before, Duisburg's HR read
    "Nicht erschienen: 1" beside the date (in the page and the export): another city's attendance, which the
    date's page does not show it, taken for its own staff's."""
    muelheim = OrganisationFactory(name="Stadt Mülheim an der Ruhr")
    CourseParticipantFactory(course=course_date.course, organisation=muelheim)
    (ours,) = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 1)
    ).seated
    (theirs,) = enrolment_create_many(
        actor=hr_user(muelheim), course_date=course_date, employees=employees_of(muelheim, 1)
    ).seated
    attendance_mark(
        actor=organiser, course_date=begin(course_date), marks={ours.pk: "attended", theirs.pk: "no_show"}
    )
    organising_hr = UserFactory(roles=[(oberhausen, Role.HR), (oberhausen, Role.ORGANISER)])
    seen = {}
    for name, user in (("hr", hr_duisburg), ("ministry", ministry_user()), ("organiser", organising_hr)):
        client.force_login(user)
        response = client.get(reverse("trainings:report"))
        (row,) = response.context["dates"]
        seen[name] = (row["seated_count"], row["no_shows"], 'id="no-shows-own"' in response.text)
    # The seats count everyone enrolled; the organiser of the course sees every no-show, as on the date's page.
    assert seen == {"hr": (2, 0, True), "ministry": (2, 1, False), "organiser": (2, 1, True)}
    client.force_login(hr_duisburg)
    csv_text = client.get(reverse("trainings:report") + "?export=csv").content.decode("utf-8-sig")
    assert "Nicht erschienen (bei Kursen anderer: eigene Beschäftigte)" in csv_text
    assert csv_text.strip().splitlines()[-1].endswith(";0")


def test_the_ministry_reads_a_citys_course_in_counts_and_its_own_as_organiser(
    client, course_date, duisburg, hr_duisburg, organiser
):
    """Oberhausen runs the course, Duisburg's employees take part. The ministry reads the date's seats and the
    report's figures, but no employee's name, personnel number, attendance or certificate: before, the date's
    page listed them all to it (data minimisation, GDPR Art. 5(1)(c); the record of processing names no
    ministry as recipient of enrolments), and it could open each enrolment (a 403 on cancelling, not a 404).
    A course the ministry runs itself it sees as its organiser, with the names."""
    seated = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 2)
    ).seated
    attendance_mark(
        actor=organiser,
        course_date=begin(course_date),
        marks={seated[0].pk: "attended", seated[1].pk: "no_show"},
    )
    ministry = ministry_user()
    (ministry_organisation,) = ministry.memberships.values_list("organisation", flat=True)
    # As in the demo: HR of the ministry's own staff too, which names none of the city's employees.
    Membership.objects.create(user=ministry, organisation_id=ministry_organisation, role=Role.HR)
    client.force_login(ministry)
    page = client.get(course_date.get_absolute_url())
    assert page.status_code == 200
    assert (page.context["seated"], page.context["waiting"]) == ([], [])
    assert 'id="persons-not-listed"' in page.text
    assert '<dd class="col-sm-7" id="seats-taken">2 / 12</dd>' in page.text
    for enrolment in seated:
        assert enrolment.employee.last_name not in page.text
        assert enrolment.employee.personnel_number not in page.text
    assert client.post(reverse("trainings:enrolment_cancel", args=[seated[0].pk])).status_code == 404
    assert not Enrolment.objects.visible_to(ministry).exists()
    (row,) = client.get(reverse("trainings:report")).context["dates"]
    assert (row["seated_count"], row["no_shows"]) == (2, 1)

    Membership.objects.create(user=ministry, organisation_id=ministry_organisation, role=Role.ORGANISER)
    own = CourseDateFactory(course=CourseFactory(organiser_id=ministry_organisation), capacity=5)
    CourseParticipantFactory(course=own.course, organisation=duisburg)
    (theirs,) = enrolment_create_many(
        actor=hr_duisburg, course_date=own, employees=employees_of(duisburg, 1)
    ).seated
    ministry = type(ministry).objects.get(pk=ministry.pk)  # the new role, not the cached memberships
    client.force_login(ministry)
    assert theirs.employee.personnel_number in client.get(own.get_absolute_url()).text
    assert list(Enrolment.objects.visible_to(ministry)) == [theirs]


@pytest.mark.parametrize("count", [1, 3])
def test_report_query_count(client, duisburg, hr_duisburg, course, django_assert_num_queries, count):
    for _ in range(count):
        CourseDateFactory(course=course)
        EmployeeFactory(organisation=duisburg)
    client.force_login(hr_duisburg)
    with django_assert_num_queries(7):
        client.get(reverse("trainings:report"))


def test_verify_page_is_public_and_unknown_codes_reveal_nothing(client):
    response = client.get("/trainings/verify/XXXX/")
    assert response.status_code == 404
    assert "Bescheinigung nicht bekannt" in response.content.decode()
    assert 'name="code"' in response.content.decode()  # with the form to type it again


def test_verify_form_takes_a_code_as_typed_from_paper(client):
    form = client.get(reverse("trainings:verify_form"))
    assert form.status_code == 200
    assert 'name="code"' in form.content.decode()
    typed = client.get(reverse("trainings:verify_form"), {"code": " abcd efgh-jkLm "})
    assert typed.status_code == 302
    assert typed["Location"] == reverse("trainings:verify", args=["ABCD-EFGH-JKLM"])
    unknown = client.get(typed["Location"])
    assert unknown.status_code == 404
    assert "Das Portal kennt keine Bescheinigung mit diesem Prüfcode" in unknown.content.decode()
    wrong = client.get(reverse("trainings:verify_form"), {"code": "123"})
    assert wrong.status_code == 200
    assert "Ein Prüfcode hat 12 Buchstaben und Ziffern" in wrong.content.decode()
    # The form is sent by GET; a POST of a valid code was a server error (FormView had no success_url).
    assert client.post(reverse("trainings:verify_form"), {"code": "ABCD-EFGH-JKLM"}).status_code == 405


def test_verify_page_shows_the_seal_state_of_the_stored_certificate(
    client, course_date, duisburg, hr_duisburg
):
    from trainings.services import certificate_issue
    from trainings.tasks import certificate_store_file
    from vielfalt.permissions import SYSTEM

    (enrolment,) = enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 1)
    ).seated
    enrolment.attendance = "attended"
    enrolment.save(update_fields=["attendance"])
    enrolment.course_date = begin(course_date)
    certificate = certificate_issue(enrolment=enrolment, actor=SYSTEM)
    certificate_store_file(certificate)
    page = client.get(reverse("trainings:verify", args=[certificate.code])).content.decode()
    assert 'data-state="valid"' in page
    # Someone changes the stored file: the page says so.
    content = bytearray(certificate.file.read())
    content[len(content) // 2] ^= 1
    certificate.file.storage.delete(certificate.file.name)
    certificate.file.storage.save(certificate.file.name, ContentFile(bytes(content)))
    page = client.get(reverse("trainings:verify", args=[certificate.code])).content.decode()
    assert 'data-state="changed"' in page


def test_organiser_creates_and_edits_a_course(client, organiser, oberhausen, duisburg, hr_duisburg):
    client.force_login(hr_duisburg)
    assert client.get(reverse("trainings:course_create")).status_code == 404
    client.force_login(organiser)
    response = client.post(
        reverse("trainings:course_create"),
        {
            "organiser": oberhausen.pk,
            "title": "Vielfalt im Bürgerbüro",
            "description": "Inhalte",
            "target_groups": ["trainee", "manager"],
            "participants": [duisburg.pk],
            "duration_hours": "4",
            "format": "online",
            "language": "de",
        },
    )
    assert response.status_code == 302
    course = Course.objects.get(title="Vielfalt im Bürgerbüro")
    assert course.target_groups == ["trainee", "manager"]
    assert list(course.participants.values_list("organisation", flat=True)) == [duisburg.pk]
    client.force_login(hr_duisburg)
    assert client.get(course.get_absolute_url()).status_code == 200
    assert client.get(reverse("trainings:course_update", args=[course.pk])).status_code == 404
    client.force_login(organiser)
    response = client.post(
        reverse("trainings:course_update", args=[course.pk]),
        {
            "title": "Vielfalt im Bürgerbüro II",
            "description": "Inhalte",
            "target_groups": ["trainee"],
            "duration_hours": "4",
            "format": "online",
            "language": "de",
        },
    )
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.title == "Vielfalt im Bürgerbüro II"


def test_enrol_page_filters_not_yet_trained_org_unit_and_target_group(
    client, course, course_date, duisburg, hr_duisburg, organiser
):
    trained, untrained, manager = employees_of(duisburg, 3)
    manager.target_group = "manager"
    manager.save()
    past = CourseDateFactory(course=CourseFactory(organiser=duisburg), capacity=5)
    seat = enrolment_create_many(actor=hr_duisburg, course_date=past, employees=[trained]).seated[0]
    Enrolment.objects.filter(pk=seat.pk).update(attendance="attended")
    client.force_login(hr_duisburg)
    url = reverse("trainings:enrol", args=[course_date.pk])
    assert set(client.get(url).context["employees"]) == {trained, untrained, manager}
    assert set(client.get(url, {"trained": "1"}).context["employees"]) == {untrained, manager}
    assert list(client.get(url, {"target_group": "manager"}).context["employees"]) == [manager]
    assert list(client.get(url, {"org_unit": untrained.org_unit_id}).context["employees"]) == [untrained]


def test_hr_of_the_organising_organisation_sees_and_enrols(
    client, course, course_date, oberhausen, hr_oberhausen
):
    client.force_login(hr_oberhausen)
    assert client.get(course.get_absolute_url()).status_code == 200
    person = EmployeeFactory(organisation=oberhausen)
    response = client.post(reverse("trainings:enrol", args=[course_date.pk]), {"employees": [person.pk]})
    assert response.status_code == 302


@pytest.mark.parametrize("count", [1, 3])
def test_enrol_result_query_count(
    client, course_date, duisburg, hr_duisburg, django_assert_num_queries, count
):
    client.force_login(hr_duisburg)
    people = employees_of(duisburg, count)
    client.post(reverse("trainings:enrol", args=[course_date.pk]), {"employees": [p.pk for p in people]})
    with django_assert_num_queries(7):  # three for the seats Duisburg can still take
        response = client.get(reverse("trainings:enrol_result", args=[course_date.pk]))
    assert len(response.context["seated"]) == count


def test_organiser_sets_organisations_and_quotas(client, course, duisburg, hr_duisburg, organiser):
    added = OrganisationFactory(name="Stadt Mülheim")
    url = reverse("trainings:course_participants", args=[course.pk])
    client.force_login(hr_duisburg)
    assert client.get(url).status_code == 404
    client.force_login(organiser)
    assert client.get(url).status_code == 200
    duisburg_part = course.participants.get(organisation=duisburg)
    response = client.post(
        url, {f"quota-{duisburg_part.pk}": "5", "add-organisation": added.pk, "add-quota": ""}
    )
    assert response.status_code == 302
    assert dict(course.participants.values_list("organisation__name", "seat_quota")) == {
        "Stadt Duisburg": 5,
        "Stadt Mülheim": None,
    }
    # an organisation with enrolled employees cannot be removed
    enrolment_create_many(
        actor=hr_duisburg, course_date=CourseDateFactory(course=course), employees=employees_of(duisburg, 1)
    )
    response = client.post(url, {f"remove-{duisburg_part.pk}": "1"})
    assert response.status_code == 422
    assert course.participants.filter(organisation=duisburg).exists()
    response = client.post(url, {f"quota-{duisburg_part.pk}": "x"})
    assert response.status_code == 422
    # Past any room (and PostgreSQL's integer: a server error before), negative, or not a number at all: the
    # form again, saying what is allowed; nothing saved.
    for quota in ("99999999999999999999", "10001", "-1", "２", "1.5"):
        response = client.post(url, {f"quota-{duisburg_part.pk}": quota})
        assert response.status_code == 422, quota
        assert "muss eine ganze Zahl von 0 bis 10.000 sein" in response.content.decode()
        response = client.post(
            url, {f"quota-{duisburg_part.pk}": "5", "add-organisation": added.pk, "add-quota": quota}
        )
        assert response.status_code == 422, quota
    assert client.post(url, {f"quota-{duisburg_part.pk}": "10000"}).status_code == 302
    assert course.participants.get(organisation=duisburg).seat_quota == 10_000
    # An organisation that is no number at all (or one too big for any id) is none.
    for garbage in ("abc", "99999999999999999999"):
        assert (
            client.post(url, {f"quota-{duisburg_part.pk}": "5", "add-organisation": garbage}).status_code
            == 404
        )


def test_enrolment_screens_explain_the_quota_and_why_people_wait(client, oberhausen, duisburg, hr_duisburg):
    """The issue's case in small: 8 of 16 seats are free, but Duisburg's quota of 12 leaves it 6 of them; of 8
    enrolled, 2 wait, and the result page says it is the quota, not a full date."""
    course = CourseFactory(organiser=oberhausen)
    CourseParticipantFactory(course=course, organisation=duisburg, seat_quota=12)
    muelheim = OrganisationFactory(slug="muelheim", name="Stadt Mülheim")
    CourseParticipantFactory(course=course, organisation=muelheim)
    course_date = CourseDateFactory(course=course, capacity=16)
    enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 6), notify=False
    )
    enrolment_create_many(
        actor=hr_user(muelheim), course_date=course_date, employees=employees_of(muelheim, 2), notify=False
    )
    client.force_login(hr_duisburg)
    expected = (
        "Freie Plätze an diesem Termin: 8 von 16. Stadt Duisburg kann davon 6 belegen "
        "(Kontingent je Termin: 12, davon 6 belegt)."
    )
    for url in (
        reverse("trainings:date_detail", args=[course_date.pk]),
        reverse("trainings:enrol", args=[course_date.pk]),
    ):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
        assert " ".join(html.split()).count(expected) == 1, url
    people = employees_of(duisburg, 8)
    response = client.post(
        reverse("trainings:enrol", args=[course_date.pk]), {"employees": [e.pk for e in people]}
    )
    assert response.status_code == 302
    html = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert html.count("Das Kontingent Ihrer Organisation ist ausgeschöpft.") == 2
    assert "Der Termin ist ausgebucht." not in html
    assert "Freie Plätze an diesem Termin: 2 von 16. Stadt Duisburg kann davon 0 belegen" in " ".join(
        html.split()
    )


def test_date_detail_rows_escape_names_and_link_each_enrolment(
    client, course_date, duisburg, oberhausen, hr_duisburg, organiser
):
    """The rows are built in the view (plain values, one reverse() per kind of link): every name is still
    escaped, each row links to its own enrolment and certificate, the attendance select shows the mark."""
    course_date.capacity = 2
    course_date.save()
    odd = EmployeeFactory(organisation=duisburg, first_name='<b>"Ann"</b>', last_name="O'Neil & Co")
    seated = EnrolmentFactory(course_date=course_date, employee=odd, attendance=Enrolment.Attendance.NO_SHOW)
    other = EnrolmentFactory(course_date=course_date, employee=EmployeeFactory(organisation=oberhausen))
    waiting = EnrolmentFactory(
        course_date=course_date, employee=EmployeeFactory(organisation=duisburg), status="waiting"
    )
    stranger = EnrolmentFactory(
        course_date=course_date, employee=EmployeeFactory(organisation=oberhausen), status="waiting"
    )
    certificate = Certificate.objects.create(
        enrolment=seated,
        holder_name="x",
        course_title="t",
        course_content="c",
        date_text="d",
        duration_hours=1,
    )
    certificate.file.save("c.pdf", ContentFile(b"%PDF-"), save=True)

    client.force_login(organiser)
    html = client.get(course_date.get_absolute_url(), headers={"accept-language": "en"}).text
    assert "<b>" not in html
    assert "O&#x27;Neil &amp; Co, &lt;b&gt;&quot;Ann&quot;&lt;/b&gt;" in html
    assert f'href="{reverse("trainings:certificate_download", args=[certificate.pk])}"' in html
    for enrolment in (seated, other, waiting, stranger):
        assert f'action="{reverse("trainings:enrolment_cancel", args=[enrolment.pk])}"' in html
    assert 'form="attendance-form"' not in html  # before the start: what is recorded, nothing to mark yet
    assert "no-show" in html

    client.force_login(hr_duisburg)
    response = client.get(course_date.get_absolute_url(), headers={"accept-language": "en"})
    assert [position for position, *_cells in response.context["waiting"]] == [1]
    assert 'form="attendance-form"' not in response.text
    assert "no-show" in response.text
    for enrolment in (seated, waiting):
        assert f'action="{reverse("trainings:enrolment_cancel", args=[enrolment.pk])}"' in response.text
    for enrolment in (other, stranger):
        assert reverse("trainings:enrolment_cancel", args=[enrolment.pk]) not in response.text

    begin(course_date)
    client.force_login(organiser)
    html = client.get(course_date.get_absolute_url(), headers={"accept-language": "en"}).text
    assert (
        f'<label class="visually-hidden" for="attendance-{seated.pk}">Attendance of &lt;b&gt;&quot;Ann&quot;'
        "&lt;/b&gt; O&#x27;Neil &amp; Co</label>"
    ) in html
    assert (
        '<option value="unknown">not recorded</option><option value="attended">attended</option>'
        '<option value="no_show" selected>no-show</option>'
    ) in html
    assert f'name="attendance-{other.pk}" id="attendance-{other.pk}"' in html
    assert f'href="{reverse("trainings:certificate_download", args=[certificate.pk])}"' in html
    for enrolment in (seated, other, waiting, stranger):  # the date has begun: nobody's enrolment ends now
        assert reverse("trainings:enrolment_cancel", args=[enrolment.pk]) not in html


def test_training_tables_escape_what_users_typed_and_show_each_date_s_state(
    client, course, duisburg, oberhausen, organiser
):
    """The tables of the course list, a course and a date are written by {% rowformat %} from plain values:
    what users typed is escaped in each, a date's state shows as it always did (badges for cancelled and full)."""
    Course.objects.filter(pk=course.pk).update(title='<script>alert("Kurs")</script>')
    oberhausen.name = "Stadt <Ober> & Co"
    oberhausen.save()
    now = timezone.now()
    start = datetime(now.year + 1, 1, 5, 7, 3, tzinfo=UTC)  # 08:03 in Berlin
    full = CourseDateFactory(
        course=course, starts_at=start, capacity=1, location="<script>Raum</script>", target_group="manager"
    )
    cancelled = CourseDateFactory(course=course, starts_at=start + timedelta(days=1), location="")
    CourseDate.objects.filter(pk=cancelled.pk).update(cancelled_at=now)
    closed = CourseDateFactory(
        course=course, starts_at=start + timedelta(days=2), enrolment_deadline=now - timedelta(days=1)
    )
    open_date = CourseDateFactory(course=course, starts_at=start + timedelta(days=3))
    EnrolmentFactory(
        course_date=full,
        employee=EmployeeFactory(organisation=duisburg, first_name="<script>Eve</script>", last_name="Ernst"),
    )
    waiting = EnrolmentFactory(
        course_date=full,
        employee=EmployeeFactory(organisation=duisburg, first_name="Max", last_name="<script>Mut</script>"),
        status=Enrolment.Status.WAITING,
        mail_failed_at=now,
    )
    client.force_login(organiser)
    english = {"accept-language": "en"}

    html = client.get(reverse("trainings:index"), headers=english).text
    assert (
        f'<td><a href="{course.get_absolute_url()}">&lt;script&gt;alert(&quot;Kurs&quot;)&lt;/script&gt;</a></td>\n'
        "      <td>Stadt &lt;Ober&gt; &amp; Co</td>"
    ) in html
    assert "<script>alert" not in html

    html = client.get(course.get_absolute_url(), headers=english).text
    year, day = start.year, " 08:03"
    assert (
        f'<td><a href="{full.get_absolute_url()}">{year}-01-05{day}</a></td>\n      <td>Managers</td>\n'
        "      <td>&lt;script&gt;Raum&lt;/script&gt;</td>\n      <td>1 / 1</td>\n      <td>1</td>\n"
        f'      <td>{year}-01-02{day}</td>\n      <td><span class="badge text-bg-warning">full</span></td>'
    ) in html
    assert (
        f'<td><a href="{cancelled.get_absolute_url()}">{year}-01-06{day}</a></td>\n      <td>–</td>\n'
        "      <td>online</td>"
    ) in html
    assert '<td><span class="badge text-bg-danger">cancelled</span></td>' in html
    assert f'<a href="{closed.get_absolute_url()}">' in html and "<td>closed</td>" in html
    assert f'<a href="{open_date.get_absolute_url()}">' in html and "<td>open</td>" in html
    assert "<script>Raum" not in html

    html = client.get(full.get_absolute_url(), headers=english).text
    assert "<td>Ernst, &lt;script&gt;Eve&lt;/script&gt;</td>" in html
    assert (
        '<span class="visually-hidden"> &lt;script&gt;Eve&lt;/script&gt; Ernst</span></button></form>' in html
    )
    assert (
        "<td>1</td>\n      <td>&lt;script&gt;Mut&lt;/script&gt;, Max"
        ' <span class="badge text-bg-warning">e-mail not delivered</span></td>'
    ) in html
    assert (
        f'<form method="post" action="{reverse("trainings:enrolment_cancel", args=[waiting.pk])}"'
    ) in html
    assert (
        '<span class="visually-hidden"> Max &lt;script&gt;Mut&lt;/script&gt;</span></button></form>' in html
    )
    assert "<script>Eve" not in html and "<script>Mut" not in html


def test_course_detail_without_dates(client, course, hr_duisburg):
    client.force_login(hr_duisburg)
    response = client.get(course.get_absolute_url(), headers={"accept-language": "en"})
    assert response.status_code == 200
    assert list(response.context["dates"]) == []
    assert "No dates yet." in response.text
    assert client.get(course.get_absolute_url(), {"page": 3}).status_code == 200


def test_course_list_pages_count_where_the_rows_do_not_tell(client, django_assert_num_queries):
    courses = sorted((CourseFactory(title=f"Kurs {n:02d}") for n in range(51)), key=lambda c: c.title)
    client.force_login(ministry_user())
    url = reverse("trainings:index")
    client.get(url)
    with django_assert_num_queries(5):  # 51 courses: the first page is followed by more, so they are counted
        first = client.get(url)
    pks = [course.pk for course in courses]
    assert [row.pk for row in first.context["courses"]] == pks[:50]
    assert "Seite 1 von 2" in first.text
    with django_assert_num_queries(4):  # the last page: its rows tell the count
        second = client.get(url, {"page": 2})
    assert [row.pk for row in second.context["courses"]] == pks[50:]
    assert "Seite 2 von 2" in second.text
    assert [row.pk for row in client.get(url, {"page": "last"}).context["courses"]] == pks[50:]
    assert client.get(url, {"page": 3}).status_code == 404
    assert client.get(url, {"page": 0}).status_code == 404
    assert client.get(url, {"page": "x"}).status_code == 404
    Course.objects.exclude(pk=courses[0].pk).delete()
    assert [row.pk for row in client.get(url).context["courses"]] == pks[:1]
    Course.objects.all().delete()
    response = client.get(url)
    assert (response.status_code, list(response.context["courses"])) == (200, [])


def test_raising_a_quota_says_who_moved_up(client, course, duisburg, hr_duisburg, organiser):
    course.participants.filter(organisation=duisburg).update(seat_quota=1)
    course_date = CourseDateFactory(course=course, capacity=5)
    enrolment_create_many(actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 3))
    part = course.participants.get(organisation=duisburg)
    client.force_login(organiser)
    response = client.post(
        reverse("trainings:course_participants", args=[course.pk]), {f"quota-{part.pk}": "2"}, follow=True
    )
    assert "1 Person von einer Warteliste hat jetzt einen Platz" in response.text
    assert course_date.enrolments.filter(status="seated").count() == 2


def test_the_certificate_column_says_why_there_is_none(client, course_date, duisburg, hr_duisburg, organiser):
    """The certificate column showed a bare "–" for everyone without a certificate to download: before the date,
    for a no-show, for attendance not yet recorded and for certificates not yet built alike, and a screen reader
    read "dash". It now says why, in words."""
    attended, absent, unknown = employees_of(duisburg, 3)
    enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=[attended, absent, unknown], notify=False
    )

    def cells(user):
        client.force_login(user)
        page = client.get(course_date.get_absolute_url(), headers={"accept-language": "de"})
        return {row[0]: re.sub(r"<[^>]+>", "", str(row[7])) for row in page.context["seated"]}

    def name(employee):
        return f"{employee.last_name}, {employee.first_name}"

    assert set(cells(hr_duisburg).values()) == {"noch keine: Der Termin hat noch nicht stattgefunden"}
    course_date = begin(course_date)
    ids = dict(Enrolment.objects.values_list("employee_id", "pk"))
    attendance_mark(
        actor=organiser,
        course_date=course_date,
        marks={ids[attended.pk]: "attended", ids[absent.pk]: "no_show"},
    )
    assert cells(hr_duisburg) == {
        name(attended): "noch keine: Bescheinigungen noch nicht erstellt",
        name(absent): "keine: nicht teilgenommen",
        name(unknown): "noch keine: Teilnahme nicht erfasst",
    }
    assert cells(organiser)[name(attended)] == "noch keine: Bescheinigungen noch nicht erstellt"


def test_free_seats_read_the_same_on_the_date_and_enrolment_pages(client, course, duisburg, hr_duisburg):
    """The enrolment page said "Freie Plätze: 8 von 16" above "Stadt Duisburg kann an diesem Termin noch 6 von
    16 Plätzen belegen": two figures "of 16" that read as contradicting each other. Now both pages name the free
    seats once, and what the city can take as a part of them, limited by its quota."""
    course.participants.filter(organisation=duisburg).update(seat_quota=12)
    course_date = CourseDateFactory(course=course, capacity=16)
    enrolment_create_many(
        actor=hr_duisburg, course_date=course_date, employees=employees_of(duisburg, 6), notify=False
    )
    client.force_login(hr_duisburg)
    expected = (
        "Freie Plätze an diesem Termin: 10 von 16. Stadt Duisburg kann davon 6 belegen "
        "(Kontingent je Termin: 12, davon 6 belegt). Wer darüber hinaus angemeldet wird, kommt auf die Warteliste."
    )
    for url in (course_date.get_absolute_url(), reverse("trainings:enrol", args=[course_date.pk])):
        text = " ".join(client.get(url, headers={"accept-language": "de"}).text.split())
        assert text.count(expected) == 1, url
        assert "von 16 Plätzen" not in text, url
