"""Chromium journey through the partners' network, as a new user would take it: HR of Oberhausen finds
Duisburg's practice entry by searching "anonymisierte Bewerbungsverfahren", registers a colleague for the
ministry's network meeting, asks a question that HR of Duisburg answers; the e-mails arrive (locmem backend)
with working links, and the unsubscribe link works without logging in. axe-core must find nothing on every
page and error state.

Screenshots land in test-artifacts/screenshots/network-*.png (git-ignored)."""

import io
import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command

from partnerships.network.models import NotificationSettings, Question, Registration
from tests.conftest import axe_violations, browser_login, screenshot
from vielfalt.models import User

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = settings.BASE_DIR / "test-artifacts" / "screenshots"
QUESTION = "Wie habt ihr die Auswahlkommissionen auf anonymisierte Verfahren vorbereitet?"


@pytest.fixture
def demo(live_server, settings, postgres):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.PORTAL_URL = live_server.url
    call_command("seed_demo", password="e2e-demo-password-42", force=True, stdout=io.StringIO())
    mail.outbox = []
    return live_server.url


def check(page, name: str) -> None:
    screenshot(page, SCREENSHOTS / f"network-{name}.png")
    assert axe_violations(page) == [], name


def switch_user(page, live_server, username: str) -> None:
    page.context.clear_cookies()
    browser_login(page, live_server, User.objects.get(username=username))


def test_search_register_ask_answer_mail_unsubscribe(demo, live_server, page, browser):
    switch_user(page, live_server, "hr-oberhausen")
    page.goto(f"{demo}/")
    page.get_by_role("link", name="Netzwerk", exact=True).click()
    check(page, "home")

    # Find Duisburg's entry through the search
    page.locator("nav[aria-label='Bereiche des Netzwerks']").get_by_role(
        "link", name="Praxisbeispiele"
    ).click()
    page.get_by_role("searchbox", name="Suche").fill("anonymisierte Bewerbungsverfahren")
    page.get_by_role("button", name="Anwenden").click()
    results = page.locator("#practice-results li")
    assert results.count() == 1
    assert results.locator("mark").count() >= 1
    check(page, "practice-search")
    results.get_by_role("link").click()
    assert "Stadt Duisburg" in page.locator("main").inner_text()
    assert "100 Stellen" in page.locator("main").inner_text()
    check(page, "practice-detail")
    page.get_by_role("link", name="Stadt Duisburg").first.click()
    check(page, "partner-detail")

    # Register a colleague for the ministry's meeting
    page.goto(f"{demo}/network/meetings/")
    check(page, "meeting-list")
    page.locator("main table a", has_text="Netzwerktreffen").click()
    check(page, "meeting-detail")
    page.get_by_label("Name").fill("")
    page.get_by_role("button", name="Anmelden").click()  # the error state
    assert page.locator(".error-summary").is_visible()
    check(page, "meeting-register-error")
    page.get_by_label("Name").fill("Ayşe Öztürk")
    page.get_by_label("E-Mail").fill("ayse.oeztuerk@oberhausen.example")
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(re.compile(r"/network/meetings/\d+/$"))
    assert "Ayşe Öztürk" in page.locator("#registrations").inner_text()
    check(page, "meeting-registered")
    registration = Registration.objects.get(email="ayse.oeztuerk@oberhausen.example")
    assert registration.status == Registration.Status.SEATED
    [invitation] = [m for m in mail.outbox if m.to == ["ayse.oeztuerk@oberhausen.example"]]
    assert invitation.attachments[0][2] == "text/calendar"

    # Ask the network
    page.goto(f"{demo}/network/questions/")
    check(page, "question-list")
    page.get_by_role("link", name="Das Netzwerk fragen").first.click()
    page.get_by_role("button", name="Frage senden").click()
    check(page, "question-form-error")
    page.get_by_label("Ihre Frage").fill(QUESTION)
    page.get_by_label("Anonymisierte Bewerbungsverfahren").check()
    page.get_by_role("button", name="Frage senden").click()
    page.wait_for_url(re.compile(r"/network/questions/\d+/$"))
    check(page, "question-asked")
    question = Question.objects.get(title=QUESTION)

    # HR of Duisburg answers
    mail.outbox = []
    switch_user(page, live_server, "hr-duisburg")
    page.goto(f"{demo}/network/questions/")
    page.get_by_role("link", name=QUESTION).click()
    page.get_by_label("Ihre Antwort").fill("Mit einer halbtägigen Schulung und einem Leitfaden.")
    page.get_by_role("button", name="Antwort senden").click()
    page.wait_for_url(re.compile(r"/network/questions/\d+/"))
    check(page, "question-answered")

    [message] = mail.outbox
    assert message.to == [User.objects.get(username="hr-oberhausen").email]
    question_link, unsubscribe_link = re.findall(r"http://\S+", message.body)

    # The link in the mail leads HR of Oberhausen to the answer, which she marks as helpful
    switch_user(page, live_server, "hr-oberhausen")
    page.goto(f"{demo}/")  # the link differs from the current page by its fragment only: load it afresh
    page.goto(question_link)
    assert "halbtägigen Schulung" in page.locator("main").inner_text()
    check(page, "question-from-mail")
    page.get_by_role("button", name="Als hilfreich markieren").click()
    page.wait_for_url(re.compile(r"/network/questions/\d+/$"))
    question.refresh_from_db()
    assert question.helpful_answer is not None
    check(page, "question-helpful")

    # Unsubscribe without logging in, in a fresh browser context
    context = browser.new_context(bypass_csp=True, locale="de-DE")
    anonymous = context.new_page()
    anonymous.goto(unsubscribe_link)
    check(anonymous, "unsubscribe")
    anonymous.get_by_role("button", name="Abbestellen").click()
    assert "keine E-Mails" in anonymous.locator("main").inner_text()
    check(anonymous, "unsubscribed")
    context.close()
    hr_oberhausen = User.objects.get(username="hr-oberhausen")
    assert NotificationSettings.objects.get(user=hr_oberhausen).answers is False


