"""Aggregated results of a campaign (and of the programme), computed in the database, with primary and
secondary suppression.

Every published figure is a count; shares are published only where their count and their row total are.
The counts are tied together by equations (a row's total is the sum of its yes and no-or-unknown counts; the overall
row is the sum of the target-group rows and, separately, of the org-unit rows). Primary suppression hides
every count under k (zero included); secondary suppression then hides more until no hidden count can be worked out from the
published ones: neither by subtracting within one equation, nor by combining equations (checked by linear
algebra), nor because published counts already add up to a total (the hidden ones would all be zero).
"""

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.formats import localize, number_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from vielfalt.collation import NAMES_SQL
from vielfalt.models import OrgUnit

from . import questionnaire as q
from .models import (
    COUNT_COLUMNS,
    PUBLISHED_FIELDS,
    Campaign,
    Invitation,
    LanguageTally,
    PublishedCounts,
    Response,
    ResponseTally,
    published_field,
)

# Per measure: yes, and "no or unknown" (published apart, "unknown" would mostly be a tiny cell whose
# suppression would take the yes figures with it).
COLUMNS = COUNT_COLUMNS
MEASURES = {"mh": "migration_background", "eg": "immigration_history"}


@dataclass
class Cell:
    value: int | None
    suppressed: bool
    share: float | None = None  # percent of the row's respondents

    @property
    def text(self) -> str:
        """The cell as the results tables show it, in the active language ("12 (25,3 %)", or "suppressed"
        marked up): one variable per cell for the templates instead of two conditions and a filter (a page
        has about 150 cells)."""
        if self.suppressed:
            return format_html('<span class="suppressed">{}</span>', gettext("suppressed"))
        if self.share is None:
            return localize(self.value)
        # The share is rounded to one place (_build): number_format shows it as floatformat:1 would, at a
        # quarter of the cost (floatformat goes through Decimal).
        return f"{localize(self.value)} ({number_format(self.share, 1)} %)"


@dataclass
class Row:
    key: str
    label: str
    cells: dict[str, Cell] = field(default_factory=dict)

    def __getitem__(self, column):
        return self.cells[column]

    @property
    def line(self) -> tuple:
        """(key, label, the cells' texts in COLUMNS' order): the row of a results table, for {% rowformat %}."""
        return (self.key, self.label, *(self.cells[column].text for column in COLUMNS))


@dataclass
class LanguageRow:
    code: str
    label: str
    cell: Cell


@dataclass
class Results:
    k: int
    respondents: int
    overall: Row
    by_target_group: list[Row]
    by_unit: list[Row]
    languages: list[LanguageRow]
    invited: int | None = None
    participation: float | None = None
    previous_estimate: str = ""
    organisations: int | None = None

    @cached_property
    def lines(self) -> dict[str, list[tuple]]:
        """The tables' rows as plain values, for {% rowformat %} (a loop over cells cost the results pages most
        of their work)."""
        return {
            "by_target_group": [row.line for row in self.by_target_group],
            "by_unit": [row.line for row in self.by_unit],
            "languages": [(language.code, language.label, language.cell.text) for language in self.languages],
        }

    @property
    def has_suppressed(self) -> bool:
        rows = [self.overall, *self.by_target_group, *self.by_unit]
        return any(c.suppressed for r in rows for c in r.cells.values()) or any(
            r.cell.suppressed for r in self.languages
        )


# --- Suppression ---------------------------------------------------------------------------------------------


def suppress(values: dict, equations: list[list], k: int, protected=frozenset()) -> set:
    """The keys to hide. `equations` are lists [total, part, part, ...] with total = sum(parts)."""
    hidden = {key for key, value in values.items() if value < k}
    while True:
        pick = _next_to_hide(values, equations, hidden, protected)
        if pick is None:
            return hidden
        hidden.add(pick)


