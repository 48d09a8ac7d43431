"""Versioned caching for hot list pages.

Every organisation's data carries a version number in the cache; writes bump it, so a cached fragment or count
keyed by the versions it was built from is never served stale. Only used with a cache that all processes share
(Redis): with the per-process memory cache of the embedded default, `LIST_CACHE_SECONDS` is 0 and nothing is
cached."""

import hashlib
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.utils.functional import cached_property


def _version_key(namespace: str, pk) -> str:
    return f"version:{namespace}:{pk}"


def data_version(namespace: str, ids: Iterable) -> str:
    """One string that changes whenever the data of any of `ids` changes."""
    keys = [_version_key(namespace, pk) for pk in sorted(ids)]
    found = cache.get_many(keys)
    for key in keys:
        if key not in found:
            cache.add(key, time.time_ns(), None)
            found[key] = cache.get(key)
    return ".".join(str(found[key]) for key in keys)


def bump_version(namespace: str, pk) -> None:
    # A fresh value rather than incr(): after an eviction a counter could come back to an old number.
    cache.set(_version_key(namespace, pk), time.time_ns(), None)


def list_cache_key(prefix: str, *parts) -> str:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"{prefix}:{digest}"


class CachedCountPaginator(Paginator):
    """A paginator whose COUNT(*) is cached under `count_key` (a versioned key) for LIST_CACHE_SECONDS."""

    def __init__(self, *args, count_key: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.count_key = count_key

    @cached_property
    def count(self):
        if not self.count_key or not settings.LIST_CACHE_SECONDS:
            return super().count
        return cache.get_or_set(
            self.count_key, lambda: Paginator.count.func(self), settings.LIST_CACHE_SECONDS
        )


def bump_employee_version(sender, instance, **kwargs) -> None:
    """post_save/post_delete of Employee and OrgUnit (connected in VielfaltConfig.ready); bulk writes call
    `bump_version("employees", ...)` themselves."""
    bump_version("employees", instance.organisation_id)