def test_author_and_ministry_pages_are_accessible(demo, live_server, page):
    switch_user(page, live_server, "hr-duisburg")
    for name, path in [
        ("partner-list", "/network/partners/"),
        ("profile-edit", "/network/partners/duisburg/edit/"),
        ("practice-create", "/network/practice/new/"),
        ("mail-settings", "/network/mail/"),
    ]:
        page.goto(f"{demo}{path}")
        check(page, name)
    page.goto(f"{demo}/network/practice/new/")
    page.get_by_role("button", name="Entwurf speichern").click()
    check(page, "practice-create-error")
    switch_user(page, live_server, "ministerium")
    page.goto(f"{demo}/network/meetings/new/")
    check(page, "meeting-create")
    page.get_by_role("button", name="Speichern").click()
    check(page, "meeting-create-error")


def check_errors(page, name: str, *, fields: list[str]) -> None:
    """An error state as a screen reader meets it: the summary is focused and names every problem with a link
    to its field; each field in error is marked invalid and described by its own error message; axe finds
    nothing."""
    summary = page.locator(".error-summary")
    assert summary.count() == 1, name
    assert summary.is_visible(), name
    assert page.evaluate("document.activeElement.classList.contains('error-summary')"), name
    for link in summary.locator("a").all():
        target = link.get_attribute("href").removeprefix("#")
        assert page.locator(f"[id='{target}']").count() == 1, (name, target)
    for field in fields:
        control = page.locator(f"[name='{field}']").first
        described = control.get_attribute("aria-describedby") or ""
        if (
            control.get_attribute("type") in ("checkbox", "radio")
            and control.locator("xpath=ancestor::fieldset").count()
        ):
            described = control.locator("xpath=ancestor::fieldset").get_attribute("aria-describedby") or ""
        else:
            assert control.get_attribute("aria-invalid") == "true", (name, field)
        messages = [
            page.locator(f"[id='{ident}']").inner_text().strip()
            for ident in described.split()
            if ident.endswith("_error") and page.locator(f"[id='{ident}']").count()
        ]
        assert any(messages), (name, field, described)
    check(page, name)


