"""The programme's aggregates in the cache (vielfalt.generation.cached_figures: the dashboard and the programme's
survey page): kept until the next write to a table they come from, whatever writes it, and never a reason for
the page to fail or lie."""

import re

import pytest
import redis
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partnerships.models import AnonymisedProcedure
from surveys.models import Campaign
from tests.conftest import pass_second_factor
from tests.processes import SECRET_KEY, SESSION_COOKIE, Gunicorn
from tests.surveys.test_results import add_response
from tests.vielfalt.test_outages import Browser, own_redis  # noqa: F401  (the fixture)
from vielfalt.generation import SEQUENCE, figures_generation

from .test_views import cell, figure

pytestmark = pytest.mark.django_db

# What every logged-in request reads (session, user with roles, second factor) and the generation itself: not
# the figures' sources.
REQUEST_TABLES = {
    "django_session",
    "vielfalt_user",
    "vielfalt_membership",
    "otp_static_staticdevice",
    SEQUENCE,
}


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the figures' generation is PostgreSQL's (SQLite computes the figures every time)")


def dashboard(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return response.text


def tables_read(client, url) -> set[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    names = set()
    for query in captured.captured_queries:
        names |= set(re.findall(r'(?:FROM|JOIN)\s+"?([a-z_]+)"?', query["sql"]))
    return names


def test_a_second_visit_reads_no_figures_until_a_write_changes_them(client, staff, partners):
    client.force_login(staff)
    first = dashboard(client)
    assert cell(first, "partner-1", "posts_filled") == "7"
    assert tables_read(client, reverse("dashboard")) <= REQUEST_TABLES  # the aggregates came from the cache

    # A write through the ORM, as a form makes it: the next visit shows it.
    procedure = AnonymisedProcedure.objects.filter(organisation=partners[0]).first()
    AnonymisedProcedure.objects.filter(pk=procedure.pk).update(posts_filled=0)
    assert cell(dashboard(client), "partner-1", "posts_filled") == str(7 - procedure.posts_filled)

    # A write in plain SQL, as a bulk job or the database administrator makes it: the same.
    with connection.cursor() as cursor:
        table = AnonymisedProcedure._meta.db_table
        cursor.execute(
            f"UPDATE {table} SET posts_filled = %s WHERE id = %s", [procedure.posts_filled, procedure.pk]
        )  # noqa: S608
    assert cell(dashboard(client), "partner-1", "posts_filled") == "7"


@pytest.mark.parametrize("url_name", ["dashboard", "surveys:programme"])
def test_every_table_the_figures_are_read_from_advances_the_generation(
    client, staff, partners, settings, url_name
):
    """The triggers sit on exactly what the figures are computed from: a table added to the figures without
    one fails here. A statement that changes no row still counts (the trigger is per statement)."""
    settings.PROGRAMME_FIGURES_CACHE_SECONDS = 0  # computed: every source table is read
    client.force_login(staff)
    sources = tables_read(client, reverse(url_name)) - REQUEST_TABLES
    sources = {
        name
        for name in sources
        if name.partition("_")[0] in {"partnerships", "trainings", "surveys", "vielfalt"}
    }
    assert {"surveys_campaign", "surveys_responsetally"} <= sources
    for table in sorted(sources):
        before = figures_generation()
        with connection.cursor() as cursor:
            cursor.execute(f'UPDATE "{table}" SET id = id WHERE false')  # noqa: S608
        assert figures_generation() > before, table


def test_the_programme_survey_page_reads_no_tally_until_an_answer_is_released(client, staff, partners):
    client.force_login(staff)
    url = reverse("surveys:programme")
    before = client.get(url).context["results"].respondents
    assert tables_read(client, url) <= REQUEST_TABLES
    campaign = Campaign.objects.filter(organisation=partners[0], status=Campaign.Status.CLOSED).get()
    add_response(campaign, mh="yes")  # released into the responses and their tallies
    assert client.get(url).context["results"].respondents == before + 1


def test_each_language_gets_its_own_labels(client, staff, partners):
    client.force_login(staff)
    assert "Partner nach Art" in dashboard(client)
    client.cookies["django_language"] = "en"
    english = dashboard(client)
    assert "Partners by kind" in english
    assert "Partner nach Art" not in english


@pytest.mark.django_db(transaction=True)
def test_without_redis_the_dashboard_computes_its_figures(staff, partners, own_redis):  # noqa: F811
    """A Redis outage makes the dashboard slower (its figures computed every time), never an error."""
    with override_settings(SECRET_KEY=SECRET_KEY):  # the server's
        session = SessionStore()
        session[SESSION_KEY] = str(staff.pk)
        session[BACKEND_SESSION_KEY] = "vielfalt.auth.PortalBackend"
        session[HASH_SESSION_KEY] = staff.get_session_auth_hash()
        pass_second_factor(session, staff)
        session.save()
    with Gunicorn(DJANGO_BEHIND_TLS_PROXY="1", REDIS_URL=own_redis.url) as server:
        browser = Browser(server, {SESSION_COOKIE: session.session_key})
        status, html, _seconds = browser.request("GET", "/dashboard/")
        assert status == 200
        assert redis.Redis.from_url(own_redis.url).keys("*") != []  # the aggregates went into the cache
        own_redis.stop()
        for _round in range(2):
            status, html, seconds = browser.request("GET", "/dashboard/")
            assert status == 200, html[:300]
            assert seconds < 5
            assert figure(html, "partners") == "2"
            assert cell(html, "partner-1", "posts_filled") == "7"
        assert " 500 " not in server.log()
