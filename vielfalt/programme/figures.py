"""The programme overview: figures across partnerships, trainings and surveys, read through aggregate queries.

Every figure is computed with a fixed number of queries however many partners there are (grouped by
organisation in the database), so the dashboard and the reports keep their speed as the programme grows.
`organisation_ids=None` means the whole programme (the ministry); partner HR passes its own organisations.
`year` gives the figures of that year alone, for the dashboard and the reports alike: courses that began in it,
procedures held in it, surveys closed in it, agreements signed in it or in force during it (and their
commitments, assessed at its end). Without a year: everything up to today.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple
from urllib.parse import urlencode

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import ExtractYear
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from partnerships.models import (
    Agreement,
    AnonymisedProcedure,
    Commitment,
    ProgressReport,
    StatusChange,
    commitment_progress,
)
from partnerships.triggers import FROZEN
from surveys.models import Campaign
from surveys.results import PROGRAMME_K, latest_counted
from trainings.models import Enrolment
from trainings.selectors import course_in_period, trained_by_target_group, training_by_organisation
from vielfalt.collation import NAMES_SQL, text_order
from vielfalt.formats import escape_text
from vielfalt.generation import cached_figures
from vielfalt.models import Organisation, Role, TargetGroup


@dataclass
class Bar:
    key: str
    label: str
    value: int
    url: str = ""


@dataclass
class Chart:
    key: str
    title: str
    bars: list[Bar]

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)

    # The bars as rows for {% rowformat %} in dashboard/_chart.html, each value as the template would write it
    # (the dashboard shows seven charts: through the template's loops they took a quarter of its time). A link
    # is written directly: format_html cost 9 µs a bar, more than the rest of a bar's row.

    @property
    def bar_rows(self) -> list[tuple]:
        """(label, bar width in per cent of the longest, value) per bar. The label whole: it is HTML text
        beside the bar, which wraps on a narrow screen (an SVG's text shrank with the chart, and was cut)."""
        largest = max((bar.value for bar in self.bars), default=0) or 1
        return [(bar.label, f"{100 * bar.value / largest:.1f}", localize(bar.value)) for bar in self.bars]

    @property
    def table_rows(self) -> list[tuple]:
        """(label, linked to its list where there is one; key, value) per bar."""
        return [
            (
                mark_safe(f'<a href="{escape_text(bar.url)}">{escape_text(bar.label)}</a>')  # noqa: S308 (escaped)
                if bar.url
                else bar.label,
                bar.key,
                localize(bar.value),
            )
            for bar in self.bars
        ]

    @property
    def table_rows_unlinked(self) -> list[tuple]:
        """As table_rows, without links (the PDF report)."""
        return [(bar.label, bar.key, localize(bar.value)) for bar in self.bars]


@dataclass
class SurveyFigure:
    respondents: int
    migration_share: float | None  # None: suppressed (fewer than k with or without)
    campaign_id: int | None = None
    migration_yes: int = 0  # respondents with a migration background (for the programme's sum)


@dataclass
class PartnerRow:
    organisation: Organisation
    agreement: Agreement | None = None  # the newest of the period's agreements
    agreement_status: str = ""
    agreement_status_label: str = ""
    progress: dict = field(default_factory=dict)
    trained: dict = field(default_factory=dict)
    employees: int = 0
    trained_total: int = 0
    survey: SurveyFigure | None = None
    procedures: int = 0
    applications: int = 0
    posts_filled: int = 0

    @property
    def trained_share(self) -> float | None:
        return round(100 * self.trained_total / self.employees, 1) if self.employees else None


@dataclass
class CommitmentFigure:
    commitment: Commitment
    progress: str
    computed: Decimal | None  # the value the portal computed, if the commitment has a source

    @property
    def progress_label(self) -> str:
        return str(Commitment.Progress(self.progress).label)


@dataclass
class Programme:
    year: int | None
    as_of: date
    start: date | None
    charts: dict[str, Chart]
    partners: list[PartnerRow]
    commitments: list[CommitmentFigure]
    trained_by_group: dict[str, int]
    survey_overall: SurveyFigure
    procedures: dict
    # The values the portal computes for the commitments' indicator sources, as `computed_indicators` writes
    # them for SQL (without `details`, on PostgreSQL): what `commitment_rows` computes each progress from.
    indicators: str = ""

    @property
    def partner_count(self) -> int:
        return len(self.partners)


def dashboard_organisation_ids(user) -> frozenset[int] | None:
    """None for the ministry (everything), the HR organisations otherwise."""
    from vielfalt.permissions import organisation_ids

    return organisation_ids(user, (Role.MINISTRY, Role.HR))


def _url(name: str, **query) -> str:
    query = {key: value for key, value in query.items() if value not in (None, "")}
    return reverse(name) + (f"?{urlencode(query)}" if query else "")


def _end_of(year: int | None) -> date:
    today = timezone.localdate()
    return min(today, date(year, 12, 31)) if year else today


def _start_of(year: int | None) -> date | None:
    return date(year, 1, 1) if year else None


def _midnight_after(day: date) -> datetime:
    """The first moment after `day` (local time): what happened before it happened by the end of `day`."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _in_period(field_name: str, start: date | None, as_of: date) -> Q:
    """`field_name` (a date) within the year's period, or up to `as_of` without a year."""
    condition = Q(**{f"{field_name}__lte": as_of})
    return condition & Q(**{f"{field_name}__gte": start}) if start else condition


def _scoped(queryset, organisation_ids, field_name="organisation_id"):
    return (
        queryset if organisation_ids is None else queryset.filter(**{f"{field_name}__in": organisation_ids})
    )


def _surveys_by_partner(organisation_ids, as_of, start=None) -> dict[int, SurveyFigure]:
    """Each organisation's latest campaign closed by `as_of` that reached its k; the share with a migration
    background is published only where at least k respondents have one and k have none (or unknown)."""
    campaigns = _scoped(
        Campaign.objects.filter(_in_period("closes_on", start, as_of), status=Campaign.Status.CLOSED),
        organisation_ids,
    )
    figures = {}
    # One query: the database picks each organisation's latest campaign and sums its tallies.
    for organisation_id, campaign_id, k, answered, mh_yes in latest_counted(campaigns).values_list(
        "organisation_id", "pk", "k", "n", "mh_yes"
    ):
        if answered < k:
            continue
        published = mh_yes >= k and answered - mh_yes >= k
        figures[organisation_id] = SurveyFigure(
            respondents=answered,
            migration_share=round(100 * mh_yes / answered, 1) if published else None,
            campaign_id=campaign_id,
            migration_yes=mh_yes,
        )
    return figures


def _survey_overall(figures: dict[int, SurveyFigure]) -> SurveyFigure:
    """The programme's figure over the same campaigns, summed from the partners' counts (no second query): every
    respondent, and the share with a migration background among the respondents of the partners whose own share
    is published. Summed over every partner, the share gave away the count a partner's own figure suppresses:
    the programme's count less the published partners' (8 of 42 beside a partner's 30 % of 20: the other
    partner's 2), or the dashboard before and after that partner's campaign closed."""
    n = sum(figure.respondents for figure in figures.values())
    shown = [figure for figure in figures.values() if figure.migration_share is not None]
    shown_n = sum(figure.respondents for figure in shown)
    yes = sum(figure.migration_yes for figure in shown)
    published = yes >= PROGRAMME_K and shown_n - yes >= PROGRAMME_K
    return SurveyFigure(
        respondents=n, migration_share=round(100 * yes / shown_n, 1) if published and shown_n else None
    )


def _procedures_by_partner(organisation_ids, as_of, start=None) -> tuple[dict[int, dict], dict[str, int]]:
    """Per organisation: procedures, applications and posts filled; and posts filled per method. Two queries,
    a row per organisation and one per method."""
    procedures = _scoped(
        AnonymisedProcedure.objects.filter(_in_period("held_on", start, as_of)), organisation_ids
    ).order_by()
    by_partner = {
        organisation_id: {"procedures": count, "applications": applications or 0, "posts_filled": filled or 0}
        for organisation_id, count, applications, filled in procedures.values_list(
            "organisation_id"
        ).annotate(Count("pk"), Sum("applications"), Sum("posts_filled"))
    }
    by_method = {
        method: filled or 0
        for method, filled in procedures.values_list("method").annotate(Sum("posts_filled"))
    }
    return by_partner, by_method


_TRAINED_IN_GROUP = {
    Commitment.IndicatorSource.TRAINED_TRAINEES: TargetGroup.TRAINEE,
    Commitment.IndicatorSource.TRAINED_PUBLIC_FACING: TargetGroup.PUBLIC_FACING,
    Commitment.IndicatorSource.TRAINED_MANAGERS: TargetGroup.MANAGER,
}


def indicator_values(*, training: dict | None, survey: SurveyFigure | None, procedures: dict | None) -> dict:
    """The values the indicator sources yield for one partner (source → value), None where the portal has
    none (or the survey figure is suppressed)."""
    sources = Commitment.IndicatorSource
    groups = (training or {}).get("groups", {})
    values = {source: Decimal(groups.get(group, 0)) for source, group in _TRAINED_IN_GROUP.items()}
    values[sources.TRAINED_SHARE] = (
        Decimal(round(100 * training["trained_active"] / training["employees"], 1)).quantize(Decimal("0.1"))
        if training and training["employees"]
        else None
    )
    values[sources.SURVEY_MIGRATION_SHARE] = (
        None if survey is None or survey.migration_share is None else Decimal(str(survey.migration_share))
    )
    values[sources.ANONYMISED_POSTS_FILLED] = Decimal((procedures or {}).get("posts_filled") or 0)
    return values


def computed_indicator(
    source: str, *, training: dict | None, survey: SurveyFigure | None, procedures: dict | None
):
    """The value a commitment's indicator source yields for one partner, or None when the portal has none
    (or the survey figure is suppressed)."""
    return indicator_values(training=training, survey=survey, procedures=procedures).get(source)


def computed_indicators(partner_ids, training, surveys, procedures) -> str:
    """`indicator_values` as a JSON table for SQL: [partner, source, value] for each partner's sources, and
    [null, source, value] for the partners without figures of their own. A partner's value that equals the
    latter is left out (the same for SQL, and a few hundred rows instead of thousands)."""
    fallback = indicator_values(training=None, survey=None, procedures=None)
    table = [[None, source, value] for source, value in fallback.items()]
    for partner_id in partner_ids:
        entry, survey, done = training.get(partner_id), surveys.get(partner_id), procedures.get(partner_id)
        if entry is None and survey is None and done is None:
            continue
        for source, value in indicator_values(training=entry, survey=survey, procedures=done).items():
            if value != fallback[source]:
                table.append([partner_id, source, value])
    return json.dumps(table, default=str)  # Decimal as a string: exact


# `commitment_progress` in SQL: each signed commitment's value reached is the value the portal computes for its
# indicator source (the `computed` table; a partner without figures of its own takes the row without a partner),
# else its newest progress report's value. `{signed}`: the signed agreements' ids (a subquery).
_PROGRESS_CTE = """
WITH computed (partner_id, source, value) AS (
    SELECT (entry->>0)::bigint, entry->>1, (entry->>2)::numeric FROM jsonb_array_elements(%(computed)s::jsonb) entry
), newest_report AS (
    SELECT DISTINCT ON (commitment_id) commitment_id, value_reached
    FROM partnerships_progressreport
    WHERE commitment_id IN (SELECT id FROM partnerships_commitment WHERE agreement_id IN ({signed}))
    ORDER BY commitment_id, reported_on DESC, id DESC
), commitments AS (
    SELECT commitment.id, commitment.agreement_id, commitment."order", agreement.partner_id,
        commitment.target_value, commitment.due_on,
        COALESCE(agreement.signed_on, agreement.valid_from) AS start,
        CASE WHEN own.source IS NOT NULL THEN own.value ELSE fallback.value END AS computed,
        newest_report.value_reached AS reported
    FROM partnerships_commitment commitment
    JOIN partnerships_agreement agreement ON agreement.id = commitment.agreement_id
    LEFT JOIN newest_report ON newest_report.commitment_id = commitment.id
    LEFT JOIN computed own
        ON own.partner_id = agreement.partner_id AND own.source = commitment.indicator_source
    LEFT JOIN computed fallback
        ON fallback.partner_id IS NULL AND fallback.source = commitment.indicator_source
    WHERE commitment.agreement_id IN ({signed})
), progress AS (
    SELECT commitments.*,
        CASE
            WHEN target_value IS NOT NULL AND COALESCE(computed, reported) >= target_value THEN %(done)s
            WHEN due_on IS NULL THEN %(on_track)s
            WHEN due_on < %(today)s THEN %(behind)s
            WHEN target_value IS NULL OR start IS NULL OR start >= due_on OR %(today)s <= start THEN %(on_track)s
            WHEN COALESCE(computed, reported, 0) * (due_on - start)
                < target_value * ((%(today)s - start) - 365) THEN %(behind)s
            ELSE %(on_track)s
        END AS state
    FROM commitments
)
"""
# Per partner and state: the dashboard's progress chart and partner table.
_PROGRESS_COUNTS = "SELECT partner_id, state, count(*) FROM progress GROUP BY 1, 2"
# Each commitment in the order of the list behind the chart (partner, agreement, the commitment's order),
# optionally of one state or agreement: (id, state, computed value).
_PROGRESS_ROWS = f"""
SELECT progress.id, progress.state, progress.computed FROM progress
JOIN vielfalt_organisation partner ON partner.id = progress.partner_id
WHERE (%(state)s::text IS NULL OR progress.state = %(state)s::text)
    AND (%(agreement)s::bigint IS NULL OR progress.agreement_id = %(agreement)s::bigint)
ORDER BY partner.name COLLATE {NAMES_SQL}, progress.agreement_id, progress."order", progress.id
"""  # noqa: S608 (constants only)


def _progress_query(query: str, signed: QuerySet, as_of: date, computed: str, **more) -> list[tuple]:
    """`query` over the `progress` of the commitments of the `signed` agreements as at `as_of`. One query."""
    signed_sql, signed_params = signed.order_by().values("pk").query.sql_with_params()
    Progress = Commitment.Progress  # noqa: N806
    params = {
        "computed": computed,
        "done": Progress.DONE.value,
        "on_track": Progress.ON_TRACK.value,
        "behind": Progress.BEHIND.value,
        "today": as_of,
        **more,
    }
    # The agreements' subquery comes with positional parameters: name them too.
    names = []
    for number, value in enumerate(signed_params):
        params[f"signed_{number}"] = value
        names.append(f"%(signed_{number})s")
    with connection.cursor() as cursor:
        cursor.execute(_PROGRESS_CTE.format(signed=signed_sql % tuple(names)) + query, params)
        return cursor.fetchall()


def _progress_counts(signed: QuerySet, as_of: date, computed: str) -> list[tuple[int, str, int]]:
    """(partner, progress, commitments) of the commitments of the `signed` agreements as at `as_of`. One query."""
    return _progress_query(_PROGRESS_COUNTS, signed, as_of, computed)


def commitment_rows(
    *,
    organisation_ids=None,
    year: int | None = None,
    progress: str | None = None,
    agreement: int | None = None,
) -> list[tuple[int, str, Decimal | None]] | None:
    """(commitment id, progress, value the portal computed or None) of each commitment of the signed agreements
    the dashboard counts, in the order of its list of commitments (partner, agreement, order), optionally only
    of one progress state or agreement: the dashboard's own figures (its cached aggregates, the same progress
    as its chart), one query, instead of every commitment and progress report read as model instances (4,000
    and 12,000 at full scale: 440 ms). None where the progress is not computed in SQL (SQLite)."""
    if connection.vendor != "postgresql":
        return None
    overview = dashboard_programme(organisation_ids=organisation_ids, year=year)
    signed = _in_force(_agreements(organisation_ids, year), year)
    return _progress_query(
        _PROGRESS_ROWS, signed, overview.as_of, overview.indicators, state=progress, agreement=agreement
    )


def _attach_reports(commitments: list[Commitment], reports) -> None:
    """What `prefetch_related("progress_reports")` does, cheaper for thousands of commitments: one query that
    selects the reports through the agreements (not thousands of ids), and a fresh evaluated queryset per
    commitment instead of a related manager and a cloned queryset each."""
    by_commitment = {commitment.pk: commitment for commitment in commitments}
    grouped: dict[int, list[ProgressReport]] = {}
    for report in reports:
        commitment = by_commitment.get(report.commitment_id)
        if commitment is not None:
            report.commitment = commitment
            grouped.setdefault(commitment.pk, []).append(report)
    for commitment in commitments:
        cached = QuerySet(model=ProgressReport)
        cached._result_cache = grouped.get(commitment.pk, [])
        cached._prefetch_done = True
        commitment._prefetched_objects_cache = {"progress_reports": cached}


def _agreements(organisation_ids, year: int | None) -> QuerySet:
    """The agreements the figures of `year` (None: up to today) count: not signed after it, not expired before
    it began (drafts drawn up by its end count as under way)."""
    agreements = _scoped(Agreement.objects.all(), organisation_ids, "partner_id")
    if year:
        # A draft counts from the day it was drawn up: one begun after the year was not under way in it.
        agreements = agreements.filter(
            Q(signed_on__isnull=True, created_at__lt=_midnight_after(_end_of(year)))
            | Q(signed_on__lte=_end_of(year)),
            Q(valid_until__isnull=True) | Q(valid_until__gte=_start_of(year)),
        )
    return agreements


def _in_force(agreements: QuerySet, year: int | None) -> QuerySet:
    """The agreements whose commitments count. Today: the signed ones, less those a signed amendment replaces
    (it counts in their place). For a year: those in force during it, also when they have ended since (their
    validity ran out, or the ministry ended them), less those ended before it began and those replaced by an
    amendment signed by its end: the figures of a past year stay what they were at its end."""
    if year is None:
        return agreements.filter(status=Agreement.Status.SIGNED).not_replaced()
    ended_before = StatusChange.objects.filter(
        agreement=OuterRef("pk"),
        to_status=Agreement.Status.ENDED,
        changed_at__lt=_midnight_after(date(year - 1, 12, 31)),  # before the year began
    )
    return (
        agreements.filter(status__in=FROZEN)
        .exclude(Exists(ended_before))
        .not_replaced(signed_by=_end_of(year))
    )


def _ended_by(year: int) -> Q:
    """An agreement (signed by the end of `year`) that had ended by then: its validity ran out in the year, or
    the ministry ended it (or an amendment replaced it) before the year was over."""
    ended = StatusChange.objects.filter(
        agreement=OuterRef("pk"),
        to_status=Agreement.Status.ENDED,
        changed_at__lt=_midnight_after(_end_of(year)),
    )
    return Q(valid_until__lt=_end_of(year)) | Q(Exists(ended))


def _status_at_end(year: int | None):
    """An agreement's status as it stood at the end of `year` (today's without one): one ended since was still
    signed then, so a past year's report says what it said at the time."""
    if year is None:
        return F("status")
    return Case(
        When(Q(status=Agreement.Status.ENDED) & ~_ended_by(year), then=Value(Agreement.Status.SIGNED.value)),
        default=F("status"),
        output_field=CharField(),
    )


def programme(*, organisation_ids=None, year: int | None = None, details: bool = True) -> Programme:
    """The programme's figures. Without `details` (the dashboard, which shows only counts) `commitments` stays
    empty and the agreements come without their texts; every figure is the same."""
    as_of = _end_of(year)
    start = _start_of(year)
    partner_kinds = [kind for kind in Organisation.Kind.values if kind != Organisation.Kind.STATE_MINISTRY]
    agreements = _agreements(organisation_ids, year)
    partners = (
        _scoped(Organisation.objects.filter(kind__in=partner_kinds), organisation_ids, "pk")
        .filter(Exists(agreements.filter(partner_id=OuterRef("pk"))))
        .order_by(*text_order(Organisation, "name"))
    )

    # The newest agreement per partner, the agreements per status and those signed per year of the period:
    # three aggregate queries, a row per partner, status or year (not a row per agreement).
    newest_first = agreements.filter(partner_id=OuterRef("pk")).order_by("-created_at", "-pk")
    status_then = _status_at_end(year)
    newest: dict[int, Agreement | None] = {}
    if details:  # the reports show the newest agreements themselves
        partners = list(partners.annotate(newest_id=Subquery(newest_first.values("pk")[:1])))
        found = Agreement.objects.annotate(status_then=status_then).in_bulk(
            [partner.newest_id for partner in partners]
        )
        newest = {partner.pk: found[partner.newest_id] for partner in partners}
        newest_status = {partner_id: agreement.status_then for partner_id, agreement in newest.items()}
    else:  # the dashboard shows a partner's name and counts it by kind and district
        partners = list(
            partners.only("pk", "slug", "name", "kind", "district").annotate(
                newest_status=Subquery(
                    newest_first.annotate(status_then=status_then).values("status_then")[:1]
                )
            )
        )
        newest_status = {partner.pk: partner.newest_status for partner in partners}
    status_counts = dict(
        agreements.annotate(status_then=status_then)
        .order_by()
        .values_list("status_then")
        .annotate(n=Count("pk"))
    )
    year_counts = dict(
        agreements.filter(_in_period("signed_on", start, as_of))
        .annotate(signed_year=ExtractYear("signed_on"))
        .order_by()
        .values_list("signed_year")
        .annotate(n=Count("pk"))
    )

    training = training_by_organisation(organisation_ids, as_of, start)
    surveys = _surveys_by_partner(organisation_ids, as_of, start)
    procedures, method_counts = _procedures_by_partner(organisation_ids, as_of, start)

    # Commitments of signed agreements, with their reports.
    signed = _in_force(agreements, year)

    partner_values: dict[int, dict] = {}

    def indicator(partner_id, source):
        if not source:
            return None
        values = partner_values.get(partner_id)
        if values is None:
            values = partner_values[partner_id] = indicator_values(
                training=training.get(partner_id),
                survey=surveys.get(partner_id),
                procedures=procedures.get(partner_id),
            )
        return values.get(source)

    commitments = []
    indicators = ""
    progress_values = Commitment.Progress.values
    progress_counts = dict.fromkeys(progress_values, 0)
    per_partner_progress: dict[int, dict] = {}

    def count(partner_id, progress):
        progress_counts[progress] += 1
        counts = per_partner_progress.get(partner_id)
        if counts is None:
            counts = per_partner_progress[partner_id] = dict.fromkeys(progress_values, 0)
        counts[progress] += 1

    if details:
        signed_commitments = list(
            Commitment.objects.filter(agreement__in=signed)
            .select_related("agreement__partner")
            .order_by(*text_order(Commitment, "agreement__partner__name", "agreement_id", "order", "pk"))
        )
        _attach_reports(signed_commitments, ProgressReport.objects.filter(commitment__agreement__in=signed))
        for commitment in signed_commitments:
            computed = indicator(commitment.agreement.partner_id, commitment.indicator_source)
            progress = commitment.progress(today=as_of, reached=computed)
            count(commitment.agreement.partner_id, progress)
            commitments.append(CommitmentFigure(commitment=commitment, progress=progress, computed=computed))
    elif connection.vendor == "postgresql":
        # The same progress computed by the database: a row per partner and state, not per commitment.
        indicators = computed_indicators([partner.pk for partner in partners], training, surveys, procedures)
        for partner_id, progress, number in _progress_counts(signed, as_of, indicators):
            progress_counts[progress] += number
            counts = per_partner_progress.setdefault(partner_id, dict.fromkeys(progress_values, 0))
            counts[progress] += number
    else:
        # Elsewhere (SQLite) from plain rows, each with its newest report's value. One query.
        newest_value = (
            ProgressReport.objects.filter(commitment=OuterRef("pk"))
            .order_by("-reported_on", "-pk")
            .values("value_reached")[:1]
        )
        for partner_id, source, target_value, due_on, signed_on, valid_from, reported in (
            Commitment.objects.filter(agreement__in=signed)
            .annotate(reported=Subquery(newest_value))
            .order_by()
            .values_list(
                "agreement__partner_id", "indicator_source", "target_value", "due_on",
                "agreement__signed_on", "agreement__valid_from", "reported",
            )
        ):  # fmt: skip
            progress = commitment_progress(
                target_value=target_value,
                due_on=due_on,
                start=signed_on or valid_from,
                today=as_of,
                reached=indicator(partner_id, source),
                reported=reported,
            )
            count(partner_id, progress)

    status_labels = {status: str(label) for status, label in Agreement.Status.choices}  # translated once
    target_groups = TargetGroup.values
    rows = []
    for partner in partners:
        entry = training.get(
            partner.pk, {"employees": 0, "trained_active": 0, "groups": dict.fromkeys(target_groups, 0)}
        )
        done = procedures.get(partner.pk, {})
        agreement = newest.get(partner.pk)
        status = newest_status.get(partner.pk, "")
        rows.append(
            PartnerRow(
                organisation=partner,
                agreement=agreement,
                agreement_status=status,
                agreement_status_label=status_labels.get(status, ""),
                progress=per_partner_progress.get(partner.pk) or dict.fromkeys(progress_values, 0),
                trained=entry["groups"],
                employees=entry["employees"],
                trained_total=sum(entry["groups"].values()),
                survey=surveys.get(partner.pk),
                procedures=done.get("procedures", 0),
                applications=done.get("applications") or 0,
                posts_filled=done.get("posts_filled") or 0,
            )
        )

    trained_groups = (
        trained_by_target_group(organisation_ids=organisation_ids)
        if year is None
        else {group: sum(row.trained[group] for row in rows) for group in TargetGroup.values}
    )
    kinds = dict(Organisation.Kind.choices)
    districts = dict(Organisation.District.choices)
    by_kind: dict[str, int] = {}
    by_district: dict[str, int] = {}
    for partner in partners:
        by_kind[partner.kind] = by_kind.get(partner.kind, 0) + 1
        by_district[partner.district] = by_district.get(partner.district, 0) + 1
    procedure_totals = {
        "procedures": sum(row.procedures for row in rows),
        "applications": sum(row.applications for row in rows),
        "posts_filled": sum(row.posts_filled for row in rows),
    }
    procedure_list = "partnerships:procedure_list"
    charts = {
        "kind": Chart(
            "kind",
            str(_("Partners by kind")),
            [
                Bar(kind, str(kinds[kind]), by_kind[kind], _url("partnerships:index", partner_kind=kind))
                for kind in partner_kinds
                if kind in by_kind
            ],
        ),
        "district": Chart(
            "district",
            str(_("Partners by administrative district")),
            [
                Bar(
                    key or "none",
                    str(districts.get(key, _("no district"))),
                    by_district[key],
                    _url("partnerships:index", partner_district=key),
                )
                for key in [*Organisation.District.values, ""]
                if key in by_district
            ],
        ),
        "status": Chart(
            "status",
            str(_("Agreements by status")),
            [
                Bar(
                    status,
                    str(label),
                    status_counts.get(status, 0),
                    _url("partnerships:index", status=status),
                )
                for status, label in Agreement.Status.choices
            ],
        ),
        "year": Chart(
            "year",
            str(_("Agreements signed per year")),
            [
                Bar(
                    str(signed_year),
                    str(signed_year),
                    year_counts[signed_year],
                    _url("partnerships:index", year=signed_year),
                )
                for signed_year in sorted(year_counts)
            ],
        ),
        "progress": Chart(
            "progress",
            str(_("Commitments of signed agreements")),
            [
                Bar(
                    value,
                    str(label),
                    progress_counts[value],
                    _url("dashboard_commitments", progress=value, year=year),
                )
                for value, label in Commitment.Progress.choices
            ],
        ),
        "trained": Chart(
            "trained",
            str(_("Employees who attended an intercultural course, per target group")),
            [
                Bar(group, str(label), trained_groups.get(group, 0), _url("trainings:report"))
                for group, label in TargetGroup.choices
            ],
        ),
        "posts": Chart(
            "posts",
            str(_("Posts filled through anonymised procedures, per method")),
            [
                Bar(method, str(label), method_counts.get(method) or 0, _url(procedure_list, method=method))
                for method, label in AnonymisedProcedure.Method.choices
            ],
        ),
    }
    return Programme(
        year=year,
        as_of=as_of,
        start=start,
        charts=charts,
        partners=rows,
        commitments=commitments,
        trained_by_group=trained_groups,
        survey_overall=_survey_overall(surveys),
        procedures=procedure_totals,
        indicators=indicators,
    )


class DashboardPartner(NamedTuple):
    """What the dashboard shows of a partner, as plain values: the dashboard reads its figures from the cache on
    every visit, and 400 PartnerRows (each a dataclass with its organisation and survey figure) took about ten
    times as long to unpickle as these plain values (`dashboard_programme` stores them as tuples)."""

    pk: int
    slug: str
    name: str
    agreement_status_label: str
    progress: dict
    trained: dict
    trained_share: float | None
    respondents: int | None  # None: no survey closed in the period
    migration_share: float | None  # None: suppressed, or no survey
    procedures: int
    posts_filled: int


def _dashboard_partner(row: PartnerRow) -> tuple:
    survey = row.survey
    return tuple(
        DashboardPartner(
            pk=row.organisation.pk,
            slug=row.organisation.slug,
            name=row.organisation.name,
            agreement_status_label=str(row.agreement_status_label),
            progress=row.progress,
            trained=row.trained,
            trained_share=row.trained_share,
            respondents=None if survey is None else survey.respondents,
            migration_share=None if survey is None else survey.migration_share,
            procedures=row.procedures,
            posts_filled=row.posts_filled,
        )
    )


def dashboard_programme(*, organisation_ids=None, year: int | None = None) -> Programme:
    """`programme(details=False)` for the dashboard, kept in the cache until the next write to a table the
    figures come from (vielfalt.generation). Its `partners` are plain tuples in the order of DashboardPartner's
    fields (`DashboardPartner._make(row)` names them)."""

    def compute() -> Programme:
        overview = programme(organisation_ids=organisation_ids, year=year, details=False)
        overview.partners = [_dashboard_partner(row) for row in overview.partners]
        return overview

    scope = "all" if organisation_ids is None else ",".join(map(str, sorted(organisation_ids)))
    # "2": the partners as tuples (a value cached before, of PartnerRows, is not read back as one); "3": with
    # the computed indicators.
    return cached_figures("dashboard:3", compute, scope, year or "")


# --- Reports -------------------------------------------------------------------------------------------------


def _commitments_by_partner(figures: list[CommitmentFigure]) -> dict[int, list[CommitmentFigure]]:
    grouped: dict[int, list[CommitmentFigure]] = {}
    for figure in figures:
        grouped.setdefault(figure.commitment.agreement.partner_id, []).append(figure)
    return grouped


def _courses_of(organisation_ids, start: date, as_of: date) -> dict[int, list[dict]]:
    """Per organisation: the course dates of `year` its employees were seated on, with attendance. One query."""
    rows = (
        _scoped(
            Enrolment.objects.filter(course_in_period(start, as_of), status=Enrolment.Status.SEATED),
            organisation_ids,
        )
        .values("organisation_id", "course_date_id", "course_date__starts_at", "course_date__course__title")
        .annotate(
            seated=Count("pk"),
            attended=Count("pk", filter=Q(attendance=Enrolment.Attendance.ATTENDED)),
        )
        .order_by("organisation_id", "course_date__starts_at", "course_date_id")
    )
    courses: dict[int, list[dict]] = {}
    for row in rows.iterator(chunk_size=2000):
        courses.setdefault(row["organisation_id"], []).append(
            {
                "title": row["course_date__course__title"],
                "starts_at": row["course_date__starts_at"],
                "seated": row["seated"],
                "attended": row["attended"],
            }
        )
    return courses


def _procedures_of(organisation_ids, start: date, as_of: date) -> dict[int, list[AnonymisedProcedure]]:
    procedures: dict[int, list[AnonymisedProcedure]] = {}
    for procedure in (
        _scoped(AnonymisedProcedure.objects.filter(_in_period("held_on", start, as_of)), organisation_ids)
        .select_related("org_unit")
        .order_by("organisation_id", "held_on", "pk")
        .iterator(chunk_size=2000)
    ):
        procedures.setdefault(procedure.organisation_id, []).append(procedure)
    return procedures


def _course_summary(organisation_ids, start: date, as_of: date) -> dict[int, dict]:
    """Per organisation: how many course dates of `year` its employees were seated on, seats and attendance.
    The programme report summarises (a list of every date for hundreds of partners would not fit)."""
    rows = (
        _scoped(
            Enrolment.objects.filter(course_in_period(start, as_of), status=Enrolment.Status.SEATED),
            organisation_ids,
        )
        .values("organisation_id")
        .annotate(
            dates=Count("course_date", distinct=True),
            seated=Count("pk"),
            attended=Count("pk", filter=Q(attendance=Enrolment.Attendance.ATTENDED)),
        )
        .order_by()
    )
    return {row.pop("organisation_id"): row for row in rows}


def _partner_pages(overview: Programme, organisation_ids, *, course_list: bool) -> list[dict]:
    """The partner pages of a year's report: the same period as the overview's figures, so that every page's
    lists add up to its figures."""
    start, as_of = overview.start, overview.as_of
    commitments = _commitments_by_partner(overview.commitments)
    if course_list:
        courses, summary = _courses_of(organisation_ids, start, as_of), {}
    else:
        courses, summary = {}, _course_summary(organisation_ids, start, as_of)
    procedures = _procedures_of(organisation_ids, start, as_of)
    return [
        {
            "row": row,
            "agreement": row.agreement,
            "commitments": commitments.get(row.organisation.pk, []),
            "course_list": course_list,
            "courses": courses.get(row.organisation.pk, []),
            "course_summary": summary.get(row.organisation.pk, {"dates": 0, "seated": 0, "attended": 0}),
            "procedures": procedures.get(row.organisation.pk, []),
        }
        for row in overview.partners
    ]


REPORT_PARTNERS_PER_PART = 25  # partner pages laid out at a time (~2.5 MB of WeasyPrint's memory per page)


def programme_report_pdf(*, year: int) -> bytes:
    """The annual programme report: every figure of the dashboard for `year`, then a page per
    partner. The figures come from the same aggregate queries as the dashboard. Rendered in parts of
    REPORT_PARTNERS_PER_PART partners, so that its memory does not grow with the number of partners."""
    from django.utils.translation import get_language

    from vielfalt.pdf import render_pdf_parts

    overview = programme(year=year)
    pages = _partner_pages(overview, None, course_list=False)
    common = {
        "programme": overview,
        "year": year,
        "pdf": True,
        "target_groups": TargetGroup.choices,
        "document_date": timezone.localdate(),
        "reference": f"JB-{year}",
    }
    step = REPORT_PARTNERS_PER_PART
    parts = ({**common, "pages": pages[start : start + step]} for start in range(0, max(len(pages), 1), step))
    return render_pdf_parts(
        "pdf/dashboard/programme_report.html",
        parts,
        title=str(_("Annual programme report %(year)s")) % {"year": year},
        language=get_language() or "de",
        page_label=str(_("Page")),
        of_label=str(_("of")),
    )


def partner_report_pdf(*, organisation: Organisation, year: int) -> bytes:
    """A partner's activity report (Tätigkeitsbericht) for `year`."""
    from vielfalt.pdf import letterhead_for, render_pdf

    ids = frozenset([organisation.pk])
    overview = programme(organisation_ids=ids, year=year)
    pages = _partner_pages(overview, ids, course_list=True)
    context = {
        "programme": overview,
        "year": year,
        "pdf": True,
        "organisation": organisation,
        "target_groups": TargetGroup.choices,
        "page": pages[0] if pages else None,
        # The partner's own report: its letterhead.
        "letterhead": letterhead_for(organisation),
        "document_date": timezone.localdate(),
        "reference": f"TB-{year}-{organisation.slug}",
    }
    return render_pdf("pdf/dashboard/partner_report.html", context)


def report_request(*, actor, year: int, organisation: Organisation | None = None):
    """Start the annual programme report (no organisation, the ministry's) or a partner's activity report (the
    ministry's or the partner HR's) as a job."""
    from django.utils.translation import get_language

    from vielfalt.jobs import job_enqueue
    from vielfalt.permissions import require, require_role

    from .tasks import task_partner_report, task_programme_report

    if organisation is None:
        require_role(actor, Role.MINISTRY)
        return job_enqueue(
            task=task_programme_report,
            kind="vielfalt.programme_report",
            description=str(_("Annual programme report %(year)s")) % {"year": year},
            requested_by=actor,
            role=Role.MINISTRY,
            origin=(reverse("dashboard"), _("Programme overview")),
            year=year,
            language=get_language() or "",
        )
    require(actor, (Role.MINISTRY, Role.HR), organisation)
    return job_enqueue(
        task=task_partner_report,
        kind="vielfalt.partner_report",
        description=str(_("Activity report %(year)s: %(partner)s"))
        % {"year": year, "partner": organisation.name},
        requested_by=actor,
        organisation=organisation,
        role=(Role.MINISTRY, Role.HR),
        origin=(reverse("dashboard"), _("Programme overview")),
        organisation_id=organisation.pk,
        year=year,
        language=get_language() or "",
    )
