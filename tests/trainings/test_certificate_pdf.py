"""The certificate is one page: the statement (who took part in what, when, for how long), the issuer and the
verification stay together on it whatever the length of what a user typed; contents too long to fit beside them
follow on a page of their own, and the first page says so."""

import io

import pytest
from django.utils import translation
from pypdf import PdfReader

from tests.factories import EmployeeFactory
from tests.helpers import assert_archival, printed_beyond_the_margin
from tests.trainings.factories import begin
from trainings.services import attendance_mark, certificate_issue, enrolment_create_many
from trainings.tasks import certificate_pdf

pytestmark = pytest.mark.django_db

PARAGRAPH = (
    "Die Teilnehmenden lernen Grundlagen interkultureller Kommunikation kennen und üben sie an Fällen. "
)


def _certificate(course_date, employee, hr, organiser):
    (enrolment,) = enrolment_create_many(actor=hr, course_date=course_date, employees=[employee]).seated
    attendance_mark(actor=organiser, course_date=begin(course_date), marks={enrolment.pk: "attended"})
    enrolment.refresh_from_db()
    return certificate_issue(actor=organiser, enrolment=enrolment)


@pytest.fixture(autouse=True)
def _german():
    with translation.override("de"):  # as the certificates' job renders them
        yield


def _pages(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_a_usual_certificate_is_one_page_with_its_contents(course_date, duisburg, hr_duisburg, organiser):
    certificate = _certificate(
        course_date,
        EmployeeFactory(organisation=duisburg, first_name="Ayşe", last_name="Yılmaz"),
        hr_duisburg,
        organiser,
    )
    (page,) = _pages(certificate_pdf(certificate))
    assert "Ayşe Yılmaz" in page and "Inhalte" in page and certificate.course_content.split()[-1] in page
    assert f"Prüfcode: {certificate.code}" in page and "folgenden Seite" not in page


def test_the_statement_and_its_verification_share_the_first_page_whatever_the_texts_length(
    course, course_date, duisburg, hr_duisburg, organiser
):
    """Every field at its longest: the verification (code, address, QR code) fell onto the second page from
    about 300 characters of contents beside a long title, away from the name it verifies."""
    organiser_organisation = course.organiser
    organiser_organisation.name = ("Stadtverwaltung Oberhausen, Fachbereich Personal " * 5)[:200]
    organiser_organisation.save()
    course.title = ("Interkulturelle Sensibilisierung für Beschäftigte mit Publikumsverkehr " * 3)[:200]
    course.description = "\n".join([PARAGRAPH * 3] * 10) + " Ende der Inhalte."
    course.save()
    employee = EmployeeFactory(organisation=duisburg, first_name="Wm" * 75, last_name="Wm" * 75)
    certificate = _certificate(course_date, employee, hr_duisburg, organiser)
    assert len(certificate.holder_name) == 301

    pdf = certificate_pdf(certificate)
    first, *rest = _pages(pdf)
    assert "Teilnahmebescheinigung" in first and "Wm" * 20 in first and "7,5 Stunden" in first
    assert f"Prüfcode: {certificate.code}" in first and certificate.verify_url in first
    assert (
        "Ausgestellt am" in first and "Die Inhalte der Fortbildung stehen auf der folgenden Seite." in first
    )
    assert PARAGRAPH.strip() not in first
    assert rest and "Inhalte der Fortbildung" in rest[0] and certificate.code in rest[0]
    assert " ".join(rest).endswith("Ende der Inhalte.") or "Ende der Inhalte." in rest[-1]
    assert not printed_beyond_the_margin(pdf)
    assert_archival(pdf, title="Teilnahmebescheinigung")
