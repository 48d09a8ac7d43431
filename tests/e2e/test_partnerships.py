"""The partnerships journey in Chromium: the ministry creates an agreement with three signatories and three
commitments, generates its PDF (a real Celery worker; the page flips to "ready" by itself), uploads the
signed copy and marks it signed; HR of Duisburg opens it and reports progress. axe-core checks the list, the
form (also with validation errors), the detail and the export page.

Buttons are found by their form's action or data attributes, not their (translatable) text."""

import pytest
from django.conf import settings
from django.utils import timezone

from partnerships.models import Agreement, AgreementDocument, ProgressReport
from tests.conftest import axe_violations, browser_login, screenshot
from tests.factories import OrganisationFactory, hr_user, ministry_user
from vielfalt.models import Organisation

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = settings.BASE_DIR / "test-artifacts" / "screenshots"
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def check(page, name: str) -> None:
    screenshot(page, SCREENSHOTS / f"partnerships-{name}.png")
    assert axe_violations(page) == [], name


def submit(page, action_suffix: str) -> None:
    page.locator(f'main form[action$="{action_suffix}"] button[type=submit]').first.click()
    page.wait_for_load_state()


def test_agreement_from_draft_to_signed_and_progress(celery_worker, live_server, page, browser, tmp_path):
    ministry = OrganisationFactory(slug="mais-nrw", name="MAIS NRW", kind=Organisation.Kind.STATE_MINISTRY)
    duisburg = OrganisationFactory(slug="duisburg", name="Stadt Duisburg")
    unit = duisburg.units.create(name="Amt für Personal und Organisation")
    staff = ministry_user(username="ministerium")
    hr = hr_user(duisburg, username="hr-duisburg")
    base = live_server.url

    browser_login(page, live_server, staff)
    page.goto(f"{base}/partnerships/")
    check(page, "list-empty")

    page.goto(f"{base}/partnerships/new/")
    check(page, "form")
    page.select_option("#id_partner", str(duisburg.pk))
    # The partner's org units are loaded into each commitment's select (htmx), none of them chosen.
    page.wait_for_selector(f'#id_commitments-2-responsible_unit option[value="{unit.pk}"]', state="attached")
    assert [page.locator(f"#id_commitments-{n}-responsible_unit").input_value() for n in range(3)] == [""] * 3
    page.select_option("#id_state_party", str(ministry.pk))
    page.fill("#id_place", "Duisburg")
    page.fill("#id_valid_from", "2026-01-01")
    page.fill("#id_valid_until", "2025-01-01")  # before valid_from: a validation error
    page.fill("#id_preamble", "Interkulturelle Kompetenz ist ein Qualitätsmerkmal.")
    page.fill("#id_body", "Die Partner vereinbaren:\n\n- Schulungen\n- Befragung")
    signatories = [
        ("partner", "Sören Link", "Oberbürgermeister"),
        ("state", "Guntram Schneider", "Minister"),
        ("state", "Zülfiye Kaykin", "Staatssekretärin"),
    ]
    for index, (side, name, function) in enumerate(signatories):
        page.select_option(f"#id_signatories-{index}-side", side)
        page.fill(f"#id_signatories-{index}-name", name)
        page.fill(f"#id_signatories-{index}-function", function)
        page.fill(f"#id_signatories-{index}-order", str(index + 1))
    commitments = ["Interkulturelle Sensibilisierung", "Anonymisierte Bewerbungsverfahren", "Befragung"]
    for index, field in enumerate(commitments):
        page.fill(f"#id_commitments-{index}-field_of_action", field)
        page.fill(f"#id_commitments-{index}-description", f"Beschreibung: {field}")
        page.fill(f"#id_commitments-{index}-target_value", "10")
        page.fill(f"#id_commitments-{index}-order", str(index + 1))
    page.select_option("#id_commitments-0-responsible_unit", str(unit.pk))
    page.locator("main form[method=post] button[type=submit]").first.click()
    page.wait_for_selector(".error-summary")
    check(page, "form-errors")
    assert not Agreement.objects.exists()

    page.fill("#id_valid_until", "2030-12-31")
    page.fill("#id_signed_on", timezone.localdate().isoformat())  # between its creation and today
    page.locator("main form[method=post] button[type=submit]").first.click()
    page.wait_for_selector("#documents")
    agreement = Agreement.objects.get()
    assert page.url.endswith(agreement.get_absolute_url())
    assert list(agreement.signatories.values_list("name", flat=True)) == [s[1] for s in signatories]
    assert list(agreement.commitments.values_list("field_of_action", flat=True)) == commitments

    # Generate the PDF: a background job; the status fragment polls until it is ready.
    submit(page, "/pdf/")
    page.wait_for_selector('.job-status[data-status="ready"]', timeout=60_000)
    assert AgreementDocument.objects.filter(agreement=agreement, kind="generated").count() == 1
    check(page, "detail-pdf-ready")

    page.locator('button[data-transition="in_review"]').click()
    page.wait_for_load_state()
    page.locator('button[data-transition="ready_for_signature"]').click()
    page.wait_for_load_state()
    scan = tmp_path / "unterschrieben.pdf"
    scan.write_bytes(MINIMAL_PDF)
    page.set_input_files("#id_file", str(scan))
    submit(page, "/signed-copy/")
    page.locator('button[data-transition="signed"]').click()
    page.wait_for_load_state()
    # Marking it signed asks for confirmation and a reason (kept in the audit log).
    check(page, "transition-confirm")
    page.fill("#id_reason", "Beide Seiten haben am selben Tag unterschrieben.")
    page.check("#id_confirm")
    page.locator('button[data-confirm-transition="signed"]').click()
    page.wait_for_load_state()
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.SIGNED
    assert page.locator('[data-status="signed"]').is_visible()
    check(page, "detail-signed")

    page.goto(f"{base}/partnerships/?status=signed&ordering=partner")
    assert page.locator(f'main table a[href="{agreement.get_absolute_url()}"]').is_visible()
    check(page, "list")

    page.goto(f"{base}/partnerships/export/")
    check(page, "export")

    # HR of Duisburg, in a fresh browser context.
    context = browser.new_context(bypass_csp=True, locale="de-DE")
    hr_page = context.new_page()
    hr_page.set_default_timeout(15_000)
    try:
        browser_login(hr_page, live_server, hr)
        hr_page.goto(f"{base}{agreement.get_absolute_url()}")
        assert hr_page.locator("main h1").is_visible()
        assert hr_page.locator('form[action$="/edit/"], a[href$="/edit/"]').count() == 0
        commitment = agreement.commitments.first()
        hr_page.locator(f'a[href$="/commitments/{commitment.pk}/progress/"]').click()
        hr_page.wait_for_selector("#id_value_reached")
        check(hr_page, "progress-form")
        hr_page.fill("#id_value_reached", "4")
        hr_page.fill("#id_text", "Vier Beschäftigte geschult.")
        hr_page.locator("main form[method=post] button[type=submit]").first.click()
        hr_page.wait_for_selector("#documents")
        report = ProgressReport.objects.get()
        assert (report.commitment, report.value_reached, report.reported_by) == (commitment, 4, hr)
        check(hr_page, "detail-hr")
    finally:
        context.close()
