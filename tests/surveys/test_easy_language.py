"""The questionnaire, its help and the code sheet in easy-to-read language (Leichte Sprache): the same
questions, so the same derived values (issue 13)."""

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from surveys.credentials import unseal
from surveys.models import HeldAnswer, Invitation
from tests.factories import EmployeeFactory
from tests.surveys.conftest import DEFAULT_ANSWERS, open_campaign_with_invitations
from vielfalt.models import Job


def _answer(client, token, **answers):
    client.get(f"/surveys/t/{token}/")
    page = client.get("/surveys/answer/")
    data = {**DEFAULT_ANSWERS, "form_key": client.session["surveys_form_key"], **answers}
    return page, client.post("/surveys/answer/", data)


@pytest.mark.django_db
def test_easy_to_read_questions_give_the_same_derived_values():
    campaign, tokens, _hr = open_campaign_with_invitations(employees=5, k=3)
    easy = Client()
    switched = easy.get("/surveys/answer/?language=easy")
    assert switched.status_code == 302
    assert switched.cookies["surveys_easy"].value == "1"
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
    assert "surveys_easy" not in easy.cookies or easy.cookies["surveys_easy"].value == ""


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
