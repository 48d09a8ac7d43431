"""The dashboard pages: who sees what, figures on the page, constant query count, reports as jobs."""

import datetime
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from tests.factories import OrganisationFactory, UserFactory, hr_user
from vielfalt.models import Job, Organisation, TargetGroup
from vielfalt.programme.figures import partner_report_pdf, programme, programme_report_pdf

from .conftest import make_partner

pytestmark = pytest.mark.django_db


def cell(html: str, organisation: str, key: str) -> str:
    row = re.search(rf'<tr data-organisation="{organisation}">(.*?)</tr>', html, re.S).group(1)
    return re.search(rf'data-key="{key}">(?:<a [^>]*>)?([^<]*)<', row).group(1).strip()


def figure(html: str, key: str) -> str:
    return re.search(rf'data-figure="{key}">(?:<a [^>]*>)?([^<]*)<', html).group(1).strip()


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302


def test_other_roles_are_refused(client, partners):
    organiser = UserFactory(roles=[(partners[0], "organiser")])
    client.force_login(organiser)
    assert client.get(reverse("dashboard")).status_code == 403


def test_ministry_sees_every_partner_with_figures(client, staff, partners):
    client.force_login(staff)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    html = response.text
    overview = programme()
    assert figure(html, "partners") == "2"
    assert figure(html, "posts_filled") == str(overview.procedures["posts_filled"])
    assert figure(html, "trained") == str(sum(overview.trained_by_group.values()))
    assert cell(html, "partner-1", "posts_filled") == "7"
    assert cell(html, "partner-2", "posts_filled") == "5"
    assert cell(html, "partner-1", f"trained-{TargetGroup.PUBLIC_FACING}") == "2"
    assert cell(html, "partner-2", "respondents") == "22"
    # Each figure links to its detail list.
    assert reverse("partnerships:procedure_list") in html
    assert f"{reverse('dashboard_commitments')}?progress=behind" in html


def test_key_figures_are_grouped_as_the_reader_writes_numbers(client, staff, ministry):
    """A programme of thousands read "100000" and "500012" on the cards and in the annual report: now with the
    language's thousands separator, as the lists' counts already were."""
    from partnerships.models import AnonymisedProcedure

    partner = make_partner(1, posts=())
    AnonymisedProcedure.objects.create(
        organisation=partner,
        post="Stelle",
        held_on=datetime.date(2014, 6, 1),
        method=AnonymisedProcedure.Method.STANDARD_FORM,
        applications=90_000,
        invited=20_000,
        posts_filled=12_345,
    )
    client.force_login(staff)
    html = client.get(reverse("dashboard")).text
    assert figure(html, "posts_filled") == "12.345"
    text = "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(programme_report_pdf(year=2014))).pages
    )
    assert "12.345" in text


def test_the_partner_table_escapes_names_and_links_them_percent_encoded(client, staff, partners):
    Organisation.objects.filter(pk=partners[0].pk).update(name="Stadt \"<Köln> & Söhne'")
    client.force_login(staff)
    html = client.get(reverse("dashboard")).text
    row = re.search(r'<tr data-organisation="partner-1">(.*?)</tr>', html, re.S).group(1)
    assert '<th scope="row" class="fw-normal">Stadt &quot;&lt;Köln&gt; &amp; Söhne&#x27;</th>' in row
    assert (
        f'<a href="{reverse("partnerships:index")}?q=Stadt%20%22%3CK%C3%B6ln%3E%20%26%20S%C3%B6hne%27">'
        in row
    )
    assert "<Köln>" not in html


def test_district_bars_link_to_the_filtered_agreement_list(client, staff, partners):
    client.force_login(staff)
    bar = next(b for b in programme().charts["district"].bars if b.key == "koeln")
    assert bar.url in client.get(reverse("dashboard")).text.replace("&amp;", "&")
    listed = client.get(bar.url).context["object_list"]
    assert [row["partner_name"] for row in listed] == [partners[1].name]  # the list's rows are dictionaries


def test_hr_sees_only_its_own_organisation(client, hr_first, partners):
    client.force_login(hr_first)
    html = client.get(reverse("dashboard")).text
    assert 'data-organisation="partner-1"' in html
    assert 'data-organisation="partner-2"' not in html
    assert "Partner 002" not in html
    assert figure(html, "posts_filled") == "7"
    assert 'data-report="programme"' not in html


def test_commitment_list_filters_by_progress(client, staff, partners):
    client.force_login(staff)
    response = client.get(reverse("dashboard_commitments"), {"progress": "behind"})
    assert response.status_code == 200
    assert {f.progress for f in response.context["figures"]} == {"behind"}
    assert len(response.context["figures"]) == 2


