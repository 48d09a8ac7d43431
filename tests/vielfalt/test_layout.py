"""The page header: each user's own navigation, the current section marked, this request's path and CSRF token;
the page title, which says first when a submission came back with errors."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import OrganisationFactory, hr_user, ministry_user
from tests.surveys.conftest import answer, open_campaign_with_invitations

pytestmark = pytest.mark.django_db


def header(html: str) -> str:
    return re.search(r"<header.*?</header>", html, flags=re.S).group(0)


def test_each_user_gets_their_own_header(client):
    city = OrganisationFactory()
    anna, ministry = hr_user(city, username="anna"), ministry_user(username="mia")
    client.force_login(anna)
    text = header(client.get(reverse("home")).text)
    assert "anna" in text
    assert reverse("employee_list") in text
    assert reverse("audit_log") not in text
    client.force_login(ministry)
    text = header(client.get(reverse("home")).text)
    assert "mia" in text
    assert "anna" not in text
    assert reverse("audit_log") in text


def test_the_current_section_is_marked_and_the_path_escaped(client):
    client.force_login(hr_user(OrganisationFactory()))
    # The path goes into the language switch's hidden field; Django leaves ' and & in it unencoded.
    text = header(client.get(reverse("employee_list"), QUERY_STRING="q=O'Brien&active=1").text)
    assert re.search(r'class="nav-link active" href="/employees/" aria-current="page"', text)
    assert 'name="next" type="hidden" value="/employees/?q=O&#x27;Brien&amp;active=1"' in text


def test_the_header_forms_carry_this_requests_csrf_token(client):
    client.force_login(hr_user(OrganisationFactory()))
    client.get(reverse("home"))
    csrf_client_token = None
    for _round in range(2):
        html = client.get(reverse("home")).text
        tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', header(html))
        assert len(tokens) == 2
        body_token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
        assert tokens[0] == tokens[1] == body_token
        csrf_client_token = tokens[0]
    # The token is accepted: log out through the header's form with CSRF checks on.
    client.handler.enforce_csrf_checks = True
    response = client.post(reverse("logout"), {"csrfmiddlewaretoken": csrf_client_token})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_no_template_uses_htmx_attributes_the_html_standard_does_not_know():
    """htmx reads `data-hx-*` as well; bare `hx-*` attributes fail the W3C Nu HTML checker."""
    import re

    from django.conf import settings

    bare = re.compile(r"""[\s"'](hx-[a-z-]+)=""")
    found = [
        f"{path.relative_to(settings.BASE_DIR)}: {match}"
        for path in (settings.BASE_DIR / "templates").rglob("*.html")
        for match in bare.findall(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def title(html: str) -> str:
    return re.search(r"<title>(.*?) – Vielfalt verbindet</title>", html, flags=re.S).group(1)


def test_a_form_answered_with_errors_says_so_in_the_title(client):
    hr = hr_user(OrganisationFactory())
    client.force_login(hr)
    url = reverse("partnerships:procedure_create")
    assert title(client.get(url).text) == "Verfahren erfassen"
    response = client.post(url, {"post": ""})
    assert response.status_code == 422
    assert title(response.text) == "Fehler: Verfahren erfassen"
    response = client.post(url, {"post": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert title(response.text) == "Error: Record a procedure"


def test_the_survey_pages_answered_with_errors_say_so_in_the_title():
    campaign, tokens, _hr = open_campaign_with_invitations(employees=2)
    respondent = Client()
    response = respondent.get("/umfrage/")
    assert not title(response.text).startswith("Fehler")
    response = respondent.post("/umfrage/", {"code": "AAAA-BBBB-CCCC"})
    assert response.status_code == 422
    assert title(response.text).startswith("Fehler: ")
    response = answer(respondent, tokens[0], birth_country="germany", immigration_year="1990")
    assert response.status_code == 422
    assert title(response.text) == f"Fehler: {campaign.title}"
    assert title(Client().get(f"/surveys/t/{tokens[1]}/", follow=True).text) == campaign.title
