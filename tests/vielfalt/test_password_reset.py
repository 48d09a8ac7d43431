"""Asking for a new password: the same answer after the same work whether an account uses the address or not, the
e-mail from the worker with a link built from PORTAL_URL, and no flood of e-mails to one address."""

import uuid

import pytest
import redis
from django.conf import settings
from django.core import mail
from django.urls import reverse

from tests.factories import OrganisationFactory, hr_user
from tests.helpers import point_celery_at

pytestmark = pytest.mark.django_db


# The throttles' counts stay in Redis for an hour, also from one test run to the next: every test asks from
# addresses and clients of its own.
def _address() -> str:
    return f"kim.{uuid.uuid4().hex[:10]}@stadt.example"


def _client_address() -> str:
    return "10.{}.{}.{}".format(*uuid.uuid4().bytes[:3])


def _ask(client, email: str, remote: str | None = None):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=remote or _client_address())


@pytest.fixture
def broker(redis_url):
    """Celery hands tasks to Redis, into a queue of this test's own that no worker reads; yields how many are
    waiting in it."""
    from vielfalt.celery import app

    queue = f"test-reset-{uuid.uuid4().hex[:8]}"
    connection = redis.Redis.from_url(redis_url)
    app.conf.task_always_eager = False
    point_celery_at(app, redis_url)
    app.conf.task_default_queue = queue
    try:
        yield lambda: connection.llen(queue)
    finally:
        app.conf.task_default_queue = "celery"
        point_celery_at(app, settings.CELERY_BROKER_URL)
        connection.delete(queue)


def test_the_page_does_the_same_for_an_address_with_and_without_an_account(
    client, broker, django_assert_num_queries
):
    """Django's view looked the address up and sent the e-mail while the page waited: an address with an account
    took the mail server's time and several statements, one without took none, so whoever timed the page learnt
    which addresses have accounts. Now both only hand the same task to the broker, and read nothing."""
    known = hr_user(OrganisationFactory(), email=_address()).email
    for number, email in enumerate([known, _address()], start=1):
        with django_assert_num_queries(0):
            response = _ask(client, email)
        assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
        assert broker() == number  # one task more in the queue, for either address
    assert mail.outbox == []  # nothing sent while the page waited
    assert client.get(reverse("password_reset_done")).status_code == 200


@pytest.mark.allow_error_log  # django.request logs the 503: the background service is down
def test_without_the_background_service_the_page_says_so(client, redis_url):
    """Whatever the address: that the e-mail cannot go out now says nothing about an account."""
    from vielfalt.celery import app

    known = hr_user(OrganisationFactory(), email=_address()).email
    app.conf.task_always_eager = False
    point_celery_at(app, "redis://127.0.0.1:9/0")  # nothing listens there
    try:
        for email in (known, _address()):
            response = _ask(client, email)
            assert response.status_code == 503
            assert "Hintergrunddienst ist nicht erreichbar" in response.text
    finally:
        point_celery_at(app, settings.CELERY_BROKER_URL)
    assert mail.outbox == []


def test_the_worker_sends_djangos_link_built_from_the_portal_address(client, settings):
    settings.PORTAL_URL = "https://vielfalt.nrw.example"
    known = hr_user(OrganisationFactory(), email=_address()).email
    _ask(client, known)  # the task runs in-process here (eager, as without a broker)
    _ask(client, _address())  # no account: no e-mail
    assert [message.to for message in mail.outbox] == [[known]]
    link = next(line.strip() for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    assert link.startswith("https://vielfalt.nrw.example/accounts/reset/")
    response = client.get(link.removeprefix("https://vielfalt.nrw.example"))
    assert response.status_code == 302 and response["Location"].endswith("/set-password/")


def test_at_most_a_few_emails_an_hour_go_to_one_address(client, settings):
    """Anyone could have the portal send a colleague's or the ministry's address an e-mail a second."""
    settings.PASSWORD_RESET_LIMIT_PER_ADDRESS = 3
    known = hr_user(OrganisationFactory(), email=_address()).email
    for number in range(6):
        response = _ask(client, known.upper() if number % 2 else known)  # each from another client
        assert response.status_code == 302  # the same page, also beyond the limit
    assert len(mail.outbox) == 3


def test_one_client_cannot_ask_for_many_addresses(client, settings):
    settings.PASSWORD_RESET_LIMIT_PER_CLIENT = 4
    remote = _client_address()
    known = hr_user(OrganisationFactory(), email=_address()).email
    for _ in range(4):
        _ask(client, _address(), remote=remote)
    _ask(client, known, remote=remote)  # the fifth request from this client: nothing sent
    assert mail.outbox == []
    _ask(client, known)  # another client: sent
    assert [message.to for message in mail.outbox] == [[known]]