def _smallest_published(values, keys, hidden, protected):
    candidates = [key for key in keys if key not in hidden and key not in protected]
    return min(candidates, key=lambda key: (values[key], str(key))) if candidates else None


def _next_to_hide(values, equations, hidden, protected):
    # 1. No equation may have exactly one hidden count (it would be total minus the others).
    for equation in equations:
        in_equation = [key for key in equation if key in hidden]
        if len(in_equation) == 1:
            pick = _smallest_published(values, equation[1:], hidden, protected) or _smallest_published(
                values, equation, hidden, protected
            )
            if pick is not None:
                return pick
    # 2. Published parts that already add up to a published total give away hidden parts (all zero).
    for total, *parts in equations:
        hidden_parts = [key for key in parts if key in hidden]
        if (
            total not in hidden
            and hidden_parts
            and sum(values[p] for p in parts if p not in hidden) == values[total]
        ):
            pick = _smallest_published(values, parts, hidden, protected) or _smallest_published(
                values, [total], hidden, protected
            )
            if pick is not None:
                return pick
    # 3. No hidden count may follow from combining equations.
    for key in determined(equations, hidden):
        for equation in equations:
            if key in equation:
                pick = _smallest_published(values, equation[1:], hidden, protected) or _smallest_published(
                    values, equation, hidden, protected
                )
                if pick is not None:
                    return pick
    return None


def determined(equations: list[list], hidden: set) -> list:
    """Hidden keys whose value follows from the published ones through the equations (linear algebra over
    the rationals: a key is determined iff its unit vector lies in the row space of the equations restricted
    to the hidden keys)."""
    unknowns = sorted(hidden, key=str)
    index = {key: i for i, key in enumerate(unknowns)}
    matrix = []
    for total, *parts in equations:
        row = [Fraction(0)] * len(unknowns)
        if total in index:
            row[index[total]] += 1
        for part in parts:
            if part in index:
                row[index[part]] -= 1
        if any(row):
            matrix.append(row)
    pivots = _rref(matrix, len(unknowns))
    return [unknowns[column] for row, column in pivots if sum(1 for value in matrix[row] if value != 0) == 1]


def _rref(matrix: list[list[Fraction]], width: int) -> list[tuple[int, int]]:
    pivots = []
    rank = 0
    for column in range(width):
        pivot = next((r for r in range(rank, len(matrix)) if matrix[r][column] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        lead = matrix[rank][column]
        matrix[rank] = [value / lead for value in matrix[rank]]
        for r in range(len(matrix)):
            if r != rank and matrix[r][column] != 0:
                factor = matrix[r][column]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[rank], strict=True)]
        pivots.append((rank, column))
        rank += 1
    return pivots


# --- Tables --------------------------------------------------------------------------------------------------


def _row_equations(table: str, key: str) -> list[list]:
    return [
        [(table, key, "n"), (table, key, f"{prefix}_yes"), (table, key, f"{prefix}_not")]
        for prefix in MEASURES
    ]


def _build(
    *, counts_overall: dict, groups: dict[str, list[tuple[str, str, dict]]], k: int
) -> tuple[Row, dict[str, list[Row]]]:
    """`groups`: table name → [(row key, label, counts)], each table partitioning the overall row."""
    values = {("overall", "all", column): counts_overall[column] for column in COLUMNS}
    equations = _row_equations("overall", "all")
    for table, rows in groups.items():
        for key, _label, counts in rows:
            for column in COLUMNS:
                values[(table, key, column)] = counts[column]
            equations += _row_equations(table, key)
        for column in COLUMNS:
            equations.append([("overall", "all", column), *((table, key, column) for key, _l, _c in rows)])
    hidden = suppress(values, equations, k, protected={("overall", "all", "n")})

    def make_row(table, key, label):
        row = Row(key=key, label=label)
        n_key = (table, key, "n")
        for column in COLUMNS:
            cell_key = (table, key, column)
            if cell_key in hidden:
                row.cells[column] = Cell(value=None, suppressed=True)
                continue
            value = values[cell_key]
            share = None
            if column != "n" and n_key not in hidden and values[n_key]:
                share = round(100 * value / values[n_key], 1)
            row.cells[column] = Cell(value=value, suppressed=False, share=share)
        return row

    overall = make_row("overall", "all", str(_("All respondents")))
    tables = {
        table: [make_row(table, key, label) for key, label, _c in rows] for table, rows in groups.items()
    }
    return overall, tables


