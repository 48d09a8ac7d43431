"""Text in the order German readers expect, whatever the database's locale.

A database sorts text by the collation its cluster was created with. On a cluster initialised with C.UTF-8 (as
many are, Debian's included) and on SQLite, that is the order of code points: "Şahin", "Çelik" and "Öztürk"
came after "Zieliński", and "de Vries" after every capitalised name, on every list of employees, participants
and partners. For a programme about people with a migration background that is the wrong order in front of the
people it is about.

So every sort by text names a collation of its own, NAMES: on PostgreSQL the ICU collation for German that
migration vielfalt 0023 creates (ICU's rules do not depend on the operating system or the cluster), on SQLite
(`make run`) `sort_key` below, registered by `vielfalt.sqlite` on each connection. Comparisons and searches keep
the column's own collation: only the order changes (an ICU collation upper-cases "ß" to "SS", which a search
comparing against the database's default upper case would no longer find).

Sort through `text_order` (ORM), `NAMES_SQL` (plain SQL) or `sort_key` (Python); the indexes that hold a list's
order are declared with `collated`."""

import unicodedata
from functools import lru_cache

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import F
from django.db.models.constants import LOOKUP_SEP
from django.db.models.functions import Collate

NAMES = "vielfalt_names"
NAMES_SQL = f'"{NAMES}"'  # to write after a column in plain SQL: f"ORDER BY o.name COLLATE {NAMES_SQL}"

# Letters that Unicode does not decompose into a base letter and a mark but ICU sorts with a base letter, and two
# it sorts as letters of their own: Turkish dotless ı after i, Icelandic þ after z.
_BASE_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "ı": "i\uffff",
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ħ": "h",
        "Ħ": "H",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "þ": "z\uffff",
        "Þ": "Z\uffff",
    }
)


@lru_cache(maxsize=4096)
def sort_key(text: str) -> tuple[str, str, str, str]:
    """A key sorting as ICU's German collation does for names: by letters regardless of accents and case
    (Çelik among the C, Strauß with Strauss), then accents (Muller before Müller), then case, lower first (de
    Vries before De Vries), then the text itself (equal keys only for equal texts)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_BASE_LETTERS))
    base = "".join(character for character in decomposed if not unicodedata.combining(character))
    return base.casefold(), decomposed.casefold(), text.swapcase(), text


def compare(left: str, right: str) -> int:
    """SQLite's collation function: negative, zero or positive as `left` sorts before, with or after `right`."""
    left_key, right_key = sort_key(left), sort_key(right)
    return (left_key > right_key) - (left_key < right_key)


def collated(field: str) -> Collate:
    """A column (a field's name) in the NAMES order, for an index holding that order or a sort."""
    return Collate(F(field), NAMES)


def field_at(model, path: str):
    """The field a lookup path ("organisation__name") ends at, or None where it names no field (an annotation,
    or a path continuing past a column)."""
    field = None
    for name in path.split(LOOKUP_SEP):
        if field is not None:
            if not field.is_relation:
                return None
            model = field.related_model
        try:
            field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
    return field


# Identifiers and codes sort by their characters, as the unique indexes that hold them do: "BS-012345" is no name.
CODES = frozenset({"personnel_number", "code_hash", "slug", "code"})


@lru_cache(maxsize=1024)
def _is_text(model, path: str) -> bool:
    field = field_at(model, path)  # None: an annotation, sorted as the database computes it
    return (
        isinstance(field, (models.CharField, models.TextField))
        and not field.choices
        and field.name not in CODES
    )


def text_order(model, *terms) -> list:
    """Ordering terms (field names, "-" for descending) with the text fields among them in the NAMES order, for
    `order_by()`. Fields with choices keep their codes' order, identifiers (CODES) theirs; other terms stay as
    they are."""
    return [_term(model, term) if isinstance(term, str) else term for term in terms]


@lru_cache(maxsize=1024)
def _term(model, term: str):
    """A term as `text_order` writes it, built once: a query copies its ordering's expressions before it
    changes them (as it does Meta.ordering's, which every query of a model shares)."""
    if term == "?" or not _is_text(model, term.removeprefix("-")):
        return term
    expression = collated(term.removeprefix("-"))
    return expression.desc() if term.startswith("-") else expression.asc()


# --- When the ICU library changes -----------------------------------------------------------------------------
# PostgreSQL compares in the collation with the ICU library it runs with, and records the version the collation
# was created with. An operating system upgrade or a restore onto another machine may bring an ICU whose rules
# differ (new characters, changed tailorings): the indexes built in the old order then hold rows where the new
# comparisons no longer look, and a list may skip them. PostgreSQL warns in its log; the portal's system check
# (vielfalt.checks, run by `manage.py migrate` and `check --database default`) says so too, and
# `manage.py refresh_collation` rebuilds the indexes in the new order and records the new version.

_VERSIONS = "SELECT collversion, pg_collation_actual_version(oid) FROM pg_collation WHERE collname = %s"
_INDEXES = (
    "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_collation c ON c.oid = ANY(i.indcollation::oid[])"
    " WHERE c.collname = %s ORDER BY 1"
)


def recorded_and_actual_version(connection) -> tuple[str | None, str | None] | None:
    """(the version PostgreSQL recorded for NAMES, the version of the ICU it runs with); None where there is no
    such collation (SQLite, or not migrated yet)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(_VERSIONS, [NAMES])
        return cursor.fetchone()


def refresh(connection) -> list[str]:
    """Rebuild every index in NAMES and record the ICU version now in use; the indexes rebuilt. Each index is
    rebuilt while the table takes no writes (seconds for 100,000 employees)."""
    with connection.cursor() as cursor:
        cursor.execute(_INDEXES, [NAMES])
        indexes = [name for (name,) in cursor.fetchall()]
        for index in indexes:
            cursor.execute(f"REINDEX INDEX {index}")  # names from pg_index, quoted by regclass's output
        cursor.execute(f"ALTER COLLATION {NAMES_SQL} REFRESH VERSION")
    return indexes
