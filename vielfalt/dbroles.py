"""Least privilege in PostgreSQL: the portal runs as a role that owns nothing.

Migrations run as the owner role (`MIGRATE_DATABASE_URL`, used by `manage.py migrate`); the web and worker
processes connect with `DATABASE_URL` as the runtime role. After every `migrate`, the owner grants the runtime
role what the portal needs and nothing more: SELECT, INSERT, UPDATE, DELETE on the tables, use of the sequences,
and on the audit log only SELECT and INSERT, plus UPDATE of the columns the retention purge pseudonymises (its
trigger allows that one change and nothing else). Not being the owner, the runtime role cannot TRUNCATE, ALTER
(DISABLE TRIGGER), DROP or change `session_replication_role`."""

from django.conf import settings
from django.db import connections
from psycopg import sql

AUDIT_TABLE = "vielfalt_auditentry"
# What vielfalt.privacy.audit_pseudonymise changes; the trigger on the table checks the shape of the change.
AUDIT_PSEUDONYMISED_COLUMNS = ["actor_id", "actor_name", "object_repr", "changes", "pseudonymised_at"]


def grant_runtime_role(connection, role: str) -> None:
    role_id = sql.Identifier(role)
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role_id),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(role_id),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role_id),
        sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {} FROM {}").format(
            sql.Identifier(AUDIT_TABLE), role_id
        ),
        sql.SQL("GRANT UPDATE ({}) ON {} TO {}").format(
            sql.SQL(", ").join(sql.Identifier(column) for column in AUDIT_PSEUDONYMISED_COLUMNS),
            sql.Identifier(AUDIT_TABLE),
            role_id,
        ),
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
