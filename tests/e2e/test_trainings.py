"""Chromium journey through the trainings app: HR of Duisburg enrols 15 employees into a date with 12 free
seats (3 wait), cancels one (the first waiting is promoted), the organiser marks attendance once the date has
begun and builds the certificates, HR downloads one, anyone verifies it. axe-core must find nothing on every page.

Screenshots land in test-artifacts/screenshots/trainings-*.png (git-ignored)."""

import io
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import axe_violations, browser_login, screenshot
from tests.trainings.factories import begin
from trainings.models import Certificate, Course, CourseDate, Enrolment
from vielfalt.models import Employee, User

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = settings.BASE_DIR / "test-artifacts" / "screenshots"


@pytest.fixture
def demo(live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    call_command("seed_demo", password="e2e-demo-password-42", force=True, stdout=io.StringIO())
    return live_server.url


def check(page, name: str) -> None:
    screenshot(page, SCREENSHOTS / f"trainings-{name}.png")
    assert axe_violations(page) == [], name


def switch_user(page, live_server, username: str) -> None:
    page.context.clear_cookies()
    browser_login(page, live_server, User.objects.get(username=username))


def test_enrol_cancel_attend_certify_download_verify(demo, live_server, page):
    course = Course.objects.get(title="Interkulturelle Sensibilisierung")
    start = (timezone.localtime() + timedelta(days=28)).replace(hour=9, minute=0, second=0, microsecond=0)
    course_date = CourseDate.objects.create(
        course=course,
        target_group="public_facing",
        starts_at=start,
        ends_at=start + timedelta(hours=7),
        location="Rathaus Oberhausen, Raum 12",
        trainer="Dr. Aylin Demir",
        capacity=12,
        enrolment_deadline=start - timedelta(days=7),
        cancellation_deadline=start - timedelta(days=3),
    )
    page.on("dialog", lambda dialog: dialog.accept())

    # HR of Duisburg: course list, course, date, enrolment page
    switch_user(page, live_server, "hr-duisburg")
    page.goto(f"{demo}/trainings/")
    check(page, "course-list")
    page.locator("main table a", has_text="Interkulturelle Sensibilisierung").click()
    check(page, "course-detail")
    page.goto(f"{demo}{course_date.get_absolute_url()}")
    check(page, "date-detail-empty")
    page.goto(f"{demo}/trainings/dates/{course_date.pk}/enrol/?trained=1")
    check(page, "enrol")

    boxes = page.locator("#selection-form input[name=employees]:not([disabled])")
    assert boxes.count() >= 15
    for index in range(15):
        boxes.nth(index).check()
    page.locator("#selection-form button[value=enrol]").click()
    page.wait_for_url(re.compile(r"/enrol/result/$"))
    check(page, "enrol-result")
    assert page.locator("#result-seated tbody tr").count() == 12
    assert page.locator("#result-waiting tbody tr td:first-child").all_inner_texts() == ["1", "2", "3"]

    # HR cancels one seat: the first waiting moves up
    first_waiting = Enrolment.objects.filter(course_date=course_date, status="waiting").order_by("pk").first()
    page.goto(f"{demo}{course_date.get_absolute_url()}")
    page.locator("#seated-table tbody tr").first.locator("button[type=submit]").click()
    page.wait_for_load_state()
    check(page, "date-detail-after-cancel")
    first_waiting.refresh_from_db()
    assert first_waiting.status == "seated"
    assert page.locator("#waiting-table tbody tr").count() == 2
    assert page.locator("#seats-taken").inner_text() == "12 / 12"

    # a faulty file is refused whole, with line numbers
    free = (
        Employee.objects.filter(organisation__slug="duisburg")
        .exclude(enrolments__course_date__course=course)
        .first()
    )
    page.goto(f"{demo}/trainings/dates/{course_date.pk}/enrol/")
    content = f"Personalnummer\n{free.personnel_number}\nXX-1\n".encode()
    page.locator("#upload-form input[type=file]").set_input_files(
        files=[{"name": "liste.csv", "mimeType": "text/csv", "buffer": content}]
    )
    page.locator("#upload-form button[type=submit]").click()
    page.wait_for_load_state()
    check(page, "enrol-file-refused")
    assert page.locator("#problems tbody tr td:first-child").all_inner_texts() == ["3"]

    # the organiser sees the date before it begins (nothing to mark yet), then on its day marks attendance and
    # builds the certificates
    switch_user(page, live_server, "schulung-oberhausen")
    page.goto(f"{demo}{course_date.get_absolute_url()}")
    check(page, "date-detail-organiser-before")
    assert page.locator("#attendance-later").is_visible()
    assert page.locator("#seated-table select").count() == 0
    begin(course_date)
    page.goto(f"{demo}{course_date.get_absolute_url()}")
    check(page, "date-detail-organiser")
    selects = page.locator("#seated-table select")
    assert selects.count() == 12
    for index in range(selects.count()):
        selects.nth(index).select_option("attended" if index < 10 else "no_show")
    page.locator("button[form=attendance-form]").click()
    page.wait_for_load_state()
    assert Enrolment.objects.filter(course_date=course_date, attendance="attended").count() == 10
    page.locator(f"form[action$='/dates/{course_date.pk}/certificates/'] button").click()
    page.wait_for_url(re.compile(r"/jobs/"))
    page.locator(".job-status[data-status=ready]").wait_for()
    check(page, "certificates-job")
    assert Certificate.objects.filter(enrolment__course_date=course_date).count() == 10

    # HR downloads one certificate
    switch_user(page, live_server, "hr-duisburg")
    page.goto(f"{demo}{course_date.get_absolute_url()}")
    check(page, "date-detail-certificates")
    with page.expect_download() as download_info:
        page.locator("#seated-table a[href*='/certificates/']").first.click()
    download = download_info.value
    assert download.suggested_filename.startswith("teilnahmebescheinigung-")
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"

    # the report
    page.goto(f"{demo}/trainings/report/")
    check(page, "report")

    # anyone verifies the certificate
    page.context.clear_cookies()
    certificate = Certificate.objects.filter(enrolment__course_date=course_date).first()
    page.goto(f"{demo}/trainings/verify/{certificate.code}/")
    check(page, "verify")
    assert page.locator("#certificate-name").inner_text() == certificate.holder_name
    response = page.goto(f"{demo}/trainings/verify/ZZZZ-ZZZZ-ZZZZ/")
    assert response.status == 404


def test_organiser_pages_are_accessible(demo, live_server, page):
    switch_user(page, live_server, "schulung-oberhausen")
    course = Course.objects.get(title="Interkulturelle Sensibilisierung")
    page.goto(f"{demo}/trainings/courses/new/")
    check(page, "course-form")
    page.goto(f"{demo}/trainings/courses/{course.pk}/participants/")
    check(page, "participants")
    page.goto(f"{demo}/trainings/courses/{course.pk}/dates/new/")
    check(page, "date-form")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    check(page, "date-form-errors")
    past = course.dates.filter(starts_at__lt=timezone.now()).first()
    page.goto(f"{demo}{past.get_absolute_url()}")
    check(page, "date-detail-past")
    # The ministry reads the date in counts: the seats taken and a note instead of the lists of names.
    switch_user(page, live_server, "ministerium")
    page.goto(f"{demo}{past.get_absolute_url()}")
    assert page.locator("#persons-not-listed").is_visible()
    assert page.locator("#seated-table").count() == 0
    check(page, "date-detail-ministry")


def test_the_selection_outlives_the_pages_of_the_enrolment_list(demo, live_server, page):
    """HR of Duisburg (120 employees, 100 a page) ticks 5 on page 1, goes to page 2 and ticks 3 more: the page
    counts 8 as they are ticked (htmx), and all 8 are enrolled, not only page 2's 3 as before."""
    course_date = (
        CourseDate.objects.filter(starts_at__gt=timezone.now() + timedelta(days=14), cancelled_at=None)
        .order_by("starts_at")
        .first()
    )
    switch_user(page, live_server, "hr-duisburg")
    page.goto(f"{demo}/trainings/dates/{course_date.pk}/enrol/")
    boxes = page.locator("#selection-form input[name=employees]:not([disabled])")
    for index in range(5):
        boxes.nth(index).check()
    expect(page.locator("#selection-count")).to_contain_text("5 Beschäftigte ausgewählt")
    page.locator("#selection-form nav button[name=page]", has_text="Weiter").click()
    page.wait_for_url(re.compile(r"page=2"))
    expect(page.locator("#selection-count")).to_contain_text("5 Beschäftigte ausgewählt")
    boxes = page.locator("#selection-form input[name=employees]:not([disabled])")
    for index in range(3):
        boxes.nth(index).check()
    expect(page.locator("#selection-count")).to_contain_text(
        "8 Beschäftigte ausgewählt (davon 5 auf anderen Seiten oder außerhalb des Filters)"
    )
    check(page, "enrol-selection-page-2")
    before = Enrolment.objects.filter(course_date=course_date).count()
    page.locator("#selection-form button[value=enrol]").click()
    page.wait_for_url(re.compile(r"/enrol/result/$"))
    assert Enrolment.objects.filter(course_date=course_date).count() == before + 8
