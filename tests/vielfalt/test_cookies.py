"""Cookie tossing: another site under the ministry's domain can set a cookie for the whole domain, which the
browser then sends to the portal beside (or instead of) the portal's own. In production the portal's cookies
are named with the __Host- prefix, which a browser accepts only from the portal's own host over HTTPS with
Path=/ and no Domain, and the portal reads no cookie of the plain names. Tried against a real gunicorn with
production settings."""

import http.client
import re
import secrets

from django.db import connection

from tests.conftest import need
from tests.factories import OrganisationFactory, hr_user
from tests.processes import CSRF_COOKIE, SESSION_COOKIE, Gunicorn
from tests.vielfalt.test_import_limits import _session_cookie


def _request(server, method, path, headers, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    text = response.read().decode(errors="replace")
    conn.close()
    return response, text


def test_a_cookie_tossed_from_another_subdomain_is_not_the_portals(transactional_db):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    attacker = hr_user(OrganisationFactory(), username="mallory")
    attackers_session = _session_cookie(attacker)

    with Gunicorn(DJANGO_BEHIND_TLS_PROXY="1") as server:
        origin = f"https://127.0.0.1:{server.port}"
        https = {"X-Forwarded-Proto": "https", "Host": f"127.0.0.1:{server.port}"}

        # The portal's own CSRF cookie: the prefix and what the browser demands of it (Secure, Path=/, no Domain).
        response, _page = _request(server, "GET", "/accounts/login/", https)
        assert response.status == 200
        set_cookie = response.getheader("Set-Cookie")
        assert set_cookie.startswith(f"{CSRF_COOKIE}="), set_cookie
        attributes = [part.strip().lower() for part in set_cookie.split(";")[1:]]
        assert "secure" in attributes and "path=/" in attributes
        assert not any(part.startswith("domain") for part in attributes)

        # A CSRF cookie of the attacker's choosing (set for the parent domain by another site), and the same
        # token in the form: Django's check compares the two, so with a plain-named cookie it would pass.
        tossed = secrets.token_hex(16)
        response, page = _request(
            server,
            "POST",
            "/accounts/login/",
            {
                **https,
                "Cookie": f"csrftoken={tossed}",
                "Origin": origin,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            body=f"csrfmiddlewaretoken={tossed}&username=anna&password=wrong",
        )
        assert response.status == 403, page[:300]
        assert re.search(r"CSRF", page)

        # A session of the attacker's account under the plain name: the victim is not logged into it.
        response, _page = _request(
            server, "GET", "/employees/", {**https, "Cookie": f"sessionid={attackers_session}"}
        )
        assert response.status == 302
        assert response.getheader("Location").startswith("/accounts/login/")
        # Under the portal's own name the same session is accepted (the check above is not vacuous).
        response, _page = _request(
            server, "GET", "/employees/", {**https, "Cookie": f"{SESSION_COOKIE}={attackers_session}"}
        )
        assert response.status == 200
