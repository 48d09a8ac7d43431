"""Django's SQLite backend (`make run` without DATABASE_URL), with Unicode's case rules where SQLite has only
ASCII's.

SQLite's LIKE ignores the case of A–Z only, and its UPPER() changes A–Z only. Django reads `icontains`,
`istartswith` and `iexact` as LIKE there, so "öz" did not find Öztürk, nor "ł" Łukasz, nor "şa" Şahin: the names of
the people this programme is about. On PostgreSQL, which production runs on, the same searches compare by the
database's case rules (UPPER on both sides) and find them. Here LIKE and UPPER are Python's, registered on each
new connection (SQLite lets an application's function named like or upper take the built-in's place):
case-insensitive by Python's `re.IGNORECASE`, upper-case by `str.upper`. The collation every sort by text names
(vielfalt.collation.NAMES) is registered here too, as `vielfalt.collation.compare`."""

import re
from functools import lru_cache

from django.db.backends.sqlite3 import base

from vielfalt import collation


@lru_cache(maxsize=512)
def _like_pattern(pattern: str, escape: str | None) -> re.Pattern:
    """A LIKE pattern (`%` any characters, `_` one, `escape` before either or itself for the character) as a
    regular expression."""
    parts, characters = [], iter(pattern)
    for character in characters:
        if escape and character == escape:
            parts.append(re.escape(next(characters, "")))
        elif character == "%":
            parts.append(".*")
        elif character == "_":
            parts.append(".")
        else:
            parts.append(re.escape(character))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def like(pattern, value, escape=None):
    """`value LIKE pattern [ESCAPE escape]`, as SQLite calls it: NULL if either is NULL."""
    if pattern is None or value is None:
        return None
    return _like_pattern(str(pattern), escape).fullmatch(str(value)) is not None


def upper(value):
    return value.upper() if isinstance(value, str) else value


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        connection.create_function("like", 2, like, deterministic=True)
        connection.create_function("like", 3, like, deterministic=True)
        connection.create_function("upper", 1, upper, deterministic=True)
        connection.create_collation(collation.NAMES, collation.compare)
        return connection
