"""Results: counts from the database, primary and secondary suppression, and an attacker who tries to recover
suppressed cells from everything a campaign publishes."""

import itertools
import random

import pytest

from surveys import questionnaire as q
from surveys.models import Campaign, Response
from surveys.results import COLUMNS, campaign_results, determined, programme_results, suppress
from surveys.services import Answers, campaign_close, response_fields
from tests.surveys.conftest import open_campaign_with_invitations
from vielfalt.models import OrgUnit

MEASURE_COLUMNS = {"mh": ["mh_yes", "mh_not"], "eg": ["eg_yes", "eg_not"]}


def add_response(campaign, *, group="other", unit=None, other=False, mh="no", eg="no", languages=("de",)):
    """A response whose derived values are `mh` and `eg` (yes/no/unknown), made through `response_fields`."""
    own = {"yes": "not_german", "no": "german", "unknown": "na"}[mh]
    birth = {"yes": ("abroad", 1990), "no": ("germany", None), "unknown": ("na", None)}[eg]
    answers = Answers(
        own_citizenship=own,
        birth_country=birth[0],
        immigration_year=birth[1],
        mother_citizenship="german" if mh != "yes" else "na",
        father_citizenship="german" if mh != "yes" else "na",
        mother_immigrated="no",
        father_immigrated="no",
        target_group=group,
        org_unit=unit,
        org_unit_other=other,
        languages=tuple(languages),
    )
    fields = response_fields(answers)
    assert (fields["migration_background"], fields["immigration_history"]) == (mh, eg)
    Response.objects.create(campaign=campaign, questionnaire_version="2024-1", **fields)


def published_cells(results) -> dict:
    """What anyone reading the page learns: (table, row, column) → value, for published counts."""
    cells = {}
    for table, rows in (
        ("overall", [results.overall]),
        ("tg", results.by_target_group),
        ("unit", results.by_unit),
    ):
        for row in rows:
            for column, cell in row.cells.items():
                key = ("overall", "all", column) if table == "overall" else (table, row.key, column)
                cells[key] = None if cell.suppressed else cell.value
    return cells


def public_equations(results) -> list[dict]:
    """Every additive relation a reader knows, as {cell: coefficient} summing to zero."""
    equations = []
    tables = {"tg": results.by_target_group, "unit": results.by_unit}
    rows = [("overall", "all")] + [(t, r.key) for t, rs in tables.items() for r in rs]
    for table, key in rows:
        for parts in MEASURE_COLUMNS.values():
            equations.append({(table, key, "n"): 1, **{(table, key, p): -1 for p in parts}})
    for column in COLUMNS:
        for table, table_rows in tables.items():
            equations.append(
                {("overall", "all", column): 1, **{(table, r.key, column): -1 for r in table_rows}}
            )
    # Combinations of two relations (e.g. the target-group and the org-unit tables share their total).
    combined = []
    for a, b in itertools.combinations(equations, 2):
        for sign in (1, -1):
            merged = dict(a)
            for cell, coefficient in b.items():
                merged[cell] = merged.get(cell, 0) + sign * coefficient
            combined.append({c: v for c, v in merged.items() if v})
    return equations + combined


def attack(results) -> dict:
    """Solve for suppressed cells by subtraction, propagating what is found, until nothing more follows."""
    known = {cell: value for cell, value in published_cells(results).items() if value is not None}
    equations = public_equations(results)
    recovered = {}
    progress = True
    while progress:
        progress = False
        for equation in equations:
            unknown = [cell for cell in equation if cell not in known]
            rest = sum(coefficient * known[cell] for cell, coefficient in equation.items() if cell in known)
            if len(unknown) == 1:
                cell = unknown[0]
                value = -rest / equation[cell]
                known[cell] = recovered[cell] = value
                progress = True
            elif unknown and rest == 0 and all(equation[c] == equation[unknown[0]] for c in unknown):
                # unknown counts of the same sign adding up to zero: all of them are zero
                for cell in unknown:
                    known[cell] = recovered[cell] = 0
                progress = True
    return recovered


