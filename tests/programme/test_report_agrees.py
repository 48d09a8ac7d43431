"""The annual programme report and a partner's activity report print the dashboard's figures for the same year
and scope, and nothing else: every figure of the PDF's text is read back and compared with the dashboard page
(`/dashboard/?year=…`), and every list in the report adds up to the figure printed beside it."""

import datetime
import re
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.db.models.functions import ExtractYear
from django.utils import translation

from partnerships.models import Agreement, AnonymisedProcedure, Commitment
from tests.factories import EmployeeFactory, UserFactory, hr_user
from tests.helpers import pdf_text, triggers_aside
from tests.partnerships.factories import AgreementFactory
from tests.trainings.factories import CourseDateFactory, EnrolmentFactory
from trainings.models import Enrolment
from vielfalt.models import Organisation, Role, TargetGroup
from vielfalt.programme.figures import partner_report_pdf, programme_report_pdf

from .conftest import make_partner

pytestmark = pytest.mark.django_db


class DashboardReader(HTMLParser):
    """The dashboard's figures: key figures (data-figure), chart tables (data-chart/data-key) and the partner
    table's rows (data-organisation/data-key)."""

    def __init__(self):
        super().__init__()
        self.figures: dict[str, str] = {}
        self.charts: dict[str, list[tuple[str, str]]] = {}
        self.rows: dict[str, dict[str, str]] = {}
        self._chart = self._row = self._key = None
        self._label = self._text = ""
        self._in_th = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-figure" in attrs:
            self._key, self._text = ("figure", attrs["data-figure"]), ""
        if tag == "table" and "data-chart" in attrs:
            self._chart = attrs["data-chart"]
            self.charts[self._chart] = []
        if tag == "tr" and "data-organisation" in attrs:
            self._row = attrs["data-organisation"]
            self.rows[self._row] = {}
        if tag == "th" and self._chart:
            self._in_th, self._label = True, ""
        if tag == "td" and "data-key" in attrs and (self._chart or self._row):
            self._key, self._text = ("cell", attrs["data-key"]), ""

    def handle_data(self, data):
        if self._key:
            self._text += data
        if self._in_th:
            self._label += data

    def handle_endtag(self, tag):
        if tag == "th":
            self._in_th = False
        if self._key and tag in ("span", "td"):
            kind, key = self._key
            value = " ".join(self._text.split())
            if kind == "figure":
                self.figures.setdefault(key, value)
            elif self._chart:
                self.charts[self._chart].append(
                    (" ".join(self._label.split()), value) if key != "total" else ("Total", value)
                )
            else:
                self.rows[self._row][key] = value
            self._key = None
        if tag == "table":
            self._chart = None
        if tag == "tr" and self._row:
            self._row = None


