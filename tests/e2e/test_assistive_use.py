"""What axe-core cannot see, in Chromium, on the demo data: the portal used with the keyboard alone and as a screen
reader's user meets it. Whether a page's title tells it from the other pages of the same kind (a screen reader reads the title first; it names the browser's tabs).

The demo data is seeded once per module (see tests/e2e/test_journeys.py) and restored before each test."""

import pytest
from django.utils import timezone

from partnerships.models import Agreement
from partnerships.network.models import PracticeEntry
from tests.conftest import browser_login
from tests.e2e.test_journeys import demo, demo_snapshot  # noqa: F401 (fixtures)
from trainings.models import Course, CourseDate
from vielfalt.models import Employee, User

pytestmark = pytest.mark.django_db(transaction=True)


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
