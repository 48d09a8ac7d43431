"""A new gunicorn worker's first request costs what its second one does: the master loads the application and
warms what Django loads lazily before it forks (gunicorn.conf.py, vielfalt.warmup)."""

import http.client
import runpy
import subprocess
import sys

import pytest
from django.conf import settings

from tests.processes import Gunicorn, production_env

pytestmark = pytest.mark.django_db(transaction=True)

# In a fresh process, as gunicorn's master: the application, the warm-up; then, as a worker, two requests
# (anonymous: the login page with its form, the public pages) that must read no template file and import no
# module the warm-up did not.
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
client = Client()
client.handler.load_middleware()
before = set(sys.modules)
for path in ("/accounts/login/", "/imprint/", "/healthz"):
    assert client.get(path).status_code == 200, path
print("READ", read)
print("IMPORTED", sorted(set(sys.modules) - before))
"""


def test_gunicorn_preloads_and_warms_up():
    config = runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))
    assert config["preload_app"] is True
    assert "warm_up()" in (settings.BASE_DIR / "gunicorn.conf.py").read_text()


def test_after_the_warm_up_a_first_request_reads_no_template_and_imports_nothing():
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
        line.split(" ", 1) for line in result.stdout.splitlines() if line.startswith(("READ", "IMPORTED"))
    )
    assert lines == {"READ": "[]", "IMPORTED": "[]"}


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
