"""Journeys through the portal in Chromium: every demo user logs in through the real form and visits the pages
the foundation issue names; axe-core (WCAG 2.1 A/AA) must report nothing on any of them.

Also: the import page with a faulty and a good file, the employee form with a validation error, the language
switch, the skip link, a phone-sized window, the main navigation, and the Content-Security-Policy (in a context
that does not bypass it). No page may log a console error.

The demo data is seeded once per module and restored before each test (see `demo_snapshot`).

Screenshots of every visited page land in test-artifacts/screenshots/ (git-ignored)."""

import io
import re
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import override_settings
from django.utils import translation
from django_otp.oath import totp

from tests.conftest import axe_violations, screenshot
from tests.helpers import triggers_aside
from vielfalt.models import AuthenticatorApp

# Every test starts from the demo data, restored from a snapshot taken once per module (see `demo_snapshot`).
pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "e2e-demo-password-42"
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SCREENSHOTS = settings.BASE_DIR / "test-artifacts" / "screenshots"
SAMPLE_CSV = settings.BASE_DIR / "vielfalt" / "fixtures" / "employees-duisburg.csv"

# username -> may the user manage employees (partner HR in some organisation, or administrator)?
DEMO_USERS = {
    "admin": True,
    "ministerium": True,  # the ministry's own Personalreferat: seed_demo gives her HR of mais-nrw as well
    "hr-duisburg": True,
    "hr-oberhausen": True,
    "schulung-oberhausen": False,
}


# --- fixtures and helpers ------------------------------------------------------------------------------------


SNAPSHOT_SCHEMA = "e2e_demo_snapshot"


def _seed() -> None:
    with override_settings(
        PASSWORD_HASHERS=FAST_HASHERS,
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ):
        call_command("seed_demo", password=PASSWORD, force=True, stdout=io.StringIO())


def _django_tables() -> list[str]:
    return sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))


@pytest.fixture(scope="module")
def demo_snapshot(django_db_setup, django_db_blocker, tmp_path_factory):
    """Run `seed_demo` once for the module and copy every table into a snapshot schema.

    The live server needs real commits, so pytest-django flushes the database after each test; seeding again
    for every test would take most of the module's time (the demo data grows with each app). On PostgreSQL
    each test instead gets the tables back from the snapshot by `restore_demo` in milliseconds. Elsewhere
    (SQLite) every test seeds."""
    media = tmp_path_factory.mktemp("demo-media")
    if connection.vendor != "postgresql":
        yield media, False
        return
    with django_db_blocker.unblock():
        with override_settings(MEDIA_ROOT=media):
            _seed()
        with connection.cursor() as cursor:
            cursor.execute(
                f"DROP SCHEMA IF EXISTS {SNAPSHOT_SCHEMA} CASCADE; CREATE SCHEMA {SNAPSHOT_SCHEMA}"
            )
            for table in _django_tables():
                cursor.execute(f'CREATE TABLE {SNAPSHOT_SCHEMA}."{table}" AS TABLE "{table}"')
        call_command("flush", interactive=False, verbosity=0, reset_sequences=False)
        # Opened outside any test, this connection would be left behind and block dropping the test database.
        connection.close()
    yield media, True
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {SNAPSHOT_SCHEMA} CASCADE")
        connection.close()


def restore_demo(snapshot: bool) -> None:
    if not snapshot:
        _seed()
        return
    from django.contrib.contenttypes.models import ContentType

    tables = _django_tables()
    # Django's foreign keys on PostgreSQL are DEFERRABLE INITIALLY DEFERRED: any order works in one transaction.
    # TRUNCATE keeps the sequences where the seed left them, so new rows get fresh ids. A restore sets the
    # database's triggers aside, as pg_restore --disable-triggers does (the audit log refuses TRUNCATE, a signed
    # agreement new signatories, and the tally triggers would count the restored rows a second time on top of
    # the restored tallies).
    with triggers_aside(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("TRUNCATE " + ", ".join(f'"{table}"' for table in tables))
        cursor.execute(
            "SELECT table_name, string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) "
            "FROM information_schema.columns WHERE table_schema = current_schema() AND is_generated = 'NEVER' "
            "GROUP BY table_name"
        )
        columns = dict(cursor.fetchall())  # without generated columns (the practice library's search vector)
        for table in tables:
            cursor.execute(
                f'INSERT INTO "{table}" ({columns[table]}) SELECT {columns[table]} FROM {SNAPSHOT_SCHEMA}."{table}"'
            )
    # The flush after the previous test re-created the content types under new ids.
    ContentType.objects.clear_cache()


@pytest.fixture
def demo(demo_snapshot, live_server, settings):
    """The demo data of `seed_demo`, served by the live server; returns the server's URL."""
    media, snapshot = demo_snapshot
    settings.PASSWORD_HASHERS = FAST_HASHERS
    settings.MEDIA_ROOT = media
    restore_demo(snapshot)
    return live_server.url


class Console:
    """Console errors and uncaught exceptions of a page. Responses the test asked for with an error status
    (403, 422) make Chromium log "Failed to load resource"; `expect_status` lets exactly those through."""

    def __init__(self, page):
        self.messages: list[str] = []
        self.expected: set[tuple[str, int]] = set()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.messages.append(f"pageerror: {error}"))

    def _console(self, message):
        if message.type != "error":
            return
        url = message.location.get("url", "")
        status = re.search(r"status of (\d{3})", message.text)
        if status and (url, int(status.group(1))) in self.expected:
            return
        self.messages.append(f"{message.text} ({url})")

    def expect_status(self, url: str, status: int) -> None:
        self.expected.add((url, status))


