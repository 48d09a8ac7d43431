"""The dashboard's rendered figures come from the cache until something they count changes."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from partnerships.models import AnonymisedProcedure
from tests.factories import hr_user, ministry_user
from vielfalt.models import Organisation

from .test_views import cell, figure

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def dashboard_cache(settings):
    # A private memory cache: the shared Redis would keep pages of rolled-back tests.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.DASHBOARD_CACHE_SECONDS = 300
    cache.clear()
    yield
    cache.clear()


def test_a_second_visit_is_served_from_the_cache(client, staff, partners, django_assert_max_num_queries):
    client.force_login(staff)
    first = client.get(reverse("dashboard")).text
    # Session, user, roles, the second factor's device; no figure is counted again.
    with django_assert_max_num_queries(4):
        second = client.get(reverse("dashboard")).text
    assert figure(second, "posts_filled") == figure(first, "posts_filled") == "12"


def test_a_new_procedure_shows_at_once(client, staff, partners):
    client.force_login(staff)
    assert figure(client.get(reverse("dashboard")).text, "posts_filled") == "12"
    AnonymisedProcedure.objects.create(
        organisation=partners[1],
        post="Sachbearbeitung",
        held_on=datetime.date(2014, 9, 1),
        method=AnonymisedProcedure.Method.REDACTED_COPIES,
        applications=30,
        invited=6,
        posts_filled=2,
    )
    html = client.get(reverse("dashboard")).text
    assert figure(html, "posts_filled") == "14"
    assert cell(html, "partner-2", "posts_filled") == "7"


def test_scopes_years_and_languages_do_not_share_a_page(client, staff, hr_first, partners):
    client.force_login(staff)
    client.get(reverse("dashboard"))
    client.force_login(hr_first)
    html = client.get(reverse("dashboard")).text
    assert 'data-organisation="partner-2"' not in html
    assert 'data-report="programme"' not in html
    assert figure(html, "posts_filled") == "7"
    assert figure(client.get(reverse("dashboard"), {"year": "2012"}).text, "posts_filled") == "0"
    english = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").text
    assert "Programme overview" in english


def test_the_report_forms_carry_each_users_own_csrf_token(staff, partners):
    from django.test import Client

    tokens = []
    for username in ("ministerium", "zweite"):
        user = staff if username == "ministerium" else ministry_user(username=username)
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        html = client.get(reverse("dashboard")).text
        token = re.search(
            r'data-report="programme">\s*<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"',
            html,
        )
        tokens.append(token.group(1))
        # The token in the shared fragment is this client's: the report request passes the CSRF check.
        response = client.post(
            reverse("dashboard_report"),
            {"kind": "programme", "year": "2014", "csrfmiddlewaretoken": tokens[-1]},
        )
        assert response.status_code == 302
    assert tokens[0] != tokens[1]
    assert Organisation.objects.filter(slug="partner-1").exists()


def test_hr_never_gets_the_ministrys_page_from_the_cache(client, staff, partners):
    client.force_login(staff)
    client.get(reverse("dashboard"))
    other_hr = hr_user(partners[1], username="hr-partner-2")
    client.force_login(other_hr)
    html = client.get(reverse("dashboard")).text
    assert 'data-organisation="partner-1"' not in html
    assert figure(html, "posts_filled") == "5"


def answered(html: str) -> tuple[str, str]:
    organisations = re.search(r"Organisations included</dt><dd[^>]*>(\d+)<", html).group(1)
    respondents = re.search(r"Answered</dt><dd[^>]*>(\d+)<", html).group(1)
    return organisations, respondents


def test_programme_survey_figures_change_when_a_campaign_closes(client, staff, partners):
    from .conftest import closed_campaign, make_partner

    client.force_login(staff)
    url = reverse("surveys:programme")
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    assert answered(client.get(url, **english).text) == ("2", "42")
    assert answered(client.get(url, **english).text) == ("2", "42")  # from the cache
    closed_campaign(make_partner(3, survey=None), yes=5, no=6)
    assert answered(client.get(url, **english).text) == ("3", "53")
