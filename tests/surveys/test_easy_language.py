"""The questionnaire, its help and the code sheet in easy-to-read language (Leichte Sprache): the same
questions, so the same derived values (issue 13)."""

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from surveys.credentials import unseal
from surveys.models import HeldAnswer, Invitation
from surveys.views import EASY_COOKIE
from tests.factories import EmployeeFactory
from tests.surveys.conftest import DEFAULT_ANSWERS, form_key, open_campaign_with_invitations
from vielfalt.models import Job


def _answer(client, token, **answers):
    client.get(f"/surveys/t/{token}/")
    page = client.get("/surveys/answer/")
    data = {**DEFAULT_ANSWERS, "form_key": form_key(client), **answers}
    return page, client.post("/surveys/answer/", data)


@pytest.mark.django_db
def test_easy_to_read_questions_give_the_same_derived_values():
    campaign, tokens, _hr = open_campaign_with_invitations(employees=5, k=3)
    easy = Client()
    switched = easy.get("/surveys/answer/?language=easy")
    assert switched.status_code == 302
    assert switched.cookies[EASY_COOKIE].value == "1"
    answers = {
        "own_citizenship": "german",
        "mother_citizenship": "not_german",
        "birth_country": "abroad",
        "immigration_year": "1992",
        "mother_immigrated": "yes",
        "father_immigrated": "yes",
    }
    page, sent = _answer(easy, tokens[0], **answers)
    text = page.content.decode()
    assert "Leichte Sprache" in text and "Bitte lesen Sie das zuerst" in text
    assert "Waren Sie bei Ihrer Geburt Deutsche oder Deutscher?" in text
    assert "Sie müssen nicht antworten. Sie entscheiden." in text
    assert sent.status_code == 302
    standard_page, sent = _answer(Client(), tokens[1], **answers)
    assert "Bitte lesen Sie das zuerst" not in standard_page.content.decode()
    assert sent.status_code == 302
    first, second = (unseal(held.sealed) for held in HeldAnswer.objects.all())
    assert first == second
    assert first["migration_background"] == "yes" and first["immigration_history"] == "yes"
    # And back to the standard language.
    easy.get("/surveys/answer/?language=standard")
    assert EASY_COOKIE not in easy.cookies or easy.cookies[EASY_COOKIE].value == ""


@pytest.mark.django_db
def test_code_sheets_in_easy_to_read_language(client, django_capture_on_commit_callbacks):
    campaign, _tokens, hr = open_campaign_with_invitations(employees=3, k=3, issue_tokens=False)
    EmployeeFactory(
        organisation=campaign.organisation, org_unit=campaign.organisation.units.first(), email=""
    )
    from surveys.services import invitations_create

    invitations_create(actor=hr, campaign=campaign)
    assert Invitation.objects.filter(campaign=campaign, employee__isnull=True).count() == 1
    client.force_login(hr)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:code_sheets", args=[campaign.pk]), {"easy": "1"})
    job = Job.objects.get(kind="surveys.render_code_sheets")
    job.refresh_from_db()
    assert job.status == Job.Status.READY, job.error
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(job.result_file.open("rb")).pages)
    for part in (
        "Hallo,",
        "Das nennt man Befragung.",
        "Sie müssen nicht antworten.",
        "Nehmen Sie Ihr Handy.",
        "Sie können den Code nur einmal benutzen.",
        "Mit freundlichen Grüßen",
        "/umfrage/",
    ):
        assert part in text, part


@pytest.mark.django_db
def test_invitation_and_reminder_mails_carry_an_easy_to_read_part_whose_link_opens_the_easy_survey(
    client, django_capture_on_commit_callbacks
):
    from django.core import mail

    campaign, _tokens, hr = open_campaign_with_invitations(employees=3, k=3, issue_tokens=False)
    client.force_login(hr)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:send", args=[campaign.pk]))
    body = mail.outbox[0].body
    assert "In Leichter Sprache" in body
    assert "Das nennt man Befragung." in body
    assert "Sie müssen nicht antworten. Sie entscheiden." in body
    easy_link = next(line for line in body.splitlines() if line.endswith("/leicht/"))
    respondent = Client()
    opened = respondent.get(easy_link.split("127.0.0.1:8000")[-1].split("testserver")[-1])
    assert opened.status_code == 302 and opened.cookies[EASY_COOKIE].value == "1"
    assert "Bitte lesen Sie das zuerst" in respondent.get(opened["Location"]).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:remind", args=[campaign.pk]))
    reminder = mail.outbox[-1].body
    assert "Wir haben Ihnen schon einmal geschrieben." in reminder
    assert next(line for line in reminder.splitlines() if line.endswith("/leicht/"))


