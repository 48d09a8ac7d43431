"""Shared fixtures. Tests talk to the real services: PostgreSQL, Redis, a Celery worker and Chromium.

Without REQUIRE_SERVICES=1 a test whose service is missing is skipped; with it (CI) the test fails."""

import http.server
import logging
import os
import shutil
import threading
import uuid
import warnings

import pytest
from django.conf import settings

from tests.parallel import use_own_redis_database

# Under pytest-xdist (`make test`) every worker has a Redis database of its own (tests/parallel.py).
use_own_redis_database(settings)

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
# Playwright's sync API runs an event loop in the test thread; Django's ORM must still be usable there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    # Web Bluetooth as Chrome ships it on Windows, macOS, ChromeOS and Android (Linux builds leave it off): the
    # pages' Permissions-Policy is checked against the features our users' browsers know.
    "--enable-blink-features=WebBluetooth",
]


def need(available: bool, what: str) -> None:
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


@pytest.fixture(autouse=True, scope="session")
def _flush_past_the_audit_truncate_guard():
    """Transactional tests end with Django's flush, one TRUNCATE of every table, which the audit log refuses
    (AuditEntry's `audit_no_truncate` trigger). The flush between tests passes that one trigger by name;
    every other path (and UPDATE or DELETE of an entry, always) is still refused."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    from tests.helpers import triggers_aside

    flush = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with triggers_aside("vielfalt.AuditEntry:audit_no_truncate", using=self.connection.alias):
            return flush(self, sql_list)

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = flush


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Tests must not depend on a collectstatic manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Every test client loads the middleware anew, and WhiteNoise then read every collected file's size, date
    # and compressed variants (about 0.1 s a client; the authorisation matrix makes thousands): it looks a file
    # up when asked for it instead, as in development.
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language: a request through the test client leaves the language its
    LocaleMiddleware chose active in the thread (a server's next request chooses again), which made a later
    test that calls a service directly see English messages."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _new_figures_generation(request):
    """Every test that uses the database starts a new generation of the programme's figures
    (vielfalt.generation): a test's writes are rolled back, which no trigger sees, so the dashboard figures it
    cached would otherwise be taken for the next test's."""
    if not (
        request.node.get_closest_marker("django_db")
        or {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    ):
        yield
        return
    request.getfixturevalue("django_db_setup")
    from vielfalt.generation import new_figures_generation

    with request.getfixturevalue("django_db_blocker").unblock():
        new_figures_generation()
    yield


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pass_second_factor(session, user) -> None:
    """Mark `session` as having passed the second factor, for a user who owes one (vielfalt.second_factor):
    what `force_login` and `browser_login` stand for is a completed login. Tests of the second step itself log
    in through the forms (tests/vielfalt/test_second_factor.py)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_static.models import StaticDevice

    from vielfalt.second_factor import second_factor_required

    if second_factor_required(user):
        device, _created = StaticDevice.objects.get_or_create(user=user, name="test", confirmed=True)
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id


@pytest.fixture
def superuser(db):
    """An administrator of the Django admin (force_login passes the second factor)."""
    from tests.factories import UserFactory

    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture(autouse=True)
def _force_login_passes_second_factor(monkeypatch):
    from django.test import Client

    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        session = self.session
        pass_second_factor(session, user)
        session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(autouse=True, scope="session")
def _demo_totp_file(tmp_path_factory):
    """`seed_demo` keeps the demo users' TOTP secrets in `.demo-totp` in the project folder: the tests' seeds
    keep theirs in a file of the run's own instead, so that they neither rewrite the developer's file nor, in
    two workers at once, read the other's half-written one."""
    from vielfalt.management.commands import seed_demo

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(seed_demo, "TOTP_FILE", tmp_path_factory.mktemp("totp") / ".demo-totp")
        yield


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path_factory):
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def seal_file(tmp_path_factory):
    """A self-signed seal made once per run (vielfalt/seal.py), as `seed_demo` makes one for the demo."""
    from vielfalt.seal import create_self_signed_seal

    return create_self_signed_seal(tmp_path_factory.mktemp("seal") / "test-seal.p12", password="test-seal")