@pytest.fixture
def console(page):
    console = Console(page)
    yield console
    assert console.messages == []


def shot(page, name: str) -> None:
    screenshot(page, SCREENSHOTS / f"{name}.png")


def check_page(page, name: str) -> None:
    """Screenshot, `lang` set, and no axe violations."""
    shot(page, name)
    assert page.evaluate("document.documentElement.lang") in ("de", "en")
    assert axe_violations(page) == [], name


def totp_code(username: str) -> str:
    """What the demo user's authenticator app shows now (seed_demo's TOTP device), waiting for the next 30 s
    window if this window's code was already used (a code works once)."""
    device = AuthenticatorApp.objects.get(user__username=username, name="Demo", confirmed=True)
    while device.last_t >= int(time.time()) // device.STEP:
        time.sleep(1)
        device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.STEP, digits=device.DIGITS):06d}"


def login(page, base: str, username: str, password: str = PASSWORD) -> None:
    """The login form, and for ministry staff and administrators the second step with the TOTP code."""
    page.goto(f"{base}/accounts/login/")
    form = page.locator("main form")
    form.get_by_label(re.compile("Benutzername|Username", re.I)).fill(username)
    form.get_by_label(re.compile("Passwort|Password", re.I)).fill(password)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    if "/accounts/second-factor/" in page.url:
        assert page.locator("main h1").inner_text() in ("Zweiter Faktor", "Second factor")
        check_page(page, f"{username}-second-factor")
        form = page.locator("main form").first
        form.locator("input[name=token]").fill(totp_code(username))
        form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/")


def goto(page, console, url: str, status: int = 200):
    if status != 200:
        console.expect_status(url, status)
    response = page.goto(url)
    assert response.status == status, url
    return response


# --- every demo user ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", list(DEMO_USERS))
def test_demo_user_journey(demo, page, console, username):
    login(page, demo, username)
    assert page.locator("h1").first.is_visible()
    check_page(page, f"{username}-start")

    may_manage = DEMO_USERS[username]
    status = 200 if may_manage else 403
    for path, name in (("/employees/", "employees"), ("/employees/import/", "import")):
        goto(page, console, f"{demo}{path}", status)
        if may_manage:
            assert page.locator("main h1").is_visible()
        check_page(page, f"{username}-{name}")

    goto(page, console, f"{demo}/accessibility/")
    check_page(page, f"{username}-accessibility")


NAVIGATION_CASES = list(DEMO_USERS)


@pytest.mark.parametrize("username", NAVIGATION_CASES)
def test_navigation_offers_only_pages_the_user_may_open(demo, page, username):
    """No link in the main navigation leads to a 403 (or worse)."""
    login(page, demo, username)
    links = page.locator("#main-nav .nav-link").evaluate_all("links => links.map(a => a.href)")
    assert links
    statuses = {href.removeprefix(demo): page.request.get(href).status for href in links}
    assert statuses == dict.fromkeys(statuses, 200)