def test_error_states_are_announced_and_accessible(demo, live_server, page):
    """Every form of the network with errors: the profile and contact-person forms, attachment uploads of the
    wrong type and too large, returning an entry without a comment, registering without a name and twice,
    and empty questions and answers."""
    from partnerships.network import services
    from partnerships.network.models import FieldOfAction, PracticeEntry
    from partnerships.network.uploads import MAX_BYTES
    from vielfalt.models import Organisation
    from vielfalt.permissions import SYSTEM

    duisburg = Organisation.objects.get(slug="duisburg")
    draft = services.practice_create(
        actor=SYSTEM,
        organisation=duisburg,
        title="Mentoring für Auszubildende",
        field_of_action=FieldOfAction.RECRUITMENT,
        summary="Auszubildende begleiten neue Auszubildende.",
        what_was_done="Ein Patenprogramm.",
    )
    switch_user(page, live_server, "hr-duisburg")

    # The profile and the contact persons
    page.goto(f"{demo}/network/partners/duisburg/edit/")
    page.get_by_label("Website").fill("kein link")
    page.get_by_role("button", name="Speichern").click()
    check_errors(page, "profile-error", fields=["website"])
    page.get_by_role("button", name="Ansprechperson hinzufügen").click()
    check_errors(page, "contact-error", fields=["contact-name", "contact-function", "contact-email"])

    # Attachments: not the type it claims, and too large
    page.goto(f"{demo}{draft.get_absolute_url()}")
    page.get_by_label("Datei").set_input_files(
        files=[{"name": "bericht.pdf", "mimeType": "application/pdf", "buffer": b"Kein PDF, nur Text."}]
    )
    page.get_by_role("button", name="Hochladen").click()
    check_errors(page, "attachment-wrong-type", fields=["file"])
    page.get_by_label("Datei").set_input_files(
        files=[
            {"name": "gross.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7\n" + b"0" * MAX_BYTES}
        ]
    )
    page.get_by_role("button", name="Hochladen").click()
    check_errors(page, "attachment-too-large", fields=["file"])
    assert not draft.attachments.exists()

    # Removing an attachment asks first: cancelled, the file stays; confirmed, it goes
    from tests.network.conftest import pdf_bytes, upload

    services.attachment_add(actor=SYSTEM, entry=draft, upload=upload("Zeitplan.pdf", pdf_bytes()))
    page.goto(f"{demo}{draft.get_absolute_url()}")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Zeitplan.pdf entfernen").click()
    assert questions == ["Zeitplan.pdf wirklich aus diesem Praxisbeispiel entfernen?"]
    assert draft.attachments.exists()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Zeitplan.pdf entfernen").click()
    page.get_by_text("Der Anhang wurde entfernt.").wait_for()
    assert not draft.attachments.exists()

    # The ministry returns a submitted entry without saying why
    services.practice_transition(actor=SYSTEM, entry=draft, to=PracticeEntry.Status.SUBMITTED)
    switch_user(page, live_server, "ministerium")
    page.goto(f"{demo}{draft.get_absolute_url()}")
    page.get_by_role("button", name="Mit Anmerkung zurückgeben").click()
    check_errors(page, "return-without-comment", fields=["comment"])
    draft.refresh_from_db()
    assert draft.status == PracticeEntry.Status.SUBMITTED

    # Registering for the meeting: no name, then someone already registered
    switch_user(page, live_server, "hr-oberhausen")
    page.goto(f"{demo}/network/meetings/")
    page.locator("main table a", has_text="Netzwerktreffen").click()
    meeting_url = page.url
    page.get_by_label("Name").fill("")
    page.get_by_label("E-Mail").fill("keine-adresse")
    page.get_by_role("button", name="Anmelden").click()
    check_errors(page, "register-error", fields=["name", "email"])
    registered = Registration.objects.filter(organisation__slug="oberhausen").first()
    page.goto(meeting_url)
    page.get_by_label("Name").fill(registered.name)
    page.get_by_label("E-Mail").fill(registered.email)
    page.get_by_role("button", name="Anmelden").click()
    check_errors(page, "register-twice", fields=["email"])

    # An empty question and an empty answer
    page.goto(f"{demo}/network/questions/new/")
    page.get_by_role("button", name="Frage senden").click()
    check_errors(page, "question-error", fields=["title"])
    page.goto(f"{demo}/network/questions/")
    page.locator("main ul a, main table a").filter(has_text="?").first.click()
    page.get_by_role("button", name="Antwort senden").click()
    check_errors(page, "answer-error", fields=["body"])

    # Editing one's own question (the asker) and answer (its author), emptied
    question_url = f"{demo}{Question.objects.get(asked_by__username='hr-oberhausen').get_absolute_url()}"
    page.goto(question_url)
    page.get_by_role("link", name="Frage bearbeiten").click()
    check(page, "question-edit")
    page.get_by_label("Ihre Frage").fill("")
    page.get_by_role("button", name="Änderungen speichern").click()
    check_errors(page, "question-edit-error", fields=["title"])
    switch_user(page, live_server, "hr-duisburg")
    page.goto(question_url)
    page.get_by_role("link", name="Antwort von Stadt Duisburg bearbeiten").click()
    check(page, "answer-edit")
    page.get_by_label("Ihre Antwort").fill("")
    page.get_by_role("button", name="Änderungen speichern").click()
    check_errors(page, "answer-edit-error", fields=["body"])


