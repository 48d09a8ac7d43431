"""The triggers that keep StaffTally, EmployeeAttendance and AttendanceTally in step (trainings.models), and
the counts of the rows already there.

Statement-level triggers with transition tables: a statement that writes 100,000 rows (an import, COPY)
updates the counts once, not 100,000 times. Every change of the counts is an upsert ordered by its key, so
that two transactions meet on the same rows in the same order. PostgreSQL only: on SQLite (the embedded
default) the selectors count the rows themselves.

The local date of a course date's start is taken in TIME_ZONE as it was when this migration ran (the figures'
periods are local days); a later change of TIME_ZONE needs a migration that recreates the function and
calls `trainings_attendance_rebuild()`.
"""

from django.conf import settings
from django.db import migrations

ATTENDED = "en.status = 'seated' AND en.attendance = 'attended'"


def _upsert(table: str, keys: str, source: str, sign: str) -> str:
    return f"""
        INSERT INTO {table} AS t ({keys}, employees)
        SELECT {keys}, {sign}count(*) FROM {source} GROUP BY {keys} ORDER BY {keys}
        ON CONFLICT ({keys}) DO UPDATE SET employees = t.employees + EXCLUDED.employees;"""


STAFF_KEYS = "organisation_id, target_group, is_active"
ATTENDANCE_KEYS = "organisation_id, target_group, is_active, year"


def _moved(columns: str) -> str:
    """The employees of an UPDATE whose `columns` changed."""
    old = ", ".join(f"o.{column}" for column in columns.split(", "))
    new = ", ".join(f"n.{column}" for column in columns.split(", "))
    return f"old_rows o JOIN new_rows n ON n.id = o.id WHERE ({old}) IS DISTINCT FROM ({new})"


# The employees of an UPDATE whose organisation, target group or activity changed.
MOVED = _moved(STAFF_KEYS)


