"""Least privilege in PostgreSQL: `migrate` as the owner grants the runtime role its rights; connected as that
role, the portal's data can be read and written, the audit log only appended to, and TRUNCATE, DISABLE
TRIGGER and session_replication_role are refused."""

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import need

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def runtime_role():
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    role = f"vielfalt_rt_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" LOGIN')
    yield role
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{role}"')
        cursor.execute(f'DROP ROLE "{role}"')


def _url(user: str, database: str | None = None) -> str:
    db = connection.settings_dict
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{database or db['NAME']}"


def refused(conn, statement: str) -> bool:
    try:
        with conn.transaction():
            conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        return True
    except psycopg.errors.RaiseException:  # a trigger of the audit log said no
        return True
    return False


def _manage(runtime_role, *args, database: str | None = None, **extra_env) -> subprocess.CompletedProcess:
    """`manage.py *args` as the portal runs in production with split roles: DATABASE_URL the runtime role,
    MIGRATE_DATABASE_URL the owner (of the test database, or of `database`)."""
    env = {
        **os.environ,
        "DATABASE_URL": _url(runtime_role, database),
        "MIGRATE_DATABASE_URL": _url(connection.settings_dict["USER"], database),
        "DJANGO_DEBUG": "1",
        **extra_env,
    }
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_migrate_as_owner_grants_the_runtime_role_least_privilege(runtime_role):
    result = _manage(runtime_role, "migrate", "--noinput", "-v", "0")
    assert result.returncode == 0, result.stderr
    # The names' indexes are the owner's: refresh_collation connects as the owner, as migrate does.
    refreshed = _manage(runtime_role, "refresh_collation")
    assert refreshed.returncode == 0, refreshed.stderr
    assert "employee_org_order" in refreshed.stdout

    with psycopg.connect(_url(runtime_role), autocommit=True) as conn:
        owned = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
        ).fetchone()[0]
        assert owned == 0
        # The portal's work: read and write its tables.
        conn.execute("SELECT count(*) FROM vielfalt_employee").fetchone()
        org = conn.execute(
            "INSERT INTO vielfalt_organisation (slug, name, kind, district, article, address, require_second_factor) "
            "VALUES ('rt-test', 'Stadt Test', 'city', '', 'die', '', false) RETURNING id"
        ).fetchone()[0]
        conn.execute("UPDATE vielfalt_organisation SET name = 'Stadt Test 2' WHERE id = %s", [org])
        conn.execute(
            "INSERT INTO vielfalt_auditentry (at, actor_name, action, object_id, object_repr, changes, organisation_id) "
            "VALUES (now(), 'rt', 'create', '1', 'x', '{}', %s)",
            [org],
        )
        # Not the audit log's history, and nothing only an owner or superuser may do.
        assert refused(conn, "UPDATE vielfalt_auditentry SET action = 'delete'")
        assert refused(conn, "DELETE FROM vielfalt_auditentry")
        assert refused(conn, "TRUNCATE vielfalt_auditentry")
        assert refused(conn, "ALTER TABLE vielfalt_auditentry DISABLE TRIGGER ALL")
        assert refused(conn, "SET session_replication_role = replica")
        assert refused(conn, "TRUNCATE partnerships_agreementdocument")
        assert refused(conn, "ALTER TABLE partnerships_agreement DISABLE TRIGGER ALL")
        assert refused(conn, "DROP TABLE vielfalt_employee")
        assert refused(conn, "CREATE TABLE public.intruder (id int)")
        assert (
            conn.execute("SELECT count(*) FROM vielfalt_auditentry WHERE actor_name = 'rt'").fetchone()[0]
            == 1
        )


