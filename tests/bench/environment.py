"""The environment the benchmarks run in: a dedicated PostgreSQL database and Redis database, production
settings (debug off), as docker-compose.yml runs the portal. Everything here happens before `django.setup()`."""

import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from .common import say

BASE_DIR = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# Never the developer's DATABASE_URL: the benchmarks delete and rewrite employees of their organisations.
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vielfalt_bench")
# Redis is Django's cache in production (sessions stay in PostgreSQL); a database of its own, flushed per run.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SECRET_KEY = secrets.token_urlsafe(45)  # 60 characters
# Files of the bench database (signed copies of the scale data, rendered PDFs) apart from the developer's media/.
MEDIA_ROOT = BASE_DIR / "test-artifacts" / "bench-media"

# What the gunicorn under test sees: production settings, plain HTTP on loopback.
SERVER_ENV = {
    **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_BEHIND_TLS_PROXY")},
    "DJANGO_SETTINGS_MODULE": "vielfalt.settings",
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": SECRET_KEY,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "LOG_LEVEL": "WARNING",
    "MEDIA_ROOT": str(MEDIA_ROOT),
}
# In-process (import, query counts) the same, plus the host name of Django's test client.
PROCESS_ENV = {**SERVER_ENV, "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver"}


def prepare() -> None:
    """Create the database if needed, migrate it, make sure the static manifest exists, set os.environ."""
    os.chdir(BASE_DIR)
    os.environ.update(PROCESS_ENV)
    _create_database()
    MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    say("migrating vielfalt_bench")
    _manage("migrate", "--noinput", "-v", "0")
    if not (BASE_DIR / "staticfiles" / "staticfiles.json").is_file():
        say("no static manifest yet: collectstatic")
        _manage("collectstatic", "--noinput", "-v", "0")


def _create_database() -> None:
    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            say(f"creating database {name}")
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True, env=PROCESS_ENV)
