"""Django's Redis cache backend, degrading to "nothing cached" when Redis is unreachable.

Everything the portal keeps in the cache can be rebuilt from PostgreSQL, so an unreachable Redis must make
pages slower, never fail them: every operation answers as if the key were missing (reads) or does nothing
(writes), and after a failure the process skips Redis for CACHE_OUTAGE_SECONDS instead of waiting for a
connection timeout on every call (the socket timeouts are set in settings.CACHES)."""

import functools
import logging
import time

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
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


def _degrading(fallback):
    """The method, or `fallback(*args, **kwargs)` while Redis is unreachable."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if _Outage.active():
                return fallback(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except (RedisError, OSError) as exc:
                _Outage.begin(exc)
                return fallback(*args, **kwargs)

        return wrapper

    return decorate


class RedisCache(DjangoRedisCache):
    @_degrading(lambda key, default=None, version=None: default)
    def get(self, key, default=None, version=None):
        return super().get(key, default, version)

    @_degrading(lambda keys, version=None: {})
    def get_many(self, keys, version=None):
        return super().get_many(keys, version)

    @_degrading(lambda key, version=None: False)
    def has_key(self, key, version=None):
        return super().has_key(key, version)

    @_degrading(lambda key, value, timeout=DEFAULT_TIMEOUT, version=None: False)
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return super().add(key, value, timeout, version)

    @_degrading(lambda key, value, timeout=DEFAULT_TIMEOUT, version=None: None)
    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return super().set(key, value, timeout, version)

    @_degrading(lambda data, timeout=DEFAULT_TIMEOUT, version=None: list(data))
    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return super().set_many(data, timeout, version)

    @_degrading(lambda key, timeout=DEFAULT_TIMEOUT, version=None: False)
    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return super().touch(key, timeout, version)

    @_degrading(lambda key, delta=1, version=None: delta)
    def incr(self, key, delta=1, version=None):
        return super().incr(key, delta, version)

    @_degrading(lambda key, version=None: False)
    def delete(self, key, version=None):
        return super().delete(key, version)

    @_degrading(lambda keys, version=None: None)
    def delete_many(self, keys, version=None):
        return super().delete_many(keys, version)

    @_degrading(lambda: False)
    def clear(self):
        return super().clear()
