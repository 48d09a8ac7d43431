"""Pages of the portal where Django answered with a bare page of its own: an address of a button or a form opened
as a link (405, vielfalt.middleware.MethodNotAllowedMiddleware: a blank page) and a request Django refuses
(400, templates/400.html: "Bad Request (400)" in English)."""

import pytest
from django.urls import reverse

from tests.factories import OrganisationFactory, UserFactory, hr_user

pytestmark = pytest.mark.django_db

H1_405 = "<h1>Diese Adresse lässt sich nicht als Seite öffnen</h1>"


def test_a_bookmarked_log_out_opens_a_page_that_changes_nothing(client):
    clerk = hr_user(OrganisationFactory())
    client.force_login(clerk)
    response = client.get(reverse("logout"))
    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"
    assert H1_405 in response.text and "„Abmelden“" in response.text
    assert (
        'lang="de"' in response.text and ">Abmelden</button>" in response.text
    )  # the header, still logged in
    assert client.get(reverse("home")).context["user"] == clerk  # nothing changed


@pytest.mark.parametrize("logged_in", [True, False])
def test_an_action_s_address_from_the_history_opens_a_page_with_a_way_on(client, logged_in):
    if logged_in:
        client.force_login(hr_user(OrganisationFactory()))
        url = reverse("session_keepalive")
    else:
        url = reverse("logout")
    response = client.get(url)
    assert response.status_code == 405
    assert H1_405 in response.text
    assert '<a href="/">Zurück zur Startseite</a>' in response.text


def test_only_a_browser_s_page_view_gets_the_page(client):
    """Another method than GET keeps Django's empty answer: no browser shows it as a page."""
    response = client.post(reverse("healthz"))
    assert response.status_code == 405 and response.content == b""


@pytest.mark.allow_error_log  # django.security.TooManyFieldsSent, as it should be
def test_a_request_django_refuses_gets_a_german_page(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    response = client.post(reverse("login"), {f"field{number}": "x" for number in range(10)})
    assert response.status_code == 400
    html = response.text
    assert '<html lang="de">' in html and "<h1>Die Anfrage konnte nicht verarbeitet werden</h1>" in html
    assert "Es wurde nichts gespeichert." in html and "Bad Request" not in html
    client.cookies["django_language"] = "en"
    assert (
        "<h1>The request could not be processed</h1>"
        in client.post(reverse("login"), {f"field{number}": "x" for number in range(10)}).text
    )


@pytest.mark.parametrize(
    "url", ["/admin/surveys/campaign/?status=%00", "/admin/vielfalt/employee/?q=%00", "/employees/?q=a%00b"]
)
def test_a_nul_in_the_address_is_a_bad_request_not_an_error(client, url):
    """PostgreSQL refuses a NUL in any text it compares: the admin's list filters pass their parameter on
    unchecked (`?status=%00` was a 500). No address the portal makes holds one."""
    admin = UserFactory(username="root")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    response = client.get(url)
    assert response.status_code == 400
    assert "<h1>Die Anfrage konnte nicht verarbeitet werden</h1>" in response.text
    assert client.get(url.replace("%00", "")).status_code == 200
