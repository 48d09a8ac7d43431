"""Usability: the main journeys of each role in Chromium, at 1280 px and at 375 px, as a clerk meets them.

After every step (`Journey.step`):
- axe-core (WCAG 2.1 A/AA) finds nothing;
- nothing is wider than the window (no horizontal scrolling), at 375 px nor at 1280 px;
- no English on a German page: no visible string equals a msgid of locale/de that has a different translation;
- no raw identifier (`[a-z]+_[a-z_]+`, e.g. a constraint's or a field's name) in visible text;
- the page's HTML is saved; at the end of the journey the W3C Nu HTML checker (vnu-jar from npm, Java) reports
  no error on any of them.

The demo data is seeded once per module (see tests/e2e/test_journeys.py) and restored before each test."""

import json
import re
import shutil
import subprocess
import threading
from datetime import timedelta
from functools import cache

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from partnerships.models import Agreement
from tests.conftest import axe_violations, browser_login, need, screenshot
from tests.e2e.test_journeys import SCREENSHOTS, demo, demo_snapshot  # noqa: F401 (fixtures)
from trainings.models import CourseDate
from vielfalt.models import Employee, Job, User

pytestmark = pytest.mark.django_db(transaction=True)

PO_FILE = settings.BASE_DIR / "locale" / "de" / "LC_MESSAGES" / "django.po"
VNU_JAR = settings.BASE_DIR / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
RAW_IDENTIFIER = re.compile(r"\b[a-z]+_[a-z_]+\b")
WIDTHS = [1280, 375]

VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || el.closest("script, style, noscript, code, pre, template")) continue;
    // Text marked as another language (the language switch's "English") is that language on purpose.
    if ((el.closest("[lang]") || document.documentElement).lang !== document.documentElement.lang) continue;
    const text = walker.currentNode.textContent.replace(/\\s+/g, " ").trim();
    if (!text) continue;
    // An <option> is read out when the select is opened; anything else must be rendered.
    if (el.tagName !== "OPTION" && !el.checkVisibility()) continue;
    out.push(text);
  }
  for (const el of document.querySelectorAll("[placeholder], [aria-label], [title], img[alt]")) {
    for (const name of ["placeholder", "aria-label", "title", "alt"]) {
      const value = (el.getAttribute(name) || "").trim();
      if (value) out.push(value);
    }
  }
  return out;
}"""


def _po_strings(block: str) -> str:
    return "".join(json.loads(part) for part in re.findall(r'"(?:[^"\\]|\\.)*"', block))


@cache
def english_strings() -> frozenset[str]:
    """Source strings (English) whose German translation differs: seen on a German page, they are English."""
    english = set()
    text = PO_FILE.read_text(encoding="utf-8")
    for entry in text.split("\n\n"):
        match = re.search(
            r'^msgid ((?:".*"\n?)+)(?:msgid_plural ((?:".*"\n?)+))?msgstr(?:\[0\])? ((?:".*"\n?)+)',
            entry,
            re.M,
        )
        if not match:
            continue
        msgid, plural, msgstr = (_po_strings(group or "") for group in match.groups())
        for source in (msgid, plural):
            source = " ".join(source.split())
            if source and msgstr and source != " ".join(msgstr.split()) and "%" not in source:
                english.add(source)
    return frozenset(english)


class Journey:
    def __init__(self, page, base: str, name: str, width: int, tmp_path):
        self.page, self.base, self.name, self.width = page, base, name, width
        self.saved = tmp_path / "html"
        self.saved.mkdir()
        self.count = 0
        page.set_viewport_size({"width": width, "height": 900})

    def go(self, path: str, label: str):
        response = self.page.goto(self.base + path)
        assert response.status == 200, (path, response.status)
        self.step(label)

    def step(self, label: str) -> None:
        page = self.page
        page.wait_for_load_state()
        self.count += 1
        name = f"{self.name}-{self.width}-{self.count:02d}-{label}"
        (self.saved / f"{name}.html").write_text(page.content(), encoding="utf-8")
        screenshot(page, SCREENSHOTS / f"usability-{name}.png")
        assert page.evaluate("document.documentElement.lang") == "de", name
        strings = page.evaluate(VISIBLE_TEXT)
        english = sorted({s for s in strings if s in english_strings()})
        assert english == [], (name, english)
        raw = sorted(
            {m for s in strings if "@" not in s and "://" not in s for m in RAW_IDENTIFIER.findall(s)}
        )
        assert raw == [], (name, raw)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (name, f"{overflow} px wider than the window")
        assert axe_violations(page) == [], name

    def validate_html(self) -> None:
        java = shutil.which("java")
        need(bool(java) and VNU_JAR.is_file(), "Java (default-jre-headless) and vnu-jar (npm ci)")
        files = sorted(str(path) for path in self.saved.glob("*.html"))
        result = subprocess.run(
            [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *files],
            capture_output=True,
            text=True,
            timeout=120,
        )
        messages = json.loads(result.stderr or result.stdout or '{"messages": []}')["messages"]
        errors = [f"{m['url'].rsplit('/', 1)[-1]}:{m.get('lastLine')}: {m['message']}" for m in messages]
        assert errors == [], errors


@pytest.fixture
def journey(demo, page, tmp_path, request):  # noqa: F811 (the fixture imported above)
    def start(username: str, width: int) -> Journey:
        browser_login(page, type("Server", (), {"url": demo})(), User.objects.get(username=username))
        return Journey(page, demo, username, width, tmp_path)

    return start


def _open_date() -> CourseDate:
    return (
        CourseDate.objects.filter(cancelled_at=None, enrolment_deadline__gt=timezone.now())
        .order_by("starts_at")
        .first()
    )


def _past_date() -> CourseDate:
    """A date that has begun, with people seated: its attendance is taken on its page."""
    return (
        CourseDate.objects.filter(enrolments__status="seated", starts_at__lt=timezone.now())
        .order_by("pk")
        .first()
    )


# An employee import that is refused: a line without a personnel number, an address that is none, an org unit the
# city does not have (its column's name, "Organisationseinheit", is the widest).
FAULTY_EMPLOYEES = (
    "Personalnummer;Nachname;Vorname;E-Mail;Organisationseinheit;Zielgruppe\r\n"
    ";Krüger;Jürgen;juergen@duisburg.example;Ausländerbehörde;Publikumsverkehr\r\n"
    "DU-X3;Kowalczyk;Małgorzata;keine-adresse;Ausländerbehörde;Publikumsverkehr\r\n"
    "DU-X4;Öztürk;Ayşe;ayse@duisburg.example;Bürgerbüro Nord;Publikumsverkehr\r\n"
)


def assert_in_window(j: "Journey", cells, expected: int | None = None) -> None:
    """Each cell lies within the window, read without scrolling sideways: the cells that explain a row (why a box
    cannot be ticked, why someone waits, what is wrong in a line) were in the part of a table scrolled out of view
    on a phone."""
    count = cells.count()
    assert count > 0 if expected is None else count == expected, count
    width = j.page.evaluate("document.documentElement.clientWidth")
    for index in range(count):
        box = cells.nth(index).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (
            j.width,
            cells.nth(index).inner_text(),
            box,
        )


@pytest.mark.parametrize("width", WIDTHS)
def test_ministry(journey, width):
    j = journey("ministerium", width)
    j.go("/", "start")
    assert j.page.locator("#card-employees").count() == 0
    j.go("/dashboard/", "dashboard")
    j.go("/partnerships/", "agreements")
    j.page.locator("main table a").first.click()
    j.step("agreement")
    j.page.get_by_role("button", name="PDF erzeugen").click()
    j.page.wait_for_url(re.compile(r"job="))
    # The page reloads itself when the job is done (htmx polling): the documents table lists the PDF.
    j.page.locator("#documents .job-status[data-status=ready]").wait_for()
    assert "Noch keine Dokumente." not in j.page.locator("#documents").inner_text()
    j.step("agreement-with-pdf")
    job_id = re.search(r"job=([0-9a-f-]+)", j.page.url).group(1)
    j.go(f"/jobs/{job_id}/", "pdf-job")
    assert j.page.get_by_role("link", name=re.compile("^Zurück zu")).count() == 1
    j.go("/audit/", "audit-log")
    j.go("/surveys/programme/", "survey-programme")
    j.validate_html()


@pytest.mark.parametrize("width", [992, 1280])
def test_the_header_fits_an_administrators_links(journey, width):
    """An administrator sees the most links (ten in German). From 992 px, where the navigation is not folded
    away, they wrap onto a second line instead of pushing the user's tools, logging out among them, off the
    screen."""
    j = journey("admin", width)
    j.go("/", "start")
    box = j.page.get_by_role("button", name="Abmelden").bounding_box()
    assert box["x"] + box["width"] <= width


def test_the_header_gives_a_ministry_officials_links_a_row_of_their_own(journey):
    """Ministry staff see nine links (German). Beside the brand they did not fit at 1,280 px: the last broke onto
    a second line, the brand sat between the two, the user's tools on a third. The brand and the tools share the
    first row, the links one row below; the Tab key meets tools and links in the order they are seen."""
    j = journey("ministerium", 1280)
    j.go("/partnerships/", "header")
    header = j.page.locator("header")
    links = header.locator(".nav-link")
    assert links.count() == 9
    tops = {round(links.nth(index).bounding_box()["y"]) for index in range(links.count())}
    assert len(tops) == 1, tops
    brand = header.locator(".navbar-brand").bounding_box()
    logout = header.get_by_role("button", name="Abmelden").bounding_box()
    assert abs((brand["y"] + brand["height"] / 2) - (logout["y"] + logout["height"] / 2)) < 8
    assert min(tops) >= logout["y"] + logout["height"]
    assert header.evaluate(
        """(header) => {
            const focusable = [...header.querySelectorAll("a, button, select")].filter((el) => el.checkVisibility());
            const tops = focusable.map((el) => el.getBoundingClientRect().top);
            return tops.every((top, index) => index === 0 || top >= tops[index - 1] - 8);
        }"""
    )


def test_a_page_polling_a_job_goes_to_the_login_page_when_the_session_ends(journey):
    """A job's page asks for its status every two seconds. Timed out (or logged out in another tab), the next
    request was sent to the login page, and htmx put that whole page, header and all, into the status box, the
    page around it still showing the user as logged in. Now the window goes to the login page, which says why,
    and comes back to the job after logging in."""
    j = journey("hr-duisburg", 1280)
    clerk = User.objects.get(username="hr-duisburg")
    job = Job.objects.create(
        kind="test",
        description="Beschäftigte einlesen",
        status=Job.Status.RUNNING,
        requested_by=clerk,
        organisation=clerk.memberships.get(role="hr").organisation,
    )
    j.go(f"/jobs/{job.pk}/", "job-polling")
    Session.objects.all().delete()
    j.page.wait_for_url(re.compile(r"/accounts/login/"), timeout=10_000)
    assert j.page.url == f"{j.base}/accounts/login/?next=/jobs/{job.pk}/"
    assert "Ihre Sitzung ist beendet" in j.page.locator("main").inner_text()
    assert j.page.locator("header").count() == 1 and j.page.locator("h1").count() == 1
    j.step("session-ended")


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_page_warns_before_the_session_ends_and_one_button_keeps_it(journey, width):
    """WCAG 2.2.1 (Timing Adjustable): 30 minutes without a request ended the session without a word, and with it
    the form being filled in. Two minutes before (a minute earlier still: the server extends a session at most once
    a minute), the page says so; "Angemeldet bleiben" starts the 30 minutes again, as often as wanted. Unheeded, the
    page says that the session has ended and links to the login, back to this page."""
    j = journey("hr-duisburg", width)
    page = j.page
    page.clock.install()
    j.go("/employees/new/", "form")
    warning = page.locator("#session-warning")
    page.clock.run_for("26:30")
    assert warning.is_hidden()
    page.clock.run_for("01:00")
    keep = warning.get_by_role("button", name="Angemeldet bleiben")
    assert warning.is_visible() and keep.is_visible()
    assert "fast 30 Minuten" in warning.inner_text()
    # It covers nothing of the page scrolled to its end: not the button it asks to save with, not the footer.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    for element in (page.locator("main form [type=submit]").last, page.locator("footer a").last):
        assert not _overlap(element.bounding_box(), warning.bounding_box()), element
    j.step("session-warning")
    for _ in range(2):  # as often as wanted
        with page.expect_response(re.compile(r"/accounts/session/keep-alive/$")) as kept:
            keep.click()
        assert kept.value.status == 204
        expect(warning).to_be_hidden()
        page.clock.run_for("26:30")
        assert warning.is_hidden()
        page.clock.run_for("01:00")
        assert warning.is_visible()
    page.clock.run_for("02:00")
    login = warning.get_by_role("link", name="Erneut anmelden")
    assert login.is_visible() and not keep.is_visible()
    assert login.get_attribute("href") == "/accounts/login/?next=/employees/new/"
    j.step("session-ended-here")


def test_someone_typing_is_not_idle(journey):
    """Typing makes no request: a clerk writing a long text for 28 minutes was idle to the server. Input in the page
    extends the session without asking, and no warning interrupts."""
    j = journey("hr-duisburg", 1280)
    page = j.page
    page.clock.install()
    j.go("/employees/new/", "form")
    page.clock.run_for("20:00")
    page.locator("#id_last_name").press_sequentially("Yılmaz")
    with page.expect_response(re.compile(r"/accounts/session/keep-alive/$")) as kept:
        page.clock.run_for("07:30")
    assert kept.value.status == 204
    assert page.locator("#session-warning").is_hidden()
    assert page.locator("#id_last_name").input_value() == "Yılmaz"


@pytest.mark.parametrize("width", WIDTHS)
def test_hr_duisburg(journey, width):
    j = journey("hr-duisburg", width)
    j.go("/", "start")
    j.go("/employees/", "employees")
    j.go("/employees/new/", "employee-form")
    j.page.locator("main form [type=submit]").click()
    j.step("employee-form-errors")
    employee = Employee.objects.filter(organisation__slug="duisburg").order_by("pk").first()
    j.go(f"/employees/{employee.pk}/", "employee-edit")
    j.page.locator("input[name=email]").fill("keine-adresse")
    j.page.locator("main form [type=submit]").first.click()
    j.step("employee-edit-errors")
    j.go(f"/employees/{employee.pk}/access/", "employee-access")
    j.go("/employees/import/", "import")
    j.page.locator("input[type=file]").set_input_files(
        files=[{"name": "liste.csv", "mimeType": "text/csv", "buffer": FAULTY_EMPLOYEES.encode()}]
    )
    j.page.locator("main form [type=submit]").click()
    j.step("import-problems")
    assert_in_window(j, j.page.locator("main table td:nth-child(3)"), expected=3)
    j.go("/trainings/", "trainings")
    course_date = _open_date()
    j.go(f"/trainings/courses/{course_date.course_id}/", "course")
    j.go(f"/trainings/dates/{_past_date().pk}/", "date-past")
    j.go("/trainings/report/", "report")
    j.go(f"/trainings/dates/{course_date.pk}/", "date")
    assert j.page.locator(".seats-for-organisation").count() == 1
    j.go(f"/trainings/dates/{course_date.pk}/enrol/", "enrol")
    # Why a box cannot be ticked: the person is enrolled already.
    assert_in_window(j, j.page.locator("#selection-form tr:has(input[disabled]) td:last-child"))
    j.page.locator("#upload-form input[type=file]").set_input_files(
        files=[{"name": "liste.csv", "mimeType": "text/csv", "buffer": b"Personalnummer\nXX-1\n"}]
    )
    j.page.locator("#upload-form [type=submit]").click()
    j.step("enrol-file-refused")
    boxes = j.page.locator("main input[name=employees]:not([disabled])")
    for index in range(2):
        boxes.nth(index).check()
    j.page.get_by_role("button", name="Ausgewählte Beschäftigte anmelden").click()
    j.page.wait_for_url(re.compile(r"/enrol/result/$"))
    j.step("enrol-result")
    assert j.page.locator(".seats-for-organisation").count() == 1
    waiting_rows = j.page.locator("#result-waiting tbody tr td:nth-child(4)")
    assert_in_window(j, waiting_rows)
    for index in range(waiting_rows.count()):  # each person on the waiting list: why
        assert waiting_rows.nth(index).inner_text() in (
            "Der Termin ist ausgebucht.",
            "Das Kontingent Ihrer Organisation ist ausgeschöpft.",
        )
    j.go("/surveys/", "surveys")
    j.go("/surveys/new/", "campaign-form")
    yesterday = timezone.localdate() - timedelta(days=1)
    j.page.locator("#id_title").fill("Befragung")
    j.page.locator("#id_opens_on").fill(yesterday.isoformat())
    j.page.locator("#id_closes_on").fill(yesterday.isoformat())
    j.page.locator("main form [type=submit]").click()
    j.step("campaign-form-errors")
    j.validate_html()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_refused_imports_problems_are_read_on_its_job_page_without_scrolling_sideways(journey, width):
    """A large import is checked in a job; refused, its page lists the problems kept: line, column, problem."""
    clerk = User.objects.get(username="hr-duisburg")
    job = Job.objects.create(
        kind="vielfalt.employee_import",
        description="Import von Beschäftigten: Stadt Duisburg",
        requested_by=clerk,
        organisation=clerk.memberships.get(role="hr").organisation,
        status=Job.Status.FAILED,
        error="Die Datei wurde nicht importiert: 2 Probleme. Es wurde nichts gespeichert.",
        problems=[
            {"line": 18, "column": "E-Mail", "message": "Dies ist keine gültige E-Mail-Adresse."},
            {
                "line": 2041,
                "column": "Organisationseinheit",
                "message": "Diese Organisationseinheit gibt es in Stadt Duisburg nicht.",
            },
        ],
    )
    j = journey("hr-duisburg", width)
    j.go(f"/jobs/{job.pk}/", "import-job-refused")
    assert_in_window(j, j.page.locator("main table td:nth-child(3)"), expected=2)
    j.validate_html()


# An address pasted into a question, a meeting's place, a course date's room: one word wider than a phone.
LONG_WORD = (
    "https://www.integration.nrw.de/dokumente/Leitfaden_Interkulturelle_Oeffnung_Stadtverwaltung_2026.pdf"
)
UNCUT = """(word) => [...document.querySelectorAll("main *")]
  .filter((el) => el.children.length === 0 && el.textContent.includes(word) && el.checkVisibility())
  .map((el) => el.getBoundingClientRect().right - document.documentElement.clientWidth)"""


@pytest.mark.parametrize("width", WIDTHS)
def test_a_long_word_people_type_wraps_instead_of_widening_or_being_cut(journey, width):
    """A question's title of one long word ran off the start page's network panel (cut at the window's edge at
    1280 px) and widened the question's page to 4,914 px at 375 px; a meeting's long place its page."""
    from partnerships.network import services as network
    from vielfalt.models import Organisation
    from vielfalt.permissions import SYSTEM

    duisburg = Organisation.objects.get(slug="duisburg")
    question = network.question_ask(actor=SYSTEM, organisation=duisburg, title=LONG_WORD, body=LONG_WORD)
    now = timezone.now()
    meeting = network.meeting_create(
        actor=SYSTEM,
        host=duisburg,
        title=LONG_WORD[:200],
        agenda=LONG_WORD,
        location=LONG_WORD,
        registration_deadline=now + timedelta(days=2),
        starts_at=now + timedelta(days=3),
        ends_at=now + timedelta(days=3, hours=2),
        capacity=5,
    )
    j = journey("hr-duisburg", width)
    for path, label in (
        ("/", "start"),
        (f"/network/questions/{question.pk}/", "question"),
        (f"/network/meetings/{meeting.pk}/", "meeting"),
    ):
        j.go(path, label)
        j.page.wait_for_load_state("networkidle")  # the start page's network panel comes by htmx
        beyond = j.page.evaluate(UNCUT, LONG_WORD[:60])
        assert beyond and max(beyond) <= 0, (label, beyond)
    j.validate_html()


def test_the_audit_log_wraps_a_documents_checksum_instead_of_scrolling_sideways(journey):
    """The details of a document's entry hold its SHA-256 (64 characters without a break): the log's table grew
    as wide as that line, and at 1280 px every entry's details were cut at the edge of the table's scroll box
    ("Art der Anonymisierung: ausgeblendete Felder im Onlin…"), to be read only by scrolling the table sideways."""
    j = journey("ministerium", 1280)
    j.go("/audit/", "audit-log")
    assert j.page.get_by_text("SHA-256").count() > 0  # the demo's agreement documents
    box = j.page.locator("main .table-responsive")
    assert box.evaluate("(el) => el.scrollWidth - el.clientWidth") <= 0


# Every option of a select in `main` that is wider than the room its select leaves for it (the chosen one is shown
# cut: "Name (Stand" for "Name (Standard)", "Kommunal" for the kind of partner filtered by, "teilgenom" for a
# participant's attendance), unless it is wider than the page's content, where no layout could show it whole.
OPTIONS_CUT = """() => {
  const measure = document.createElement("canvas").getContext("2d"), cut = [];
  const content = document.querySelector("main").clientWidth;
  for (const select of document.querySelectorAll("main select:not([multiple])")) {
    if (!select.checkVisibility()) continue;
    const style = getComputedStyle(select);
    measure.font = style.font;
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const room = select.clientWidth - padding;
    for (const option of select.options) {
      const width = measure.measureText(option.text).width;
      if (width > room + 0.5 && width + padding < content) cut.push(`${select.name}: ${option.text}`);
    }
  }
  return cut;
}"""


@pytest.mark.parametrize("username", ["hr-duisburg", "ministerium", "schulung-oberhausen"])
def test_a_select_shows_the_option_chosen_whole(journey, username):
    """The filter forms gave every control an equal share of the row: at 1,280 px the employee list's sort order
    read "Name (Stand" and the partner directory's kind of partner "Kommunal" (its six filters had 48 to 87 px
    each). Now a filter's select is as wide as its widest option, and the controls move onto another line when
    the row is full (below 576 px each takes the whole line). A participant's attendance read "teilgenom" in the
    table of a course date at 576 px; an agreement's signatory side "– bitte auswä" at 1,280 px, the indicator
    "Anteil der aktiven Beschäftigten, die einen Kurs besucht haben" and the ministry's name as state party cut
    from 768 to 1,280 px."""
    # A date that has begun: its attendance is taken on its page.
    date = (
        CourseDate.objects.filter(enrolments__isnull=False, starts_at__lt=timezone.now())
        .order_by("pk")
        .first()
    )
    draft = Agreement.objects.filter(status=Agreement.Status.DRAFT).order_by("pk").first()
    # The narrowest width each page is checked at: below 576 px a filter's longest options (a unit of the city,
    # a field of action) and below 768 px the agreement form's (the ministry's name, an indicator) are wider
    # than a phone; the attendance table scrolls at any width.
    paths = {
        "hr-duisburg": {
            "/employees/": 576,
            f"/trainings/dates/{_open_date().pk}/enrol/": 576,
            "/network/partners/": 576,
            "/network/practice/": 576,
        },
        "ministerium": {
            "/partnerships/": 576,
            "/partnerships/export/": 576,
            "/audit/": 576,
            "/network/partners/": 576,
            "/partnerships/new/": 768,
            f"/partnerships/{draft.pk}/edit/": 768,
        },
        "schulung-oberhausen": {f"/trainings/dates/{date.pk}/": 375},
    }[username]
    j = journey(username, 1280)
    for width in (375, 576, 768, 992, 1280, 1400):
        j.page.set_viewport_size({"width": width, "height": 900})
        for path, narrowest in paths.items():
            if width < narrowest:
                continue
            assert j.page.goto(j.base + path).status == 200, path
            assert j.page.locator("main select").count() > 0, path
            assert j.page.evaluate(OPTIONS_CUT) == [], (width, path)


def test_a_second_click_does_not_send_a_form_again(journey, monkeypatch):
    """A question posted with a double click (or a second click while the answer is slow) reached the server
    twice and stood twice in the network. The browser now sends a form once while its answer is on the way."""
    from partnerships.network.models import Question
    from partnerships.network.views import QuestionCreateView

    answer = threading.Event()  # the server answers a question's POST only when the test lets it
    post = QuestionCreateView.post
    monkeypatch.setattr(
        QuestionCreateView, "post", lambda *args, **kwargs: answer.wait(20) and post(*args, **kwargs)
    )
    j = journey("hr-oberhausen", 1280)
    page = j.page
    posts = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    page.goto(j.base + "/network/questions/new/")
    page.get_by_label("Ihre Frage").fill("Wie gewinnt ihr Auszubildende mit Migrationsgeschichte?")
    send = page.get_by_role("button", name="Frage senden")
    # Clicks and keys as the person gives them: Playwright's own actions would wait for the page to load.
    box = send.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    with page.expect_request(lambda request: request.method == "POST"):
        page.mouse.click(x, y)
    page.mouse.click(x, y)  # a double click, then Enter in the field
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    answer.set()
    page.wait_for_url(re.compile(r"/network/questions/\d+/$"))
    assert len(posts) == 1
    assert Question.objects.filter(title__startswith="Wie gewinnt ihr Auszubildende").count() == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_organiser(journey, width):
    j = journey("schulung-oberhausen", width)
    j.go("/", "start")
    j.go("/trainings/", "trainings")
    course_date = _open_date()
    j.go(f"/trainings/courses/{course_date.course_id}/", "course")
    j.go("/trainings/courses/new/", "course-form")
    j.page.locator("main form [type=submit]").click()
    j.step("course-form-errors")
    j.go(f"/trainings/courses/{course_date.course_id}/edit/", "course-edit")
    j.go(f"/trainings/courses/{course_date.course_id}/participants/", "participants")
    j.go(f"/trainings/dates/{course_date.pk}/edit/", "date-edit")
    j.go(f"/trainings/dates/{_past_date().pk}/", "date-past")
    j.go(f"/trainings/courses/{course_date.course_id}/dates/new/", "date-form")
    start = timezone.localtime() + timedelta(days=20)
    j.page.locator("#id_starts_at").fill(start.strftime("%Y-%m-%dT10:00"))
    j.page.locator("#id_ends_at").fill(start.strftime("%Y-%m-%dT09:00"))
    j.page.locator("#id_capacity").fill("0")
    j.page.locator("main form [type=submit]").click()
    j.step("date-form-errors")
    text = j.page.locator("main").inner_text()
    assert text.count("Das Ende muss nach dem Beginn liegen.") == 2  # summary and field
    j.go(f"/trainings/dates/{course_date.pk}/", "date")
    j.page.locator(f"form[action$='/dates/{course_date.pk}/sign-in-sheet/'] button").click()
    j.page.wait_for_url(re.compile(r"/jobs/"))
    j.page.locator(".job-status[data-status=ready]").wait_for()
    j.step("sign-in-sheet-job")
    j.validate_html()


@pytest.mark.parametrize("width", WIDTHS)
def test_employee_through_the_survey_link(journey, width, browser):
    hr = Client()
    hr.force_login(User.objects.get(username="hr-duisburg"))
    from surveys.models import Campaign

    today = timezone.localdate()
    response = hr.post(
        "/surveys/new/",
        {
            "title": "Befragung 2027",
            "opens_on": today.isoformat(),
            "closes_on": (today + timedelta(days=30)).isoformat(),
            "k": "5",
            "purpose": "Wie vielfältig ist unsere Verwaltung?",
            "legal_basis": "Einwilligung",
            "dpo_contact": "datenschutz@duisburg.example",
            "organisation": User.objects.get(username="hr-duisburg").memberships.get().organisation_id,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(title="Befragung 2027")
    mail.outbox.clear()
    hr.post(f"/surveys/{campaign.pk}/open/")
    hr.post(f"/surveys/{campaign.pk}/invite/", {})
    links = [line.strip() for m in mail.outbox for line in m.body.splitlines() if "/surveys/t/" in line]
    assert links
    j = journey("hr-duisburg", width)
    context = browser.new_context(bypass_csp=True, locale="de-DE")
    j.page = context.new_page()
    j.page.set_viewport_size({"width": width, "height": 900})
    j.name = "employee"
    j.page.goto(j.base + links[0][links[0].index("/surveys/t/") :])
    j.step("answer")
    j.page.locator("form.survey-form [type=submit]").click()
    j.step("answer-errors")
    j.validate_html()
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_file_larger_than_any_upload_is_answered_with_a_german_page_that_passes_axe(journey, width):
    """A file larger than any the portal takes, chosen on the employee import: the portal answers before it has
    received it (vielfalt.middleware.RequestSizeMiddleware), with its own page in German that passes axe and fits
    the window, and leads on."""
    j = journey("hr-duisburg", width)
    j.go("/employees/import/", "import-before-too-large")
    big = b"0" * (settings.REQUEST_MAX_BYTES + 1)
    j.page.locator("input[type=file]").set_input_files(
        files=[{"name": "gross.csv", "mimeType": "text/csv", "buffer": big}]
    )
    with j.page.expect_response(re.compile(r"/employees/import/$")) as sent:
        j.page.locator("main form [type=submit]").click()
    assert sent.value.status == 413
    j.step("upload-too-large")
    assert j.page.locator("h1").inner_text() == "Die Datei ist zu groß"
    assert j.page.get_by_role("link", name="Zurück zur Startseite").count() == 1
    j.validate_html()


def test_a_form_sent_from_a_page_older_than_the_login_is_refused_on_a_page_that_leads_back(journey):
    """A form open in one tab, then logging out and in again in another: the login gives a new CSRF token, so
    the form is refused. That was Django's bare English "Forbidden (403)" page (`lang="en"`, no way on); now the
    portal's page says nothing was saved and why, the back button still has the entries, and a link opens the
    form again."""
    from tests.e2e.test_journeys import login

    j = journey("hr-duisburg", 375)
    form = j.page
    j.go("/employees/new/", "form-before-login-elsewhere")
    form.locator("input[name=last_name]").fill("Yılmaz")
    other = form.context.new_page()
    other.goto(f"{j.base}/")
    other.get_by_role("button", name="Abmelden").click()
    other.wait_for_url(re.compile(r"/accounts/login/|/$"))
    login(other, j.base, "hr-duisburg")
    other.close()
    with form.expect_response(re.compile(r"/employees/new/$")) as sent:
        form.locator("main form button[type=submit]").last.click()
    assert sent.value.status == 403
    assert form.locator("h1").inner_text() == "Das Formular konnte nicht gesendet werden"
    assert form.locator("html").get_attribute("lang") == "de"
    j.step("form-refused")  # German, axe, no horizontal scroll at 375 px
    assert form.get_by_role("link", name="Formular neu öffnen").get_attribute("href") == "/employees/new/"
    form.go_back()
    expect(form.locator("input[name=last_name]")).to_have_value("Yılmaz")  # what the page promises


def test_a_bookmarked_log_out_opens_the_portal_s_page_not_a_blank_one(journey):
    """Django answered an address of a button (here "Abmelden") opened as a link with 405 and nothing to show."""
    j = journey("hr-duisburg", 375)
    response = j.page.goto(f"{j.base}/accounts/logout/")
    assert response.status == 405
    assert j.page.locator("h1").inner_text() == "Diese Adresse lässt sich nicht als Seite öffnen"
    j.step("method-not-allowed")  # German, axe, no horizontal scroll at 375 px
    j.page.get_by_role("link", name="Zurück zur Startseite").click()
    j.page.wait_for_url(f"{j.base}/")
    assert j.page.get_by_role("button", name="Abmelden", include_hidden=True).count() == 1  # still logged in


@pytest.mark.allow_error_log  # django.security.TooManyFieldsSent, as it should be
def test_a_request_django_refuses_gets_a_german_page_that_passes_axe(live_server, page, settings):
    """400.html and 500.html, Django's pages rendered without a request (error_standalone.html)."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    query = "&".join(f"field{number}=x" for number in range(10))
    response = page.goto(f"{live_server.url}/accounts/login/?{query}")
    assert response.status == 400
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("h1").inner_text() == "Die Anfrage konnte nicht verarbeitet werden"
    assert axe_violations(page) == []


