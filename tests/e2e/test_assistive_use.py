"""What axe-core cannot see, in Chromium, on the demo data: the portal used with the keyboard alone and as a screen
reader's user meets it. Where the focus goes after a form was sent and when the session is about to end, and
whether a page's title tells it from the other pages of the same kind (a screen reader reads the title first; it
names the browser's tabs).

The demo data is seeded once per module (see tests/e2e/test_journeys.py) and restored before each test."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from partnerships.models import Agreement
from partnerships.network.models import PracticeEntry
from tests.conftest import browser_login
from tests.e2e.test_journeys import demo, demo_snapshot  # noqa: F401 (fixtures)
from trainings.models import Course, CourseDate
from vielfalt.models import Employee, User

pytestmark = pytest.mark.django_db(transaction=True)

FOCUSED = """() => {
  const el = document.activeElement;
  return {tag: el.tagName, inMessages: !!el.closest('main > .messages'), text: el.innerText || '',
          role: (el.querySelector('[role]') || el).getAttribute('role')};
}"""


def login_as(page, live_server, username: str) -> None:
    page.context.clear_cookies()
    browser_login(page, live_server, User.objects.get(username=username))


def test_pages_about_one_thing_say_which_in_their_title(demo, live_server, page):  # noqa: F811
    """WCAG 2.4.2: the enrolment page of every course date was "Beschäftigte anmelden", the edit page of every
    agreement "Partnervereinbarung bearbeiten", of every course date "Termin bearbeiten": in a second tab, in the
    history or read out first by a screen reader, one could not be told from the other. The title now names the
    course and date, the partner, the entry it is about."""
    course = Course.objects.get(title="Interkulturelle Sensibilisierung")
    open_dates = CourseDate.objects.filter(course=course, enrolment_deadline__gt=timezone.now())
    dates = list(open_dates.order_by("starts_at")[:2])
    employees = list(Employee.objects.filter(organisation__slug="duisburg").order_by("pk")[:2])
    agreements = list(Agreement.objects.exclude(status=Agreement.Status.SIGNED).select_related("partner")[:1])
    entries = list(PracticeEntry.objects.order_by("pk")[:2])
    visits = {
        "hr-duisburg": [
            *[
                (
                    f"/trainings/dates/{d.pk}/enrol/",
                    course.title,
                    f"{timezone.localtime(d.starts_at):%d.%m.%Y}",
                )
                for d in dates
            ],
            *[(f"/employees/{e.pk}/", e.last_name, e.first_name) for e in employees],
        ],
        "schulung-oberhausen": [
            *[
                (
                    f"/trainings/dates/{d.pk}/edit/",
                    course.title,
                    f"{timezone.localtime(d.starts_at):%d.%m.%Y}",
                )
                for d in dates
            ],
            (f"/trainings/courses/{course.pk}/edit/", course.title, "Kurs bearbeiten"),
            (f"/trainings/courses/{course.pk}/participants/", course.title, "Kontingente"),
            (f"/trainings/courses/{course.pk}/dates/new/", course.title, "Termin hinzufügen"),
        ],
        "ministerium": [
            *[(f"/partnerships/{a.pk}/edit/", a.partner.name, "bearbeiten") for a in agreements],
            *[(f"/network/practice/{e.pk}/edit/", e.title, "bearbeiten") for e in entries],
        ],
    }
    assert len(dates) == len(employees) == len(entries) == 2 and agreements
    titles = []
    for username, pages in visits.items():
        login_as(page, live_server, username)
        for path, *names in pages:
            response = page.goto(live_server.url + path)
            assert (response.status, page.url) == (200, live_server.url + path)
            title = page.title()
            assert all(name in title for name in names), (path, title, names)
            titles.append(title)
    assert len(set(titles)) == len(titles), titles


def test_the_page_after_a_form_was_sent_takes_the_focus_to_what_the_portal_says_of_it(
    demo,  # noqa: F811 (the fixture imported above)
    live_server,
    page,
):
    """WCAG 4.1.3 and 2.4.3, with the keyboard: HR saves an employee; the list that follows says "saved" at the
    top of its content, but the focus was at the top of the page, where a screen reader began with the header's
    links and never said whether it worked. The message now has the focus (it is read out), and the next Tab goes
    on into the page's content, not back through the header. A page without a message keeps the focus where it
    was, so that its skip link stays the first stop."""
    login_as(page, live_server, "hr-duisburg")
    employee = Employee.objects.filter(organisation__slug="duisburg").order_by("pk").first()
    page.goto(f"{live_server.url}/employees/{employee.pk}/")
    page.locator("main form input[name=first_name]").fill("Zülfiye")
    page.locator("main form input[name=first_name]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/employees/")
    focused = page.evaluate(FOCUSED)
    assert focused["inMessages"], focused
    assert focused["role"] == "status"
    assert "Zülfiye" in focused["text"] or "gespeichert" in focused["text"].lower(), focused
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
    page.reload()  # the message was shown once
    assert page.evaluate("document.activeElement === document.body")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('skip-link')")


def test_the_question_whether_to_stay_logged_in_takes_the_focus_and_gives_it_back(
    demo,  # noqa: F811 (the fixture imported above)
    live_server,
    page,
):
    """WCAG 2.2.1, with the keyboard: after almost 30 minutes without a key pressed the portal asks whether to
    stay logged in (role=alert). A key pressed in the page extends the session by itself, but a screen reader in
    its reading mode sends no keys: its user heard the warning and had to search the whole page for the button,
    after the footer. The button now has the focus; Enter keeps the session, and the focus goes back to the field
    it was in. A session that ends meanwhile takes it to the link that logs in again."""
    login_as(page, live_server, "hr-duisburg")
    page.clock.install()
    page.goto(f"{live_server.url}/employees/new/")
    page.locator("#id_last_name").focus()
    warning = page.locator("#session-warning")
    page.clock.run_for("27:30")
    keep = warning.get_by_role("button", name="Angemeldet bleiben")
    expect(keep).to_be_visible()
    assert warning.get_attribute("role") == "alert"
    assert page.evaluate("document.activeElement.hasAttribute('data-session-keep')")
    with page.expect_response(re.compile(r"/accounts/session/keep-alive/$")) as kept:
        page.keyboard.press("Enter")
    assert kept.value.status == 204
    expect(warning).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "id_last_name"
    page.clock.run_for("27:30")
    expect(keep).to_be_focused()
    page.clock.run_for("03:00")
    expect(warning.get_by_role("link", name="Erneut anmelden")).to_be_focused()


def test_a_table_that_overflows_once_the_window_is_narrowed_is_reached_by_keyboard(
    demo,  # noqa: F811 (the fixture imported above)
    live_server,
    page,
):
    """WCAG 2.1.1 and 1.4.10: a table wider than its box scrolls in it, and the box is a stop of the Tab key, so
    that a keyboard's user can scroll it. That was decided once, when the page loaded: the employee list opened at
    1280 px and then narrowed (a window put beside another, the text zoomed) overflowed its box, which the
    keyboard could not reach, so its right-hand columns could not be read. Widened again, it is no stop."""
    login_as(page, live_server, "hr-duisburg")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/employees/")
    box = page.locator("main .table-responsive").first
    assert box.evaluate("(el) => el.scrollWidth <= el.clientWidth")
    assert box.get_attribute("tabindex") is None
    page.set_viewport_size({"width": 375, "height": 800})
    expect(box).to_have_attribute("tabindex", "0")
    assert box.evaluate("(el) => el.scrollWidth > el.clientWidth")
    assert box.get_attribute("role") == "region"
    box.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("(el) => el.scrollLeft > 0", arg=box.element_handle())
    page.set_viewport_size({"width": 1280, "height": 900})
    page.evaluate("document.activeElement.blur()")
    expect(box).not_to_have_attribute("tabindex", "0")
    assert box.get_attribute("role") is None
