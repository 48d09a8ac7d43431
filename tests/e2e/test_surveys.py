"""The survey journey in Chromium, keyboard only where respondents act: HR creates and opens a campaign and
invites 40 employees; 30 answer through their one-time links (three with the keyboard in the browser, the rest
through the test client); HR closes the campaign, sees 75 % participation and results with suppressed cells,
and downloads the PDF report. axe-core (WCAG 2.1 A/AA) runs on every survey and results page, including the
page with validation errors.

Screenshots land in test-artifacts/surveys/ (git-ignored)."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from surveys.models import Campaign, HeldAnswer, Response
from tests.conftest import axe_violations, browser_login, screenshot
from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, hr_user, ministry_user
from tests.surveys.conftest import DEFAULT_ANSWERS, form_key
from vielfalt.models import TargetGroup

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = settings.BASE_DIR / "test-artifacts" / "surveys"
GROUPS = [TargetGroup.PUBLIC_FACING, TargetGroup.PUBLIC_FACING, TargetGroup.TRAINEE, TargetGroup.MANAGER]


def check(page, name):
    screenshot(page, SCREENSHOTS / f"{name}.png")
    assert axe_violations(page) == [], name


def respondent_context(browser, width: int, javascript: bool = True):
    """A respondent's browser (axe may run) on a phone (below 400 px: touch) or a desktop `width` wide, with
    or without JavaScript."""
    return browser.new_context(
        bypass_csp=True,
        locale="de-DE",
        viewport={"width": width, "height": 800},
        is_mobile=width < 400,
        has_touch=width < 400,
        java_script_enabled=javascript,
    )


def switch_language(page, name: str) -> None:
    """Choose the language `name` in the header of a respondent's page (a link, or on the questionnaire a
    button of its form) and wait for the page in that language."""
    with page.expect_navigation():
        page.get_by_role("navigation").get_by_text(name, exact=True).click()


def tab_to(page, selector_js: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches (a JS expression over `el`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!({selector_js}); }}"):
            return
    raise AssertionError(f"never reached {selector_js}")


def choose(page, name: str, index: int) -> None:
    """Select option `index` of a radio group with the keyboard: Tab into the group, Space, arrows."""
    tab_to(page, f"el.name === '{name}'")
    page.keyboard.press("Space")
    for _ in range(index):
        page.keyboard.press("ArrowDown")


def answer_with_keyboard(page, *, not_german: bool, group_index: int) -> None:
    choose(page, "own_citizenship", 1 if not_german else 0)
    choose(page, "birth_country", 0)
    choose(page, "mother_citizenship", 0)
    choose(page, "mother_immigrated", 1)
    choose(page, "father_citizenship", 0)
    choose(page, "father_immigrated", 1)
    choose(page, "target_group", group_index)
    choose(page, "org_unit", 0)
    tab_to(page, "el.name === 'languages' && el.value === 'de'")
    page.keyboard.press("Space")
    tab_to(page, "el.type === 'submit' && el.closest('form.survey-form')")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_survey_journey_keyboard_only_with_axe(live_server, page):
    organisation = OrganisationFactory(slug="stadt-e2e", name="Stadt Beispielstadt")
    units = [
        OrgUnitFactory(organisation=organisation, name=name)
        for name in ("Bürgerbüro", "Jugendamt", "Ordnungsamt", "Sozialamt")
    ]
    for number in range(40):
        EmployeeFactory(
            organisation=organisation, org_unit=units[number % 4], target_group=GROUPS[number % 4]
        )
    hr = hr_user(organisation)
    browser_login(page, live_server, hr)
    page.on("dialog", lambda dialog: dialog.accept())  # "Open/Close the campaign?"

    # HR creates the campaign.
    page.goto(f"{live_server.url}/surveys/")
    check(page, "01-campaign-list")
    page.get_by_role("link", name=re.compile("Neue Befragung|New campaign")).click()
    page.locator("#id_title").fill("Befragung Beispielstadt 2024")
    today = timezone.localdate()  # a new campaign cannot start in the past
    page.locator("#id_opens_on").fill(today.isoformat())
    page.locator("#id_closes_on").fill((today + timedelta(days=30)).isoformat())
    page.locator("#id_previous_estimate").fill("2–3 %")
    page.locator("#id_purpose").fill("Wie vielfältig ist unsere Verwaltung?")
    page.locator("#id_legal_basis").fill("Einwilligung")
    page.locator("#id_dpo_contact").fill("datenschutz@beispielstadt.example")
    check(page, "02-campaign-form")
    page.locator("main form [type=submit]").click()
    campaign = Campaign.objects.get()
    check(page, "03-campaign-detail-draft")

    # Opens it and invites all 40.
    page.locator(f"form[action='/surveys/{campaign.pk}/open/'] button").click()
    page.goto(f"{live_server.url}/surveys/{campaign.pk}/invite/")
    check(page, "04-invite")
    page.locator("main form [type=submit]").click()
    page.wait_for_load_state()
    assert len(mail.outbox) == 40
    links = [
        line.strip()
        for message in mail.outbox
        for line in message.body.splitlines()
        if "/surveys/t/" in line and not line.endswith("/leicht/")  # the same link, for easy-to-read
    ]
    paths = [link[link.index("/surveys/t/") :] for link in links]
    assert len(paths) == 40

    # Three respondents answer in the browser, with the keyboard only.
    respondent = page.context.browser.new_context(bypass_csp=True, locale="de-DE").new_page()
    respondent.goto(f"{live_server.url}{paths[0]}")
    assert respondent.url == f"{live_server.url}/surveys/answer/"
    check(respondent, "05-answer")
    tab_to(respondent, "el.type === 'submit' && el.closest('form.survey-form')")
    with respondent.expect_navigation():
        respondent.keyboard.press("Enter")  # nothing answered: errors
    assert respondent.locator(".error-summary").is_visible()
    respondent.wait_for_function("document.activeElement.classList.contains('error-summary')")
    check(respondent, "06-answer-errors")
    answer_with_keyboard(respondent, not_german=True, group_index=0)
    assert respondent.locator("h1").count() == 1
    check(respondent, "07-thanks")
    respondent.context.close()
    for number, path in enumerate(paths[1:3], start=1):
        # the second on a phone-sized screen, the third in English
        respondent = page.context.browser.new_context(
            bypass_csp=True,
            locale="de-DE",
            viewport={"width": 390, "height": 844} if number == 1 else None,
            is_mobile=number == 1,
            has_touch=number == 1,
        ).new_page()
        respondent.goto(f"{live_server.url}{path}")
        if number == 1:
            check(respondent, "05b-answer-phone")
            assert respondent.evaluate("document.documentElement.scrollWidth") <= 390
        else:
            switch_language(respondent, "English")
            assert respondent.locator("html").get_attribute("lang") == "en"
            check(respondent, "05c-answer-english")
        answer_with_keyboard(respondent, not_german=False, group_index=number)
        respondent.context.close()
    assert HeldAnswer.objects.count() == 3

    # A replay of a used link looks like a first visit (nobody but its holder may tell); an unknown link gets
    # a clear page.
    replay = page.context.browser.new_context(bypass_csp=True, locale="de-DE").new_page()
    replay.goto(f"{live_server.url}{paths[0]}")
    assert replay.locator("form.survey-form").is_visible()
    check(replay, "08-used-link-looks-unused")
    replay.goto(f"{live_server.url}/surveys/t/unknown-token/")
    assert replay.locator("#link-invalid").is_visible()
    check(replay, "09-link-invalid")
    replay.context.close()

    # The other 27 answer through the test client.
    for number, path in enumerate(paths[3:30], start=3):
        client = Client()
        client.get(path)
        answers = {
            **DEFAULT_ANSWERS,
            "target_group": ["public_facing", "public_facing", "trainee", "manager"][number % 4],
            "org_unit": str(units[number % 4].pk),
            "own_citizenship": "not_german" if number % 9 == 0 else "german",
            "form_key": form_key(client),
        }
        assert client.post("/surveys/answer/", answers).status_code == 302
    assert HeldAnswer.objects.count() == 30
    assert Response.objects.count() == 0  # held until a release of at least k, or the closing

    # HR closes the campaign and sees the results.
    page.goto(f"{live_server.url}/surveys/{campaign.pk}/")
    page.locator(f"form[action='/surveys/{campaign.pk}/close/'] button").click()
    page.wait_for_load_state()
    check(page, "10-campaign-detail-closed")
    page.goto(f"{live_server.url}/surveys/{campaign.pk}/results/")
    assert page.locator("#participation-rate").inner_text().replace(",", ".") == "75.0 %"
    assert page.locator(".suppressed").count() > 0
    check(page, "11-results")

    # The PDF report, built by a background job, read back.
    page.locator(f"form[action='/surveys/{campaign.pk}/report/'] button").click()
    page.wait_for_load_state()
    with page.expect_download() as download:
        page.locator(".job-status a").click()
    text = "\n".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert "Befragung Beispielstadt 2024" in text
    assert "75,0 %" in text or "75.0 %" in text
    assert "40" in text and "30" in text

    # The ministry's programme-wide figures.
    ministry = page.context.browser.new_context(bypass_csp=True, locale="de-DE").new_page()
    browser_login(ministry, live_server, ministry_user())
    ministry.goto(f"{live_server.url}/surveys/programme/")
    check(ministry, "12-programme")
    ministry.context.close()


def test_results_and_the_code_page_fit_a_phone(live_server, page):
    """At 375 px: no horizontal scroll on the results page (tables scroll in their own container), chart labels
    of at least 12 px and not cut; the code page logged out, axe-clean."""
    from surveys.services import campaign_close, campaign_create, campaign_open, invitations_create
    from tests.surveys.test_results import add_response

    organisation = OrganisationFactory(slug="stadt-phone", name="Stadt Beispielstadt")
    units = [
        OrgUnitFactory(organisation=organisation, name=name)
        for name in ("Bürgerbüro und Publikumskontakt", "Jugendamt", "Ordnungsamt", "Sozialamt")
    ]
    for number in range(40):
        EmployeeFactory(
            organisation=organisation, org_unit=units[number % 4], target_group=GROUPS[number % 4]
        )
    hr = hr_user(organisation)
    campaign = campaign_create(
        actor=hr,
        organisation=organisation,
        title="Befragung 2024",
        opens_on=timezone.localdate(),
        closes_on=timezone.localdate() + timedelta(days=30),
        k=5,
        purpose="Zweck",
        legal_basis="Einwilligung",
        dpo_contact="datenschutz@example.org",
    )
    campaign_open(actor=hr, campaign=campaign)
    invitations_create(actor=hr, campaign=campaign)
    for number in range(30):
        add_response(
            campaign,
            group=["public_facing", "public_facing", "trainee", "manager"][number % 4],
            unit=units[number % 4],
            mh="yes" if number % 3 == 0 else "no",
            languages=("de", "tr") if number % 2 else ("de",),
        )
    campaign_close(actor=hr, campaign=campaign)

    phone = page.context.browser.new_context(
        bypass_csp=True,
        locale="de-DE",
        viewport={"width": 375, "height": 812},
        is_mobile=True,
        has_touch=True,
    ).new_page()
    browser_login(phone, live_server, hr)
    phone.goto(f"{live_server.url}/surveys/{campaign.pk}/results/")
    assert phone.locator(".results-table").count() == 3
    check(phone, "13-results-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    labels = phone.evaluate(
        """() => [...document.querySelectorAll('.bar-chart-label, .bar-chart-value')].map(el => ({
            text: el.textContent.trim(), size: parseFloat(getComputedStyle(el).fontSize),
            cut: el.scrollWidth > el.clientWidth + 1}))"""
    )
    assert labels and all(label["size"] >= 12 for label in labels), labels
    assert not [label for label in labels if label["cut"]], labels
    assert "Bürgerbüro und Publikumskontakt" in [label["text"] for label in labels]
    # Every results table scrolls inside a container of its own that fits the screen.
    containers = phone.evaluate(
        """() => [...document.querySelectorAll('.results-table')].map(t => {
            const box = t.closest('.results-table-wrap'); return box && box.getBoundingClientRect().right <= 375 })"""
    )
    assert containers == [True, True, True]
    phone.context.close()

    respondent = page.context.browser.new_context(
        bypass_csp=True, locale="de-DE", viewport={"width": 375, "height": 812}, is_mobile=True
    ).new_page()
    respondent.goto(f"{live_server.url}/umfrage/")
    check(respondent, "14-code-page-phone")
    assert respondent.evaluate("document.documentElement.scrollWidth") <= 375
    respondent.locator("#id_code").fill("AAAA-BBBB-CCCC")
    respondent.locator("main form [type=submit]").click()
    assert respondent.locator("#id_code_error").is_visible()
    check(respondent, "15-code-page-error")
    respondent.context.close()


def test_the_survey_in_easy_to_read_language_passes_axe(live_server, page):
    from surveys.credentials import format_code
    from surveys.services import invitation_issue
    from tests.surveys.conftest import open_campaign_with_invitations

    campaign, _tokens, hr = open_campaign_with_invitations(employees=6, k=3, issue_tokens=False)
    code, later = (invitation_issue(actor=hr, invitation=i).code for i in campaign.invitations.all()[:2])
    respondent = page.context.browser.new_context(bypass_csp=True, locale="de-DE").new_page()
    respondent.goto(f"{live_server.url}/umfrage/")
    respondent.get_by_role("link", name="Leichte Sprache").click()
    assert respondent.get_by_text("Hier tippen Sie Ihren Code ein.").is_visible()
    check(respondent, "15a-code-easy-to-read")
    respondent.locator("#id_code").fill("ABCD-EFGH-JKMN")
    with respondent.expect_navigation():
        respondent.locator("main form [type=submit]").click()
    assert respondent.get_by_text("Dieser Code funktioniert nicht.").is_visible()
    check(respondent, "15b-code-wrong-easy-to-read")
    respondent.locator("#id_code").fill(format_code(code).lower())
    with respondent.expect_navigation():
        respondent.locator("main form [type=submit]").click()
    assert respondent.url == f"{live_server.url}/surveys/answer/"
    assert respondent.locator(".easy-to-read").is_visible()
    check(respondent, "16-answer-easy-to-read")
    answer_with_keyboard(respondent, not_german=True, group_index=0)
    assert respondent.locator("#thanks").is_visible()
    check(respondent, "17-thanks-easy-to-read")
    assert HeldAnswer.objects.filter(campaign=campaign).count() == 1
    respondent.goto(f"{live_server.url}/surveys/t/unknown-token/")
    assert respondent.locator("#link-invalid").is_visible()
    assert respondent.get_by_text("Vielleicht ist der Link nicht vollständig.").is_visible()
    check(respondent, "18-link-invalid-easy-to-read")
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)
    respondent.goto(f"{live_server.url}/umfrage/")
    respondent.locator("#id_code").fill(format_code(later))
    with respondent.expect_navigation():
        respondent.locator("main form [type=submit]").click()
    assert respondent.locator("#not-open").is_visible()
    assert respondent.get_by_text("Sie können die Fragen jetzt nicht beantworten.").is_visible()
    check(respondent, "19-not-open-easy-to-read")


@pytest.mark.parametrize("width", [375, 1280])
def test_a_wrong_code_takes_the_focus_and_a_page_left_open_too_long_says_what_to_do(
    live_server, browser, width
):
    """With the keyboard, on a phone and a desktop: a code that does not work brings the form back with the
    focus in the code field (it was on nothing: a screen reader started at the top of the page, and the error
    was found only by reading on); answers sent after the respondent's state expired get a page that says they
    were not sent and how to answer, in easy-to-read language too; both pass axe and fit the window."""
    import time

    from surveys.credentials import respondent_seal, respondent_unseal
    from surveys.views import RESPONDENT_COOKIE
    from tests.surveys.conftest import open_campaign_with_invitations

    _campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    context = respondent_context(browser, width)
    respondent = context.new_page()
    respondent.goto(f"{live_server.url}/umfrage/")
    tab_to(respondent, "el.id === 'id_code'")
    respondent.keyboard.type("ABCD-EFGH-JKMN")
    with respondent.expect_navigation():
        respondent.keyboard.press("Enter")
    assert respondent.locator("#id_code_error").is_visible()
    assert respondent.evaluate("document.activeElement.id") == "id_code"
    assert "id_code_error" in respondent.evaluate("document.activeElement.getAttribute('aria-describedby')")
    check(respondent, f"20-code-wrong-focus-{width}")

    respondent.goto(f"{live_server.url}/surveys/t/{tokens[0]}/")
    assert respondent.locator("form.survey-form").is_visible()
    # Forty minutes later: the state as the portal sealed it, opened that long ago.
    cookie = next(c for c in context.cookies() if c["name"] == RESPONDENT_COOKIE)
    state = respondent_unseal(cookie["value"])
    context.add_cookies([{**cookie, "value": respondent_seal({**state, "at": int(time.time()) - 40 * 60})}])
    answer_with_keyboard(respondent, not_german=False, group_index=0)
    assert respondent.locator("#page-expired").is_visible()
    assert respondent.get_by_text("Ihre Antworten wurden nicht gesendet.").is_visible()
    assert respondent.evaluate("document.documentElement.scrollWidth") <= width
    check(respondent, f"21-page-expired-{width}")
    respondent.get_by_role("link", name="Leichte Sprache").click()
    assert respondent.get_by_text("Bitte öffnen Sie den Link in Ihrer E-Mail").is_visible()
    assert respondent.evaluate("document.documentElement.scrollWidth") <= width
    check(respondent, f"22-page-expired-easy-{width}")
    respondent.get_by_role("link", name="Hier den Code eintippen").click()
    assert respondent.url == f"{live_server.url}/umfrage/"
    context.close()


def test_the_code_form_keeps_its_width_under_the_portals_content_security_policy(live_server, browser):
    """The code form was narrowed by a style attribute, which the portal's CSP (style-src 'self') refuses:
    on a desktop its field ran across the whole page, and the browser reported the refusal."""
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 800})  # CSP enforced
    page = context.new_page()
    refused = []
    page.on("console", lambda message: refused.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/umfrage/")
    assert page.locator("main form").evaluate("form => form.getBoundingClientRect().width") <= 30 * 16
    assert refused == []
    context.close()


@pytest.mark.parametrize("way", ["link", "easy-link", "english", "code"])
def test_the_link_leaves_no_token_in_the_address_bar_or_the_tabs_history(live_server, browser, way):
    """Opening the link (or its easy-to-read form, or switching to English, or typing the code) ends at the
    questionnaire's address without the token, and going back through the tab's history finds no address with
    the token (the link answers with a redirect, so the browser keeps only where it led)."""
    from surveys.credentials import format_code
    from surveys.services import invitation_issue
    from tests.surveys.conftest import open_campaign_with_invitations

    campaign, tokens, hr = open_campaign_with_invitations(employees=5)
    context = browser.new_context(bypass_csp=True, locale="de-DE")
    respondent = context.new_page()
    secret = tokens[0]
    if way == "code":
        secret = invitation_issue(actor=hr, invitation=campaign.invitations.first()).code
        respondent.goto(f"{live_server.url}/umfrage/")
        respondent.locator("#id_code").fill(format_code(secret))
        with respondent.expect_navigation():
            respondent.locator("main form [type=submit]").click()
    else:
        respondent.goto(f"{live_server.url}/surveys/t/{secret}/{'leicht/' if way == 'easy-link' else ''}")
    if way == "english":
        switch_language(respondent, "English")
        assert respondent.locator("html").get_attribute("lang") == "en"
    assert respondent.url == f"{live_server.url}/surveys/answer/"
    assert respondent.locator("form.survey-form").is_visible()
    assert (way == "easy-link") == respondent.locator(".easy-to-read").is_visible()
    visited = [respondent.url]
    for _ in range(respondent.evaluate("history.length")):
        respondent.go_back()
        visited.append(respondent.url)
    assert visited[-1] == "about:blank"
    assert not [url for url in visited if secret in url or "/surveys/t/" in url], visited
    context.close()


def tick(page, name: str, value: str) -> None:
    page.locator(f"input[name={name}][value='{value}']").check()


def assert_ticked(page, ticked: dict) -> None:
    for name, value in ticked.items():
        assert page.locator(f"input[name={name}][value='{value}']").is_checked(), (name, value)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("width", [375, 1280])
def test_switching_the_language_in_the_questionnaire_keeps_the_answers_ticked(
    live_server, browser, width, javascript
):
    """A respondent ticks some answers, switches to English, then to easy-to-read language: the answers are
    still ticked (they were lost, and without JavaScript still were), the address holds none of them, and the
    answers sent are the ones ticked."""
    from surveys.credentials import unseal
    from tests.surveys.conftest import open_campaign_with_invitations

    campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    context = respondent_context(browser, width, javascript)
    respondent = context.new_page()
    errors = []
    respondent.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    respondent.goto(f"{live_server.url}/surveys/t/{tokens[0]}/")
    ticked = {"own_citizenship": "not_german", "birth_country": "abroad", "languages": "tr"}
    for name, value in ticked.items():
        tick(respondent, name, value)
    respondent.locator("#id_immigration_year").fill("1990")
    switch_language(respondent, "English")
    assert respondent.locator("html").get_attribute("lang") == "en"
    assert respondent.url == f"{live_server.url}/surveys/answer/"
    assert_ticked(respondent, ticked)
    assert respondent.locator("#id_immigration_year").input_value() == "1990"
    assert respondent.locator(".error-summary").count() == 0
    deutsch = respondent.get_by_role("button", name="Deutsch")  # a button of the form: it sends the answers
    assert (deutsch.get_attribute("form"), deutsch.get_attribute("lang")) == ("questionnaire", "de")
    if javascript:  # axe runs in the page; without JavaScript the page is the same
        check(respondent, f"23-answer-switched-english-{width}")
    tick(respondent, "mother_citizenship", "german")
    switch_language(respondent, "Easy to read")
    assert respondent.locator(".easy-to-read").is_visible()
    ticked["mother_citizenship"] = "german"
    assert_ticked(respondent, ticked)
    if javascript:
        check(respondent, f"24-answer-switched-easy-{width}")
    switch_language(respondent, "Deutsch")
    assert respondent.locator("html").get_attribute("lang") == "de"
    assert_ticked(respondent, ticked)
    for name, value in [("mother_immigrated", "no"), ("father_citizenship", "german")]:
        tick(respondent, name, value)
    for name, value in [("father_immigrated", "no"), ("target_group", "trainee"), ("org_unit", "na")]:
        tick(respondent, name, value)
    with respondent.expect_navigation():
        respondent.locator("form.survey-form [type=submit]").click()
    assert respondent.locator("#thanks").is_visible()
    assert errors == []
    (held,) = (unseal(held.sealed) for held in HeldAnswer.objects.filter(campaign=campaign))
    assert (held["own_citizenship"], held["birth_country"], held["mother_citizenship"]) == (
        "not_german",
        "abroad",
        "german",
    )
    assert held["languages"] == "|tr|"
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_enter_in_a_field_of_the_questionnaire_sends_the_answers_not_a_language_switch(
    live_server, browser, javascript
):
    """The language buttons of the questionnaire's form sit above its questions, but Enter in a field sends
    the answers (a form's default button is its first submit button in tree order): what is missing is listed,
    in the same language."""
    from tests.surveys.conftest import open_campaign_with_invitations

    _campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    context = respondent_context(browser, 1280, javascript)
    respondent = context.new_page()
    respondent.goto(f"{live_server.url}/surveys/t/{tokens[0]}/")
    tick(respondent, "own_citizenship", "not_german")
    respondent.locator("#id_immigration_year").fill("1990")
    with respondent.expect_navigation():
        respondent.locator("#id_immigration_year").press("Enter")
    assert respondent.locator("html").get_attribute("lang") == "de"
    assert respondent.locator(".error-summary").is_visible()
    assert respondent.get_by_role("button", name="English").is_visible()
    assert HeldAnswer.objects.count() == 0
    context.close()


@pytest.mark.parametrize("width", [375, 1280])
def test_the_questionnaire_without_a_unit_of_k_invited_passes_axe(live_server, browser, width):
    from tests.surveys.conftest import open_campaign_with_invitations

    _campaign, tokens, _hr = open_campaign_with_invitations(employees=6, units=3, k=3)
    context = respondent_context(browser, width)
    respondent = context.new_page()
    respondent.goto(f"{live_server.url}/surveys/t/{tokens[0]}/")
    assert respondent.get_by_text("Diese Befragung fragt nicht nach Ihrer Organisationseinheit").is_visible()
    assert respondent.locator("input[type=radio][name=org_unit]").count() == 0
    assert respondent.evaluate("document.documentElement.scrollWidth") <= width
    check(respondent, f"25-answer-no-unit-question-{width}")
    respondent.goto(f"{live_server.url}/surveys/t/{tokens[1]}/leicht/")
    assert respondent.get_by_text("Wir fragen nicht: Wo arbeiten Sie?").is_visible()
    check(respondent, f"26-answer-no-unit-question-easy-{width}")
    context.close()


def send_the_rest(respondent, *, language: str) -> None:
    """Tick the questions after the place of birth and send the questionnaire: the thanks follows."""
    for name, value in [
        ("mother_citizenship", "german"),
        ("mother_immigrated", "no"),
        ("father_citizenship", "german"),
        ("father_immigrated", "no"),
        ("target_group", "trainee"),
        ("org_unit", "na"),
        ("languages", language),
    ]:
        tick(respondent, name, value)
    with respondent.expect_navigation():
        respondent.locator("form.survey-form [type=submit]").click()
    assert respondent.locator("#thanks").is_visible()


@pytest.fixture(scope="module")
def browser_as_shipped(browser, chromium_path):
    """Chromium with its back/forward cache, as it ships (Playwright turns the cache off by default): the back
    button of the next person at a shared computer may bring a page back from it, live, as it was left."""
    from tests.conftest import CHROMIUM_ARGS

    shipped = browser.browser_type.launch(
        executable_path=chromium_path,
        args=CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
    )
    yield shipped
    shipped.close()


def go_back(page) -> None:
    """The back button; a page restored from the back/forward cache fires no load event, so wait for the
    navigation to commit and for its `pageshow`."""
    page.evaluate("window.__shown = false")
    page.go_back(wait_until="commit")
    page.wait_for_function("window.__shown === true")


def what_the_next_person_sees(page) -> dict:
    return page.evaluate(
        """() => ({
            title: document.title,
            heading: document.querySelector('h1')?.textContent.trim(),
            ticked: [...document.querySelectorAll('input:checked')].map(el => el.name + '=' + el.value),
            year: document.querySelector('#id_immigration_year')?.value ?? null,
        })"""
    )


@pytest.mark.parametrize("left", ["answered", "halfway", "halfway-in-english"])
def test_the_next_person_at_the_browser_sees_no_answer_and_not_whether_any_was_sent(
    live_server, browser_as_shipped, left
):
    """A shared computer: the respondent opens their link and answers (or ticks some answers, perhaps
    switching the language, and leaves without sending), then goes on to another page without closing the
    browser. The next person presses the back button, and opens the questionnaire's address from the history:
    they find the questionnaire with nothing ticked, the same whether the respondent answered or not. Before,
    the back button brought back the answers ticked (the browser restored the form), the address showed the
    answers kept for the switch of the language, and after answering it showed the thanks, both under the title
    "Thank you"."""
    from tests.surveys.conftest import open_campaign_with_invitations

    campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    context = browser_as_shipped.new_context(bypass_csp=True, locale="de-DE")
    context.add_init_script("window.addEventListener('pageshow', () => { window.__shown = true; })")
    respondent = context.new_page()
    respondent.goto(f"{live_server.url}/surveys/t/{tokens[0]}/")
    tick(respondent, "own_citizenship", "not_german")
    tick(respondent, "birth_country", "abroad")
    respondent.locator("#id_immigration_year").fill("1990")
    if left == "halfway-in-english":
        switch_language(respondent, "English")
        assert_ticked(respondent, {"own_citizenship": "not_german", "birth_country": "abroad"})
    if left == "answered":
        send_the_rest(respondent, language="tr")
        assert HeldAnswer.objects.filter(campaign=campaign).count() == 1
    respondent.goto(f"{live_server.url}/accessibility/")  # and walks away

    nothing_ticked = {"title": f"{campaign.title} – Vielfalt verbindet", "heading": campaign.title}
    nothing_ticked |= {"ticked": [], "year": ""}
    go_back(respondent)
    assert respondent.url == f"{live_server.url}/surveys/answer/"
    assert what_the_next_person_sees(respondent) == nothing_ticked
    respondent.goto(f"{live_server.url}/surveys/answer/")  # from the history
    assert what_the_next_person_sees(respondent) == nothing_ticked
    context.close()


def test_a_language_chosen_on_an_out_of_date_questionnaire_is_the_language_of_the_page_that_says_so(
    live_server, browser
):
    """A respondent leaves the questionnaire open past its 30 minutes, or opens their link again in another
    window, and then chooses another language on the first: the page saying that the questionnaire is out of
    date came in the language left behind, and the choice was lost. It comes in the language chosen, which the
    next pages keep."""
    import time

    from surveys.credentials import respondent_seal, respondent_unseal
    from surveys.views import RESPONDENT_COOKIE
    from tests.surveys.conftest import open_campaign_with_invitations

    _campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    context = respondent_context(browser, 1280)
    respondent = context.new_page()
    respondent.goto(f"{live_server.url}/surveys/t/{tokens[0]}/")
    tick(respondent, "own_citizenship", "not_german")
    cookie = next(c for c in context.cookies() if c["name"] == RESPONDENT_COOKIE)
    state = respondent_unseal(cookie["value"])
    context.add_cookies([{**cookie, "value": respondent_seal({**state, "at": int(time.time()) - 40 * 60})}])
    switch_language(respondent, "English")
    assert respondent.locator("html").get_attribute("lang") == "en"
    assert respondent.locator("#page-expired").inner_text() == "This page is out of date"
    assert respondent.get_by_text("If you have sent your answers already").is_visible()
    check(respondent, "27-page-expired-language-chosen")
    respondent.goto(f"{live_server.url}/umfrage/")
    assert respondent.locator("html").get_attribute("lang") == "en"

    # The link opened again in a second window; the first chooses easy-to-read language.
    respondent.goto(f"{live_server.url}/surveys/t/{tokens[0]}/")
    second = context.new_page()
    second.goto(f"{live_server.url}/surveys/t/{tokens[0]}/")
    switch_language(respondent, "Easy to read")
    assert respondent.locator("#page-expired").inner_text() == "This page does not work any more"
    assert respondent.locator(".easy-to-read").is_visible()
    second.reload()
    assert second.locator(".easy-to-read").is_visible()  # kept for the next pages
    context.close()


@pytest.mark.parametrize("left", ["answered", "halfway"])
def test_the_browsers_history_lists_the_questionnaire_whether_it_was_answered_or_not(
    live_server, browser, chromium_path, tmp_path, left
):
    """The history of a browser profile (what the next person at a shared computer finds under "History")
    lists the questionnaire's address with the title of the page last seen there: it was "Thank you" once the
    respondent had answered. It is the questionnaire's title, whether they answered or left it halfway."""
    import sqlite3

    from tests.conftest import CHROMIUM_ARGS
    from tests.surveys.conftest import open_campaign_with_invitations

    campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    profile = tmp_path / "profile"
    context = browser.browser_type.launch_persistent_context(
        str(profile), executable_path=chromium_path, args=CHROMIUM_ARGS, locale="de-DE"
    )
    respondent = context.new_page()
    respondent.goto(f"{live_server.url}/surveys/t/{tokens[0]}/")
    tick(respondent, "own_citizenship", "not_german")
    if left == "answered":
        tick(respondent, "birth_country", "germany")
        send_the_rest(respondent, language="de")
    context.close()  # the browser writes its history when it closes

    with sqlite3.connect(profile / "Default" / "History") as history:
        titles = history.execute("SELECT title FROM urls WHERE url LIKE '%/surveys/answer/'").fetchall()
    assert titles == [(f"{campaign.title} – Vielfalt verbindet",)]


@pytest.mark.parametrize("easy", [False, True], ids=["standard", "easy"])
def test_the_questionnaire_warns_before_its_time_runs_out_and_gives_more_time(live_server, browser, easy):
    """WCAG 2.2.1 Timing Adjustable, with the keyboard: the questionnaire can be sent for 30 minutes after the
    link was opened; before, that time ran out without a word and the answers of a respondent who needed longer
    were lost. Five minutes before the end a warning (role=alert) takes the focus to its button; Enter gives
    another 30 minutes (the state's time starts again), the answers ticked so far stay ticked, the page says so
    with the focus on it, and the answers are sent."""
    import time

    from surveys.credentials import respondent_seal, respondent_unseal
    from surveys.views import RESPONDENT_COOKIE
    from tests.surveys.conftest import open_campaign_with_invitations

    campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    context = respondent_context(browser, 375)
    respondent = context.new_page()
    respondent.clock.install()  # the page's clock, moved on below; the portal's is the real one
    respondent.goto(f"{live_server.url}/surveys/t/{tokens[0]}/{'leicht/' if easy else ''}")
    choose(respondent, "own_citizenship", 1)
    warning = respondent.locator("#time-warning")
    assert warning.is_hidden()
    # 26 minutes later, for the page and for the state the portal sealed (it was opened that long ago).
    cookie = next(c for c in context.cookies() if c["name"] == RESPONDENT_COOKIE)
    state = respondent_unseal(cookie["value"])
    context.add_cookies([{**cookie, "value": respondent_seal({**state, "at": int(time.time()) - 26 * 60})}])
    respondent.clock.fast_forward("26:00")
    expect(warning).to_be_visible()
    assert warning.get_attribute("role") == "alert"
    assert respondent.evaluate("document.activeElement.closest('#time-warning') !== null")
    assert respondent.evaluate("document.documentElement.scrollWidth") <= 375
    check(respondent, f"27-time-warning-{'easy' if easy else 'standard'}")
    with respondent.expect_navigation():
        respondent.keyboard.press("Enter")
    assert respondent.evaluate("document.activeElement.id") == "more-time-given"
    assert respondent.locator("#more-time-given").get_attribute("role") == "status"
    assert warning.is_hidden()
    assert respondent.locator("input[name=own_citizenship][value=not_german]").is_checked()
    cookie = next(c for c in context.cookies() if c["name"] == RESPONDENT_COOKIE)
    assert int(time.time()) - respondent_unseal(cookie["value"])["at"] < 60
    check(respondent, f"28-more-time-given-{'easy' if easy else 'standard'}")
    respondent.clock.fast_forward("09:00")  # 35 minutes after the link was opened
    assert warning.is_hidden()
    answer_with_keyboard(respondent, not_german=True, group_index=0)
    assert respondent.locator("#thanks").is_visible()
    assert HeldAnswer.objects.filter(campaign=campaign).count() == 1
    context.close()
