"""Redis failing makes the portal slower, never broken: pages, writes and logins go on without it, and a job that
cannot be queued says so and can be retried. The Redis here is a redis-server of the test's own (the shared
one is never stopped)."""

import http.client
import shutil
import subprocess
import time
from importlib import import_module
from urllib.parse import urlencode

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from tests.conftest import need
from tests.factories import PASSWORD, OrganisationFactory, OrgUnitFactory, hr_user
from tests.helpers import point_celery_at
from tests.processes import CSRF_COOKIE, SECRET_KEY, SESSION_COOKIE, Gunicorn, free_port
from vielfalt.jobs import NOT_QUEUED
from vielfalt.models import Employee, Job

pytestmark = pytest.mark.django_db(transaction=True)


class RedisServer:
    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        binary = shutil.which("redis-server")
        need(bool(binary), "redis-server")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        for _ in range(50):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("redis-server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def own_redis():
    server = RedisServer().start()
    yield server
    server.stop()


def _session(user) -> str:
    with override_settings(SECRET_KEY=SECRET_KEY):
        session = import_module("django.contrib.sessions.backends.db").SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "vielfalt.auth.PortalBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        return session.session_key


class Browser:
    """Just enough of a browser over http.client: cookies, CSRF, HTTPS as seen behind a TLS proxy."""

    def __init__(self, server, cookies=None):
        self.server, self.cookies = server, dict(cookies or {})

    def request(self, method, path, form=None):
        headers = {
            "X-Forwarded-Proto": "https",
            "Host": f"127.0.0.1:{self.server.port}",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        body = None
        if form is not None:
            body = urlencode({**form, "csrfmiddlewaretoken": self.cookies.get(CSRF_COOKIE, "")})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://127.0.0.1:{self.server.port}"
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        started = time.monotonic()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
        seconds = time.monotonic() - started
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return response.status, text, seconds


def test_with_redis_stopped_pages_writes_and_logins_go_on(own_redis):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    city = OrganisationFactory(slug="duisburg")
    unit = OrgUnitFactory(organisation=city, name="Bürgerservice")
    anna = hr_user(city, username="anna")
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        anna.set_password(
            PASSWORD
        )  # as production hashes it (the tests' fast hasher is not configured there)
        anna.save()
    with Gunicorn(DJANGO_BEHIND_TLS_PROXY="1", REDIS_URL=own_redis.url) as server:
        browser = Browser(server, {SESSION_COOKIE: _session(anna)})
        for path in ("/", "/employees/", "/partnerships/"):
            assert browser.request("GET", path)[0] == 200, path

        own_redis.stop()

        for path in ("/", "/employees/", "/partnerships/", "/employees/new/"):
            status, text, seconds = browser.request("GET", path)
            assert status == 200, (path, text[:300])
            assert seconds < 5, (path, seconds)
        status, text, seconds = browser.request(
            "POST",
            "/employees/new/",
            {
                "organisation": city.pk,
                "personnel_number": "DU-4711",
                "last_name": "Öztürk",
                "first_name": "Ayşe",
                "email": "ayse@duisburg.example",
                "org_unit": unit.pk,
                "target_group": "public_facing",
                "is_active": "on",
            },
        )
        assert status == 302, text[:1000]
        assert seconds < 5
        assert Employee.objects.filter(personnel_number="DU-4711", organisation=city).exists()

        # Logging in works without Redis: no bare 500.
        stranger = Browser(server)
        assert stranger.request("GET", "/accounts/login/")[0] == 200
        status, _, seconds = stranger.request(
            "POST", "/accounts/login/", {"username": "anna", "password": PASSWORD}
        )
        assert status == 302 and seconds < 5
        assert stranger.request("GET", "/")[0] == 200
        log = server.log()
    assert " 500 " not in log
    # No page view, write or login asks Redis any more (test_page_views_write_nothing_to_redis): the outage
    # goes unnoticed instead of being worked around.


def test_page_views_write_nothing_to_redis(own_redis):
    """Pages are built from PostgreSQL alone: no rendered fragment, no cached user, no session in Redis."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    city = OrganisationFactory(slug="duisburg")
    OrgUnitFactory(organisation=city, name="Bürgerservice")
    anna = hr_user(city, username="anna")
    with Gunicorn(DJANGO_BEHIND_TLS_PROXY="1", REDIS_URL=own_redis.url) as server:
        browser = Browser(server, {SESSION_COOKIE: _session(anna)})
        for _round in range(2):
            for path in ("/", "/employees/", "/partnerships/", "/trainings/", "/surveys/"):
                assert browser.request("GET", path)[0] == 200, path
    import redis

    assert redis.Redis.from_url(own_redis.url).keys("*") == []


def test_a_job_that_cannot_be_queued_says_so_and_can_be_retried(client, own_redis, settings):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    import partnerships.tasks  # noqa: F401  (imports WeasyPrint: seconds, once per process, not what is timed)
    from partnerships.models import Agreement
    from tests.factories import ministry_user
    from tests.partnerships.factories import AgreementFactory
    from vielfalt.celery import app

    staff = ministry_user(username="miriam")
    agreement = AgreementFactory()
    client.force_login(staff)
    own_redis.stop()  # the broker is gone
    point_celery_at(app, own_redis.url)
    app.conf.task_always_eager = False
    try:
        started = time.monotonic()
        response = client.post(reverse("partnerships:render_pdf", args=[agreement.pk]))
        seconds = time.monotonic() - started
        assert response.status_code == 302
        assert seconds < 5
        job = Job.objects.get(kind__contains="agreement")
        assert job.status == Job.Status.FAILED
        assert job.error == NOT_QUEUED
        page = client.get(job.get_absolute_url())
        assert "konnte nicht eingereiht werden" in page.text
        assert "Erneut versuchen" in page.text
    finally:
        point_celery_at(app, settings.CELERY_BROKER_URL)
        app.conf.task_always_eager = True
    # Once the service is back (here: tasks run in-process), the retry button finishes the job.
    client.post(reverse("job_retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == Job.Status.READY, job.error
    assert Agreement.objects.get(pk=agreement.pk).documents.count() == 1


def test_a_refused_job_is_retried_from_a_web_process_that_never_imported_its_task(own_redis, settings):
    """The job was refused while Redis was down; once it is back, the retry button is pressed in another web
    process (another gunicorn worker, or after a restart), which has not imported the job's task module (task
    modules are imported where a service starts their job: partnerships.tasks imports WeasyPrint). The retry
    must queue the job, not answer 500 and leave it "waiting" for ever, without a retry button."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    import redis

    from partnerships.services import agreement_request_pdf
    from tests.conftest import pass_second_factor
    from tests.factories import ministry_user
    from tests.partnerships.factories import AgreementFactory
    from vielfalt.celery import app

    staff = ministry_user(username="miriam")
    agreement = AgreementFactory()
    own_redis.stop()
    point_celery_at(app, own_redis.url)
    app.conf.task_always_eager = False
    try:
        job = agreement_request_pdf(actor=staff, agreement=agreement)
    finally:
        point_celery_at(app, settings.CELERY_BROKER_URL)
        app.conf.task_always_eager = True
    job.refresh_from_db()
    assert (job.status, job.error) == (Job.Status.FAILED, NOT_QUEUED)

    own_redis.start()  # Redis is back (empty: the refused job was never in it)
    with override_settings(SECRET_KEY=SECRET_KEY):
        session = import_module("django.contrib.sessions.backends.db").SessionStore(_session(staff))
        pass_second_factor(session, staff)
        session.save()
    with Gunicorn(DJANGO_BEHIND_TLS_PROXY="1", REDIS_URL=own_redis.url) as server:
        browser = Browser(server, {SESSION_COOKIE: session.session_key})
        status, page, _ = browser.request("GET", job.get_absolute_url())
        assert status == 200 and "Erneut versuchen" in page
        status, page, _ = browser.request("POST", reverse("job_retry", args=[job.pk]), {})
        assert status == 302, page[:300]
        log = server.log()
    assert " 500 " not in log, log[-3000:]
    job.refresh_from_db()
    assert job.status == Job.Status.WAITING
    # Handed to the broker: a worker will run it (none runs here, so it is still in the queue).
    assert redis.Redis.from_url(own_redis.url).llen("celery") == 1


def test_a_queued_job_that_redis_lost_in_a_restart_fails_with_a_retry_button(client, own_redis, settings):
    """Redis keeps no data on disk (docker-compose.yml): a restart (a crash, a container restarted) empties the
    queue. A job queued before it never reaches a worker; the watchdog must not leave it "waiting" for ever, but
    fail it, once it has waited JOB_QUEUE_LOST_SECONDS, with a message and the retry button."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    import redis

    from partnerships.services import agreement_request_pdf
    from tests.factories import ministry_user
    from tests.partnerships.factories import AgreementFactory
    from vielfalt import jobs
    from vielfalt.celery import app

    staff = ministry_user(username="miriam")
    agreement = AgreementFactory()
    point_celery_at(app, own_redis.url)
    app.conf.task_always_eager = False
    try:
        job = agreement_request_pdf(actor=staff, agreement=agreement)
        assert redis.Redis.from_url(own_redis.url).llen("celery") == 1  # queued, no worker yet
    finally:
        point_celery_at(app, settings.CELERY_BROKER_URL)
        app.conf.task_always_eager = True
    own_redis.stop()  # and started again, as a restart does: empty
    own_redis.start()
    assert redis.Redis.from_url(own_redis.url).llen("celery") == 0

    settings.JOB_QUEUE_LOST_SECONDS = 3600
    jobs.jobs_watch()
    job.refresh_from_db()
    assert job.status == Job.Status.WAITING  # a job may wait in a long queue: not before its time
    settings.JOB_QUEUE_LOST_SECONDS = 1
    time.sleep(1.1)
    jobs.jobs_watch()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == jobs.QUEUE_LOST
    client.force_login(staff)
    page = client.get(job.get_absolute_url())
    assert "Erneut versuchen" in page.text
    assert "nicht gestartet" in page.text

    # The retry (here: tasks run in-process) finishes it.
    client.post(reverse("job_retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == Job.Status.READY, job.error


def test_a_large_import_refused_while_redis_is_down_keeps_its_file_for_the_retry(client, own_redis, settings):
    """HR uploads a file too large for the request while Redis (the broker) is really stopped: nothing is
    imported, the job page says it could not be queued, and the stored upload waits for the retry button, which
    imports it once the background service is back (here: tasks run in-process) without uploading it again."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.vielfalt.test_import_jobs import csv_of
    from vielfalt.celery import app

    city = OrganisationFactory(slug="duisburg")
    OrgUnitFactory(organisation=city, name="Amt")
    client.force_login(hr_user(city))
    settings.IMPORT_INLINE_MAX_ROWS = 10
    own_redis.stop()
    point_celery_at(app, own_redis.url)
    app.conf.task_always_eager = False
    try:
        upload = SimpleUploadedFile("beschaeftigte.csv", csv_of(30), "text/csv")
        response = client.post(reverse("employee_import"), {"organisation": city.pk, "file": upload})
    finally:
        point_celery_at(app, settings.CELERY_BROKER_URL)
        app.conf.task_always_eager = True
    assert response.status_code == 302
    job = Job.objects.get(kind="vielfalt.employee_import")
    assert (job.status, job.error) == (Job.Status.FAILED, NOT_QUEUED)
    assert job.input_file
    assert not Employee.objects.filter(organisation=city).exists()
    assert "Erneut versuchen" in client.get(job.get_absolute_url()).text

    client.post(reverse("job_retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == Job.Status.READY, job.error
    assert Employee.objects.filter(organisation=city).count() == 30
