import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from surveys.models import Campaign, HeldAnswer, Invitation, Response
from surveys.services import campaign_close, token_hash
from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, hr_user, ministry_user
from tests.surveys.conftest import (
    DEFAULT_ANSWERS,
    answer,
    form_key,
    make_campaign,
    open_campaign_with_invitations,
    respondent_state,
)
from tests.surveys.test_results import add_response
from vielfalt.models import AuditEntry, Job, OrgUnit


def pdf_text(job: Job) -> str:
    job.refresh_from_db()
    assert job.status == Job.Status.READY, job.error
    return "\n".join(page.extract_text() for page in PdfReader(job.result_file.open("rb")).pages)


@pytest.mark.django_db
def test_campaign_list_query_count_does_not_grow(client, django_assert_num_queries):
    organisation = OrganisationFactory()
    hr = hr_user(organisation)
    client.force_login(hr)
    make_campaign(organisation=organisation, actor=hr)
    client.get(reverse("surveys:index"))  # warm up (session, content types)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("surveys:index")).status_code == 200
    make_campaign(organisation=organisation, actor=hr)
    make_campaign(organisation=organisation, actor=hr)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(reverse("surveys:index"))
    assert len(response.context["campaigns"]) == 3


@pytest.mark.django_db
def test_campaign_list_counts_each_campaigns_invited_and_released_answers(client):
    campaign, _tokens, hr = open_campaign_with_invitations(employees=6)
    Invitation.objects.filter(pk__in=Invitation.objects.filter(campaign=campaign).values("pk")[:2]).update(
        used=True, counted=True
    )
    Invitation.objects.filter(campaign=campaign).exclude(counted=True).filter(
        pk=Invitation.objects.filter(campaign=campaign, counted=False).values("pk")[:1]
    ).update(used=True)  # answered, not yet released: not counted
    draft = make_campaign(organisation=campaign.organisation, actor=hr, title="Entwurf")
    open_campaign_with_invitations(employees=5)  # another partner's invitations count for neither
    client.force_login(hr)
    rows = client.get(reverse("surveys:index")).context["rows"]
    assert [(title, invited, answered) for _url, title, *_cells, invited, answered in rows] == [
        (campaign.title, 6, 2),
        (draft.title, 0, 0),
    ]
    assert [url for url, *_cells in rows] == [campaign.get_absolute_url(), draft.get_absolute_url()]


@pytest.mark.django_db
def test_list_shows_only_own_organisations_campaigns(client):
    own = make_campaign(title="Eigene")
    other = make_campaign(title="Fremde")
    client.force_login(hr_user(own.organisation))
    response = client.get(reverse("surveys:index"))
    assert [c.pk for c in response.context["campaigns"]] == [own.pk]
    for name in ("campaign_detail", "results", "invite", "campaign_update"):
        assert client.get(reverse(f"surveys:{name}", args=[other.pk])).status_code == 404
    assert client.get(reverse("surveys:results_export", args=[other.pk, "csv"])).status_code == 404
    assert client.post(reverse("surveys:campaign_open", args=[other.pk])).status_code == 404