@pytest.mark.parametrize("failure", ["error", "unreachable"])
def test_a_job_page_says_when_the_portal_does_not_answer_its_polling(journey, failure):
    """htmx left the page as it was when a request failed: a job's status said "Läuft …" for as long as the portal
    answered with an error or could not be reached. The status box says so until a request succeeds again."""
    j = journey("hr-duisburg", 375)
    clerk = User.objects.get(username="hr-duisburg")
    job = Job.objects.create(
        kind="test",
        description="Beschäftigte einlesen",
        status=Job.Status.RUNNING,
        requested_by=clerk,
        organisation=clerk.memberships.get(role="hr").organisation,
    )
    j.go(f"/jobs/{job.pk}/", "job-running")
    status = j.page.locator("#main .job-status")
    polled = f"**/jobs/{job.pk}/"
    if failure == "error":
        j.page.route(polled, lambda route: route.fulfill(status=502, body="Bad Gateway"))
    else:
        j.page.route(polled, lambda route: route.abort("connectionrefused"))
    note = status.get_by_role("alert")
    expect(note).to_contain_text("Das Portal hat nicht geantwortet", timeout=10_000)
    assert status.get_by_role("alert").count() == 1  # once, however often the polling fails
    j.page.wait_for_timeout(2500)
    assert status.get_by_role("alert").count() == 1
    j.step("job-unanswered")  # German, axe, no horizontal scroll at 375 px
    j.page.unroute(polled)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.READY, outcome="12 Beschäftigte eingelesen.")
    expect(j.page.locator("#main .job-status[data-status=ready]")).to_contain_text(
        "12 Beschäftigte eingelesen"
    )
    expect(j.page.locator(".htmx-failure")).to_have_count(0)