@pytest.fixture
def mixed_campaign(db):
    """40 invited over 4 units of 10 (k=5); 30 answer with ~12 % migration background, a few small groups."""
    campaign, _tokens, hr = open_campaign_with_invitations(employees=40, units=4, k=5)
    units = list(OrgUnit.objects.filter(organisation=campaign.organisation).order_by("name"))
    plan = (
        [("public_facing", units[0], "no", "no")] * 8
        + [("public_facing", units[0], "yes", "yes")] * 2
        + [("trainee", units[1], "no", "no")] * 6
        + [("trainee", units[1], "yes", "no")] * 1
        + [("manager", units[2], "no", "no")] * 4
        + [("other", units[3], "no", "unknown")] * 3
        + [("other", units[3], "unknown", "no")] * 2
        + [("na", None, "no", "no")] * 4
    )
    for group, unit, mh, eg in plan:
        add_response(
            campaign, group=group, unit=unit, mh=mh, eg=eg, languages=("de", "tr") if mh == "yes" else ("de",)
        )
    campaign_close(actor=hr, campaign=campaign)
    return campaign


def test_counts_participation_and_shares(mixed_campaign):
    results = campaign_results(mixed_campaign)
    assert results.invited == 40
    assert results.respondents == 30
    assert results.participation == 75.0
    assert results.overall["n"].value == 30
    # 3 of 30 with migration background is under k: suppressed, and so the share says so.
    assert results.overall["mh_yes"].suppressed
    assert results.overall["mh_not"].suppressed  # 27 = 30 − 3 would give it away
    languages = {row.code: row.cell for row in results.languages}
    assert languages["de"].value == 30
    assert languages["tr"].suppressed


def test_no_published_cell_is_under_k(mixed_campaign):
    results = campaign_results(mixed_campaign)
    published = [v for v in published_cells(results).values() if v is not None]
    assert published and min(published) >= results.k
    assert all(row.cell.suppressed or row.cell.value >= results.k for row in results.languages)


def test_suppressed_cells_cannot_be_recovered_across_all_tables(mixed_campaign):
    results = campaign_results(mixed_campaign)
    assert results.has_suppressed
    assert attack(results) == {}


@pytest.mark.parametrize("seed", range(12))
def test_random_campaigns_publish_nothing_under_k_and_nothing_recoverable(db, seed):
    rng = random.Random(seed)
    campaign, _tokens, hr = open_campaign_with_invitations(
        employees=rng.choice([20, 40, 60]), units=4, k=rng.choice([3, 5])
    )
    units = list(OrgUnit.objects.filter(organisation=campaign.organisation).order_by("name"))
    for _ in range(rng.randint(campaign.k, 50)):
        unit = rng.choice([*units, None, None])
        add_response(
            campaign,
            group=rng.choices(["trainee", "public_facing", "manager", "other", "na"], [2, 6, 2, 3, 1])[0],
            unit=unit if unit else None,
            other=unit is None and rng.random() < 0.5,
            mh=rng.choices(["yes", "no", "unknown"], [2, 12, 1])[0],
            eg=rng.choices(["yes", "no", "unknown"], [1, 12, 1])[0],
        )
    campaign_close(actor=hr, campaign=campaign)
    results = campaign_results(campaign)
    published = [v for v in published_cells(results).values() if v is not None]
    assert min(published) >= results.k
    assert attack(results) == {}


def test_suppress_hides_a_second_cell_when_one_would_follow_from_the_total():
    values = {"total": 20, "a": 2, "b": 8, "c": 10}
    hidden = suppress(values, [["total", "a", "b", "c"]], 5)
    assert hidden == {"a", "b"}  # the next smallest goes too


def test_determined_finds_cells_that_follow_from_combined_equations():
    equations = [["t", "a", "b"], ["t", "c", "d"]]
    # Each equation has one hidden cell: both follow.
    assert sorted(determined(equations, {"a", "c"})) == ["a", "c"]
    # Two hidden in each equation: only sums are known.
    assert determined(equations, {"a", "b", "c", "d"}) == []
    # The total and one part hidden in each: only a - c is known.
    assert determined(equations, {"t", "a", "c"}) == []
    # The total hidden, the second equation fully published otherwise: t, then a, follow.
    assert sorted(determined(equations, {"t", "a"})) == ["a", "t"]


