"""The figures' generation: a number that grows with every write to a table the programme's figures are
computed from, so that a cache of those figures can tell it is out of date.

The ministry's dashboard aggregates the whole programme (400 partners: a dozen aggregate queries and about
100 ms), the programme's survey page all organisations' latest surveys; both keep those aggregates in the cache
under the current generation (`cached_figures`). The generation is PostgreSQL's own work, not the
application's: every INSERT, UPDATE or DELETE statement on a source table fires a statement-level trigger
(`figures_changed()`, in the Meta of each source model) that takes a new number from a sequence. So no code
path can forget to mark the figures changed (a form, a bulk import, a background job, raw SQL, the triggers that
keep the tallies), and writers never wait for each other as they would on a counter row (a sequence is not
locked by a transaction). The write itself never depends on Redis.

A reader that computes the figures while a write is still uncommitted can store the old figures under the
write's new generation; the cache entry's short lifetime (PROGRAMME_FIGURES_CACHE_SECONDS) bounds that. On
SQLite (`make run` without PostgreSQL) there are no triggers and no generation: nothing is cached."""

import hashlib
from collections.abc import Callable

import pgtrigger
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import get_language

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


def cached_figures[T](name: str, compute: Callable[[], T], *identity) -> T:
    """`compute()`, kept in the cache until the next write to a table the figures come from (or at most
    PROGRAMME_FIGURES_CACHE_SECONDS). `identity` is what else the figures depend on (scope, year); today's date
    and the active language (figures carry translated labels) are always part of the key. Aggregates only, never
    a rendered page: user and rendering stay each request's own. Without a generation (SQLite) or with the
    setting at 0 the figures are computed every time, and without Redis too (vielfalt.cache)."""
    seconds = settings.PROGRAMME_FIGURES_CACHE_SECONDS
    generation = figures_generation() if seconds > 0 else None
    if generation is None:
        return compute()
    parts = "|".join(map(str, (generation, timezone.localdate().isoformat(), get_language(), *identity)))
    key = f"figures:{name}:{hashlib.sha256(parts.encode()).hexdigest()}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value
