"""Versioned caching for hot list pages.

Every organisation's data carries a version number in the cache; writes bump it, so a page fragment keyed by
the versions it was built from is never served stale. Only used with a cache that all processes share
(Redis): with the per-process memory cache of the embedded default, `LIST_CACHE_SECONDS` is 0 and nothing is
cached."""

import hashlib
import time
from collections.abc import Iterable

from django.core.cache import cache


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


def bump_employee_version(sender, instance, **kwargs) -> None:
    """post_save/post_delete of Employee and OrgUnit (connected in VielfaltConfig.ready); bulk writes call
    `bump_version("employees", ...)` themselves."""
    bump_version("employees", instance.organisation_id)
