"""PostgreSQL drops the portal's connections while requests run (what a restart or a failover does to them):
the portal reconnects by itself, and no request fails once it has. A real gunicorn with production settings
against the test database; `pg_terminate_backend` of every connection the gunicorn holds stands in for a
restart of the server (restarting the shared cluster would disturb everyone else using it)."""

import http.client
import threading
import time

import pytest
from django.db import connection
from django.urls import path

from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, hr_user
from tests.processes import SESSION_COOKIE, Gunicorn
from tests.vielfalt.test_import_limits import _session_cookie

PAGES = ["/", "/employees/", "/employees/?q=Name", "/healthz"]


def _portal_backends() -> list[int]:
    """The PostgreSQL processes serving the gunicorn: every connection to the test database but this one's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


def _terminate(pids: list[int]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM unnest(%s) AS pid", [pids]
        )
        return cursor.fetchone()[0]


class Load:
    """Threads requesting the pages in turn as a logged-in user; every answer is recorded with its time."""

    def __init__(self, server, session_key: str, threads: int = 3):
        self.server, self.session_key = server, session_key
        self.results: list[tuple[float, str, int]] = []  # (finished at, path, status or 0 for no answer)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def _run(self, offset: int):
        headers = {
            "Cookie": f"{SESSION_COOKIE}={self.session_key}",
            "X-Forwarded-Proto": "https",
            "Host": f"127.0.0.1:{self.server.port}",
        }
        n = offset
        while not self.stop.is_set():
            path = PAGES[n % len(PAGES)]
            n += 1
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                status = response.status
                conn.close()
                if status == 200 and path != "/healthz" and b"<html" not in body[:500].lower():
                    status = -1  # not the page
                if status == 500 and b"Die Seite konnte nicht angezeigt werden" not in body:
                    status = -500  # a bare "Server Error (500)"
            except (OSError, http.client.HTTPException):
                status = 0
            self.results.append((time.monotonic(), path, status))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(15)


@pytest.mark.allow_error_log
@pytest.mark.django_db(transaction=True)
def test_the_portal_recovers_by_itself_when_postgresql_drops_its_connections(redis_url):
    assert connection.vendor == "postgresql" or pytest.fail("needs PostgreSQL")
    city = OrganisationFactory(slug="duisburg")
    unit = OrgUnitFactory(organisation=city, name="Amt")
    for number in range(30):
        EmployeeFactory(organisation=city, org_unit=unit, last_name=f"Name{number}")
    session_key = _session_cookie(hr_user(city, username="hr"))

    with (
        Gunicorn(workers=2, DJANGO_BEHIND_TLS_PROXY="1", REDIS_URL=redis_url) as server,
        Load(server, session_key) as load,
    ):
        time.sleep(3)  # warm: every worker thread holds a persistent connection (CONN_MAX_AGE)
        assert [s for _, _, s in load.results] and all(s == 200 for _, _, s in load.results), load.results[
            -10:
        ]
        killed = 0
        for _round in range(3):  # drop them three times, while requests keep coming
            killed += _terminate(_portal_backends())
            time.sleep(1.5)
        recovered_at = time.monotonic()
        time.sleep(4)
        load.stop.set()
        log = server.log()
    assert killed >= 2  # the gunicorn's connections were there, and were dropped
    during = [r for r in load.results if r[0] < recovered_at]
    after = [r for r in load.results if r[0] >= recovered_at + 0.5]
    failed_during = [r for r in during if r[2] != 200]
    print(
        f"{len(during)} requests while connections were dropped ({killed} killed), {len(failed_during)} failed; "
        f"{len(after)} after"
    )
    assert len(after) >= 10
    assert [r for r in after if r[2] != 200] == []  # recovered: nothing fails any more
    # And nothing hung: every request had an answer (no status 0).
    assert [r for r in load.results if r[2] == 0] == []
    # A request cut off in the middle answers the portal's own error page, not a bare "Server Error (500)".
    assert {status for _, _, status in failed_during} <= {500}
    assert "OperationalError" in log or not failed_during


def _view_whose_connection_dropped(request):
    from django.db import OperationalError

    raise OperationalError("terminating connection due to administrator command")


urlpatterns = [path("dropped/", _view_whose_connection_dropped)]


@pytest.mark.urls(__name__)
@pytest.mark.allow_error_log  # Django logs the request's exception
def test_a_request_cut_off_by_the_database_gets_the_portals_error_page(client, db):
    """Django's server_error view renders templates/500.html without a request: it must need no database."""
    client.raise_request_exception = False
    response = client.get("/dropped/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 500
    text = response.content.decode()
    assert "Die Seite konnte nicht angezeigt werden" in text
    assert "Bitte versuchen Sie es in einer Minute erneut." in text
