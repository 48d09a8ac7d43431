"""A form refused by the CSRF check (`CSRF_FAILURE_VIEW`, vielfalt.views.csrf_failure): the portal's page in the
user's language, saying what happened and leading back to the form, instead of Django's bare English one."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, OrganisationFactory, hr_user

pytestmark = pytest.mark.django_db

FORM = "http://testserver/employees/new/"


@pytest.fixture
def clerk():
    return hr_user(OrganisationFactory(), username="anna")


def _log_in(client: Client) -> str:
    """Through the login form, as a person logs in; the CSRF token of a page opened now."""
    page = client.get(reverse("login"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post(
        reverse("login"), {"username": "anna", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(FORM).text).group(1)


def test_a_form_opened_before_logging_in_again_is_refused_on_the_portal_s_page(clerk):
    """The case people meet: a form open in one tab, then logging out and in again in another (a new token)."""
    client = Client(enforce_csrf_checks=True)
    stale = _log_in(client)
    client.post(reverse("logout"), {"csrfmiddlewaretoken": stale})
    _log_in(client)
    response = client.post(
        reverse("employee_create"), {"csrfmiddlewaretoken": stale, "last_name": "Yılmaz"}, HTTP_REFERER=FORM
    )
    assert response.status_code == 403
    html = response.text
    assert '<html lang="de"' in html
    assert "<h1>Das Formular konnte nicht gesendet werden</h1>" in html
    assert "Es wurde nichts gespeichert." in html and "in einem anderen Fenster oder Tab" in html
    assert '<a href="/employees/new/">Formular neu öffnen</a>' in html
    assert "Abmelden" in html  # the portal's header, still logged in
    main = html[html.index("<main") : html.index("</main>")]
    assert "Forbidden" not in main and "CSRF" not in main


def test_no_cookie_is_named_as_the_cause_and_the_page_follows_the_language(clerk):
    client = Client(enforce_csrf_checks=True)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("login"), {"username": "anna", "password": PASSWORD})
    assert response.status_code == 403
    assert '<html lang="en"' in response.text
    assert "<h1>The form could not be sent</h1>" in response.text
    assert "did not send the portal's security cookie" in response.text
    assert '<a href="/">Back to the start page</a>' in response.text  # no Referer: nowhere else to lead


@pytest.mark.parametrize(
    "referer",
    [
        "https://evil.example/employees/new/",
        "//evil.example/x",
        "javascript:alert(1)",
        "http://testserver//evil.example/x",  # this host's address, whose path alone leads elsewhere
        "http://testserver/\\evil.example/x",
    ],
)
def test_the_way_back_leads_only_to_this_portal(clerk, referer):
    client = Client(enforce_csrf_checks=True)
    _log_in(client)
    response = client.post(
        reverse("employee_create"), {"csrfmiddlewaretoken": "x" * 64}, HTTP_REFERER=referer
    )
    assert response.status_code == 403
    assert "evil" not in response.text and "javascript:" not in response.text
    assert '<a href="/">Zurück zur Startseite</a>' in response.text