def test_ministry_staff_set_up_a_second_factor_before_any_page(demo, page, console):
    """Without a device, the password leads to the set-up page (QR code, key, code), then the recovery codes;
    only then the start page. The start page itself redirects back to the second factor before."""
    AuthenticatorApp.objects.filter(user__username="ministerium").delete()
    page.goto(f"{demo}/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill("ministerium")
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/accounts/second-factor/setup/.*"))
    assert page.get_by_role("img", name=re.compile("QR")).is_visible()
    check_page(page, "ministerium-second-factor-setup")
    page.goto(f"{demo}/employees/")
    assert "/accounts/second-factor/" in page.url
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    import base64

    code = f"{totp(base64.b32decode(secret)):06d}"
    form = page.locator("main form").first
    form.get_by_label("Code aus der App").fill(code)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#recovery-codes li").count() == 10
    check_page(page, "ministerium-recovery-codes")
    page.locator("main a.btn-primary").click()
    page.wait_for_url(re.compile(r".*/employees/$"))
    page.goto(f"{demo}/accounts/second-factor/manage/")
    check_page(page, "ministerium-second-factor-manage")
    # "Meine Daten" (Art. 15), from the user name in the header: the new authenticator app is listed.
    link = page.locator("header a", has_text="Meine Daten")
    assert link.text_content() == "ministerium – Meine Daten"  # the visible user name, then hidden words
    page.goto(demo + link.get_attribute("href"))  # (in the collapsed menu at this width)
    assert page.get_by_role("heading", name="Zweiter Faktor").is_visible()
    check_page(page, "ministerium-my-data")


def test_login_page(demo, page, console):
    goto(page, console, f"{demo}/accounts/login/")
    assert page.evaluate("document.documentElement.lang") == "de"
    check_page(page, "anonymous-login")
    # A wrong password: the form comes back with its error summary, still accessible.
    form = page.locator("main form")
    form.locator("input[name=username]").fill("hr-duisburg")
    form.locator("input[name=password]").fill("not-the-password")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".error-summary").is_visible()
    check_page(page, "anonymous-login-error")


# --- import -------------------------------------------------------------------------------------------------

FAULTY_CSV = (
    "Personalnummer;Nachname;Vorname;E-Mail;Organisationseinheit;Zielgruppe\r\n"
    "OB-1;Öztürk;Ayşe;ayse@oberhausen.example;Bürgerbüro;Publikumsverkehr\r\n"
    ";Krüger;Jürgen;juergen@oberhausen.example;Bürgerbüro;Publikumsverkehr\r\n"
    "OB-3;Kowalczyk;Małgorzata;keine-adresse;Bürgerbüro;Publikumsverkehr\r\n"
)


def test_import_faulty_file_lists_problems(demo, page, console, tmp_path):
    faulty = tmp_path / "fehlerhaft.csv"
    faulty.write_bytes(FAULTY_CSV.encode("utf-8-sig"))
    login(page, demo, "hr-oberhausen")
    goto(page, console, f"{demo}/employees/import/")
    page.locator("input[type=file]").set_input_files(str(faulty))
    console.expect_status(f"{demo}/employees/import/", 422)
    with page.expect_navigation() as navigation:
        page.locator("main form button[type=submit]").click()
    assert navigation.value.status == 422
    rows = page.locator("main table tbody tr")
    assert rows.count() >= 2
    lines = rows.locator("td:first-child").all_inner_texts()
    assert "3" in lines and "4" in lines, lines
    assert page.locator(".error-summary").is_visible()
    check_page(page, "hr-oberhausen-import-problems")


def test_import_sample_file_through_the_browser(demo, page, console):
    """The sample export of Duisburg, uploaded through the file input, puts every name back with its letters."""
    from vielfalt.models import Employee

    duisburg = Employee.objects.filter(organisation__slug="duisburg")
    # Employees have enrolments (protected): overwrite the names instead of deleting, the import restores them.
    assert duisburg.update(first_name="Platzhalter", last_name="Platzhalter") == 120
    login(page, demo, "hr-duisburg")
    goto(page, console, f"{demo}/employees/import/")
    page.locator("input[type=file]").set_input_files(str(SAMPLE_CSV))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{demo}/employees/")
    assert page.locator(".alert-success").is_visible()
    assert "120" in page.locator(".alert-success").inner_text()
    check_page(page, "hr-duisburg-import-done")

    page.get_by_label(re.compile("^(Suche|Search)$")).fill("Yılmaz")
    page.locator("main form[role=search] button[type=submit]").click()
    page.wait_for_url(re.compile(r"\?(.*&)?q="))
    names = page.locator("main table tbody").inner_text()
    assert "Yılmaz, Zülfiye" in names
    assert "Platzhalter" not in names
    check_page(page, "hr-duisburg-employees-search")
    assert not duisburg.filter(last_name="Platzhalter").exists()
    assert duisburg.get(personnel_number="DU-10003").last_name == "Groß"
    assert duisburg.get(personnel_number="DU-10004").last_name == "Schäfer"