def _zero() -> dict:
    return dict.fromkeys(COLUMNS, 0)


def results_visible(*, campaign: Campaign, respondents: int = 0) -> bool:
    """Only once the campaign is closed. Figures published while answers still arrive would let whoever
    knows who answered in between (HR, watching its staff) subtract one view from the next; even in steps of
    k the closing step may be smaller than k. So there is one release, of everything, at the end (README,
    "Anonymity of the survey")."""
    return campaign.is_closed


def _grouped_counts(campaign: Campaign) -> tuple[list[tuple[str, int | None, bool, dict]], int, dict, list]:
    """The campaign's counts per (target group, org unit, other unit), its number of invitations, its
    respondents per language and the units to list, (pk, name) by name: one query and one pass over the responses (instead of one per table), portable
    between PostgreSQL and SQLite. Where the database keeps LanguageTally, the languages come from it (in the
    same query): matching every language in every answer was half the work."""
    quote = connection.ops.quote_name
    response, invitation = quote(Response._meta.db_table), quote(Invitation._meta.db_table)
    columns = {
        "target_group": quote(Response._meta.get_field("target_group").column),
        "org_unit": quote(Response._meta.get_field("org_unit").column),
        "org_unit_other": quote(Response._meta.get_field("org_unit_other").column),
        "languages": quote(Response._meta.get_field("languages").column),
        "campaign": quote(Response._meta.get_field("campaign").column),
    }
    tallied = _tallied()
    counts, params = ["COUNT(*)"], []
    for field_name in MEASURES.values():
        column = quote(Response._meta.get_field(field_name).column)
        counts += [f"COUNT(*) FILTER (WHERE {column} = %s)", f"COUNT(*) FILTER (WHERE {column} <> %s)"]
        params += [q.Derived.YES.value, q.Derived.YES.value]
    if not tallied:
        for code in q.LANGUAGE_CODES:
            counts.append(f"COUNT(*) FILTER (WHERE {columns['languages']} LIKE %s)")
            params.append(f"%|{code}|%")
    zeros = ", ".join(["0"] * (len(counts) - 1))
    sql = (
        f"SELECT 0, {columns['target_group']}, {columns['org_unit']}, {columns['org_unit_other']}, "  # noqa: S608
        f"{', '.join(counts)} FROM {response} WHERE {columns['campaign']} = %s "
        f"GROUP BY {columns['target_group']}, {columns['org_unit']}, {columns['org_unit_other']} "
        f"UNION ALL SELECT 1, NULL, NULL, NULL, COUNT(*), {zeros} "
        f"FROM {invitation} WHERE {quote(Invitation._meta.get_field('campaign').column)} = %s"
    )
    params += [campaign.pk, campaign.pk]
    # The units the table lists, in the same statement: those offered to respondents (as
    # services.offered_units: k or more invitations, e-mail and pooled codes alike) and those named in answers,
    # numbered in the database's order of their names.
    unit_table, unit_pk = quote(OrgUnit._meta.db_table), quote(OrgUnit._meta.pk.column)
    unit_name = quote(OrgUnit._meta.get_field("name").column)
    invitation_unit = quote(Invitation._meta.get_field("org_unit").column)
    invitation_campaign = quote(Invitation._meta.get_field("campaign").column)
    sql += (
        f" UNION ALL SELECT 3, {unit_name}, {unit_pk}, NULL, ROW_NUMBER() OVER (ORDER BY {unit_name} COLLATE {NAMES_SQL}), "  # noqa: S608
        f"{zeros} FROM {unit_table} WHERE {unit_pk} IN (SELECT {invitation_unit} FROM {invitation} "
        f"WHERE {invitation_campaign} = %s AND {invitation_unit} IS NOT NULL GROUP BY {invitation_unit} "
        f"HAVING COUNT(*) >= %s) OR {unit_pk} IN (SELECT {columns['org_unit']} FROM {response} "
        f"WHERE {columns['campaign']} = %s AND {columns['org_unit']} IS NOT NULL)"
    )
    params += [campaign.pk, campaign.k, campaign.pk]
    if tallied:
        tally = quote(LanguageTally._meta.db_table)
        sql += (
            f" UNION ALL SELECT 2, {quote(LanguageTally._meta.get_field('code').column)}, NULL, NULL, "  # noqa: S608
            f"{quote(LanguageTally._meta.get_field('n').column)}, {zeros} FROM {tally} "
            f"WHERE {quote(LanguageTally._meta.get_field('campaign').column)} = %s"
        )
        params.append(campaign.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    names = COLUMNS if tallied else [*COLUMNS, *q.LANGUAGE_CODES]
    rows, invited, languages, units = [], 0, dict.fromkeys(q.LANGUAGE_CODES, 0), []
    for kind, target_group, unit, other, *values in fetched:
        if kind == 1:
            invited = values[0]
        elif kind == 2:
            if target_group in languages:
                languages[target_group] = values[0]
        elif kind == 3:
            units.append((values[0], unit, target_group))
        else:
            rows.append((target_group, unit, bool(other), dict(zip(names, values, strict=True))))
    if not tallied:
        languages = {code: sum(row[3][code] for row in rows) for code in q.LANGUAGE_CODES}
    return rows, invited, languages, [(pk, name) for _position, pk, name in sorted(units)]


def _sum(rows, key) -> dict:
    """Totals of `rows` (as from `_grouped_counts`) per key(row)."""
    totals = {}
    for row in rows:
        counts = row[3]
        total = totals.setdefault(key(row), dict.fromkeys(counts, 0))
        for name, value in counts.items():
            total[name] += value
    return totals


def _language_cells(counts: dict, k: int) -> list[LanguageRow]:
    return [
        LanguageRow(
            code=code,
            label=str(label),
            cell=Cell(value=None, suppressed=True)
            if counts[code] < k
            else Cell(value=counts[code], suppressed=False),
        )
        for code, label in q.LANGUAGES
    ]


def campaign_results(campaign: Campaign) -> Results:
    rows, invited, languages, units = _grouped_counts(campaign)
    overall = _sum(rows, lambda row: None).get(None) or dict.fromkeys(COLUMNS, 0)
    by_group = _sum(rows, lambda row: row[0])
    unit_counts = _sum(rows, lambda row: (row[1], row[2]))
    unit_rows = [(str(pk), name, unit_counts.get((pk, False), _zero())) for pk, name in units]
    unit_rows.append(("other", str(_("Other units")), unit_counts.get((None, True), _zero())))
    unit_rows.append(("na", str(q.Citizenship.NO_ANSWER.label), unit_counts.get((None, False), _zero())))
    group_rows = [
        (value, str(label), by_group.get(value, _zero())) for value, label in q.TargetGroupAnswer.choices
    ]
    overall_row, tables = _build(
        counts_overall=overall, groups={"target_group": group_rows, "unit": unit_rows}, k=campaign.k
    )
    return Results(
        k=campaign.k,
        respondents=overall["n"],
        overall=overall_row,
        by_target_group=tables["target_group"],
        by_unit=tables["unit"],
        languages=_language_cells(languages, campaign.k),
        invited=invited,
        participation=round(100 * overall["n"] / invited, 1) if invited else None,
        previous_estimate=campaign.previous_estimate,
    )


PROGRAMME_K = 5


def _tallied() -> bool:
    """Whether the database keeps the counts of released responses (ResponseTally, LanguageTally:
    PostgreSQL's triggers, migration 0009); on SQLite the responses are counted."""
    return connection.vendor == "postgresql"


def _tally_sum(column: str):
    """The sum of `column` over the tallies of the outer campaign (0 without any)."""
    total = (
        ResponseTally.objects.filter(campaign_id=OuterRef("pk"))
        .order_by()
        .values("campaign_id")
        .annotate(total=Sum(column))
        .values("total")
    )
    return Coalesce(Subquery(total), 0)


def latest_counted(campaigns):
    """Each organisation's latest of `campaigns` (by closing date, then the newest), annotated with "n"
    respondents and "mh_yes" with a migration background. A queryset, so that callers can use it as a subquery:
    the database picks the campaigns and sums their tallies, with no list of ids going back and forth. Whoever
    shows the counts decides whether the campaign may be shown."""
    if _tallied():
        # DISTINCT ON rather than a correlated subquery: PostgreSQL then estimates one campaign per
        # organisation instead of a single row, and joins the tallies by hash instead of looping over them.
        newest = campaigns.order_by("organisation_id", "-closes_on", "-pk").distinct("organisation_id")
        latest = Campaign.objects.filter(pk__in=newest.values("pk"))
        return latest.annotate(n=_tally_sum("n"), mh_yes=_tally_sum("mh_yes"))
    newest = (
        campaigns.filter(organisation_id=OuterRef("organisation_id"))
        .order_by("-closes_on", "-pk")
        .values("pk")[:1]
    )
    latest = campaigns.filter(pk=Subquery(newest))
    return latest.annotate(
        n=Count("responses"),
        mh_yes=Count("responses", filter=Q(responses__migration_background=q.Derived.YES)),
    )


def _published_counts(campaign: Campaign) -> PublishedCounts:
    """The cells of `campaign`'s own results that the programme adds up (overall, per target group, per
    language), each suppressed cell as 0: the same computation and suppression as the campaign's results page."""
    results = campaign_results(campaign)
    counts = PublishedCounts(campaign_id=campaign.pk)
    for row_name, row in [("overall", results.overall), *((row.key, row) for row in results.by_target_group)]:
        for column in COLUMNS:
            setattr(
                counts, published_field(row_name, column), 0 if row[column].suppressed else row[column].value
            )
    for language in results.languages:
        setattr(
            counts,
            published_field(f"language_{language.code}"),
            0 if language.cell.suppressed else language.cell.value,
        )
    return counts


def published_counts_store(campaigns) -> None:
    """Store (anew) what each of the closed `campaigns` publishes, as `PublishedCounts`. Called when a
    campaign closes, in the closing transaction, and by `programme_results` for an included campaign that has
    none (closed before these rows existed, or made closed by the scale data or by hand). A closed campaign's
    answers are final, so computing its row twice gives the same row; a change to its responses by hand drops
    it (the triggers of migration 0018) and the next programme view stores it anew."""
    rows = [_published_counts(campaign) for campaign in campaigns]
    with transaction.atomic():
        PublishedCounts.objects.filter(campaign_id__in=[row.campaign_id for row in rows]).delete()
        # A request storing the same campaign at the same moment stores the same row: keep either.
        PublishedCounts.objects.bulk_create(rows, ignore_conflicts=True)


def _programme_sums(campaigns) -> tuple[dict[str, int], int, list[int]]:
    """Of the campaigns of the queryset `campaigns` (their pk): the sums of their `PublishedCounts` per field,
    how many campaigns there are, and those of them without a row (to be stored first). One round trip, the
    campaigns chosen once (a CTE)."""
    campaigns_sql, params = campaigns.query.sql_with_params()
    table = PublishedCounts._meta.db_table
    sums = ", ".join(f"SUM({name})" for name in PUBLISHED_FIELDS)
    zeros = ", ".join(["0"] * (len(PUBLISHED_FIELDS) - 1))
    sql = (
        f"WITH included (pk) AS ({campaigns_sql}) "  # noqa: S608 (table and column names only)
        f"SELECT 0, {sums} FROM {table} WHERE campaign_id IN (SELECT pk FROM included) "
        f"UNION ALL SELECT 1, COUNT(*), {zeros} FROM included "
        f"UNION ALL SELECT 2, pk, {zeros} FROM included "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE campaign_id = included.pk)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    sums_by_field, campaign_count, missing = dict.fromkeys(PUBLISHED_FIELDS, 0), 0, []
    for part, *values in fetched:
        if part == 0:
            sums_by_field = {name: value or 0 for name, value in zip(PUBLISHED_FIELDS, values, strict=True)}
        elif part == 1:
            campaign_count = values[0]
        else:
            missing.append(values[0])
    return sums_by_field, campaign_count, missing


def programme_results() -> Results:
    """Across organisations: each organisation's latest closed campaign, counted only where it reached its k,
    and only with what that campaign's own results publish (`PublishedCounts`, a suppressed cell as 0). Summing
    the exact counts instead let whoever saves the page before and after one organisation's campaign closes
    subtract, and read that organisation's unsuppressed table; now the difference between any two views is
    made of figures the organisations published themselves. One query however many organisations there are
    (the campaigns are chosen inside it, a subquery); once more, after storing them, for campaigns without rows."""
    included = (
        latest_counted(Campaign.objects.filter(status=Campaign.Status.CLOSED))
        .filter(n__gte=F("k"))
        .values("pk")
    )
    sums, organisations, missing = _programme_sums(included)
    if missing:
        published_counts_store(Campaign.objects.filter(pk__in=missing))
        sums, organisations, _missing = _programme_sums(included)

    def row(name):
        return {column: sums[published_field(name, column)] for column in COLUMNS}

    overall = row("overall")
    group_rows = [(value, str(label), row(value)) for value, label in q.TargetGroupAnswer.choices]
    languages = {code: sums[published_field(f"language_{code}")] for code in q.LANGUAGE_CODES}
    overall_row, tables = _build(counts_overall=overall, groups={"target_group": group_rows}, k=PROGRAMME_K)
    return Results(
        k=PROGRAMME_K,
        respondents=overall["n"],
        overall=overall_row,
        by_target_group=tables["target_group"],
        by_unit=[],
        languages=_language_cells(languages, PROGRAMME_K),
        organisations=organisations,
    )


EXPORT_HEADER = [
    "Tabelle",
    "Gruppe",
    "Hinweis",
    "Antwortende",
    "Mit Migrationshintergrund",
    "Ohne oder unbekannt",
    "Mit Einwanderungsgeschichte",
    "Ohne oder unbekannt",
]


def export_rows(results: Results) -> list[list]:
    """The aggregate tables as flat rows for CSV and XLSX (in German, like the portal's other exports);
    suppressed counts stay empty."""

    def value(cell):
        return "" if cell.suppressed else cell.value

    rows = [
        ["Teilnahme", "Eingeladen", "", results.invited],
        ["Teilnahme", "Geantwortet", "", results.respondents],
    ]
    for table, entries in (
        ("Gesamt", [results.overall]),
        ("Zielgruppe", results.by_target_group),
        ("Organisationseinheit", results.by_unit),
    ):
        for row in entries:
            rows.append(
                [table, row.label, "unterdrückt" if any(c.suppressed for c in row.cells.values()) else ""]
                + [value(row[column]) for column in COLUMNS]
            )
    for language in results.languages:
        rows.append(
            [
                "Sprachen",
                language.label,
                "unterdrückt" if language.cell.suppressed else "",
                value(language.cell),
            ]
        )
    width = len(EXPORT_HEADER)
    return [row + [""] * (width - len(row)) for row in rows]
