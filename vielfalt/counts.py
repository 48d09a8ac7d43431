"""Counts kept by PostgreSQL: a table of (key, number) that statement-level triggers on the counted table keep
up to date through every statement that adds, removes or moves rows (ORM, bulk, COPY, plain SQL), in the same
transaction. A list then shows its total without counting its rows on every page (EmployeeCount,
partnerships.AgreementCount). Not kept on SQLite (no triggers there): read them through `total`."""

import pgtrigger
from django.db import connection


def count_triggers(prefix: str, counts_table: str, key: str, number: str) -> list[pgtrigger.Trigger]:
    """The triggers keeping `counts_table` (`key` column, `number` column) equal to the number of rows of the
    table they are declared on, per `key`."""
    return [
        pgtrigger.Trigger(
            name=f"{prefix}_insert",
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            operation=pgtrigger.Insert,
            referencing=pgtrigger.Referencing(new="new_rows"),
            func=(
                f"INSERT INTO {counts_table} ({key}, {number})"  # noqa: S608 (names declared in the models)
                f" SELECT {key}, count(*) FROM new_rows GROUP BY {key}"
                f" ON CONFLICT ({key})"
                f" DO UPDATE SET {number} = {counts_table}.{number} + EXCLUDED.{number};"
                " RETURN NULL;"
            ),
        ),
        pgtrigger.Trigger(
            name=f"{prefix}_delete",
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            operation=pgtrigger.Delete,
            referencing=pgtrigger.Referencing(old="old_rows"),
            func=(
                f"UPDATE {counts_table} c SET {number} = c.{number} - d.n"  # noqa: S608 (names declared in the models)
                f" FROM (SELECT {key}, count(*) AS n FROM old_rows GROUP BY {key}) d"
                f" WHERE c.{key} = d.{key};"
                " RETURN NULL;"
            ),
        ),
        pgtrigger.Trigger(
            name=f"{prefix}_update",
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            operation=pgtrigger.Update,
            referencing=pgtrigger.Referencing(old="old_rows", new="new_rows"),
            func=(
                f"INSERT INTO {counts_table} ({key}, {number})"  # noqa: S608 (names declared in the models)
                f" SELECT {key}, sum(n)::integer FROM ("
                f"  SELECT {key}, count(*) AS n FROM new_rows GROUP BY {key}"
                f"  UNION ALL SELECT {key}, -count(*) FROM old_rows GROUP BY {key}"
                f" ) moved GROUP BY {key} HAVING sum(n) <> 0"
                f" ON CONFLICT ({key})"
                f" DO UPDATE SET {number} = {counts_table}.{number} + EXCLUDED.{number};"
                " RETURN NULL;"
            ),
        ),
    ]


def total(counts_model, number: str, keys) -> int | None:
    """The sum of `number` in `counts_model` for these keys (None: for every key); None where the counts are not
    kept (SQLite). Plain SQL: on a list's every page, the ORM took longer to build this than PostgreSQL to
    answer it."""
    if connection.vendor != "postgresql":
        return None
    table = connection.ops.quote_name(counts_model._meta.db_table)
    key = counts_model._meta.pk.column
    sql = f"SELECT SUM({number}) FROM {table}"  # noqa: S608
    params = []
    if keys is not None:
        sql += f" WHERE {key} = ANY(%s::bigint[])"
        params.append(list(keys))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0] or 0
