"""Least privilege in PostgreSQL: the portal runs as a role that owns nothing.

Migrations run as the owner role (`MIGRATE_DATABASE_URL`, used by `manage.py migrate`); the web and worker
processes connect with `DATABASE_URL` as the runtime role. After every `migrate`, the owner grants the runtime
role what the portal needs and nothing more: SELECT, INSERT, UPDATE, DELETE on the tables, use of the sequences,
and on the audit log only SELECT and INSERT. The retention purge's pseudonymisation goes through a function the
owner owns (`vielfalt_audit_pseudonymise`, SECURITY DEFINER, migration 0012), which the runtime role may
EXECUTE: it changes only what the purge may. Not being the owner, the runtime role cannot TRUNCATE, ALTER
(DISABLE TRIGGER), DROP or change `session_replication_role`."""

from django.conf import settings
from django.db import connections
from psycopg import sql

AUDIT_TABLE = "vielfalt_auditentry"
# The one change to the audit log (vielfalt.privacy.audit_pseudonymise), made as the owner.
AUDIT_PSEUDONYMISE_FUNCTION = "vielfalt_audit_pseudonymise(bigint, text, text, timestamptz)"


def grant_runtime_role(connection, role: str) -> None:
    role_id = sql.Identifier(role)
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role_id),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(role_id),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role_id),
        # Also takes back the column UPDATE an earlier version granted for the purge.
        sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {} FROM {}").format(
            sql.Identifier(AUDIT_TABLE), role_id
        ),
        sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(AUDIT_PSEUDONYMISE_FUNCTION), role_id),
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def grant_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate: when migrations ran as the owner (MIGRATE_DATABASE_URL), grant the runtime role."""
    role = getattr(settings, "DATABASE_RUNTIME_ROLE", "")
    connection = connections[using]
    if not role or connection.vendor != "postgresql" or role == connection.settings_dict.get("USER"):
        return
    grant_runtime_role(connection, role)
