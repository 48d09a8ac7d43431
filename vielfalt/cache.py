"""Django's Redis cache backend, reusing one redis-py client per connection pool, and degrading to "nothing
cached" when Redis is unreachable.

Django builds a new `redis.Redis` object for every cache operation; with redis-py 8 that costs about as much
as the GET itself (~85 µs here). The client is thread-safe (each command takes a connection from the pool),
so one per pool serves every thread of the process.

Everything the portal keeps in the cache can be rebuilt from PostgreSQL (sessions are written through to it),
so an unreachable Redis must make pages slower, never fail them: every operation answers as if the key were
missing (reads) or does nothing (writes), and after a failure the process skips Redis for
CACHE_OUTAGE_SECONDS instead of waiting for a connection timeout on every call (the socket timeouts are set
in settings.CACHES)."""

import logging
import time

from django.conf import settings
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class _Outage:
    until = 0.0

    @classmethod
    def active(cls) -> bool:
        return time.monotonic() < cls.until

    @classmethod
    def begin(cls, exc: Exception) -> None:
        if not cls.active():
            logger.warning("Redis unreachable (%s): serving without the cache for now", type(exc).__name__)
        cls.until = time.monotonic() + getattr(settings, "CACHE_OUTAGE_SECONDS", 10)


def _degrading(method, fallback):
    def wrapper(self, *args, **kwargs):
        if _Outage.active():
            return fallback(*args)
        try:
            return method(self, *args, **kwargs)
        except (RedisError, OSError) as exc:
            _Outage.begin(exc)
            return fallback(*args)

    wrapper.__name__ = method.__name__
    return wrapper


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    get = _degrading(RedisCacheClient.get, lambda key, default: default)
    get_many = _degrading(RedisCacheClient.get_many, lambda keys: {})
    has_key = _degrading(RedisCacheClient.has_key, lambda key: False)
    add = _degrading(RedisCacheClient.add, lambda key, value, timeout: False)
    set = _degrading(RedisCacheClient.set, lambda key, value, timeout: None)
    set_many = _degrading(RedisCacheClient.set_many, lambda data, timeout: [])
    touch = _degrading(RedisCacheClient.touch, lambda key, timeout: False)
    delete = _degrading(RedisCacheClient.delete, lambda key: False)
    delete_many = _degrading(RedisCacheClient.delete_many, lambda keys: 0)
    clear = _degrading(RedisCacheClient.clear, lambda: False)


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
