"""The programme overview and the anonymised-procedure pages in Chromium, checked by axe-core: the ministry's
dashboard with two partners, HR's own overview, the commitments behind a chart, and HR recording a procedure
(with a validation error first)."""

import pytest
from django.conf import settings

from partnerships.models import AnonymisedProcedure
from tests.conftest import axe_violations, browser_login
from tests.factories import OrganisationFactory, hr_user, ministry_user
from tests.programme.conftest import make_partner
from vielfalt.models import Organisation

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = settings.BASE_DIR / "test-artifacts" / "screenshots"


def check(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}.png"), full_page=True)
    assert axe_violations(page) == [], name


def test_dashboard_and_procedures(live_server, page):
    OrganisationFactory(slug="mais-nrw", name="MAIS NRW", kind=Organisation.Kind.STATE_MINISTRY)
    first = make_partner(1, trained=(1, 2, 1, 0), survey=(6, 14), posts=(3, 4))
    make_partner(2, kind=Organisation.Kind.COMPANY, district=Organisation.District.KOELN, survey=(2, 20))
    first.units.create(name="Amt für Personal und Organisation")
    staff = ministry_user(username="ministerium")
    hr = hr_user(first, username="hr-partner-1")
    base = live_server.url

    browser_login(page, live_server, staff)
    page.goto(f"{base}/dashboard/")
    assert page.locator('[data-figure="posts_filled"]').inner_text() == "10"
    check(page, "ministry")
    page.locator('table[data-chart="progress"] a').nth(1).click()
    page.wait_for_load_state()
    assert "/dashboard/commitments/" in page.url
    check(page, "commitments")
    page.goto(f"{base}/partnerships/procedures/")
    check(page, "procedures-ministry")

    page.context.clear_cookies()
    browser_login(page, live_server, hr)
    page.goto(f"{base}/dashboard/")
    assert page.locator("tr[data-organisation]").count() == 1
    check(page, "hr")
    page.goto(f"{base}/partnerships/procedures/new/")
    check(page, "procedure-form")
    page.fill("#id_post", "Sachbearbeitung Bürgeramt")
    page.fill("#id_held_on", "2015-04-01")
    page.select_option("#id_method", "blanked_fields")
    page.fill("#id_applications", "30")
    page.fill("#id_invited", "40")
    page.fill("#id_posts_filled", "2")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    check(page, "procedure-form-errors")
    page.fill("#id_invited", "6")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.endswith("/partnerships/procedures/")
    assert AnonymisedProcedure.objects.filter(organisation=first, post="Sachbearbeitung Bürgeramt").exists()
    check(page, "procedures-hr")
