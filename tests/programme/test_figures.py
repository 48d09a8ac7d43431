"""The figures of the programme overview against counts computed independently here."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from partnerships.models import Agreement, AnonymisedProcedure, Commitment, ProgressReport
from tests.factories import OrganisationFactory
from tests.partnerships.factories import AgreementFactory, CommitmentFactory
from tests.programme.conftest import SIGNED_ON, closed_campaign
from trainings.models import Enrolment
from vielfalt.models import Employee, TargetGroup
from vielfalt.programme.figures import programme

pytestmark = pytest.mark.django_db


def attended_per_group(organisation_ids=None):
    employees = Employee.objects.filter(
        enrolments__status=Enrolment.Status.SEATED, enrolments__attendance=Enrolment.Attendance.ATTENDED
    )
    if organisation_ids is not None:
        employees = employees.filter(organisation_id__in=organisation_ids)
    return {group: employees.filter(target_group=group).distinct().count() for group in TargetGroup.values}


def test_programme_figures_equal_independent_counts(partners):
    overview = programme()
    assert overview.partner_count == 2
    assert {bar.key: bar.value for bar in overview.charts["kind"].bars} == {"city": 1, "company": 1}
    assert {bar.key: bar.value for bar in overview.charts["district"].bars} == {"duesseldorf": 1, "koeln": 1}
    assert {bar.key: bar.value for bar in overview.charts["status"].bars}["signed"] == 2
    assert {bar.key: bar.value for bar in overview.charts["year"].bars} == {"2013": 2}
    assert {bar.key: bar.value for bar in overview.charts["trained"].bars} == attended_per_group()
    assert (
        overview.procedures["posts_filled"]
        == AnonymisedProcedure.objects.aggregate(n=Sum("posts_filled"))["n"]
    )
    assert overview.procedures["procedures"] == AnonymisedProcedure.objects.count()
    assert overview.charts["progress"].total == Commitment.objects.count()


def test_self_filling_indicators_and_progress(partners):
    overview = programme()
    by_partner = {}
    for figure in overview.commitments:
        by_partner.setdefault(figure.commitment.agreement.partner.slug, []).append(figure)
    first = by_partner["partner-1"]
    # Two public-facing employees attended: the target of 2 is reached.
    assert (first[0].computed, first[0].progress) == (Decimal(2), Commitment.Progress.DONE)
    # Seven posts filled, 100 due by 2015: behind.
    assert (first[1].computed, first[1].progress) == (Decimal(7), Commitment.Progress.BEHIND)
    # Without a source: no computed value, progress from reports only.
    assert (first[2].computed, first[2].progress) == (None, Commitment.Progress.ON_TRACK)
    second = by_partner["partner-2"]
    assert second[0].computed == Decimal(3)
    assert second[1].computed == Decimal(5)


def test_survey_shares_are_suppressed_under_k(partners):
    rows = {row.organisation.slug: row for row in programme().partners}
    assert rows["partner-1"].survey.respondents == 20
    assert rows["partner-1"].survey.migration_share == 30.0
    # Two of 22 stated a migration background: fewer than k, so the share is not published.
    assert rows["partner-2"].survey.respondents == 22
    assert rows["partner-2"].survey.migration_share is None
    # The programme's share counts only the partners whose share is published: over every partner (8 of 42),
    # it told beside partner-1's 30 % of 20 (6) that 2 of partner-2's respondents have a migration background.
    overall = programme().survey_overall
    assert (overall.respondents, overall.migration_share) == (42, 30.0)


def test_hr_scope_shows_only_its_organisation(partners):
    own = partners[0]
    overview = programme(organisation_ids=frozenset([own.pk]))
    assert [row.organisation for row in overview.partners] == [own]
    assert {bar.key: bar.value for bar in overview.charts["trained"].bars} == attended_per_group([own.pk])
    assert overview.procedures["posts_filled"] == 7
    assert {f.commitment.agreement.partner_id for f in overview.commitments} == {own.pk}


def test_a_year_counts_only_the_procedures_held_in_it(partners):
    AnonymisedProcedure.objects.create(
        organisation=partners[0],
        post="Später",
        held_on=datetime.date(2016, 2, 1),
        method=AnonymisedProcedure.Method.REDACTED_COPIES,
        applications=10,
        invited=5,
        posts_filled=2,
    )
    assert programme(year=2014).procedures["posts_filled"] == 12
    assert programme(year=2016).procedures["posts_filled"] == 2
    assert programme(year=2015).procedures["posts_filled"] == 0
    assert programme(year=2013).procedures["posts_filled"] == 0


def progress_by_partner(overview) -> dict[str, dict]:
    return {row.organisation.slug: row.progress for row in overview.partners}


@pytest.mark.parametrize("year", [None, 2013, 2014, 2016, 2025])
def test_dashboard_progress_counted_in_sql_equals_each_commitments_progress(partners, year):
    """The dashboard counts the commitments' progress in the database (a row per partner and state); the
    commitment list and the reports compute each commitment's progress in Python. Every branch of
    `commitment_progress` gives the same state both ways: reached by a report or a computed value, without a
    due date, overdue, lagging more or less than a year's grace, a survey source with and without a share."""
    sources = Commitment.IndicatorSource
    for index, survey in ((3, (6, 14)), (4, None)):  # partner 4: no figures of its own
        partner = OrganisationFactory(slug=f"partner-{index}", name=f"Partner {index:03d}")
        if survey:
            closed_campaign(partner, yes=survey[0], no=survey[1])
        agreement = AgreementFactory(partner=partner, signed_on=SIGNED_ON, valid_from=SIGNED_ON)
        lagging = CommitmentFactory(agreement=agreement, target_value=100, due_on=datetime.date(2019, 3, 7))
        ProgressReport.objects.create(
            commitment=lagging, reported_on=datetime.date(2014, 1, 1), value_reached=90
        )
        ProgressReport.objects.create(
            commitment=lagging, reported_on=datetime.date(2015, 1, 1), value_reached=48
        )
        reached = CommitmentFactory(agreement=agreement, target_value=5, due_on=datetime.date(2030, 1, 1))
        ProgressReport.objects.create(
            commitment=reached, reported_on=datetime.date(2014, 1, 1), value_reached=5
        )
        for source in sources.values:
            CommitmentFactory(
                agreement=agreement,
                indicator_source=source,
                target_value=20,
                due_on=datetime.date(2017, 1, 1),
            )
            CommitmentFactory(
                agreement=agreement, indicator_source=source, target_value=1, due_on=datetime.date(2040, 1, 1)
            )
        Agreement.objects.filter(pk=agreement.pk).update(status=Agreement.Status.SIGNED)

    dashboard = programme(year=year, details=False)
    reports = programme(year=year)
    assert progress_by_partner(dashboard) == progress_by_partner(reports)
    assert [bar.value for bar in dashboard.charts["progress"].bars] == [
        bar.value for bar in reports.charts["progress"].bars
    ]
    counted = {}
    for figure in reports.commitments:
        counted[figure.progress] = counted.get(figure.progress, 0) + 1
    assert {bar.key: bar.value for bar in dashboard.charts["progress"].bars if bar.value} == counted


