"""The data protection pages in Chromium, checked by axe-core: the record of processing (ministry), the retention
periods (administrator), HR's access export of one employee, and the certificate check after the purge."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from tests.conftest import axe_violations, browser_login, screenshot
from trainings.models import Certificate
from vielfalt.models import Employee, User
from vielfalt.permissions import SYSTEM
from vielfalt.programme.privacy import purge
from vielfalt.services import employee_deactivate

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = settings.BASE_DIR / "test-artifacts" / "screenshots"


def check(page, name: str) -> None:
    screenshot(page, SCREENSHOTS / f"privacy-{name}.png")
    assert axe_violations(page) == [], name


def test_privacy_pages(live_server, page, settings):
    settings.DEBUG = True
    call_command("seed_demo", password="demo-password-1")
    base = live_server.url
    person = Employee.objects.filter(
        organisation__slug="duisburg", enrolments__certificate__isnull=False
    ).first()

    browser_login(page, live_server, User.objects.get(username="ministerium"))
    page.goto(f"{base}/")
    page.get_by_role("link", name="Verarbeitungsverzeichnis").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Verzeichnis von Verarbeitungstätigkeiten"
    check(page, "record")

    page.context.clear_cookies()
    browser_login(page, live_server, User.objects.get(username="admin"))
    page.goto(f"{base}/privacy/retention/")
    assert page.locator("#retention-periods tbody tr").count() == 9
    assert "ACCOUNT_DORMANT_NOTICE_DAYS" in page.locator("#retention-periods").inner_text()
    check(page, "retention")

    page.context.clear_cookies()
    browser_login(page, live_server, User.objects.get(username="hr-duisburg"))
    page.goto(f"{base}/employees/{person.pk}/")
    page.get_by_role("link", name="Alles, was das Portal über diese Person speichert (Art. 15 DSGVO)").click()
    page.wait_for_load_state()
    assert person.last_name in page.locator("main").inner_text()
    check(page, "access")

    code = Certificate.objects.get(enrolment__employee=person).code
    name = person.full_name
    employee_deactivate(actor=SYSTEM, employee=person)
    purge(actor=SYSTEM, now=timezone.now() + timezone.timedelta(days=4 * 365))
    page.context.clear_cookies()
    page.goto(f"{base}/trainings/verify/{code}/")
    assert page.locator("#certificate-name").inner_text() == "Nach Ablauf der Löschfrist entfernt"
    page.fill("#id_name", name)
    page.get_by_role("button", name="Namen prüfen").click()
    page.wait_for_load_state()
    assert "ist der Name" in page.locator("#name-check-result").inner_text()
    check(page, "verify-after-purge")


def test_after_logging_out_back_shows_no_personal_data(live_server, browser, chromium_path):
    """A clerk at a shared office computer logs out; the next person presses Back. The browser must not show the
    employee list from its back/forward cache (which Playwright turns off by default, and real browsers keep on):
    it asks the portal again, which asks for a login."""
    from tests.conftest import CHROMIUM_ARGS
    from tests.factories import EmployeeFactory, OrganisationFactory, hr_user

    city = OrganisationFactory()
    EmployeeFactory(organisation=city, last_name="Yılmaz-Kowalczyk")
    user = hr_user(city)
    with_cache = browser.browser_type.launch(  # the same Playwright, a browser that keeps pages for Back
        executable_path=chromium_path,
        args=CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
    )
    try:
        page = with_cache.new_page(locale="de-DE")
        page.set_default_timeout(15_000)
        browser_login(page, live_server, user)
        page.goto(f"{live_server.url}/employees/")
        assert "Yılmaz-Kowalczyk" in page.locator("main").inner_text()
        page.get_by_role("button", name="Abmelden").click()
        page.wait_for_url("**/accounts/login/")
        page.go_back(wait_until="commit")  # a page from the back/forward cache fires no "load"
        page.wait_for_url("**/accounts/login/?next=/employees/")
        page.wait_for_load_state()
        assert "Yılmaz-Kowalczyk" not in page.content()
    finally:
        with_cache.close()
