"""Counts kept by PostgreSQL: a table of (key, number) that statement-level triggers on the counted table keep
up to date through every statement that adds, removes or moves rows (ORM, bulk, COPY, plain SQL), in the same
transaction. A list then shows its total without counting its rows on every page (EmployeeCount,
partnerships.AgreementCount). Not kept on SQLite (no triggers there): read them through `total`."""

import pgtrigger
from django.db import connection


def count_triggers(
    prefix: str, counts_table: str, key: str | dict[str, str], number: str
) -> list[pgtrigger.Trigger]:
    """The triggers keeping `counts_table` (`key` column, `number` column) equal to the number of rows of the
    table they are declared on, per `key`. `key` may also be several columns, as {column of `counts_table`:
    expression over the counted rows}: one count per combination of their values.

    Every trigger writes the counts in the order of their keys, so that two statements changing several counts
    lock them in the same order instead of deadlocking."""
    keys = {key: key} if isinstance(key, str) else key
    columns = ", ".join(keys)
    grouped = ", ".join(keys.values())
    selected = ", ".join(
        expression if expression == column else f"{expression} AS {column}"
        for column, expression in keys.items()
    )
    order = "" if isinstance(key, str) else f" ORDER BY {columns}"
    upsert = (
        f" ON CONFLICT ({columns})"
        f" DO UPDATE SET {number} = {counts_table}.{number} + EXCLUDED.{number};"
        " RETURN NULL;"
    )
    if isinstance(key, str):  # the one-column form, as its migrations installed it
        removed = (
            f"UPDATE {counts_table} c SET {number} = c.{number} - d.n"  # noqa: S608 (names declared in the models)
            f" FROM (SELECT {key}, count(*) AS n FROM old_rows GROUP BY {key}) d"
            f" WHERE c.{key} = d.{key};"
            " RETURN NULL;"
        )
    else:  # the rows counted before exist: an upsert that always updates, in the keys' order
        removed = (
            f"INSERT INTO {counts_table} ({columns}, {number})"  # noqa: S608 (names declared in the models)
            f" SELECT {selected}, -count(*) FROM old_rows GROUP BY {grouped}{order}" + upsert
        )
    return [
        pgtrigger.Trigger(
            name=f"{prefix}_insert",
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            operation=pgtrigger.Insert,
            referencing=pgtrigger.Referencing(new="new_rows"),
            func=(
                f"INSERT INTO {counts_table} ({columns}, {number})"  # noqa: S608 (names declared in the models)
                f" SELECT {selected}, count(*) FROM new_rows GROUP BY {grouped}{order}" + upsert
            ),
        ),
        pgtrigger.Trigger(
            name=f"{prefix}_delete",
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            operation=pgtrigger.Delete,
            referencing=pgtrigger.Referencing(old="old_rows"),
            func=removed,
        ),
        pgtrigger.Trigger(
            name=f"{prefix}_update",
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            operation=pgtrigger.Update,
            referencing=pgtrigger.Referencing(old="old_rows", new="new_rows"),
            func=(
                f"INSERT INTO {counts_table} ({columns}, {number})"  # noqa: S608 (names declared in the models)
                f" SELECT {columns}, sum(n)::integer FROM ("
                f"  SELECT {selected}, count(*) AS n FROM new_rows GROUP BY {grouped}"
                f"  UNION ALL SELECT {selected}, -count(*) FROM old_rows GROUP BY {grouped}"
                f" ) moved GROUP BY {columns} HAVING sum(n) <> 0{order}" + upsert
            ),
        ),
    ]


def total(counts_model, number: str, keys, *, key: str | None = None, **equal) -> int | None:
    """The sum of `number` in `counts_model` for these keys (None: for every key), and where each column of
    `equal` that is not None has that value; None where the counts are not kept (SQLite). `key` is the column of
    `keys` (the model's primary key unless named). Plain SQL: on a list's every page, the ORM took longer to build
    this than PostgreSQL to answer it."""
    if connection.vendor != "postgresql":
        return None
    quote = connection.ops.quote_name
    table = quote(counts_model._meta.db_table)
    key = key or counts_model._meta.pk.column
    conditions, params = [], []
    if keys is not None:
        conditions.append(f"{quote(key)} = ANY(%s::bigint[])")
        params.append(list(keys))
    for column, value in equal.items():
        if value is not None:
            conditions.append(f"{quote(column)} = %s")
            params.append(value)
    sql = f"SELECT SUM({number}) FROM {table}"  # noqa: S608 (names declared in the models)
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0] or 0