def test_commitment_list_of_one_agreement_shows_computed_values(client, hr_first, partners):
    agreement = partners[0].agreements.get()
    client.force_login(hr_first)
    detail = client.get(agreement.get_absolute_url()).text
    url = f"{reverse('dashboard_commitments')}?agreement={agreement.pk}"
    assert url in detail
    figures = client.get(url).context["figures"]
    assert [figure.computed for figure in figures] == [2, 7, None]


def count_queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("url_name", ["dashboard", "dashboard_commitments"])
def test_constant_query_count_from_1_to_50_partners(client, staff, ministry, url_name, settings):
    settings.PROGRAMME_FIGURES_CACHE_SECONDS = 0  # the figures computed, not read from the cache
    make_partner(0, survey=(5, 5))
    client.force_login(staff)
    url = reverse(url_name)
    with_one = count_queries(client, url)
    for index in range(1, 50):
        make_partner(index, survey=(5, 5) if index % 10 == 0 else None, trained=(0, 1, 0, 0), posts=(1,))
    assert count_queries(client, url) == with_one


@pytest.mark.parametrize("kind", ["programme", "partner"])
def test_reports_build_with_a_constant_query_count(ministry, kind):
    first = make_partner(0, survey=(5, 5))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            if kind == "programme":
                programme_report_pdf(year=2014)
            else:
                partner_report_pdf(organisation=first, year=2014)
        return len(captured)

    with_one = queries()
    for index in range(1, 50):
        make_partner(index, survey=(5, 5) if index % 10 == 0 else None, trained=(0, 1, 0, 0), posts=(1, 2))
    assert queries() == with_one


def pdf_text(job: Job) -> str:
    with job.result_file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_programme_report_reads_back_with_the_dashboards_figures(
    client, staff, partners, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("dashboard_report"), {"kind": "programme", "year": "2014"}, HTTP_ACCEPT_LANGUAGE="en"
        )
    job = Job.objects.get()
    assert response.url == job.get_absolute_url()
    job.refresh_from_db()
    assert job.status == Job.Status.READY
    text = pdf_text(job)
    overview = programme(year=2014)
    assert "Partner 001" in text and "Partner 002" in text
    assert "Stelle 0" in text
    assert f"Partners {overview.partner_count} " in text
    assert f"Posts filled through anonymised procedures {overview.procedures['posts_filled']} " in text
    assert f"Survey respondents {overview.survey_overall.respondents} " in text
    behind = overview.charts["progress"].bars[1]
    assert (behind.key, f"{behind.label} {behind.value}" in text) == ("behind", True)


@pytest.mark.parametrize("year", ["²", "٢٠١٤", "２０１４", "0", "99999999999999999999", ""])
def test_a_report_for_a_year_that_is_none_of_the_programme_is_not_found(client, staff, partners, year):
    """ "²" is a digit to str.isdigit() but not to int(): the report's form answered it with a server error."""
    client.force_login(staff)
    assert client.post(reverse("dashboard_report"), {"kind": "programme", "year": year}).status_code == 404
    assert not Job.objects.exists()


def test_partner_report_for_hr_own_organisation_only(
    client, hr_first, partners, django_capture_on_commit_callbacks
):
    client.force_login(hr_first)
    other = client.post(
        reverse("dashboard_report"), {"kind": "partner", "organisation": partners[1].pk, "year": "2014"}
    )
    assert other.status_code == 404
    assert client.post(reverse("dashboard_report"), {"kind": "programme", "year": "2014"}).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("dashboard_report"), {"kind": "partner", "organisation": partners[0].pk, "year": "2014"}
        )
    job = Job.objects.get()
    job.refresh_from_db()
    assert job.status == Job.Status.READY
    text = pdf_text(job)
    assert "Partner 001" in text
    assert "Partner 002" not in text
    assert "Stelle 1" in text


def test_hr_of_an_organisation_without_agreement_sees_an_empty_overview(client, ministry):
    lonely = OrganisationFactory(slug="ohne", name="Ohne Vereinbarung", kind=Organisation.Kind.CITY)
    client.force_login(hr_user(lonely))
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.context["programme"].partners == []


def test_partner_report_lists_the_years_courses_with_attendance(partners):
    from django.utils import timezone, translation

    from trainings.models import CourseDate

    year = timezone.localdate().year
    with translation.override("en"):
        content = partner_report_pdf(organisation=partners[0], year=year)
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages)
    course_date = (
        CourseDate.objects.filter(enrolments__organisation=partners[0]).select_related("course").first()
    )
    row = programme(organisation_ids=frozenset([partners[0].pk]), year=year).partners[0]
    assert f"{course_date.course.title} " in text
    assert f"Employees trained {row.trained_total} " in text
    assert f"Posts filled through anonymised procedures {row.posts_filled}" in text
