"""The portal's PostgreSQL connections (vielfalt.postgresql, DATABASES in settings): a reused connection is
checked without a round trip and still replaced when the server has closed it, and statements that repeat are
prepared once per connection instead of planned anew on every request."""

import os
import select
import subprocess
import sys
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import need
from vielfalt.models import Organisation


@pytest.fixture
def postgres():
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"]


class StatementSpy:
    """Counts what is sent on a psycopg connection, around its own `execute` and cursors."""

    def __init__(self, raw):
        self.raw, self.sent = raw, []
        self._cursor, self._execute = raw.cursor, raw.execute

    def __enter__(self):
        spy = self

        def cursor(*args, **kwargs):
            real = spy._cursor(*args, **kwargs)
            execute = real.execute

            def counted(query, *a, **k):
                spy.sent.append(str(query))
                return execute(query, *a, **k)

            real.execute = counted
            return real

        def execute(query, *args, **kwargs):
            spy.sent.append(str(query))
            return spy._execute(query, *args, **kwargs)

        self.raw.cursor, self.raw.execute = cursor, execute
        return self

    def __exit__(self, *exc):
        del self.raw.cursor, self.raw.execute


@pytest.mark.django_db(transaction=True)
def test_a_reused_open_connection_is_checked_without_a_statement(postgres):
    connection.ensure_connection()
    connection.health_check_done = False  # as at the start of a request (close_if_unusable_or_obsolete)
    with StatementSpy(connection.connection) as spy:
        connection.close_if_health_check_failed()
    assert connection.connection is not None and not connection.connection.closed
    assert spy.sent == []  # Django's own check sends "SELECT 1" here, a round trip per request


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_closed_is_replaced_before_a_request_uses_it(postgres):
    connection.ensure_connection()
    old = connection.connection
    pid = old.info.backend_pid
    with psycopg.connect(_conninfo(), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    # The server says why and closes the socket; wait until that has arrived.
    deadline = time.monotonic() + 5
    while not select.select([old.fileno()], [], [], 0.1)[0]:
        assert time.monotonic() < deadline, "the server did not close the connection"
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert connection.connection is None  # replaced before use: no request sees the dead connection
    assert Organisation.objects.count() == 0
    assert connection.connection.info.backend_pid != pid


@pytest.mark.django_db
def test_a_statement_that_repeats_is_prepared_once_per_connection(postgres):
    for _ in range(3):
        list(Organisation.objects.filter(slug="duisburg").values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "vielfalt_organisation"' in statement and "$1" in statement for statement in prepared), (
        prepared
    )


@pytest.mark.parametrize(("value", "binding"), [("1", "True"), ("0", "None")])
def test_prepared_statements_can_be_switched_off_for_a_pooler(value, binding):
    """Behind PgBouncer in transaction mode before 1.21, prepared statements do not survive: one setting."""
    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'vielfalt.settings'; "
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['ENGINE'], d.get('OPTIONS', {}).get('server_side_binding'))"
    )
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://u@db.example/portal",
        "DATABASE_PREPARED_STATEMENTS": value,
    }
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["vielfalt.postgresql", binding]


def _conninfo() -> str:
    database = settings.DATABASES["default"]
    parts = {
        "host": database["HOST"],
        "port": database["PORT"],
        "user": database["USER"],
        "password": database["PASSWORD"],
        "dbname": database["NAME"],
    }
    return " ".join(f"{key}={value}" for key, value in parts.items() if value)
