"""Logging out while Redis is unreachable: the cached copy of the session (and of the user) in Redis cannot be
deleted then, and Redis comes back with it. The old session cookie must not work again afterwards. Redis here is
a redis-server of the test's own, paused (SIGSTOP: unreachable, its data kept, as in a network partition) and
resumed; the portal a real gunicorn with production settings."""

import re
import signal
import time

import pytest
from django.db import connection
from django.test import override_settings

from tests.conftest import need
from tests.factories import PASSWORD, OrganisationFactory, hr_user
from tests.processes import SESSION_COOKIE, Gunicorn
from tests.vielfalt.test_outages import Browser, own_redis  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _log_in(browser, username: str) -> None:
    status, page, _ = browser.request("GET", "/accounts/login/")
    assert status == 200
    status, page, _ = browser.request(
        "POST", "/accounts/login/", {"username": username, "password": PASSWORD}
    )
    assert status == 302, page[:500]
    status, page, _ = browser.request("GET", "/")
    assert status == 200 and "/accounts/logout/" in page, page[:500]


def test_a_logout_while_redis_is_unreachable_stays_a_logout_when_redis_returns(own_redis):  # noqa: F811
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    city = OrganisationFactory(slug="duisburg")
    anna = hr_user(city, username="anna")
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        anna.set_password(PASSWORD)  # as production hashes it
        anna.save()
    with Gunicorn(DJANGO_BEHIND_TLS_PROXY="1", REDIS_URL=own_redis.url, CACHE_OUTAGE_SECONDS="1") as server:
        browser = Browser(server)
        _log_in(browser, "anna")
        old_session = browser.cookies[SESSION_COOKIE]
        for _ in range(3):  # served from Redis's copy of the session (cached_db) and of the user
            assert browser.request("GET", "/employees/")[0] == 200

        own_redis.process.send_signal(signal.SIGSTOP)  # unreachable, its data kept
        try:
            status, page, seconds = browser.request("GET", "/")
            assert status == 200 and seconds < 5
            assert re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)  # the header's logout form
            status, _, seconds = browser.request("POST", "/accounts/logout/", {})
            assert status in (200, 302) and seconds < 5
        finally:
            own_redis.process.send_signal(signal.SIGCONT)
        time.sleep(2)  # past CACHE_OUTAGE_SECONDS: the portal uses Redis again

        thief = Browser(server, {SESSION_COOKIE: old_session})
        for path in ("/", "/employees/"):
            status, page, _ = thief.request("GET", path)
            assert status == 302, (path, status, page[:300])  # to the login page: the session is gone
        log = server.log()
    assert " 500 " not in log