def functions_sql(time_zone: str, *, units: bool = False) -> str:
    """The functions as this migration installs them; with `units` (migration 0013), EmployeeAttendance and
    AttendanceTally also hold the org unit (`unit`: its id, 0 for none), and an employee moved to another unit
    is counted again there."""
    zone = time_zone.replace("'", "''")
    attendance_keys = f"{ATTENDANCE_KEYS}, unit" if units else ATTENDANCE_KEYS
    unit_column, unit_value = (", unit", ", COALESCE(e.org_unit_id, 0)") if units else ("", "")
    attendance_moved = _moved(f"{STAFF_KEYS}, org_unit_id") if units else MOVED
    return f"""
CREATE OR REPLACE FUNCTION trainings_attendance_refresh(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    -- One refresh of an employee at a time: a concurrent one waits here, then reads what this one wrote.
    PERFORM 1 FROM vielfalt_employee WHERE id = ANY(ids) ORDER BY id FOR NO KEY UPDATE;
    -- Take back what these employees counted so far ...
    WITH gone AS (
        DELETE FROM trainings_employeeattendance WHERE employee_id = ANY(ids)
        RETURNING {attendance_keys}
    ) {_upsert("trainings_attendancetally", attendance_keys, "gone", "-")}
    -- ... and count them again from their enrolments.
    WITH attended AS (
        SELECT en.employee_id, (cd.starts_at AT TIME ZONE '{zone}')::date AS day
        FROM trainings_enrolment en JOIN trainings_coursedate cd ON cd.id = en.course_date_id
        WHERE en.employee_id = ANY(ids) AND {ATTENDED}
    ), first_days AS (
        SELECT employee_id, 0 AS year, min(day) AS first_day FROM attended GROUP BY employee_id
        UNION ALL
        SELECT employee_id, extract(year FROM day)::int, min(day) FROM attended
        GROUP BY employee_id, extract(year FROM day)
    ), added AS (
        INSERT INTO trainings_employeeattendance
            (employee_id, year, first_day, organisation_id, target_group, is_active{unit_column})
        SELECT f.employee_id, f.year, f.first_day, e.organisation_id, e.target_group, e.is_active{unit_value}
        FROM first_days f JOIN vielfalt_employee e ON e.id = f.employee_id
        RETURNING {attendance_keys}
    ) {_upsert("trainings_attendancetally", attendance_keys, "added", "")}
END
$$;

CREATE OR REPLACE FUNCTION trainings_employee_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_upsert("trainings_stafftally", STAFF_KEYS, "new_rows", "")}
    ELSIF TG_OP = 'DELETE' THEN
        {_upsert("trainings_stafftally", STAFF_KEYS, "old_rows", "-")}
        PERFORM trainings_attendance_refresh(ARRAY(SELECT id FROM old_rows));
    ELSE
        -- Only the rows whose organisation, target group or activity (or, with units, org unit) changed.
        {_upsert("trainings_stafftally", STAFF_KEYS, f"(SELECT o.* FROM {MOVED}) AS m", "-")}
        {_upsert("trainings_stafftally", STAFF_KEYS, f"(SELECT n.* FROM {MOVED}) AS m", "")}
        PERFORM trainings_attendance_refresh(ARRAY(SELECT o.id FROM {attendance_moved} ORDER BY 1));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION trainings_enrolment_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM trainings_attendance_refresh(ARRAY(SELECT DISTINCT en.employee_id FROM new_rows en WHERE {ATTENDED}));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM trainings_attendance_refresh(ARRAY(SELECT DISTINCT en.employee_id FROM old_rows en WHERE {ATTENDED}));
    ELSE
        PERFORM trainings_attendance_refresh(ARRAY(
            SELECT o.employee_id FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.status, o.attendance, o.employee_id, o.course_date_id)
                IS DISTINCT FROM (n.status, n.attendance, n.employee_id, n.course_date_id)
                AND ((o.status = 'seated' AND o.attendance = 'attended')
                    OR (n.status = 'seated' AND n.attendance = 'attended'))
            UNION
            SELECT n.employee_id FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.employee_id <> n.employee_id AND n.status = 'seated' AND n.attendance = 'attended'
            ORDER BY 1
        ));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION trainings_course_date_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM trainings_attendance_refresh(ARRAY(
        SELECT DISTINCT en.employee_id FROM trainings_enrolment en
        JOIN old_rows o ON o.id = en.course_date_id JOIN new_rows n ON n.id = o.id
        WHERE o.starts_at <> n.starts_at AND {ATTENDED}
        ORDER BY 1
    ));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION trainings_attendance_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM trainings_stafftally;
    DELETE FROM trainings_employeeattendance;
    DELETE FROM trainings_attendancetally;
    {_upsert("trainings_stafftally", STAFF_KEYS, "vielfalt_employee", "")}
    PERFORM trainings_attendance_refresh(ARRAY(
        SELECT DISTINCT en.employee_id FROM trainings_enrolment en WHERE {ATTENDED} ORDER BY 1
    ));
END
$$;
"""


def _triggers(table: str, function: str, events: tuple[str, ...]) -> str:
    sql = []
    for event in events:
        referencing = {
            "INSERT": "NEW TABLE AS new_rows",
            "DELETE": "OLD TABLE AS old_rows",
            "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        }[event]
        name = f"{function}_{event.lower()}"
        sql.append(
            f"DROP TRIGGER IF EXISTS {name} ON {table};"
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
        )
    return "\n".join(sql)


TRIGGERS = "\n".join(
    [
        _triggers("vielfalt_employee", "trainings_employee_tally", ("INSERT", "UPDATE", "DELETE")),
        _triggers("trainings_enrolment", "trainings_enrolment_tally", ("INSERT", "UPDATE", "DELETE")),
        _triggers("trainings_coursedate", "trainings_course_date_tally", ("UPDATE",)),
    ]
)


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(functions_sql(settings.TIME_ZONE))
    schema_editor.execute(TRIGGERS)
    schema_editor.execute("SELECT trainings_attendance_rebuild()")


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in ("trainings_employee_tally", "trainings_enrolment_tally", "trainings_course_date_tally"):
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}() CASCADE")
    schema_editor.execute("DROP FUNCTION IF EXISTS trainings_attendance_rebuild()")
    schema_editor.execute("DROP FUNCTION IF EXISTS trainings_attendance_refresh(bigint[])")


class Migration(migrations.Migration):
    dependencies = [
        ("trainings", "0005_tallies"),
        ("vielfalt", "0010_organisation_article_address_defaults"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
