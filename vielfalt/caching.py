"""Versioned caching for hot list pages.

Every organisation's data carries a version number in the cache; writes bump it, so a page fragment stored
with the versions it was built from is never served stale. Only used with a cache that all processes share
(Redis): with the per-process memory cache of the embedded default, `LIST_CACHE_SECONDS` is 0 and nothing is
cached."""

import hashlib
import time
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import transaction
from django.template.loader import get_template


def _version_key(namespace: str, pk) -> str:
    return f"version:{namespace}:{pk}"


def _versions(keys: list[str], found: dict) -> str:
    """One string made of the values of the version `keys` (taken from `found`, created where missing)."""
    for key in keys:
        if key not in found:
            cache.add(key, time.time_ns(), None)
            found[key] = cache.get(key)
    return ".".join(str(found[key]) for key in keys)


def data_version(namespace: str, ids: Iterable) -> str:
    """One string that changes whenever the data of any of `ids` changes."""
    keys = [_version_key(namespace, pk) for pk in sorted(ids)]
    return _versions(keys, cache.get_many(keys))


def bump_version(namespace: str, pk) -> None:
    """Called by every write. Bumped at once (the writing request reads its own writes) and again when the
    transaction commits: a page built in between from the data before the commit carries the first bump's
    version and is dropped by the second."""

    def bump():
        # A fresh value rather than incr(): after an eviction a counter could come back to an old number.
        cache.set(_version_key(namespace, pk), time.time_ns(), None)

    bump()
    transaction.on_commit(bump)


def list_cache_key(prefix: str, *parts) -> str:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"{prefix}:{digest}"


class VersionedFragment:
    """A rendered fragment cached together with the data version it was built from; one cache round trip
    fetches both the fragment and the current version.

        fragment = VersionedFragment("employee-list", "employees", organisation_ids, query, language)
        html = fragment.get()  # None when missing or built from older data
        if html is None:
            html = render(...)
            fragment.set(html, seconds)
    """

    def __init__(self, prefix: str, namespace: str, ids: Iterable, *parts):
        self.key = list_cache_key(prefix, namespace, *parts)
        self.version_keys = [_version_key(namespace, pk) for pk in sorted(ids)]
        self.version = ""

    def get(self) -> str | None:
        found = cache.get_many([self.key, *self.version_keys])
        stored = found.pop(self.key, None)
        self.version = _versions(self.version_keys, found)
        if stored is not None and stored[0] == self.version:
            return stored[1]
        return None

    def set(self, content: str, seconds: int) -> None:
        # The version read by get(), before the data was: a write in between makes this entry stale at once.
        cache.set(self.key, (self.version, content), seconds)

    def get_or_render(self, seconds: int, render: Callable[[], str]) -> str:
        """The cached fragment, or `render()` stored for `seconds`; with 0 seconds, always `render()`."""
        content = self.get() if seconds else None
        if content is None:
            content = render()
            if seconds:
                self.set(content, seconds)
        return content


def bump_employee_version(sender, instance, **kwargs) -> None:
    """post_save/post_delete of Employee and OrgUnit (connected in VielfaltConfig.ready); bulk writes call
    `bump_version("employees", ...)` themselves."""
    bump_version("employees", instance.organisation_id)


# --- Fragments shared between users ------------------------------------------------------------------------

CSRF_PLACEHOLDER = "__portal-csrf-token__"


def render_shared(template_name: str, context: dict) -> str:
    """Render a fragment that several users' pages may take from the cache: without the request (so no
    context processor adds anything personal) and with a placeholder for the CSRF token of its forms."""
    return get_template(template_name).render({**context, "csrf_token": CSRF_PLACEHOLDER})


def fill_csrf(html: str, token: str) -> str:
    """Put this request's CSRF token into a fragment made by `render_shared`."""
    return html.replace(CSRF_PLACEHOLDER, token)
