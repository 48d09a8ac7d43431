"""A new gunicorn worker's first request costs what its second one does: the master loads the application and
warms what Django loads lazily before it forks (gunicorn.conf.py, vielfalt.warmup)."""

import http.client
import runpy
import subprocess
import sys

import pytest
from django.conf import settings

from tests.processes import Gunicorn, production_env
from vielfalt.warmup import warm_collation

pytestmark = pytest.mark.django_db(transaction=True)

# In a fresh process, as gunicorn's master: the application, the warm-up; then, as a worker, requests
# (anonymous: the login page with its form, the public pages) that must read no template file, import no
# module and compile no regular expression (a URL's reverse() checks its result with one) the warm-up did not.
FIRST_REQUEST = """
import sys
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
from vielfalt.warmup import warm_up
warm_up()
from django.template.loaders.filesystem import Loader as FilesystemLoader
from django.template.loaders.app_directories import Loader as AppDirectoriesLoader
from django.test import Client
read = []
original = FilesystemLoader.get_contents
def get_contents(self, origin):
    read.append(origin.name)
    return original(self, origin)
FilesystemLoader.get_contents = AppDirectoriesLoader.get_contents = get_contents
import re
compiled = []
original_compile = re._compiler.compile
def compile(pattern, flags):
    compiled.append(pattern)
    return original_compile(pattern, flags)
re._compiler.compile = compile
client = Client()
client.handler.load_middleware()
before = set(sys.modules)
for path in ("/accounts/login/", "/imprint/", "/healthz"):
    assert client.get(path).status_code == 200, path
print("READ", read)
print("IMPORTED", sorted(set(sys.modules) - before))
print("COMPILED", compiled)
"""


def test_gunicorn_preloads_and_warms_up():
    config = runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))
    assert config["preload_app"] is True
    assert "warm_up()" in (settings.BASE_DIR / "gunicorn.conf.py").read_text()


def test_after_the_warm_up_a_first_request_reads_no_template_imports_nothing_and_compiles_nothing():
    result = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST],
        cwd=settings.BASE_DIR,
        env=production_env(DJANGO_ALLOWED_HOSTS="testserver"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(
        line.split(" ", 1)
        for line in result.stdout.splitlines()
        if line.startswith(("READ", "IMPORTED", "COMPILED"))
    )
    assert lines == {"READ": "[]", "IMPORTED": "[]", "COMPILED": "[]"}


def test_gunicorn_as_configured_starts_without_a_warning_and_closes_each_connection():
    """gunicorn.conf.py keeps no connection alive (each worker takes as many connections as it has threads),
    and says so: with gunicorn's default keepalive, every worker's start logged 'No keepalived connections can
    be handled' as a WARNING, which an operator has to look into."""
    with Gunicorn(workers=2) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        connection.close()
        log = server.log()
    assert response.status == 200
    assert response.getheader("Connection") == "close"
    assert "[WARNING]" not in log, log
    assert "keepalive" not in log.lower(), log


def _database_clock(postgres):
    with postgres.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def _last_statements_since(postgres, started) -> list[str]:
    """The last statement of every connection to the test database opened since `started`: the gunicorn's.
    Not every connection but this one's: one that an earlier test of this process left open (a thread's) is no
    gunicorn's, and which earlier tests a pytest-xdist worker ran (and whether one of them ended such
    connections, as test_database_outage does) depends on how the suite was shared out."""
    with postgres.cursor() as cursor:
        cursor.execute(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend' AND backend_start >= %s",
            [started],
        )
        return [query for (query,) in cursor.fetchall()]


def test_each_thread_of_a_new_worker_opens_its_database_connection_before_the_first_request(postgres):
    """post_worker_init (vielfalt.warmup.warm_worker): before the worker accepts a request, each of its threads
    holds a connection whose backend has read the catalogue of the portal's tables; /healthz, which the start
    waits for, reads nothing from the database."""
    threads = runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))["threads"]
    started = _database_clock(postgres)
    with Gunicorn(workers=1):
        last_statements = _last_statements_since(postgres, started)
    assert len(last_statements) == threads == 3
    # After planning a statement on every table (which reads their catalogue entries), a comparison in the
    # collation of every sort by text (its collator, 1–2 ms on a backend's first sorted list).
    assert last_statements == [warm_collation()] * threads, last_statements


def test_a_sync_worker_opens_its_database_connection_before_the_first_request(postgres):
    """The same for gunicorn's sync workers (`--worker-class sync`, one thread each), which serve requests in
    the thread that runs post_worker_init: its connection is the one the first request uses."""
    started = _database_clock(postgres)
    with Gunicorn(workers=1, GUNICORN_THREADS="1", GUNICORN_CMD_ARGS="--worker-class sync") as server:
        last_statements = _last_statements_since(postgres, started)
        log = server.log()
    assert "Using worker: sync" in log, log
    assert last_statements == [warm_collation()], last_statements


# As gunicorn runs gunicorn.conf.py: the master's when_ready, then a worker's post_worker_init (with its prefault
# of the memory), in one fresh process.
FROZEN = """
import gc
import runpy
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
config = runpy.run_path("gunicorn.conf.py")
config["when_ready"](None)
master = gc.get_freeze_count()
worker = SimpleNamespace(tpool=ThreadPoolExecutor(2), cfg=SimpleNamespace(threads=2))
config["post_worker_init"](worker)
print("FROZEN", master, gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_a_workers_garbage_collector_leaves_what_the_master_loaded_alone():
    """The master freezes what it has loaded and warmed before it forks (gc.freeze): a worker's full collection
    looked at all of it, about 280,000 objects, and held every thread of the worker for about 190 ms, four times
    a worker in the launch morning's benchmark; now it looks at the few thousand objects of the worker's own."""
    result = subprocess.run(
        [sys.executable, "-c", FROZEN],
        cwd=settings.BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [line] = [line for line in result.stdout.splitlines() if line.startswith("FROZEN")]
    master, worker, collected = (int(number) for number in line.split()[1:])
    assert master > 100_000, line
    # The worker's prefault of the memory (warm_worker) leaves them frozen, with the worker's warm-up besides.
    assert worker >= master, line
    assert collected < master / 10, line
