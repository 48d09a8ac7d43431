"""The programme overview and the anonymised-procedure pages in Chromium, checked by axe-core: the ministry's
dashboard with two partners, HR's own overview, the commitments behind a chart, and HR recording a procedure
(with a validation error first)."""

import pytest
from django.conf import settings

from partnerships.models import AnonymisedProcedure
from tests.conftest import axe_violations, browser_login, screenshot
from tests.factories import OrganisationFactory, hr_user, ministry_user
from tests.programme.conftest import make_partner
from vielfalt.models import Organisation

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = settings.BASE_DIR / "test-artifacts" / "screenshots"


def check(page, name: str) -> None:
    screenshot(page, SCREENSHOTS / f"dashboard-{name}.png")
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


@pytest.mark.parametrize("width", [375, 1280])
def test_dashboard_charts_keep_their_labels_readable_and_whole(live_server, page, width):
    """As the survey results' charts (test_surveys.test_results_and_the_code_page_fit_a_phone): the bars
    scale to the width, their labels stay at least 12 px and are not cut, the page scrolls only down."""
    OrganisationFactory(slug="mais-nrw", name="MAIS NRW", kind=Organisation.Kind.STATE_MINISTRY)
    make_partner(1, trained=(1, 2, 1, 0), survey=(6, 14), posts=(3, 4))
    make_partner(2, kind=Organisation.Kind.COMPANY, district=Organisation.District.KOELN, survey=(2, 20))
    viewer = page.context.browser.new_context(
        bypass_csp=True, locale="de-DE", viewport={"width": width, "height": 812}, is_mobile=width < 500
    ).new_page()
    browser_login(viewer, live_server, ministry_user(username="ministerium"))
    viewer.goto(f"{live_server.url}/dashboard/")
    check(viewer, f"charts-{width}")
    assert viewer.evaluate("document.documentElement.scrollWidth") <= width
    labels = viewer.evaluate(
        """() => [...document.querySelectorAll('.bar-chart-label, .bar-chart-value')].map(el => ({
            text: el.textContent.trim(), size: parseFloat(getComputedStyle(el).fontSize),
            cut: el.scrollWidth > el.clientWidth + 1, right: el.getBoundingClientRect().right}))"""
    )
    assert labels and all(label["size"] >= 12 for label in labels), labels
    assert [label for label in labels if label["cut"] or label["right"] > width] == []
    assert "Beschäftigte mit Publikumskontakt" in [label["text"] for label in labels]
    bars = viewer.evaluate(
        "() => [...document.querySelectorAll('.bar-chart-bar')].map(el => el.getBoundingClientRect().right)"
    )
    assert bars and max(bars) <= width
    viewer.context.close()