@pytest.mark.django_db
def test_every_page_a_respondent_sees_is_offered_in_easy_to_read_language():
    campaign, tokens, _hr = open_campaign_with_invitations(employees=3, k=3)
    easy = Client()
    easy.cookies[EASY_COOKIE] = "1"
    code_page = easy.get("/umfrage/").content.decode()
    assert "Hier tippen Sie Ihren Code ein." in code_page
    assert "Der Code hat 12 Buchstaben und Zahlen." in code_page
    wrong = easy.post("/umfrage/", {"code": "ABCD-EFGH-JKMN"})
    assert wrong.status_code == 422
    assert "Dieser Code funktioniert nicht." in wrong.content.decode()
    invalid = easy.get("/surveys/answer/")  # no credential in the session
    assert invalid.status_code == 404
    assert "Vielleicht ist der Link nicht vollständig." in invalid.content.decode()
    _page, sent = _answer(easy, tokens[0])
    thanks = easy.get(sent["Location"]).content.decode()
    assert "Danke für Ihre Antworten!" in thanks and "Sie sind fertig." in thanks
    campaign.status = campaign.Status.CLOSED
    campaign.save(update_fields=["status"])
    easy.get(f"/surveys/t/{tokens[1]}/")
    closed = easy.get("/surveys/answer/")
    assert closed.status_code == 410
    assert "Die Befragung ist geschlossen" in closed.content.decode()
    # Without the choice, the standard language.
    assert "Hier tippen Sie Ihren Code ein." not in Client().get("/umfrage/").content.decode()


@pytest.mark.django_db
def test_easy_to_read_code_sheets_link_to_the_easy_survey(client, django_capture_on_commit_callbacks):
    campaign, _tokens, hr = open_campaign_with_invitations(employees=3, k=3, issue_tokens=False)
    EmployeeFactory(
        organisation=campaign.organisation, org_unit=campaign.organisation.units.first(), email=""
    )
    from surveys.services import invitations_create

    invitations_create(actor=hr, campaign=campaign)
    client.force_login(hr)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:code_sheets", args=[campaign.pk]), {"easy": "1"})
    job = Job.objects.get(kind="surveys.render_code_sheets")
    text = "".join(p.extract_text() for p in PdfReader(job.result_file.open("rb")).pages)
    assert "/leicht/" in "".join(text.split())


@pytest.mark.django_db
def test_the_easy_language_choice_is_kept_like_the_language_choice(settings):
    """Over HTTPS only and out of scripts' reach, as the language cookie (the survey may be answered on a device
    that others use after the respondent); it was set without either."""
    settings.LANGUAGE_COOKIE_SECURE = True
    campaign, tokens, _hr = open_campaign_with_invitations(employees=5, k=3)
    switched = Client().get("/surveys/answer/?language=easy").cookies[EASY_COOKIE]
    opened = Client().get(f"/surveys/t/{tokens[0]}/leicht/").cookies[EASY_COOKIE]
    for cookie in (switched, opened):
        assert (cookie.value, cookie["secure"], cookie["httponly"], cookie["samesite"]) == (
            "1",
            True,
            True,
            "Lax",
        )