@pytest.fixture(autouse=True)
def _seal(settings, seal_file):
    settings.SEAL_PKCS12_PATH = str(seal_file)
    settings.SEAL_PKCS12_PASSWORD = "test-seal"
    settings.SEAL_TSA_URL = ""


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run in-process unless a test asks for the `celery_worker` fixture."""
    from vielfalt.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def _no_error_logs(request, caplog):
    """Every test fails if it logs an ERROR (unless marked `allow_error_log`)."""
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("allow_error_log"):
        return
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert errors == [], [f"{r.name}: {r.getMessage()}" for r in errors]


@pytest.fixture
def postgres(db):
    from django.db import connection

    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    return connection


@pytest.fixture
def django_assert_num_queries(postgres, django_assert_num_queries):
    """Exact query counts are those of PostgreSQL, the production database: on SQLite (the embedded default)
    some reads take the portable ORM path instead of one plain statement, and count differently."""
    return django_assert_num_queries


@pytest.fixture
def redis_url():
    url = settings.REDIS_URL
    need(bool(url), "Redis (REDIS_URL)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        need(False, f"Redis at {url}")
    return url


@pytest.fixture(autouse=True, scope="session")
def _own_redis_database():
    """Under pytest-xdist, each worker claims its Redis database for the run: a second worker finding it claimed
    fails at once, instead of flushing or reading the other's keys in some later test."""
    from tests.parallel import redis_database_holder

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not (worker and settings.REDIS_URL):
        return
    import redis

    try:
        holder = redis_database_holder(settings.REDIS_URL, worker, os.environ["PYTEST_XDIST_TESTRUNUID"])
    except redis.RedisError:
        return  # no Redis: the tests that need it skip or fail on their own (redis_url)
    assert holder == worker, f"{worker} shares the Redis database {settings.REDIS_URL} with {holder}"


@pytest.fixture
def celery_worker(redis_url, transactional_db):
    """A real Celery worker consuming from Redis, in a thread of the test process (so it sees the test
    database and the tasks defined in tests). Each test gets its own queue: no stale messages.
    Needs PostgreSQL: SQLite's test database cannot be shared between threads."""
    from celery.contrib.testing.worker import start_worker
    from django.db import connection

    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL) for the Celery worker")

    from vielfalt.celery import app

    queue = f"test-{uuid.uuid4().hex[:8]}"
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    app.conf.broker_url = redis_url
    with start_worker(
        app,
        pool="threads",
        concurrency=2,
        queues=[queue],
        perform_ping_check=False,
        shutdown_timeout=30,
        loglevel="WARNING",
    ):
        yield app
    app.conf.task_default_queue = "celery"


@pytest.fixture(scope="session")
def chromium_path():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    need(bool(path), "Chromium (Debian package chromium)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(bypass_csp=True, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


AXE_PATH = settings.BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page) -> list[dict]:
    """Run axe-core (WCAG 2.1 A and AA) on the page and return its violations."""
    need(AXE_PATH.is_file(), "axe-core (npm ci)")
    page.add_script_tag(path=str(AXE_PATH))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def screenshot(page, path) -> None:
    """Save a picture of the whole page at `path` (a pathlib.Path) for people to look at: never a check.
    Chromium sometimes cannot capture the whole page ("Unable to capture screenshot", once beside another
    worker's browser in a parallel CI run); then the visible window is kept, and if even that fails, a warning
    says so and the test goes on to the checks that decide it (axe, the page's content)."""
    from playwright.sync_api import Error

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(path), full_page=True)
        return
    except Error:
        pass
    try:
        page.screenshot(path=str(path))
    except Error as error:
        warnings.warn(f"no screenshot {path.name}: {error.message}", stacklevel=2)


def browser_login(page, live_server, user) -> None:
    """Log `user` in for the browser `page` by planting a session cookie (faster than the login form,
    which the e2e journeys exercise on their own)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "vielfalt.auth.PortalBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    pass_second_factor(session, user)
    session.save()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}]
    )


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    """A local web server that answers with a stylesheet and counts every request it gets."""

    requests: list[str] = []

    def do_GET(self):  # noqa: N802
        _CountingHandler.requests.append(self.path)
        body = b"body::after { content: 'FETCHED-FROM-NETWORK'; }"
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class LocalServer:
    def __init__(self, url: str, requests: list[str]):
        self.url, self.requests = url, requests

    def __str__(self):  # f"{local_http_server}/evil.css"
        return self.url


@pytest.fixture
def local_http_server():
    """A server on loopback (its URL as str(), the paths it was asked for as `.requests`), for proving that the
    PDF renderer never reaches the network."""
    _CountingHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LocalServer(f"http://127.0.0.1:{server.server_address[1]}", _CountingHandler.requests)
    server.shutdown()
