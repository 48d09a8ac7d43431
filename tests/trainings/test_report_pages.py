"""The training report a page at a time: each of its two tables (org units, course dates) has its own pages,
whose links keep the other table's page, and together the pages hold every row the export holds, in order.
The ministry's report held 2,030 unit rows and 5,000 dates in one page of 1.4 MB at full scale."""

import re

import pytest
from django.urls import reverse

from tests.factories import EmployeeFactory, OrgUnitFactory, ministry_user
from tests.trainings.factories import CourseDateFactory
from trainings.selectors import report_by_date, report_by_unit
from trainings.views import ReportView

pytestmark = pytest.mark.django_db
NEXT = re.compile(r'<a class="page-link" href="\?([^"]*)">Weiter</a>')


@pytest.fixture
def report(course, duisburg, oberhausen, monkeypatch):
    for organisation in (duisburg, oberhausen):
        for name in ("Amt A", "Amt B", "Amt C"):
            EmployeeFactory(
                organisation=organisation, org_unit=OrgUnitFactory(organisation=organisation, name=name)
            )
    EmployeeFactory(organisation=duisburg, org_unit=None)
    for _ in range(5):
        CourseDateFactory(course=course)
    monkeypatch.setattr(ReportView, "UNITS_PER_PAGE", 2, raising=False)
    monkeypatch.setattr(ReportView, "DATES_PER_PAGE", 2, raising=False)


def _table(page: str, table: str) -> str:
    """The part of the report from a table's heading to the next table's (its rows and its pages)."""
    units, _sep, dates = page.partition('id="dates"')
    return units.partition('id="units"')[2] if table == "units" else dates


def _every_page(client, table: str, start: str) -> tuple[list, list[str]]:
    """The rows of every page of one table, following its "Weiter" links from `start`, and the links."""
    query, rows, links = start, [], []
    while query is not None:
        response = client.get(f"{reverse('trainings:report')}?{query}", HTTP_ACCEPT_LANGUAGE="de")
        assert response.status_code == 200
        rows += response.context[table]
        following = NEXT.search(_table(response.text, table))
        query = following and following.group(1).replace("&amp;", "&")
        if query is not None:
            links.append(query)
    return rows, links


def test_each_table_of_the_report_has_its_own_pages_that_hold_every_row(client, report):
    ministry = ministry_user()
    client.force_login(ministry)
    units, unit_links = _every_page(client, "units", "dates_page=2")
    assert units == report_by_unit(ministry) and len(units) == 7  # 3 units each, and Duisburg's none
    assert unit_links == [
        "dates_page=2&page=2#units",
        "dates_page=2&page=3#units",
        "dates_page=2&page=4#units",
    ]
    dates, date_links = _every_page(client, "dates", "page=3")
    assert [d["pk"] for d in dates] == list(report_by_date(ministry).values_list("pk", flat=True))
    assert len(dates) == 5
    assert date_links == ["page=3&dates_page=2#dates", "page=3&dates_page=3#dates"]
    page = client.get(reverse("trainings:report"), HTTP_ACCEPT_LANGUAGE="de").text
    assert "Seite 1 von 4" in _table(page, "units") and "Seite 1 von 3" in _table(page, "dates")
    assert 'aria-label="Seiten der Tabelle der Organisationseinheiten"' in page


@pytest.mark.parametrize(("number", "expected"), [("99", 4), ("0", 4), ("x", 1), ("", 1)])
def test_a_page_past_the_end_shows_the_last_and_no_number_the_first(client, report, number, expected):
    ministry = ministry_user()
    client.force_login(ministry)
    response = client.get(reverse("trainings:report"), {"page": number, "dates_page": number})
    assert response.context["units_page"].number == expected
    first = (expected - 1) * 2
    assert response.context["units"] == report_by_unit(ministry)[first : first + 2]
    assert response.context["dates_page"].number == {4: 3, 1: 1}[expected]


def test_hr_pages_through_its_own_organisations_units(client, report, hr_duisburg):
    client.force_login(hr_duisburg)
    units, _links = _every_page(client, "units", "")
    assert units == report_by_unit(hr_duisburg)
    assert len(units) == 4 and {row["organisation"] for row in units} == {"Stadt Duisburg"}