def dashboard(client, user, year: int) -> DashboardReader:
    client.force_login(user)
    response = client.get(f"/dashboard/?year={year}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    reader = DashboardReader()
    reader.feed(response.content.decode())
    assert reader.figures and reader.charts
    return reader


def flat(pdf: bytes) -> str:
    return " ".join(pdf_text(pdf).split())


def figure(text: str, label: str) -> str:
    """The value printed after `label` in a figure list."""
    match = re.search(re.escape(label) + r" (\d+|–|suppressed|\d+\.\d %)(?= )", text)
    assert match, label
    return match.group(1)


def assert_partner_page(text: str, row: dict, organisation: Organisation, year: int):
    """A partner's page: its figures are the dashboard's row; its lists add up to them."""
    trained = sum(int(value) for key, value in row.items() if key.startswith("trained-"))
    assert figure(text, "Employees trained") == str(trained)
    assert figure(text, "Survey respondents") == row["respondents"]
    assert figure(text, "Anonymised procedures") == row["procedures"]
    assert figure(text, "Posts filled through anonymised procedures") == row["posts_filled"]
    # The agreement shown is one the year knows: not signed after it.
    signed = re.search(
        r"Agreement .*?\((?:[^()]*), (\d{4})-(\d\d)-(\d\d)\)", text[: text.index("Employees trained")]
    )
    if signed:
        assert int(signed.group(1)) <= year
    # Trained per target group, in the dashboard's order.
    groups = " ".join(row[f"trained-{group}"] for group in TargetGroup.values)
    assert (
        f"Employees trained per target group {' '.join(str(label) for label in TargetGroup.labels)} {groups}"
        in text
    )
    # Commitments: as many of each progress as the dashboard counts.
    commitments = text[text.index("Commitments Field of action") : text.index(f"Courses in {year}")]
    with translation.override("en"):
        progress_labels = {str(label): value for value, label in Commitment.Progress.choices}
    for label, value in progress_labels.items():
        assert len(re.findall(rf"(?<= ){re.escape(label)}(?= |$)", commitments)) == int(row[value]), label
    # The year's procedures add up to the figures beside them.
    procedures = text[text.index(f"Anonymised procedures in {year}") :]
    listed = re.findall(r"(\d{4})-(\d\d)-(\d\d) [^\d]+? (\d+) (\d+) (\d+)(?= |$)", procedures)
    assert len(listed) == int(row["procedures"])
    assert {int(date_year) for date_year, _m, _d, *_ in listed} <= {year}
    assert sum(int(filled) for *_, filled in listed) == int(row["posts_filled"])
    if not listed:
        assert "No anonymised procedures in this year." in procedures
    else:
        assert "No anonymised procedures in this year." not in procedures


def assert_programme_report_agrees(client, ministry_staff, year: int):
    shown = dashboard(client, ministry_staff, year)
    with translation.override("en"):
        text = flat(programme_report_pdf(year=year))
    assert re.search(rf"Figures of 1 January {year} to \d+ \w+ {year} only", text)
    summary = text[: text.index("Partners by kind")]
    assert figure(summary, "Partners") == shown.figures["partners"]
    assert figure(summary, "Employees trained") == shown.figures["trained"]
    assert figure(summary, "Survey respondents") == shown.figures["respondents"]
    assert figure(summary, "With a migration background") == shown.figures["migration"]
    assert figure(summary, "Posts filled through anonymised procedures") == shown.figures["posts_filled"]
    procedures = sum(int(row["procedures"]) for row in shown.rows.values())
    assert figure(summary, "Anonymised procedures") == str(procedures)
    # Every chart's table, in full, with the dashboard's values and total.
    for key, cells in shown.charts.items():
        printed = " ".join(f"{label} {value}" for label, value in cells)
        if len(cells) == 1:  # only the total: the chart has no bars
            printed = f"No data yet. {printed}"
        assert f"Group Count {printed}" in text, (key, printed)
        total = sum(int(value) for label, value in cells if label != "Total")
        assert cells[-1] == ("Total", str(total))
    posts = sum(int(value) for label, value in shown.charts["posts"] if label != "Total")
    assert str(posts) == shown.figures["posts_filled"]
    # Every partner's page agrees with its row of the dashboard.
    organisations = Organisation.objects.in_bulk(shown.rows, field_name="slug")
    names = [organisations[slug].name for slug in shown.rows]
    for index, slug in enumerate(shown.rows):
        begin = text.index(f"{names[index]} Agreement ")
        end = text.index(f"{names[index + 1]} Agreement ") if index + 1 < len(names) else len(text)
        assert_partner_page(text[begin:end], shown.rows[slug], organisations[slug], year)
    return shown


def assert_partner_report_agrees(client, organisation: Organisation, year: int):
    shown = dashboard(client, hr_user(organisation, username=f"hr-{organisation.slug}-{year}"), year)
    with translation.override("en"):
        text = flat(partner_report_pdf(organisation=organisation, year=year))
    if organisation.slug not in shown.rows:
        assert (
            f"In {year}, {organisation.name} had no partnership agreement in force or in preparation" in text
        )
        return
    assert_partner_page(text[text.index("Agreement ") :], shown.rows[organisation.slug], organisation, year)


def test_the_reports_agree_with_the_dashboard_for_a_factory_data_set(client, partners):
    ministry = Organisation.objects.get(kind=Organisation.Kind.STATE_MINISTRY)
    staff = UserFactory(roles=[(ministry, Role.MINISTRY)], username="ministerium")
    first, second = partners
    # What happened after 2014 is not in 2014's report: a procedure of another method, an agreement signed
    # later (its partner is not a partner yet) ...
    AnonymisedProcedure.objects.create(
        organisation=first,
        post="Später",
        held_on=datetime.date(2015, 2, 1),
        method=AnonymisedProcedure.Method.REDACTED_COPIES,
        applications=40,
        invited=15,
        posts_filled=12,
    )
    later = make_partner(3, posts=(8,))
    with triggers_aside():  # signed later than make_partner signs
        Agreement.objects.filter(partner=later).update(
            signed_on=datetime.date(2015, 1, 15), valid_from=datetime.date(2015, 1, 15)
        )
    AnonymisedProcedure.objects.filter(organisation=later).update(held_on=datetime.date(2015, 3, 1))
    # ... nor what happened before it: a course of 2013 (one of 2014 counts).
    for starts_at, count in (
        (datetime.datetime(2013, 5, 1, 9, tzinfo=datetime.UTC), 2),
        (datetime.datetime(2014, 5, 1, 9, tzinfo=datetime.UTC), 3),
    ):
        course_date = CourseDateFactory(starts_at=starts_at)
        for _ in range(count):
            EnrolmentFactory(
                course_date=course_date,
                employee=EmployeeFactory(organisation=second, target_group=TargetGroup.MANAGER),
                attendance=Enrolment.Attendance.ATTENDED,
            )
    AgreementFactory(partner=second, title="Entwurf")  # a draft beside the signed agreement

    shown = assert_programme_report_agrees(client, staff, 2014)
    assert set(shown.rows) == {"partner-1", "partner-2"}
    assert shown.figures["posts_filled"] == "12"
    assert shown.rows["partner-2"]["trained-manager"] == "3"
    shown = assert_programme_report_agrees(client, staff, 2015)
    assert shown.figures["posts_filled"] == "20"
    for organisation in (first, second, later):
        for year in (2014, 2015):
            assert_partner_report_agrees(client, organisation, year)


def test_the_reports_agree_with_the_dashboard_for_the_demo_data(client, settings):
    settings.DEBUG = True
    call_command("seed_demo", password="demo-password-1")
    ministry = Organisation.objects.get(kind=Organisation.Kind.STATE_MINISTRY)
    staff = UserFactory(roles=[(ministry, Role.MINISTRY)], username="report-check")
    years = set(
        AnonymisedProcedure.objects.annotate(y=ExtractYear("held_on")).values_list("y", flat=True)
    ) | set(
        Agreement.objects.filter(signed_on__isnull=False)
        .annotate(y=ExtractYear("signed_on"))
        .values_list("y", flat=True)
    )
    assert years
    duisburg = Organisation.objects.get(slug="duisburg")
    for year in sorted(years):
        assert_programme_report_agrees(client, staff, year)
        assert_partner_report_agrees(client, duisburg, year)
