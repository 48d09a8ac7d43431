"""The figures' generation: a number that grows with every write to a table the programme's figures are
computed from, so that a cache of those figures can tell it is out of date.

The ministry's dashboard aggregates the whole programme (400 partners: a dozen aggregate queries and about
100 ms); it keeps those aggregates in the cache under the current generation
(vielfalt.programme.figures.dashboard_programme). The generation is PostgreSQL's own work, not the
application's: every INSERT, UPDATE or DELETE statement on a source table fires a statement-level trigger
(`figures_changed()`, in the Meta of each source model) that takes a new number from a sequence. So no code
path can forget to mark the figures changed (a form, a bulk import, a background job, raw SQL, the triggers that
keep the tallies), and writers never wait for each other as they would on a counter row (a sequence is not
locked by a transaction). The write itself never depends on Redis.

A reader that computes the figures while a write is still uncommitted can store the old figures under the
write's new generation; the cache entry's short lifetime (PROGRAMME_FIGURES_CACHE_SECONDS) bounds that. On
SQLite (`make run` without PostgreSQL) there are no triggers and no generation: nothing is cached."""

import pgtrigger
from django.db import connection

SEQUENCE = "vielfalt_figures_generation"


def figures_changed() -> pgtrigger.Trigger:
    """The trigger of a table the programme's figures are computed from."""
    return pgtrigger.Trigger(
        name="figures_changed",
        level=pgtrigger.Statement,
        when=pgtrigger.After,
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
        func=f"PERFORM nextval('{SEQUENCE}'); RETURN NULL;",
    )


def figures_generation() -> int | None:
    """The current generation, or None where there is none (not PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_value, is_called FROM {SEQUENCE}")  # noqa: S608 (a constant)
        last_value, is_called = cursor.fetchone()
    return last_value if is_called else 0


def new_figures_generation() -> None:
    """Mark every cached figure out of date (what each write to a source table does by its trigger)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT nextval('{SEQUENCE}')")