@pytest.mark.django_db
def test_hr_creates_opens_invites_and_the_mails_carry_working_links(
    client, django_capture_on_commit_callbacks
):
    organisation = OrganisationFactory()
    unit = OrgUnitFactory(organisation=organisation)
    EmployeeFactory.create_batch(3, organisation=organisation, org_unit=unit)
    EmployeeFactory(organisation=organisation, org_unit=unit, email="")
    hr = hr_user(organisation)
    client.force_login(hr)
    response = client.post(
        reverse("surveys:campaign_create"),
        {
            "organisation": organisation.pk,
            "title": "Befragung 2024",
            "opens_on": timezone.localdate().isoformat(),  # a new campaign cannot start in the past
            "closes_on": (timezone.localdate() + timedelta(days=30)).isoformat(),
            "units": [unit.pk],
            "k": 5,
            "previous_estimate": "2–3 %",
            "purpose": "Zweck",
            "legal_basis": "Einwilligung",
            "dpo_contact": "datenschutz@example.org",
        },
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    client.post(reverse("surveys:campaign_open", args=[campaign.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("surveys:invite", args=[campaign.pk]), {})
    job = Job.objects.get(kind="surveys.send_invitations")
    assert response["Location"] == job.get_absolute_url()
    assert job.status == Job.Status.READY
    assert Invitation.objects.filter(campaign=campaign).count() == 4
    assert len(mail.outbox) == 3
    link = next(line for line in mail.outbox[0].body.splitlines() if "/surveys/t/" in line)
    respondent = Client()
    assert link.startswith(f"{settings.PORTAL_URL}/surveys/t/")
    assert answer(respondent, link.split("/surveys/t/")[1].strip("/")).status_code == 302
    assert HeldAnswer.objects.count() == 1
    # Reminders go only to the unused e-mail invitations, each with a new link (the pooled code has no e-mail).
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:remind", args=[campaign.pk]))
    assert len(mail.outbox) == 5
    assert Invitation.objects.filter(campaign=campaign, employee__isnull=True).count() == 1
    # HR sees counts, never who.
    page = client.get(reverse("surveys:campaign_detail", args=[campaign.pk]))
    assert page.context["counts"]["invited"] == 4
    assert page.context["counts"]["answered"] == 0  # counted only once released, at least k at a time
    assert AuditEntry.objects.filter(object_id=str(campaign.pk)).count() >= 3


@pytest.mark.django_db
def test_unknown_token_gets_a_clear_page_and_no_404_with_the_token(client):
    response = client.get("/surveys/t/not-a-real-token/")
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 404
    assert b'id="link-invalid"' in page.content
    assert page["Referrer-Policy"] == "no-referrer"
    # even a mangled link answers with a redirect
    assert client.get("/surveys/t/abc/extra/stuff").status_code == 302


@pytest.mark.django_db
def test_validation_errors_keep_the_invitation_unused():
    campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    respondent = Client()
    response = answer(
        respondent, tokens[0], birth_country="germany", immigration_year="1990", languages=["na", "de"]
    )
    assert response.status_code == 422
    assert response.context["form"].errors.keys() == {"immigration_year", "languages"}
    assert not Invitation.objects.filter(used=True).exists()
    assert Response.objects.count() == 0


@pytest.mark.django_db
def test_the_respondents_cookie_keeps_no_token_and_says_done_only_until_the_thanks_is_shown():
    """The respondent's state lives in a sealed cookie, not in a session row; it holds the credential's hash
    (never the token), readable by nobody without the portal's secret. After answering it says "done" until
    the thanks has been shown, then it is what the link started again: whoever opens the address next in the
    same browser finds the questionnaire, as after a link opened and not answered (before, the state kept
    only "done", and the address showed the thanks to the next person at a shared computer)."""
    from django.contrib.sessions.models import Session

    from surveys.views import RESPONDENT_COOKIE

    campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    respondent = Client()
    link = respondent.get(f"/surveys/t/{tokens[0]}/")
    cookie = link.cookies[RESPONDENT_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/surveys/"
    assert not cookie["max-age"]  # gone when the browser closes, as the session was
    assert tokens[0] not in cookie.value and token_hash(tokens[0]) not in cookie.value
    assert respondent_state(respondent)["credential"] == f"t:{token_hash(tokens[0])}"
    respondent.get("/surveys/answer/")
    assert respondent_state(respondent)["campaign"] == campaign.pk
    started = respondent_state(respondent)
    respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": form_key(respondent)})
    assert respondent_state(respondent) == {**started, "done": True}
    assert 'id="thanks"' in respondent.get("/surveys/answer/").content.decode()
    assert respondent_state(respondent) == started
    assert 'id="thanks"' not in respondent.get("/surveys/answer/").content.decode()
    assert not Session.objects.exists()
    assert settings.SESSION_COOKIE_NAME not in respondent.cookies


@pytest.mark.django_db
def test_a_forged_or_expired_respondent_cookie_is_no_credential():
    import time

    from django.test import override_settings

    from surveys.credentials import respondent_seal
    from surveys.views import RESPONDENT_COOKIE

    campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    state = {"credential": f"t:{token_hash(tokens[0])}", "form_key": "k", "at": int(time.time())}
    with override_settings(SECRET_KEY="another secret, not the portal's: only the portal's makes a state"):
        foreign = respondent_seal(state)
    expired = respondent_seal({**state, "at": int(time.time()) - 31 * 60})
    for value in ["garbage", "", foreign, expired]:
        respondent = Client()
        respondent.cookies[RESPONDENT_COOKIE] = value
        assert respondent.get("/surveys/answer/").status_code == 404
        assert respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": "k"}).status_code == 404
    respondent = Client()
    respondent.cookies[RESPONDENT_COOKIE] = respondent_seal(state)
    assert respondent.get("/surveys/answer/").status_code == 200
    assert not Invitation.objects.filter(used=True).exists()


@pytest.mark.django_db
def test_results_export_and_report(client, django_capture_on_commit_callbacks):
    campaign, _tokens, hr = open_campaign_with_invitations(employees=20, units=2)
    client.force_login(hr)
    assert client.get(reverse("surveys:results", args=[campaign.pk])).context["results"] is None
    for i in range(12):
        add_response(campaign, group="public_facing", mh="yes" if i < 6 else "no")
    campaign_close(actor=hr, campaign=campaign)
    page = client.get(reverse("surveys:results", args=[campaign.pk]))
    assert page.status_code == 200
    assert page.context["results"].participation == 60.0
    assert b'class="results-chart"' in page.content
    csv = client.get(reverse("surveys:results_export", args=[campaign.pk, "csv"]))
    lines = (
        b"".join(csv.streaming_content if csv.streaming else [csv.content]).decode("utf-8-sig").splitlines()
    )
    assert lines[0].startswith("Tabelle")
    overall = next(line for line in lines if line.startswith("Gesamt"))
    assert overall.split(";")[3:6] == ["12", "6", "6"]
    xlsx = client.get(reverse("surveys:results_export", args=[campaign.pk, "xlsx"]))
    assert xlsx.content[:2] == b"PK"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:report", args=[campaign.pk]))
    text = pdf_text(Job.objects.get(kind="surveys.render_report"))
    assert campaign.title in text
    assert "50,0" in text or "50.0" in text


@pytest.mark.django_db
def test_ministry_sees_programme_figures_but_not_a_partners_campaign(client):
    campaign = make_campaign()
    client.force_login(ministry_user())
    assert client.get(reverse("surveys:programme")).status_code == 200
    # Campaign pages are partner HR's: the ministry may not open them at all.
    assert client.get(reverse("surveys:campaign_detail", args=[campaign.pk])).status_code == 403
    assert client.get(reverse("surveys:index")).context["campaigns"].count() == 0


@pytest.mark.django_db
def test_a_post_without_the_session_bound_form_key_is_refused():
    campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    respondent = Client(enforce_csrf_checks=True)
    respondent.get(f"/surveys/t/{tokens[0]}/")
    assert respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": "forged"}).status_code == 403
    # Characters beyond ASCII are a forged key too, not a server error (compare_digest refuses such str).
    for forged in ("２０２６", "🙂", "ü" * 43):
        assert respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": forged}).status_code == 403
    assert respondent.post("/surveys/answer/", DEFAULT_ANSWERS, HTTP_ORIGIN="null").status_code == 403
    key = form_key(respondent)
    # With the key, a POST from a no-referrer page (Origin: null) goes through.
    response = respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": key}, HTTP_ORIGIN="null")
    assert response.status_code == 302
    assert HeldAnswer.objects.filter(campaign=campaign).count() == 1


@pytest.mark.django_db
def test_respondents_switch_the_language_with_a_link():
    respondent = Client()
    response = respondent.get("/surveys/answer/?language=en")
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"
    assert respondent.get("/surveys/answer/").headers["Content-Language"] == "en"


@pytest.mark.django_db
def test_switching_the_language_keeps_the_answers_ticked_in_the_respondents_own_state():
    """The language switch of the questionnaire posts the answers ticked so far: they come back on the page in
    the new language, from the respondent's sealed state (nothing is written to the database), only values the
    questions can take, and they are gone once the answers are sent."""
    campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    unit = OrgUnit.objects.get(organisation=campaign.organisation)
    respondent = Client()
    respondent.get(f"/surveys/t/{tokens[0]}/")
    respondent.get("/surveys/answer/")
    ticked = {
        "own_citizenship": "not_german",
        "birth_country": "abroad",
        "immigration_year": "1990",
        "org_unit": str(unit.pk),
        "languages": ["de", "tr", "klingon"],
        "target_group": "x" * 5000,  # not a choice: not kept (a cookie over 4 kB would be dropped)
        "mother_citizenship": ["german", "not_german"],  # one radio button sends one value
    }
    switched = respondent.post(
        "/surveys/answer/", {**ticked, "form_key": form_key(respondent), "language": "en"}
    )
    assert (switched.status_code, switched["Location"]) == (302, "/surveys/answer/")
    assert switched.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert respondent_state(respondent)["draft"] == {
        "own_citizenship": "not_german",
        "birth_country": "abroad",
        "immigration_year": "1990",
        "org_unit": str(unit.pk),
        "languages": ["de", "tr"],
        "mother_citizenship": "german",
    }
    assert HeldAnswer.objects.count() == 0
    assert not Invitation.objects.filter(used=True).exists()
    page = respondent.get("/surveys/answer/")
    assert page.headers["Content-Language"] == "en"
    html = page.content.decode()
    for name, value in [("own_citizenship", "not_german"), ("languages", "de"), ("languages", "tr")]:
        assert re.search(rf'name="{name}" id="id_{name}_\d+" value="{value}" checked', html), (name, value)
    assert 'name="immigration_year" id="id_immigration_year"' in html and 'value="1990"' in html
    assert "error-summary" not in html  # a draft, not a submission: nothing is wrong yet
    sent = respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": form_key(respondent)})
    assert sent.status_code == 302
    assert "draft" not in respondent_state(respondent)
    assert HeldAnswer.objects.count() == 1


@pytest.mark.django_db
def test_a_campaign_whose_units_are_all_below_k_does_not_ask_for_the_unit():
    """With no unit of k invited, the unit question offered only "Another unit" and "Prefer not to say",
    which asked nothing. It is left out with a sentence saying why, and the answer counts under "Other units",
    where the results put everyone of a unit below k."""
    campaign, tokens, hr = open_campaign_with_invitations(employees=6, units=3, k=3)
    respondent = Client()
    respondent.get(f"/surveys/t/{tokens[0]}/")
    html = respondent.get("/surveys/answer/").content.decode()
    assert 'name="org_unit" value="other"' in html and 'type="radio" name="org_unit"' not in html
    assert "Diese Befragung fragt nicht nach Ihrer Organisationseinheit" in html
    assert "In welcher Organisationseinheit" not in html
    easy = Client()
    easy.get(f"/surveys/t/{tokens[1]}/leicht/")
    assert "Wir fragen nicht: Wo arbeiten Sie?" in easy.get("/surveys/answer/").content.decode()
    answers = {key: value for key, value in DEFAULT_ANSWERS.items() if key != "org_unit"}
    sent = respondent.post(
        "/surveys/answer/", {**answers, "org_unit": "other", "form_key": form_key(respondent)}
    )
    assert sent.status_code == 302
    campaign_close(actor=hr, campaign=campaign)
    assert list(Response.objects.values_list("org_unit", "org_unit_other")) == [(None, True)]


@pytest.mark.django_db
def test_results_page_query_count_does_not_grow_with_responses(client, django_assert_num_queries):
    campaign, _tokens, hr = open_campaign_with_invitations(employees=40, units=4)
    campaign_close(actor=hr, campaign=campaign)
    client.force_login(hr)
    client.get(reverse("surveys:results", args=[campaign.pk]))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("surveys:results", args=[campaign.pk]))
    for i in range(30):
        add_response(campaign, group=["trainee", "manager", "other"][i % 3], mh="yes" if i % 4 else "no")
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(reverse("surveys:results", args=[campaign.pk]))


@pytest.mark.django_db
def test_a_link_of_a_closed_campaign_gets_a_clear_page():
    campaign, tokens, hr = open_campaign_with_invitations(employees=5)
    campaign_close(actor=hr, campaign=campaign)
    respondent = Client()
    respondent.get(f"/surveys/t/{tokens[0]}/")
    page = respondent.get("/surveys/answer/")
    assert page.status_code == 410
    assert b'id="not-open"' in page.content
    # It says what may have happened and whom to ask (it said only "not open for answers at the moment").
    assert "Wenden Sie sich bei Fragen bitte an Ihre Personalverwaltung." in page.content.decode()
    # In easy-to-read language, the title says what the heading says.
    respondent.get("/surveys/answer/?language=easy")
    easy = respondent.get("/surveys/answer/").content.decode()
    assert (
        "<title>Die Befragung ist geschlossen – " in easy and "Die Befragung ist nicht geöffnet" not in easy
    )
    assert answer(Client(), tokens[1]).status_code == 410
    assert Response.objects.count() == 0


@pytest.mark.django_db
def test_error_reports_would_show_no_answer():
    from django.test import RequestFactory
    from django.views.debug import SafeExceptionReporterFilter

    from surveys.views import AnswerView

    request = RequestFactory().post("/surveys/answer/", {"own_citizenship": "not_german"})
    request.session = Client().session
    AnswerView.as_view()(request)
    cleansed = SafeExceptionReporterFilter().get_post_parameters(request)
    assert "not_german" not in str(cleansed)


@pytest.mark.django_db
def test_inviting_to_an_open_campaign_says_the_invitations_are_being_sent_not_that_they_went_out(client):
    from django.contrib.messages import get_messages

    from surveys.services import campaign_open
    from tests.surveys.conftest import make_campaign

    organisation = OrganisationFactory()
    EmployeeFactory.create_batch(3, organisation=organisation)
    hr = hr_user(organisation)
    campaign = campaign_open(actor=hr, campaign=make_campaign(organisation=organisation, actor=hr))
    client.force_login(hr)
    response = client.post(reverse("surveys:invite", args=[campaign.pk]), {}, HTTP_ACCEPT_LANGUAGE="de")
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert texts == ["3 Einladungen wurden angelegt und werden versandt."]


@pytest.mark.django_db
def test_the_answer_path_writes_nothing_but_the_answer(postgres):
    """Launch morning (issue 13): the link reads and writes nothing in the database (the state goes into a
    sealed cookie); the page reads the invitation with its campaign and the units offered; the POST reads
    nothing before its submission, which takes the campaign's lock, marks the invitation used in one statement
    that returns what it was with the campaign's state and units (to check the answer against), and holds the
    answer: no session row, no separate lookup of the invitation or the campaign."""
    campaign, tokens, _hr = open_campaign_with_invitations(employees=5, k=3)
    respondent = Client()

    def statements(queries) -> list[str]:  # without the test's own savepoints
        return [query["sql"].split()[0] for query in queries if "SAVEPOINT" not in query["sql"]]

    with CaptureQueriesContext(connection) as queries:
        assert respondent.get(f"/surveys/t/{tokens[0]}/").status_code == 302
    assert statements(queries) == []
    with CaptureQueriesContext(connection) as queries:
        assert respondent.get("/surveys/answer/").status_code == 200
    assert statements(queries) == ["SELECT", "SELECT"]  # the invitation with its campaign, the units offered
    with CaptureQueriesContext(connection) as queries:
        sent = respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": form_key(respondent)})
    assert sent.status_code == 302
    # The lock, the invitation marked used, the answer held.
    assert statements(queries) == ["SELECT", "UPDATE", "INSERT"]
    assert Invitation.objects.filter(used=True).count() == 1


def test_the_questions_are_written_as_djangos_widgets_would_render_them():
    """SurveyForm.questions writes the options without the widgets: the same ids, names, values, labels
    (escaped) and checked states as Django's radio and checkbox widgets."""
    import re

    from django.utils.html import escape

    from surveys.forms import SurveyForm

    def inputs(html: str) -> list[dict]:
        return [
            {
                name: value
                for name, value in re.findall(r'([\w-]+)(?:="([^"]*)")?', tag)
                if name not in ("class", "required", "aria-invalid")  # the fieldset says it
            }
            for tag in re.findall(r"<input ([^>]*)>", html)
        ]

    def labels(html: str) -> list[tuple]:
        return re.findall(r'<label [^>]*for="([^"]*)">([^<]*)</label>', html)

    unit = OrgUnitFactory.build(pk=7, name="<b>Bürgerbüro</b> & Co")
    bound = SurveyForm(
        {"own_citizenship": "german", "languages": ["de", "tr"], "org_unit": "7"}, units=[unit]
    )
    bound.is_valid()
    for form in (SurveyForm(units=[unit]), bound):
        for field, options in form.questions():
            if field.name == "immigration_year":
                continue
            widgets = "".join(
                f'{choice.tag()}<label class="x" for="{choice.id_for_label}">{escape(choice.choice_label)}</label>'
                for choice in field
            )
            assert inputs(str(options)) == inputs(widgets), field.name
            assert labels(str(options)) == labels(widgets), field.name
    html = "".join(str(options) for _field, options in bound.questions())
    assert "&lt;b&gt;Bürgerbüro&lt;/b&gt; &amp; Co" in html and "<b>" not in html
    assert html.count(" checked") == 4  # german, de, tr, the unit


@pytest.mark.django_db
def test_an_answer_names_an_offered_unit_and_a_unit_not_offered_comes_back_with_the_units_named():
    campaign, tokens, hr = open_campaign_with_invitations(employees=12, units=2, k=5)
    units = list(campaign.organisation.units.order_by("name"))
    offered = next(unit for unit in units if unit.pk in campaign.offered_unit_ids)
    too_small = OrgUnitFactory(organisation=campaign.organisation, name="Kleines Amt")
    respondent = Client()
    respondent.get(f"/surveys/t/{tokens[0]}/")
    respondent.get("/surveys/answer/")
    refused = respondent.post(
        "/surveys/answer/",
        {**DEFAULT_ANSWERS, "org_unit": str(too_small.pk), "form_key": form_key(respondent)},
    )
    assert refused.status_code == 422
    assert offered.name in refused.content.decode()  # the units by name, as the page showed them
    assert not Invitation.objects.filter(used=True).exists()
    sent = respondent.post(
        "/surveys/answer/", {**DEFAULT_ANSWERS, "org_unit": str(offered.pk), "form_key": form_key(respondent)}
    )
    assert sent.status_code == 302
    campaign_close(actor=hr, campaign=campaign)
    assert Response.objects.get(campaign=campaign).org_unit == offered


def test_survey_forms_share_their_choices_but_nothing_a_form_changes():
    """SurveyForm's fields share their choices between copies (no deep copy per respondent); what one form
    changes, its labels in easy-to-read language, its units, taking any unit, stays its own."""
    from surveys.forms import SurveyForm

    first_unit, second_unit = (
        OrgUnitFactory.build(pk=1, name="Bauhof"),
        OrgUnitFactory.build(pk=2, name="Stadtbad"),
    )
    easy = SurveyForm(units=[first_unit], easy=True)
    plain = SurveyForm(units=[second_unit])
    unchecked = SurveyForm({"org_unit": "99"}, units=None)
    assert easy.fields["own_citizenship"].label != plain.fields["own_citizenship"].label
    assert plain.fields["own_citizenship"].label == SurveyForm.base_fields["own_citizenship"].label
    assert [key for key, _label in easy.fields["org_unit"].choices][:1] == ["1"]
    assert [key for key, _label in plain.fields["org_unit"].choices][:1] == ["2"]
    assert [key for key, _label in plain.fields["org_unit"].widget.choices][:1] == ["2"]
    assert SurveyForm.base_fields["org_unit"].choices == []
    assert unchecked.fields["org_unit"].valid_value("99")
    assert not plain.fields["org_unit"].valid_value("99") and not SurveyForm.base_fields["org_unit"].any_unit
    plain.fields["languages"].widget.attrs["data-x"] = "1"
    assert "data-x" not in SurveyForm(units=[]).fields["languages"].widget.attrs


@pytest.mark.django_db
def test_an_answer_posted_from_a_state_that_showed_no_questionnaire_is_counted():
    """A form kept from another visit (its state has no campaign yet) is still submitted: the campaign is
    looked up by the link then."""
    from surveys.credentials import respondent_unseal
    from surveys.views import RESPONDENT_COOKIE

    _campaign, tokens, _hr = open_campaign_with_invitations(employees=4, k=3)
    respondent = Client()
    respondent.get(f"/surveys/t/{tokens[0]}/")  # no questionnaire shown with this state
    state = respondent_unseal(respondent.cookies[RESPONDENT_COOKIE].value)
    assert "campaign" not in state
    sent = respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": state["form_key"]})
    assert sent.status_code == 302
    assert Invitation.objects.filter(used=True).count() == 1


@pytest.mark.django_db
def test_every_response_of_the_respondents_pages_is_kept_by_no_cache_and_sends_no_referrer():
    from surveys.views import NEVER_CACHE

    _campaign, tokens, _hr = open_campaign_with_invitations(employees=4, k=3)
    respondent = Client()
    responses = [
        respondent.get(f"/surveys/t/{tokens[0]}/"),
        respondent.get("/surveys/answer/?language=en"),
        respondent.get("/surveys/answer/"),
        respondent.post(
            "/surveys/answer/", {**DEFAULT_ANSWERS, "own_citizenship": "", "form_key": form_key(respondent)}
        ),
        respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": form_key(respondent)}),
        respondent.get("/surveys/answer/"),  # thanks
        Client().get("/surveys/answer/"),  # no state
        Client().get("/surveys/t/unknown/"),
    ]
    assert [response.status_code for response in responses] == [302, 302, 200, 422, 302, 200, 404, 302]
    for response in responses:
        assert response["Cache-Control"] == NEVER_CACHE and response["Expires"]
        assert response["Referrer-Policy"] == "no-referrer"


@pytest.mark.django_db
@pytest.mark.parametrize("unit", ["9" * 5000, "١٢", "0", "-3", "3.0", " 3", "99999999999999999999"])
def test_a_posted_unit_that_cannot_be_an_offered_units_id_comes_back_with_the_questionnaire(unit):
    """The POST takes any unit id before the submission checks it: what cannot be a unit's key (too many digits
    for int(), other scripts' digits, signs, zero) is refused by the form, never a server error."""
    _campaign, tokens, _hr = open_campaign_with_invitations(employees=6, units=2, k=3)
    respondent = Client(raise_request_exception=False)
    respondent.get(f"/surveys/t/{tokens[0]}/")
    respondent.get("/surveys/answer/")
    refused = respondent.post(
        "/surveys/answer/", {**DEFAULT_ANSWERS, "org_unit": unit, "form_key": form_key(respondent)}
    )
    assert refused.status_code == 422
    assert not Invitation.objects.filter(used=True).exists()


@pytest.mark.django_db
def test_the_questionnaires_campaign_holds_the_stored_values_of_the_fields_it_loads():
    """questionnaire_for_credential builds the campaign from a plain row (Model.from_db takes the values in the
    model's order of fields): each loaded field has the stored value."""
    from surveys.services import _CAMPAIGN_FIELDS, credential_for_token, questionnaire_for_credential

    campaign, tokens, _hr = open_campaign_with_invitations(employees=6, units=2, k=3)
    loaded, units = questionnaire_for_credential(credential_for_token(tokens[0]))
    stored = Campaign.objects.get(pk=campaign.pk)
    for name in _CAMPAIGN_FIELDS:
        assert getattr(loaded, name) == getattr(stored, name), name
    assert loaded.offered_unit_ids == stored.offered_unit_ids
    assert [unit.pk for unit in units] == sorted(
        stored.offered_unit_ids, key=lambda pk: OrgUnit.objects.get(pk=pk).name
    )


def questionnaire_left_open_too_long(respondent, token) -> dict:
    """Open the questionnaire with `token`, then let 40 minutes pass (past SESSION_COOKIE_AGE): the
    respondent's state as it was, with the form key its page still carries."""
    import time

    from surveys.credentials import respondent_seal
    from surveys.views import RESPONDENT_COOKIE

    respondent.get(f"/surveys/t/{token}/")
    respondent.get("/surveys/answer/")
    state = respondent_state(respondent)
    respondent.cookies[RESPONDENT_COOKIE] = respondent_seal({**state, "at": int(time.time()) - 40 * 60})
    return state


@pytest.mark.django_db
def test_a_language_switch_after_the_time_ran_out_says_to_open_the_link_again_not_that_answers_were_lost():
    """A respondent leaves the questionnaire open past its 30 minutes (or opens the link again in another
    window) and then switches the language: the page said "Your answers were not sent", although they had sent
    nothing. It says that the time is over and to open the link again, and that whoever sent their answers
    already has nothing more to do: in the language chosen (it came in the language left, and the choice was
    not kept)."""
    from surveys.views import EASY_COOKIE

    campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    respondent = Client()
    state = questionnaire_left_open_too_long(respondent, tokens[0])
    switch = {"own_citizenship": "german", "form_key": state["form_key"], "language": "en"}
    expired = respondent.post("/surveys/answer/", switch)
    text = expired.content.decode()
    assert (expired.status_code, 'id="page-expired"' in text) == (404, True)
    assert '<html lang="en">' in text and expired.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Your answers were not sent." not in text
    assert "30 minutes" in text and "If you have sent your answers already" in text
    # The link opened again in a second window: a switch in the first says the same.
    respondent.get(f"/surveys/t/{tokens[0]}/")
    respondent.get("/surveys/answer/")
    stale = respondent.post("/surveys/answer/", {**switch, "language": "easy"})
    text = stale.content.decode()
    assert (stale.status_code, 'id="page-expired"' in text) == (403, True)
    assert 'class="easy-to-read"' in text and stale.cookies[EASY_COOKIE].value == "1"
    assert "Your answers did not arrive." not in text
    assert "Did you send your answers already? Then you are done." in text
    assert not Invitation.objects.filter(used=True).exists()


@pytest.mark.django_db
def test_answers_sent_from_a_page_left_open_too_long_or_opened_again_say_to_open_the_link_again():
    """A clerk opens the link, is called away to a customer and sends the answers 40 minutes later: the state
    has expired (SESSION_COOKIE_AGE after the link was opened), and the answers are not taken. The page said
    "This link is not valid" (incomplete or replaced), although the link still works: it now says that the
    answers were not sent and how to answer (the link again, or the code at /umfrage/). So does a page whose
    link was opened again meanwhile in the same browser (its form key replaced)."""
    campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    respondent = Client()
    state = questionnaire_left_open_too_long(respondent, tokens[0])
    sent = respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": state["form_key"]})
    text = sent.content.decode()
    assert sent.status_code == 404  # still nothing to answer with this state
    assert 'id="page-expired"' in text and "ungültig" not in text
    assert "Ihre Antworten wurden nicht gesendet." in text
    assert "30 Minuten" in text and 'href="/umfrage/"' in text
    # Only the page that was sent says the answers were not: a page merely reloaded cannot tell.
    reloaded = respondent.get("/surveys/answer/").content.decode()
    assert 'id="page-expired"' in reloaded and "Ihre Antworten wurden nicht gesendet." not in reloaded
    assert not Invitation.objects.filter(used=True).exists()
    # The link opened again, in a second window: the first window's page is out of date.
    first_key = form_key(respondent) or state["form_key"]
    respondent.get(f"/surveys/t/{tokens[0]}/")
    respondent.get("/surveys/answer/")
    assert form_key(respondent) != first_key
    stale = respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": first_key})
    assert stale.status_code == 403
    assert 'id="page-expired"' in stale.content.decode()
    assert "Ihre Antworten wurden nicht gesendet." in stale.content.decode()
    # In easy-to-read language too.
    respondent.get("/surveys/answer/?language=easy")
    stale = respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": first_key})
    assert "Ihre Antworten sind nicht angekommen." in stale.content.decode()
    # Opening the link again is all it takes.
    respondent.get(f"/surveys/t/{tokens[0]}/")
    respondent.get("/surveys/answer/")
    sent = respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": form_key(respondent)})
    assert sent.status_code == 302
    assert HeldAnswer.objects.filter(campaign=campaign).count() == 1


@pytest.mark.django_db
def test_the_questionnaire_says_how_long_it_can_be_sent():
    """Answers sent more than SESSION_COOKIE_AGE after the link was opened are not taken: the questionnaire's
    introduction says so beforehand, in the standard and in easy-to-read language."""
    from surveys.views import EASY_COOKIE

    _campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    respondent = Client()
    respondent.get(f"/surveys/t/{tokens[0]}/")
    assert "innerhalb von 30 Minuten ab" in respondent.get("/surveys/answer/").content.decode()
    respondent.cookies[EASY_COOKIE] = "1"
    assert "Sie haben 30 Minuten Zeit für die Fragen." in respondent.get("/surveys/answer/").content.decode()


@pytest.mark.django_db
def test_more_time_for_the_questionnaire_keeps_the_answers_and_needs_the_pages_form_key():
    """The button of the warning before the questionnaire's time runs out (WCAG 2.2.1) starts its 30 minutes
    again and keeps the answers ticked so far, as a language switch does; only with the key of the page's own
    form, and not once the time has run out (the link must be opened again, as before)."""
    import time

    from surveys.credentials import respondent_seal
    from surveys.views import RESPONDENT_COOKIE

    _campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    respondent = Client()
    respondent.get(f"/surveys/t/{tokens[0]}/")
    respondent.get("/surveys/answer/")
    state = respondent_state(respondent)
    respondent.cookies[RESPONDENT_COOKIE] = respondent_seal({**state, "at": int(time.time()) - 27 * 60})
    ticked = {"own_citizenship": "not_german", "form_key": state["form_key"], "more_time": "1"}
    wrong_key = respondent.post("/surveys/answer/", {**ticked, "form_key": "guessed"})
    assert wrong_key.status_code == 403
    assert int(time.time()) - respondent_state(respondent)["at"] >= 27 * 60
    more = respondent.post("/surveys/answer/", ticked)
    assert (more.status_code, more["Location"]) == (302, "/surveys/answer/")
    renewed = respondent_state(respondent)
    assert int(time.time()) - renewed["at"] < 60
    assert renewed["draft"] == {"own_citizenship": "not_german"}
    page = respondent.get("/surveys/answer/").content.decode()
    assert 'id="more-time-given"' in page and "wieder 30 Minuten" in page
    assert re.search(r'<input[^>]*name="own_citizenship"[^>]*value="not_german"[^>]*checked', page)
    assert 'id="more-time-given"' not in respondent.get("/surveys/answer/").content.decode()  # said once
    assert HeldAnswer.objects.count() == 0
    state = questionnaire_left_open_too_long(respondent, tokens[0])
    late = respondent.post("/surveys/answer/", {**ticked, "form_key": state["form_key"]})
    assert (late.status_code, 'id="page-expired"' in late.content.decode()) == (404, True)
    assert not Invitation.objects.filter(used=True).exists()
