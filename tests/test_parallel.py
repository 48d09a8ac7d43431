"""The suite runs in several pytest-xdist workers (`make test`): each has a Redis database of its own
(tests/parallel.py), within Redis's 16 whatever REDIS_URL names."""

import os
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache

from tests import parallel
from tests.parallel import worker_redis_database, worker_redis_url


@pytest.mark.parametrize(
    ("database", "count", "databases"),
    [
        (7, 2, [7, 8]),  # from REDIS_URL's upwards
        (0, 4, [0, 1, 2, 3]),
        (15, 2, [14, 15]),  # CI's REDIS_URL names 15: no worker gets a 16th
        (14, 4, [12, 13, 14, 15]),
        (0, 16, list(range(16))),
    ],
)
def test_the_workers_take_databases_in_a_row_within_redis_s_sixteen(database, count, databases):
    assert [worker_redis_database(database, index, count) for index in range(count)] == databases


def test_more_workers_than_redis_has_databases_is_refused():
    with pytest.raises(ValueError, match="17 workers"):
        worker_redis_database(0, 0, 17)


def test_the_url_keeps_all_but_its_database():
    assert worker_redis_url("redis://:pw@127.0.0.1:6379/15", "gw0", 2) == "redis://:pw@127.0.0.1:6379/14"
    assert worker_redis_url("redis://127.0.0.1:6379", "gw1", 2) == "redis://127.0.0.1:6379/1"
    assert worker_redis_url("redis://127.0.0.1:6379/15", None, 1) == "redis://127.0.0.1:6379/15"  # no xdist
    assert worker_redis_url("", "gw1", 2) == ""  # no Redis: nothing to share


def test_the_cache_celery_and_started_servers_use_this_workers_database(redis_url):
    """What the cache writes lands in the database that the Celery app, and the servers and workers the tests
    start (from the environment), use too: under xdist the worker's own, not the one REDIS_URL named."""
    import redis

    from vielfalt.celery import app

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    assert redis_url == worker_redis_url(parallel.REDIS_URL_OF_THE_RUN, worker, count)
    assert settings.CELERY_BROKER_URL == app.conf.broker_url == os.environ["REDIS_URL"] == redis_url
    if worker:  # and no other worker of this run uses it (conftest's _own_redis_database claimed it)
        run = os.environ["PYTEST_XDIST_TESTRUNUID"]
        assert parallel.redis_database_holder(redis_url, worker, run) == worker
    key = f"parallel-{uuid.uuid4().hex}"
    cache.set(key, "mine", 30)
    assert redis.Redis.from_url(redis_url).exists(cache.make_and_validate_key(key)) == 1
    cache.delete(key)