def test_results_only_once_closed(db):
    from surveys.results import results_visible

    campaign, _tokens, hr = open_campaign_with_invitations(employees=12, k=5)
    assert not results_visible(campaign=campaign, respondents=1000)
    campaign_close(actor=hr, campaign=campaign)
    campaign.refresh_from_db()
    assert results_visible(campaign=campaign, respondents=0)


def test_programme_counts_each_organisation_only_where_it_reached_k(mixed_campaign):
    small, _tokens, hr = open_campaign_with_invitations(employees=10, k=5)
    for _ in range(4):
        add_response(small, mh="yes")
    campaign_close(actor=hr, campaign=small)
    results = programme_results()
    assert results.organisations == 1
    assert results.respondents == 30


def test_programme_counts_take_a_few_queries_however_many_organisations(
    mixed_campaign, django_assert_num_queries
):
    """The database chooses each organisation's latest campaign inside the aggregate queries: no list of
    campaigns goes back and forth, so 400 organisations cost what 3 do."""
    for _ in range(2):
        other, _tokens, hr = open_campaign_with_invitations(employees=6, k=5)
        for _ in range(5):
            add_response(other, mh="no")
        campaign_close(actor=hr, campaign=other)
    # One query on PostgreSQL and SQLite alike: it sums the campaigns' stored published counts.
    with django_assert_num_queries(1):
        results = programme_results()
    assert results.organisations == 3
    assert results.respondents == 40


def test_the_attack_succeeds_against_primary_suppression_alone(mixed_campaign, monkeypatch):
    """The attacker has teeth: without secondary suppression it recovers hidden cells."""
    from surveys import results as results_module

    monkeypatch.setattr(results_module, "_next_to_hide", lambda *args: None)
    results = campaign_results(mixed_campaign)
    recovered = attack(results)
    assert recovered
    assert all(value < results.k for value in recovered.values())


