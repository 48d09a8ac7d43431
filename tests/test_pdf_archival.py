"""Every kind of PDF the portal issues, made from the demo data, checked for what PDF/A-3b and the house rules
ask of an archived document (tests/pdfa.py: veraPDF itself cannot be installed here), tagged and sealed."""

import io

import pytest
from django.core.management import call_command
from django.utils import translation

from tests.helpers import assert_archival
from tests.pdfa import pdfa_problems, poppler_sees_pdfa
from vielfalt.models import Job, Organisation, User

pytestmark = pytest.mark.django_db


def job_result(task, **kwargs) -> bytes:
    job = Job.objects.create(kind=task.name, description="archival check")
    task.apply(kwargs={"job_id": str(job.pk), **kwargs}).get()
    job.refresh_from_db()
    assert job.status == "ready", (task.name, job.error)
    with job.result_file.open("rb") as handle:
        return handle.read()


def every_pdf_type() -> dict[str, bytes]:
    from partnerships.models import Agreement
    from partnerships.network.models import Meeting
    from partnerships.network.tasks import task_render_participants
    from partnerships.services import agreement_pdf_bytes
    from surveys.models import Campaign, Invitation
    from surveys.tasks import task_render_code_sheets, task_render_report
    from trainings.models import Certificate, CourseDate
    from trainings.tasks import certificate_pdf, task_render_sign_in_sheet
    from vielfalt.models import Employee
    from vielfalt.programme.privacy import access_export_pdf, processing_record_pdf
    from vielfalt.programme.tasks import task_partner_report, task_programme_report

    admin = User.objects.get(username="admin")
    duisburg = Organisation.objects.get(slug="duisburg")
    campaign = next(
        campaign for campaign in Campaign.objects.order_by("pk") if campaign.status == Campaign.Status.CLOSED
    )
    pooled = Invitation.objects.filter(employee__isnull=True, used=False, sent_at__isnull=True).first()
    meeting = Meeting.objects.filter(registrations__status="seated").order_by("pk").first()
    return {
        "agreement": agreement_pdf_bytes(Agreement.objects.filter(partner=duisburg).order_by("pk").first()),
        "certificate": certificate_pdf(Certificate.objects.order_by("pk").first()),
        "sign-in sheet": job_result(
            task_render_sign_in_sheet,
            course_date_id=CourseDate.objects.filter(enrolments__status="seated").order_by("pk").first().pk,
            actor_id=admin.pk,
        ),
        "code sheet letters": job_result(
            task_render_code_sheets, campaign_id=pooled.campaign_id, actor_id=admin.pk
        ),
        "survey report": job_result(task_render_report, campaign_id=campaign.pk),
        "programme report": job_result(task_programme_report, year=2026),
        "partner report": job_result(task_partner_report, organisation_id=duisburg.pk, year=2026),
        "network participants list": job_result(task_render_participants, meeting_id=meeting.pk),
        "access export (Art. 15)": access_export_pdf(
            actor=admin, employee=Employee.objects.filter(organisation=duisburg).order_by("pk").first()
        ),
        "record of processing (Art. 30)": processing_record_pdf(),
    }


def test_every_pdf_type_is_an_archival_tagged_sealed_pdfa():
    call_command("seed_demo", password="archival-demo-42", force=True, stdout=io.StringIO())
    with translation.override("de"):
        documents = every_pdf_type()
    problems = {kind: pdfa_problems(pdf) for kind, pdf in documents.items()}
    assert problems == dict.fromkeys(documents, []), problems
    for kind, pdf in documents.items():
        assert poppler_sees_pdfa(pdf) in (True, None), kind
        if kind != "code sheet letters":  # a DIN 5008 letter of its own, dated in its information block
            first_page = pdf_text_of_first_page(pdf)
            assert "Datum" in first_page and "Zeichen" in first_page, (kind, first_page)
        assert_archival(pdf)  # PDF/UA identification, one structure tree, the portal's intact seal


def test_the_checks_see_what_pdfa_forbids():
    import pikepdf

    from vielfalt.pdf import render_pdf_from_html

    clean = render_pdf_from_html(
        '<html lang="de"><title>T</title><meta name="author" content="Portal"><p>Text</p></html>',
        sealed=False,
    )
    assert pdfa_problems(clean) == []
    document = pikepdf.open(io.BytesIO(clean))
    del document.Root["/OutputIntents"]
    del document.Root["/Lang"]
    page = document.pages[0].obj
    font = next(iter(page.Resources.Font.values()))
    descriptor = (font.DescendantFonts[0] if "/DescendantFonts" in font else font).FontDescriptor
    for key in ("/FontFile", "/FontFile2", "/FontFile3"):
        if key in descriptor:
            del descriptor[key]
    page.Resources.ExtGState = pikepdf.Dictionary(G0=pikepdf.Dictionary(BM=pikepdf.Name("/Dissolve")))
    buffer = io.BytesIO()
    document.save(buffer)
    problems = " | ".join(pdfa_problems(buffer.getvalue()))
    for expected in ("no PDF/A output intent", "no language", "not embedded", "blend mode /Dissolve"):
        assert expected in problems, problems


def pdf_text_of_first_page(pdf: bytes) -> str:
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
