"""What each pytest-xdist worker (`make test` runs the suite in several processes) must have for itself.

PostgreSQL needs nothing here: pytest-django gives every worker its own test database (`test_<name>_gw0`, ...).
Redis does: its cache and Celery's queues live in one numbered database, and a test that clears the cache
(a FLUSHDB) or counts a queue's messages would see, or wipe, another worker's. Each worker therefore gets a
database of its own, numbered from the one in REDIS_URL; a key prefix would not do, since a clear empties the
whole database whatever the prefix."""

import os
from urllib.parse import urlsplit, urlunsplit

# Redis's default `databases 16`: 0 to 15.
REDIS_DATABASES = 16
# REDIS_URL as the run was started with it, before use_own_redis_database changed this process's.
REDIS_URL_OF_THE_RUN = os.environ.get("REDIS_URL", "")


def worker_index(worker: str | None) -> int:
    """0 for "gw0" and for a run without xdist (no worker)."""
    return int(worker.removeprefix("gw")) if worker else 0


def worker_redis_database(database: int, index: int, count: int) -> int:
    """The `count` workers take `count` databases in a row, from REDIS_URL's upwards; near the end they are
    moved down so that the last is 15 (CI's REDIS_URL names database 15: two workers use 14 and 15)."""
    if not 0 < count <= REDIS_DATABASES:
        raise ValueError(f"{count} workers cannot each have one of Redis's {REDIS_DATABASES} databases")
    first = min(database, REDIS_DATABASES - count)
    return first + index


def worker_redis_url(url: str, worker: str | None, count: int) -> str:
    """REDIS_URL with the database of this worker (REDIS_URL itself for a run without xdist)."""
    if not url or not worker:
        return url
    parts = urlsplit(url)
    path = parts.path.strip("/")
    database = worker_redis_database(int(path) if path else 0, worker_index(worker), count)
    return urlunsplit(parts._replace(path=f"/{database}"))


def redis_database_holder(url: str, worker: str, run: str) -> str:
    """Claim the Redis database at `url` for `worker` in this test run (unless a worker has already) and say
    which worker holds it: another worker's name means that two workers share the database."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    key = f"vielfalt-test-run:{run}:worker"
    client.set(key, worker, nx=True, ex=3 * 3600)  # outlives any run (CI stops one at 90 minutes), then goes
    return (client.get(key) or worker.encode()).decode()  # a test's FLUSHDB may have removed it: ours again


def use_own_redis_database(settings) -> None:
    """Point this process (its cache, its Celery app, and the servers and workers that tests start from its
    environment) at its worker's Redis database. The settings were read before any conftest ran
    (pytest-django sets Django up first), so they are changed in place, before any test."""
    url = worker_redis_url(
        settings.REDIS_URL,
        os.environ.get("PYTEST_XDIST_WORKER"),
        int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")),
    )
    if url == settings.REDIS_URL:
        return
    os.environ["REDIS_URL"] = settings.REDIS_URL = settings.CELERY_BROKER_URL = url
    settings.CACHES["default"]["LOCATION"] = url
    from vielfalt.celery import app

    app.conf.broker_url = url