# --- employee form ------------------------------------------------------------------------------------------


def test_employee_form_validation_error(demo, page, console):
    from vielfalt.models import Employee

    employee = Employee.objects.get(organisation__slug="duisburg", personnel_number="DU-10002")
    login(page, demo, "hr-duisburg")
    url = f"{demo}/employees/{employee.pk}/"
    goto(page, console, url)
    check_page(page, "hr-duisburg-employee-edit")
    page.locator("input[name=last_name]").fill("")
    page.locator("input[name=email]").fill("keine-adresse")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert summary.locator("li").count() == 2
    # portal.js moves focus to the summary so screen readers announce it.
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert page.locator("input[name=last_name]").get_attribute("aria-invalid") == "true"
    check_page(page, "hr-duisburg-employee-edit-error")
    employee.refresh_from_db()
    assert employee.last_name == "Yılmaz"


# --- language and keyboard ----------------------------------------------------------------------------------


def test_language_switch_to_english(demo, page, console):
    login(page, demo, "hr-duisburg")
    assert page.evaluate("document.documentElement.lang") == "de"
    with translation.override("de"):
        german_logout = translation.gettext("Log out")
    assert page.locator("header").get_by_role("button", name=german_logout).is_visible()

    page.locator("#language-select").select_option("en")
    page.locator("#language-select").locator("xpath=ancestor::form").locator("button[type=submit]").click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.url == f"{demo}/"
    assert page.locator("header").get_by_role("button", name="Log out").is_visible()
    assert page.locator(".skip-link").inner_text() == "Skip to main content"
    check_page(page, "hr-duisburg-start-en")

    # The choice sticks for the next page.
    goto(page, console, f"{demo}/employees/")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("main h1").inner_text() == "Employees"
    check_page(page, "hr-duisburg-employees-en")


def test_skip_link_is_first_and_moves_focus_to_main(demo, page, console):
    # Not on the login page: Django's login form puts `autofocus` on the user name field.
    login(page, demo, "hr-duisburg")
    for path, name in (("/", "start"), ("/employees/", "employees"), ("/accessibility/", "accessibility")):
        goto(page, console, f"{demo}{path}")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.classList.contains('skip-link')"), path
        assert page.locator(".skip-link").is_visible()  # visible once focused
        shot(page, f"hr-duisburg-skip-link-{name}")
        page.keyboard.press("Enter")
        page.wait_for_function("document.activeElement && document.activeElement.id === 'main'")
        # The next Tab continues inside main, not back in the header.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('main') !== null"), path


def test_narrow_screen(demo, page, console):
    """A phone-sized window: the navigation collapses behind its toggle, the table scrolls on its own."""
    page.set_viewport_size({"width": 375, "height": 740})
    login(page, demo, "hr-oberhausen")
    toggler = page.locator(".navbar-toggler")
    assert toggler.is_visible()
    assert toggler.get_attribute("aria-expanded") == "false"
    toggler.click()
    page.locator("#main-nav").get_by_role("link", name=re.compile("Beschäftigte|Employees")).click()
    page.wait_for_url(f"{demo}/employees/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    check_page(page, "hr-oberhausen-employees-narrow")


# --- Content-Security-Policy --------------------------------------------------------------------------------


def test_no_csp_violations_and_scripts_load(demo, browser):
    """A context that keeps the portal's CSP (the `page` fixture bypasses it for axe)."""
    context = browser.new_context(locale="de-DE")
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        # Injected by the browser itself, so not subject to the page's policy.
        page.add_init_script(
            "window.cspViolations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        page.goto(f"{demo}/accounts/login/")
        assert page.evaluate("typeof htmx") == "object"
        assert page.evaluate("typeof bootstrap") == "object"
        login(page, demo, "hr-duisburg")
        for path in ("/", "/employees/", "/employees/import/", "/accessibility/"):
            response = page.goto(f"{demo}{path}")
            policy = response.headers["content-security-policy"]
            assert "script-src" in policy
            assert "unsafe-inline" not in policy
            assert page.evaluate("typeof htmx") == "object", path
            assert page.evaluate("typeof bootstrap") == "object", path
            assert page.evaluate("window.cspViolations") == [], path
        # The error summary is focused by portal.js: the portal's own script ran under the CSP too.
        page.goto(f"{demo}/employees/new/")
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_load_state()
        assert page.evaluate("document.activeElement.classList.contains('error-summary')")
        assert page.evaluate("window.cspViolations") == []
        assert [e for e in errors if "Content Security Policy" in e] == []
        assert errors == []
    finally:
        context.close()