def test_a_campaigns_counts_come_from_the_index_alone(postgres, mixed_campaign):
    """The results' one pass over the responses needs only columns of an index (PostgreSQL answers it with an
    index-only scan): at full scale a campaign's answers lie on as many heap pages as there are answers."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        campaign_results(mixed_campaign)
    counting = next(q["sql"] for q in queries if "UNION ALL" in q["sql"]).split("UNION ALL")[0]
    referenced = {f.column for f in Response._meta.concrete_fields if f'"{f.column}"' in counting}
    indexed = [
        {Response._meta.get_field(name).column for name in [*index.fields, *index.include]}
        for index in Response._meta.indexes
    ]
    assert "campaign_id" in referenced
    assert any(referenced <= columns for columns in indexed), referenced


def test_a_campaigns_results_take_one_query_with_its_units_by_name(mixed_campaign, django_assert_num_queries):
    with django_assert_num_queries(1):
        results = campaign_results(mixed_campaign)
    units = OrgUnit.objects.filter(organisation=mixed_campaign.organisation).order_by("name")
    assert [(row.key, row.label) for row in results.by_unit[:-2]] == [(str(u.pk), u.name) for u in units]
    assert [row.key for row in results.by_unit[-2:]] == ["other", "na"]


# --- The programme adds up what each organisation publishes -------------------------------------------------

# Every target group large enough that the programme shows each of its cells, and "ar" named by everyone.
LARGE_CITY = [
    (group, answer, ("de", "ar"))
    for group, _label in q.TargetGroupAnswer.choices
    for answer in ["yes"] * 5 + ["no"] * 5
]
# A city whose own results (k=3) suppress its managers (2 answered, both with a migration background) and the
# language both of them named ("ar").
SMALL_CITY = (
    [("public_facing", "yes", ("de",))] * 3
    + [("public_facing", "no", ("de",))] * 3
    + [("trainee", "yes", ("de",))] * 3
    + [("trainee", "no", ("de",))] * 3
    + [("manager", "yes", ("de", "ar"))] * 2
)


def city_campaign(plan, *, k, close=True):
    """A campaign of a new organisation answered as `plan` says ([(target group, mh and eg, languages)])."""
    campaign, _tokens, hr = open_campaign_with_invitations(employees=len(plan), k=k)
    for group, answer, languages in plan:
        add_response(campaign, group=group, mh=answer, eg=answer, languages=languages)
    if close:
        campaign_close(actor=hr, campaign=campaign)
    return campaign


def programme_cells(results) -> dict:
    """Every figure of the programme page: (row, column) → value, None where suppressed; a language's row is
    ("language", code)."""
    cells = {}
    for row in [results.overall, *results.by_target_group]:
        for column, cell in row.cells.items():
            cells[(row.key, column)] = None if cell.suppressed else cell.value
    for language in results.languages:
        cells[("language", language.code)] = None if language.cell.suppressed else language.cell.value
    return cells


def published_by(campaign) -> dict:
    """What the campaign's own results publish, in the programme's cells, a suppressed one as 0."""
    own = programme_cells(campaign_results(campaign))
    return {key: value or 0 for key, value in own.items()}


def test_two_programme_views_differ_by_what_the_closing_city_publishes_not_by_its_exact_counts(postgres):
    """The ministry saves the programme page, a city closes, it saves the page again and subtracts: the
    difference must be that city's published table, never a cell its own results suppress (before, it was
    the city's exact counts: "managers: 2 answered, both with a migration background")."""
    city_campaign(LARGE_CITY, k=5)
    before = programme_cells(programme_results())
    small = city_campaign(SMALL_CITY, k=3)
    own = campaign_results(small)
    managers = next(row for row in own.by_target_group if row.key == "manager")
    assert managers["n"].suppressed and managers["mh_yes"].suppressed
    assert next(language for language in own.languages if language.code == "ar").cell.suppressed

    after = programme_cells(programme_results())
    # Every table cell, and the languages named, are shown on both pages: the difference can be read.
    shown = [key for key in after if key[0] != "language" or key[1] in {"de", "ar"}]
    assert all(before[key] is not None and after[key] is not None for key in shown)
    difference = {key: (after[key] or 0) - (before[key] or 0) for key in after}
    assert difference == published_by(small)
    assert difference[("manager", "n")] == difference[("language", "ar")] == 0
    assert difference[("all", "n")] == own.respondents == 14


def test_a_campaign_closed_before_its_published_counts_were_stored_counts_what_it_publishes(postgres):
    """A campaign closed before the programme added up published counts (or made closed by the demo or scale
    data) has no stored rows: the programme stores them from its results the first time it needs them."""
    city_campaign(LARGE_CITY, k=5)
    before = programme_cells(programme_results())
    small = city_campaign(SMALL_CITY, k=3, close=False)
    Campaign.objects.filter(pk=small.pk).update(status=Campaign.Status.CLOSED)
    small.refresh_from_db()

    after = programme_cells(programme_results())
    assert {key: (after[key] or 0) - (before[key] or 0) for key in after} == published_by(small)
    from surveys.models import PublishedCounts

    assert PublishedCounts.objects.get(campaign=small).manager_n == 0
    assert programme_cells(programme_results()) == after


def test_a_change_to_a_closed_campaigns_responses_is_counted_from_what_it_then_publishes(postgres):
    """Responses changed by hand after closing (the database administrator) drop the stored counts; the
    programme stores them anew from the campaign's results."""
    city_campaign(LARGE_CITY, k=5)
    before = programme_cells(programme_results())
    small = city_campaign(SMALL_CITY, k=3)
    assert programme_cells(programme_results())[("manager", "n")] == before[("manager", "n")]
    Response.objects.filter(campaign=small, target_group="trainee").update(target_group="manager")
    after = programme_cells(programme_results())
    assert {key: (after[key] or 0) - (before[key] or 0) for key in after} == published_by(small)
    assert after[("manager", "n")] == before[("manager", "n")] + 8
