"""No secret in any log, tried with the real processes production runs: gunicorn with the project's
gunicorn.conf.py (access log), and a Celery worker sending survey invitations, both with debug off and no mail
server configured (where Django's console backend would print every recipient and link)."""

import http.client
import re
import secrets
import time
import uuid

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import connection
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from surveys.tasks import task_send_invitations
from tests.conftest import need
from tests.factories import OrganisationFactory, hr_user
from tests.processes import CSRF_COOKIE, SECRET_KEY, CeleryWorker, Gunicorn
from tests.surveys.conftest import open_campaign_with_invitations
from vielfalt.jobs import job_enqueue
from vielfalt.logging import redact
from vielfalt.models import Job
from vielfalt.tasks import task_password_reset

pytestmark = pytest.mark.django_db(transaction=True)


def request(server, method, path, *, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read().decode(errors="replace")
    conn.close()
    return response, data


def test_redact_keeps_ordinary_paths_and_removes_secrets():
    assert redact("GET /employees/?page=2 HTTP/1.1") == "GET /employees/?page=2 HTTP/1.1"
    assert redact("GET /static/css/portal.3f2a9c1b2d4e.css") == "GET /static/css/portal.3f2a9c1b2d4e.css"
    job = "GET /jobs/0b0e7a4e-5a3c-4d2b-9f3e-1c2d3e4f5a6b/"
    assert redact(job) == job
    assert redact("GET /surveys/t/abc/ HTTP/1.1") == "GET /surveys/t/[redacted]/ HTTP/1.1"
    assert redact("GET /accounts/reset/MQ/cfz5kt-0a1b2c3d/") == "GET /accounts/reset/[redacted]/"
    assert "Zm9vYmFy" not in redact("GET /whatever/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5/")
    assert redact("GET /login/?next=%2Fsurveys%2Ft%2Fsecret%2F") == "GET /login/?next=[redacted]"
    # Searches for people: names of employees and colleagues are no business of an access log.
    assert (
        redact("GET /employees/?q=Y%C4%B1lmaz&page=2 HTTP/1.1")
        == "GET /employees/?q=[redacted]&page=2 HTTP/1.1"
    )
    assert redact("GET /audit/?actor_name=anna&object_repr=Kowalczyk") == (
        "GET /audit/?actor_name=[redacted]&object_repr=[redacted]"
    )
    assert (
        redact("GET /employees/?target_group=trainee&quota=3")
        == "GET /employees/?target_group=trainee&quota=3"
    )


def test_gunicorn_access_log_keeps_no_token_and_no_reset_link(transactional_db):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    user = hr_user(OrganisationFactory(), username="anna", email="anna.geheim@stadt.example")
    survey_token = secrets.token_urlsafe(24)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    generator = PasswordResetTokenGenerator()
    generator.secret = SECRET_KEY  # the key the gunicorn runs with
    reset_token = generator.make_token(user)

    with Gunicorn(DJANGO_BEHIND_TLS_PROXY="1") as server:
        https = {"X-Forwarded-Proto": "https", "Host": f"127.0.0.1:{server.port}"}
        response, _ = request(server, "GET", f"/surveys/t/{survey_token}/", headers=https)
        assert response.status in (200, 302, 404, 410)
        request(
            server,
            "GET",
            "/static/css/portal.css",
            headers={**https, "Referer": f"https://127.0.0.1:{server.port}/surveys/t/{survey_token}/"},
        )
        # Ask for a password-reset link (the e-mail goes to no log), then open it.
        response, form = request(server, "GET", "/accounts/password_reset/", headers=https)
        cookie = re.search(rf"{CSRF_COOKIE}=([^;]+)", response.getheader("Set-Cookie")).group(1)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        response, _ = request(
            server,
            "POST",
            "/accounts/password_reset/",
            body=f"csrfmiddlewaretoken={csrf}&email=anna.geheim%40stadt.example",
            headers={
                **https,
                "Cookie": f"{CSRF_COOKIE}={cookie}",
                "Origin": f"https://127.0.0.1:{server.port}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert response.status == 302
        response, _ = request(server, "GET", f"/accounts/reset/{uid}/{reset_token}/", headers=https)
        assert response.status == 302  # to the set-password form, the token now in the session
        request(
            server, "GET", "/employees/?q=Kowalczyk", headers=https
        )  # a search for a person (to the login)
        time.sleep(0.5)
        log = server.log()

    assert "/surveys/t/[redacted]/" in log  # the access log is on, and redacted
    assert survey_token not in log
    assert reset_token not in log
    assert "/accounts/reset/[redacted]/" in log
    assert "anna.geheim" not in log
    assert "/employees/?q=[redacted]" in log and "Kowalczyk" not in log
    # The reset e-mail itself is the worker's (vielfalt.password_reset): its log, below.


def test_celery_worker_log_keeps_no_address_and_no_link(transactional_db, redis_url):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    from vielfalt.celery import app

    campaign, _tokens, actor = open_campaign_with_invitations(employees=3, issue_tokens=False)
    addresses = list(campaign.invitations.values_list("employee__email", flat=True))
    assert len(addresses) == 3
    asking = hr_user(OrganisationFactory(), email="bert.geheim@stadt.example")  # asks for a new password
    queue = f"test-logs-{uuid.uuid4().hex[:8]}"
    app.conf.task_always_eager = False
    app.conf.broker_url = redis_url
    app.conf.task_default_queue = queue
    try:
        with CeleryWorker(queue=queue) as worker:
            worker.wait_ready()
            job = job_enqueue(
                task=task_send_invitations,
                kind="surveys.send_invitations",
                requested_by=actor,
                organisation=campaign.organisation,
                campaign_id=campaign.pk,
                actor_id=actor.pk,
            )
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                job.refresh_from_db()
                if job.status in (Job.Status.READY, Job.Status.FAILED):
                    break
                time.sleep(0.5)
            assert job.status == Job.Status.READY, worker.log()
            task_password_reset.apply_async(kwargs={"email": asking.email, "language": "de"})
            while time.monotonic() < deadline and "vielfalt.password_reset" not in worker.log():
                time.sleep(0.5)
            time.sleep(1)
            log = worker.log()
    finally:
        app.conf.task_default_queue = "celery"
    assert "surveys.send_invitations" in log  # the worker did log the task
    undelivered = sum(int(number) for number in re.findall(r"(\d+) e-mail\(s\) not delivered", log))
    assert undelivered == 3 + 1  # the invitations, and the reset's
    assert "/surveys/t/" not in log and "/accounts/reset/" not in log
    for address in [*addresses, asking.email]:
        assert address not in log


def _gunicorn_logger(access_log_format=None):
    """The project's gunicorn logger (gunicorn.conf.py), writing its access log to a list of lines."""
    import importlib.util
    import logging
    from pathlib import Path

    from django.conf import settings
    from gunicorn.config import Config

    spec = importlib.util.spec_from_file_location(
        "gunicorn_conf", Path(settings.BASE_DIR) / "gunicorn.conf.py"
    )
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", access_log_format or conf.access_log_format)
    logger = conf.logger_class(config)
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    logger.access_log.handlers = [Collect()]
    return logger, lines


class _Response:
    def __init__(self, status, sent):
        self.status, self.sent, self.headers = status, sent, [("Content-Type", "text/html")]


class _Request:
    headers = [("HOST", "127.0.0.1"), ("COOKIE", "sessionid=s3cr3t")]


@pytest.mark.parametrize(
    ("raw_uri", "status", "sent", "authorization"),
    [
        ("/partnerships/?page=2", "200 OK", 12345, None),
        # A token as secrets.token_urlsafe(32) makes one, fixed: pytest-xdist's workers must collect the same ids.
        ("/surveys/t/Gq3vX0b8kR2mJt5yWc7eLh1nPz4sDf6uAa9oKi0wMxE/", "302 Found", 0, None),
        ('/partnerships/?status=O"Brien', "200 OK", None, None),
        ('/employees/?q=O"Brien&page=2', "200 OK", None, None),
        ("/accounts/reset/MQ/cfz5kt-0a1b2c3d4e5f/", 404, 179, "Basic YW5uYTpnZWhlaW0="),  # anna:geheim
    ],
)
def test_the_access_log_line_is_gunicorns_own_redacted_without_building_every_atom(
    raw_uri, status, sent, authorization, monkeypatch
):
    import datetime

    from gunicorn.glogging import Logger

    environ = {
        "REMOTE_ADDR": "127.0.0.1",
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw_uri,
        "PATH_INFO": raw_uri.partition("?")[0],
        "QUERY_STRING": raw_uri.partition("?")[2],
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_COOKIE": "sessionid=s3cr3t",
    }
    if authorization:
        environ["HTTP_AUTHORIZATION"] = authorization
    took = datetime.timedelta(seconds=1, microseconds=23456)
    frozen = "[03/Dec/2026:12:00:00 +0000]"
    monkeypatch.setattr(Logger, "now", lambda self: frozen)

    logger, lines = _gunicorn_logger()
    built = []
    monkeypatch.setattr(Logger, "atoms", lambda self, *args: built.append(args) or {})
    logger.access(_Response(status, sent), _Request(), environ, took)
    monkeypatch.undo()
    monkeypatch.setattr(Logger, "now", lambda self: frozen)
    assert built == []  # the portal's format is written directly, not through every header's atom

    # The same line as gunicorn's general way (a format that differs only in a trailing space).
    general, general_lines = _gunicorn_logger(access_log_format=logger.cfg.access_log_format + " ")
    general.access(_Response(status, sent), _Request(), environ, took)
    assert lines == [general_lines[0].removesuffix(" ")]
    line = lines[0]
    assert line.endswith(" 1023ms")
    assert "s3cr3t" not in line
    if "/surveys/t/" in raw_uri:
        assert "/surveys/t/[redacted]/" in line and raw_uri not in line
    if "?q=" in raw_uri:  # a search for a person, quotes and all
        assert "/employees/?q=[redacted]&page=2" in line and "Brien" not in line
    elif '"' in raw_uri:
        assert 'O\\"Brien' in line