def network_pages() -> list[tuple[str, str, str]]:
    """(user, name, path) of every page of the network, with demo data."""
    from partnerships.network.models import Answer, Meeting, PracticeEntry

    entry = PracticeEntry.objects.filter(organisation__slug="duisburg").first()
    meeting = Meeting.objects.first()
    question = Question.objects.first()
    answer = Answer.objects.filter(author__username="hr-duisburg").first()
    pages = [
        ("home", "/network/"),
        ("partner-list", "/network/partners/"),
        ("partner-detail", "/network/partners/duisburg/"),
        ("profile-edit", "/network/partners/duisburg/edit/"),
        ("practice-list", "/network/practice/?q=Schulungen"),
        ("practice-detail", entry.get_absolute_url()),
        ("practice-edit", f"/network/practice/{entry.pk}/edit/"),
        ("practice-create", "/network/practice/new/"),
        ("meeting-list", "/network/meetings/"),
        ("meeting-detail", meeting.get_absolute_url()),
        ("question-list", "/network/questions/"),
        ("question-detail", question.get_absolute_url()),
        ("question-create", "/network/questions/new/"),
        ("answer-edit", f"/network/answers/{answer.pk}/edit/"),
        ("mail-settings", "/network/mail/"),
    ]
    ministry = [
        ("meeting-create", "/network/meetings/new/"),
        ("meeting-edit", f"/network/meetings/{meeting.pk}/edit/"),
        ("question-edit", f"/network/questions/{question.pk}/edit/"),
    ]
    return [("hr-duisburg", *page) for page in pages] + [("ministerium", *page) for page in ministry]


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_page_in_english_and_german(demo, live_server, browser, language):
    """Each page in the language the browser asks for, with axe; the screenshots (network-<language>-*.png)
    are for reading. A German word of the interface on an English page is a missing translation."""
    german_interface = ["Netzwerk ", "Praxisbeispiel", "Speichern", "Anmelden", "Abbrechen", "Fragen an"]
    context = browser.new_context(bypass_csp=True, locale="en-GB" if language == "en" else "de-DE")
    page = context.new_page()
    page.set_default_timeout(15_000)
    current = None
    for username, name, path in network_pages():
        if username != current:
            page.context.clear_cookies()
            browser_login(page, live_server, User.objects.get(username=username))
            current = username
        response = page.goto(f"{demo}{path}")
        assert response.status == 200, path
        assert page.evaluate("document.documentElement.lang") == language, path
        if language == "en":
            interface = page.locator("header, nav, label, button, th, legend").all_inner_texts()
            found = [word for word in german_interface for text in interface if f"{text} ".count(word)]
            assert found == [], (path, found)
        check(page, f"{language}-{name}")
    context.close()