def test_the_runtime_role_pseudonymises_the_audit_log_only_through_the_owners_function(runtime_role):
    """No UPDATE on the audit log at all, not even of single columns; the purge's change goes through
    `vielfalt_audit_pseudonymise` (SECURITY DEFINER, owned by the owner), which takes pseudonyms only and redacts
    the changed values itself."""
    result = _manage(runtime_role, "migrate", "--noinput", "-v", "0")
    assert result.returncode == 0, result.stderr

    with psycopg.connect(_url(runtime_role), autocommit=True) as conn:
        for column in ("actor_id", "actor_name", "object_repr", "changes", "pseudonymised_at"):
            assert not conn.execute(
                "SELECT has_column_privilege(current_user, 'vielfalt_auditentry', %s, 'UPDATE')", [column]
            ).fetchone()[0], column
        entry = conn.execute(
            "INSERT INTO vielfalt_auditentry (at, actor_name, action, object_id, object_repr, changes) "
            "VALUES (now(), 'Anna Admin', 'change', '7', 'Ayşe Öztürk', "
            """'{"last_name": ["Öztürk", "Yılmaz"], "count": 3}') RETURNING id"""
        ).fetchone()[0]
        conn.execute(
            "SET vielfalt.audit_pseudonymise = 'on'"
        )  # what the trigger lets through, not a privilege
        assert refused(conn, f"UPDATE vielfalt_auditentry SET changes = '{{}}' WHERE id = {entry}")
        assert refused(
            conn, f"UPDATE vielfalt_auditentry SET actor_name = 'P-0123456789ab' WHERE id = {entry}"
        )
        conn.execute("RESET vielfalt.audit_pseudonymise")

        def pseudonymise(actor_name, object_repr):
            return conn.execute(
                "SELECT vielfalt_audit_pseudonymise(%s, %s, %s, now())", [entry, actor_name, object_repr]
            ).fetchone()[0]

        # Only pseudonyms: no name of the caller's choosing.
        with pytest.raises(psycopg.errors.RaiseException):
            pseudonymise("Mallory", "Ayşe Öztürk")
        with pytest.raises(psycopg.errors.RaiseException):
            pseudonymise("P-0123456789ab", "Alles in Ordnung")
        assert pseudonymise("P-0123456789ab", "P-ba9876543210") == 1
        row = conn.execute(
            "SELECT actor_id, actor_name, object_repr, changes, pseudonymised_at IS NOT NULL "
            "FROM vielfalt_auditentry WHERE id = %s",
            [entry],
        ).fetchone()
        assert row == (None, "P-0123456789ab", "P-ba9876543210", {"last_name": "…", "count": 3}, True)
        assert pseudonymise("P-0123456789ab", "P-ba9876543210") == 0  # once, never again
        # The function is the owner's: the runtime role cannot replace it with its own.
        assert refused(
            conn,
            "CREATE OR REPLACE FUNCTION vielfalt_audit_pseudonymise(bigint, text, text, timestamptz) "
            "RETURNS integer LANGUAGE sql AS 'SELECT 1'",
        )


def test_a_backup_taken_as_the_runtime_role_restores_as_the_owner_into_a_new_installation(
    runtime_role, tmp_path
):
    """The README's way with split roles (Docker Compose): `backup` as the portal's runtime role, `restore` into
    a new, empty database with the installation's environment. `restore` connected as the runtime role, which may
    create nothing (pg_restore: "permission denied for schema public"); it now connects as the owner, as
    `migrate` does, and grants the runtime role its rights afterwards (the archive holds none)."""
    assert _manage(runtime_role, "migrate", "--noinput", "-v", "0").returncode == 0
    with psycopg.connect(_url(runtime_role), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO vielfalt_organisation (slug, name, kind, district, article, address, require_second_factor) "
            "VALUES ('rt-backup', 'Stadt Sicherung', 'city', '', 'die', '', false)"
        )
    backup = _manage(runtime_role, "backup", "--output-dir", str(tmp_path / "backups"))
    assert backup.returncode == 0, backup.stderr
    [archive] = (tmp_path / "backups").glob("vielfalt-*.tar")

    new = f"{connection.settings_dict['NAME']}_new_{uuid.uuid4().hex[:6]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{new}"')
    try:
        with psycopg.connect(_url(connection.settings_dict["USER"], new), autocommit=True) as owner:
            owner.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")  # as docker/postgres-runtime-role.sh
        restore = _manage(
            runtime_role, "restore", str(archive), database=new, MEDIA_ROOT=str(tmp_path / "media")
        )
        assert restore.returncode == 0, restore.stderr
        with psycopg.connect(_url(runtime_role, new), autocommit=True) as conn:
            assert conn.execute(
                "SELECT name FROM vielfalt_organisation WHERE slug = 'rt-backup'"
            ).fetchone() == ("Stadt Sicherung",)
            owned = conn.execute(
                "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
            ).fetchone()[0]
            assert owned == 0
            assert refused(conn, "DELETE FROM vielfalt_auditentry")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{new}" WITH (FORCE)')