def test_the_dashboards_cached_partners_are_plain_values_with_the_programmes_figures(partners):
    """The dashboard reads its figures from the cache on every visit: its partners are plain tuples (cheap to
    unpickle), with the same figures as the programme's PartnerRows."""
    import pickle

    from vielfalt.programme.figures import DashboardPartner, dashboard_programme

    plain = dashboard_programme().partners
    assert all(type(row) is tuple for row in plain)

    def builtin(value) -> bool:
        if isinstance(value, dict):
            return all(builtin(key) and builtin(item) for key, item in value.items())
        return value is None or type(value) in (int, float, str, tuple)

    assert all(builtin(value) for row in plain for value in row)
    assert b"vielfalt" not in pickle.dumps(plain)  # no class of the portal's in the cached value
    rows = {row.organisation.slug: row for row in programme().partners}
    for row in map(DashboardPartner._make, plain):
        full = rows[row.slug]
        assert (row.pk, row.name, row.progress, row.trained, row.trained_share) == (
            full.organisation.pk,
            full.organisation.name,
            full.progress,
            full.trained,
            full.trained_share,
        )
        assert (row.respondents, row.migration_share) == (
            full.survey.respondents,
            full.survey.migration_share,
        )
        assert (row.procedures, row.posts_filled) == (full.procedures, full.posts_filled)


def test_a_charts_rows_keep_whole_labels_scale_bars_to_the_longest_and_escape_links():
    from vielfalt.programme.figures import Bar, Chart

    long_label = "Bezirksregierung Düsseldorf & Umgebung <Nord>"
    chart = Chart(
        "district",
        "Partner",
        [Bar("a", "Köln", 3, '/partnerships/?partner_district=koeln&x="1"'), Bar("b", long_label, 1000)],
    )
    assert chart.bar_rows == [("Köln", "0.3", "3"), (long_label, "100.0", "1000")]
    assert Chart("kind", "Partner", [Bar("a", "Stadt", 0)]).bar_rows == [("Stadt", "0.0", "0")]
    assert (
        chart.table_rows[0][0]
        == '<a href="/partnerships/?partner_district=koeln&amp;x=&quot;1&quot;">Köln</a>'
    )
    assert chart.table_rows[1][0] == long_label  # unlinked: escaped by the table's {% rowformat %}
    assert [row[2] for row in chart.table_rows] == ["3", "1000"]
