"""How a session ends: 12 hours after its login however busy it is (vielfalt.middleware.SessionLifetimeMiddleware),
and what the user is told when it has ended, on a page and in a request of htmx (SessionEndedMiddleware)."""

import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, OrganisationFactory, hr_user
from vielfalt.middleware import LOGGED_IN_AT_KEY, SESSION_TOUCHED_KEY
from vielfalt.models import Job

pytestmark = pytest.mark.django_db

ENDED = "Ihre Sitzung ist beendet"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def clerk():
    return hr_user(OrganisationFactory(), username="anna")


@pytest.fixture
def logged_in(client, clerk):
    """`client` logged in through the login form, as a person logs in."""
    response = client.post(reverse("login"), {"username": "anna", "password": PASSWORD})
    assert response.status_code == 302
    return client


def _set(client, **values):
    session = client.session
    session.update(values)
    session.save()


def test_the_login_starts_the_sessions_lifetime(logged_in):
    assert abs(logged_in.session[LOGGED_IN_AT_KEY] - time.time()) < 60


def test_a_busy_session_ends_twelve_hours_after_its_login(logged_in, settings):
    assert settings.SESSION_ABSOLUTE_AGE == 12 * 60 * 60
    now = int(time.time())
    # Used a minute ago (a page polling, a colleague at the same desk): the idle timeout alone kept it alive.
    _set(
        logged_in,
        **{LOGGED_IN_AT_KEY: now - settings.SESSION_ABSOLUTE_AGE + 60, SESSION_TOUCHED_KEY: now - 60},
    )
    assert logged_in.get(reverse("employee_list")).status_code == 200
    key = logged_in.session.session_key
    _set(logged_in, **{LOGGED_IN_AT_KEY: now - settings.SESSION_ABSOLUTE_AGE, SESSION_TOUCHED_KEY: now})
    response = logged_in.get(reverse("employee_list"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('employee_list')}"
    assert not Session.objects.filter(session_key=key).exists()
    page = logged_in.get(response["Location"])
    assert ENDED in page.text and "12 Stunden nach der Anmeldung" in page.text
    assert logged_in.get(reverse("employee_list")).status_code == 302  # and stays ended


def test_a_session_from_before_the_limit_counts_from_its_next_request(client, clerk):
    client.force_login(clerk)
    session = client.session
    del session[LOGGED_IN_AT_KEY]
    session.save()
    assert client.get(reverse("employee_list")).status_code == 200
    assert abs(client.session[LOGGED_IN_AT_KEY] - time.time()) < 60


def test_the_login_page_says_why_after_the_session_has_expired(logged_in):
    Session.objects.all().delete()  # 30 minutes without a request, or ended on another device
    response = logged_in.get(reverse("employee_list"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert ENDED in response.text
    assert ENDED not in logged_in.get(reverse("login")).text  # said once


def test_logging_out_on_purpose_is_not_an_ended_session(logged_in):
    response = logged_in.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert ENDED not in response.text


def test_a_first_visit_is_not_an_ended_session(client, clerk):
    response = client.get(reverse("employee_list"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert ENDED not in response.text


def test_htmx_gets_the_login_page_for_the_whole_window_back_to_the_page_it_was_called_from(logged_in, clerk):
    """A job's page asks for its status every two seconds: once the session had ended, htmx followed the redirect
    and put the whole login page, header and all, into the status box."""
    job = Job.objects.create(
        kind="test",
        status=Job.Status.RUNNING,
        requested_by=clerk,
        organisation=clerk.memberships.get().organisation,
    )
    status = reverse("job_detail", args=[job.pk])
    page = f"http://testserver{status}?job=1"
    assert logged_in.get(status, HTTP_HX_CURRENT_URL=page, **HTMX).status_code == 200
    Session.objects.all().delete()
    response = logged_in.get(status, HTTP_HX_CURRENT_URL=page, **HTMX)
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"{reverse('login')}?next={status}%3Fjob%3D1"
    assert ENDED in logged_in.get(reverse("login")).text
    # Back to this host's pages only: another site's address in the header is not where a login leads.
    Session.objects.all().delete()
    response = logged_in.get(status, HTTP_HX_CURRENT_URL="https://evil.example/phish", **HTMX)
    assert response["HX-Redirect"] == reverse("login")


def test_a_logged_in_page_carries_the_sessions_end_for_its_warning(logged_in, settings):
    """WCAG 2.2.1: the page warns before the session ends (static/js/session.js) and needs to know when."""
    page = logged_in.get(reverse("employee_list")).text
    ends = logged_in.session[LOGGED_IN_AT_KEY] + settings.SESSION_ABSOLUTE_AGE
    assert f'data-session-idle="{settings.SESSION_COOKIE_AGE}"' in page
    assert f'data-session-ends="{ends}"' in page
    assert 'id="session-warning"' in page and "Angemeldet bleiben" in page
    assert "session-warning" not in logged_in.post(reverse("logout"), follow=True).text


def test_stay_logged_in_starts_the_idle_time_again(logged_in):
    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=2))
    assert logged_in.post(reverse("session_keepalive")).status_code == 204
    assert Session.objects.get().expire_date > timezone.now() + timedelta(minutes=29)


def test_stay_logged_in_keeps_only_ones_own_live_session(client, clerk):
    response = client.post(reverse("session_keepalive"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(clerk)
    assert guarded.post(reverse("session_keepalive")).status_code == 403  # no CSRF token
    assert guarded.get(reverse("session_keepalive")).status_code == 405


def test_an_admin_page_carries_the_warning_too(client, settings):
    """The Django admin's pages (templates/admin/base_site.html) warn as the portal's do; its login page does not."""
    from tests.factories import UserFactory

    assert "session-warning" not in client.get(reverse("admin:login")).text
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:index")).text
    assert 'id="session-warning"' in page and f'data-session-idle="{settings.SESSION_COOKIE_AGE}"' in page
    assert "js/session.js" in page and "css/admin.css" in page
