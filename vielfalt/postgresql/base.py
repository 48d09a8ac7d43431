"""Django's PostgreSQL backend (psycopg 3), with two changes for a page's round trips to the server.

**Prepared statements.** PostgreSQL plans every statement it is sent; for the portal's short statements the
plan costs several times the execution (EXPLAIN ANALYZE at full scale: the agreement page's commitments
0.94 ms planning against 0.15 ms executing, a session look-up 0.10 against 0.04). With server-side binding
(settings: DATABASE_PREPARED_STATEMENTS) psycopg prepares a statement on the connection once it has seen it
`prepare_threshold` times, and PostgreSQL keeps its plan: a page's statements, the same on every request but
for their parameters, are planned once per connection (CONN_MAX_AGE) instead of once per request. A statement
without parameters that holds several commands (a script: flush, trigger installation) cannot be prepared;
it is sent as it is (PreparingCursor).

**The health check of a reused connection.** With CONN_HEALTH_CHECKS, Django asks the server `SELECT 1` before
the first statement of every request that reuses a connection: a round trip, and about 0.25 ms of CPU
between the worker and PostgreSQL, on every page and three times per survey answer. An idle connection has
nothing to read, unless the server has closed it (a restart, `pg_terminate_backend`, `idle_session_timeout`:
it sends its reason and closes the socket) or has sent a notice. So the socket is looked at first, without
waiting, and the server asked only when something arrived: a closed connection is still replaced before the
request uses it, at no cost to an open one."""

import select

from django.db.backends.postgresql import base


class PreparingCursor(base.ServerBindingCursor):
    def execute(self, query, params=None, *, prepare=None, binary=None):
        if prepare is None and not params and ";" in str(query).strip().rstrip(";"):
            prepare = False  # several commands: no prepared statement can hold them
        return super().execute(query, params, prepare=prepare, binary=binary)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if self.settings_dict["OPTIONS"].get("server_side_binding") is True:
            params["cursor_factory"] = PreparingCursor
        return params

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        try:
            readable, _writable, _failed = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):  # the socket is gone
            return False
        return not readable or super().is_usable()