@pytest.mark.django_db
def test_the_questionnaires_errors_are_in_easy_to_read_language_too():
    """The questions were in easy-to-read language, what was wrong with the answers was not: "Bitte korrigieren
    Sie Folgendes" and "Bitte wählen Sie eine Antwort – oder „Keine Angabe“, wenn Sie diese Frage nicht
    beantworten möchten" on every question left open. A year typed with two digits got Django's "value greater
    than or equal to 1900", in either language: it now says how to write the year."""
    _campaign, tokens, _hr = open_campaign_with_invitations(employees=5, k=3)
    easy = Client()
    easy.cookies[EASY_COOKIE] = "1"
    easy.get(f"/surveys/t/{tokens[0]}/")
    easy.get("/surveys/answer/")
    key = form_key(easy)

    nothing = easy.post("/surveys/answer/", {"form_key": key})
    assert nothing.status_code == 422
    text = nothing.content.decode()
    assert "Bitte prüfen Sie diese Fragen:" in text and "Bitte korrigieren Sie Folgendes" not in text
    assert (
        "Bitte wählen Sie eine Antwort. Sie möchten nicht antworten? Dann wählen Sie: Keine Angabe." in text
    )
    assert "wenn Sie diese Frage nicht beantworten möchten" not in text

    def errors(client, **answers):
        sent = client.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": form_key(client), **answers})
        assert sent.status_code == 422
        return {name: list(messages) for name, messages in sent.context["form"].errors.items()}

    assert errors(easy, immigration_year="1990", languages=["na", "de"]) == {
        "immigration_year": [
            "Das Jahr schreiben Sie nur, wenn Sie in einem anderen Land geboren sind. Sonst lassen Sie das "
            "Feld bitte leer."
        ],
        "languages": [
            "Sie haben Sprachen gewählt und: Keine Angabe. Bitte wählen Sie nur Sprachen. Oder nur: Keine Angabe."
        ],
    }
    assert errors(easy, birth_country="abroad", immigration_year="95") == {
        "immigration_year": ["Bitte schreiben Sie das Jahr mit 4 Zahlen. Zum Beispiel: 1995."]
    }
    assert errors(easy, birth_country="abroad", immigration_year="3000") == {
        "immigration_year": ["Dieses Jahr kommt erst noch. Bitte prüfen Sie das Jahr."]
    }
    standard = Client()
    standard.get(f"/surveys/t/{tokens[1]}/")
    standard.get("/surveys/answer/")
    assert errors(standard, birth_country="abroad", immigration_year="95") == {
        "immigration_year": ["Bitte geben Sie das Jahr mit vier Ziffern ein, zum Beispiel 1995."]
    }
    assert errors(standard, birth_country="abroad", immigration_year="3000") == {
        "immigration_year": ["Bitte geben Sie ein Jahr ein, das nicht in der Zukunft liegt."]
    }
    assert not Invitation.objects.filter(used=True).exists()
    # The easy form's messages are its own: the fields of the class keep the standard ones.
    from surveys.forms import CHOOSE_AN_ANSWER, FOUR_DIGIT_YEAR, SurveyForm

    assert (
        SurveyForm.base_fields["own_citizenship"].error_messages["required"] == CHOOSE_AN_ANSWER["required"]
    )
    assert SurveyForm.base_fields["immigration_year"].error_messages["min_value"] == FOUR_DIGIT_YEAR


@pytest.mark.django_db
def test_the_code_form_sent_empty_says_what_to_type_in_either_language():
    """The button pressed before a code was typed: "Dieses Feld ist zwingend erforderlich." (Django's), in
    easy-to-read language too. It now says what to type and where to find it."""
    standard = Client().post("/umfrage/", {"code": ""})
    assert standard.status_code == 422
    text = standard.content.decode()
    assert "Bitte geben Sie den Code von Ihrem Codeblatt oder aus Ihrer E-Mail ein." in text
    assert "zwingend erforderlich" not in text
    easy = Client()
    easy.cookies[EASY_COOKIE] = "1"
    text = easy.post("/umfrage/", {"code": "  "}).content.decode()
    assert "Bitte tippen Sie Ihren Code ein. Er steht in Ihrem Brief oder in Ihrer E-Mail." in text
    assert "zwingend erforderlich" not in text
    from django.utils import translation

    from surveys.forms import CodeForm  # the easy form's message is its own

    with translation.override("de"):
        assert "Codeblatt" in str(CodeForm.base_fields["code"].error_messages["required"])


@pytest.mark.django_db
def test_the_easy_to_read_link_works_without_its_last_slash(caplog):
    """A mail client may cut the last slash off a link: `/surveys/t/<token>/leicht` opened the questionnaire in
    standard language. With or without the slash it opens it in easy-to-read language, a link cut right after the
    token opens it too (before, with a permanent redirect to the link with its slash: a redirect that browsers
    keep, the token in its target), and no log record holds the token."""
    _campaign, tokens, _hr = open_campaign_with_invitations(employees=5, k=3)
    for token, path, easy in [
        (tokens[0], f"/surveys/t/{tokens[0]}/leicht", True),
        (tokens[1], f"/surveys/t/{tokens[1]}/leicht/", True),
        (tokens[2], f"/surveys/t/{tokens[2]}/", False),
        (tokens[3], f"/surveys/t/{tokens[3]}/vielleicht", False),
        (tokens[4], f"/surveys/t/{tokens[4]}", False),
    ]:
        respondent = Client()
        page = respondent.get(path, follow=True)
        path = path.replace(token, "<token>")  # not in the test's output either
        assert (page.status_code, page.redirect_chain) == (200, [("/surveys/answer/", 302)]), path
        assert (EASY_COOKIE in respondent.cookies) == easy, path
        assert ('easy-to-read"' in page.content.decode()) == easy, path
    assert not [record for record in caplog.records if any(token in record.getMessage() for token in tokens)]
