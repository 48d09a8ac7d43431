"""Counters of attempts in the cache (Redis), for forms that anyone can send without an account: the survey's
code form counts wrong codes per client address, the password reset counts e-mails asked for per address and
per client. A key is a keyed hash (HMAC with the portal's secret) of what it counts: the cache holds no client
address and no e-mail address. Without a cache there is no throttle, never an error page."""

import hashlib
import hmac

from django.conf import settings
from django.core.cache import cache


class Throttle:
    """At most `limit` of `name` per counted value within `seconds` (counted from the first); both are the names
    of settings, read when counting (a deployment or a test may change them)."""

    def __init__(self, name: str, *, limit: str, seconds: str):
        self.name, self.limit_setting, self.seconds_setting = name, limit, seconds

    def key(self, value: str) -> str:
        digest = hmac.new(settings.SECRET_KEY.encode(), f"{self.name}:{value}".encode(), hashlib.sha256)
        return f"throttle:{self.name}:{digest.hexdigest()[:32]}"

    def count(self, value: str) -> int:
        try:
            return cache.get(self.key(value), 0)
        except Exception:  # noqa: BLE001  (no cache: no throttle, never an error page)
            return 0

    def exceeded(self, value: str) -> bool:
        return self.count(value) >= getattr(settings, self.limit_setting)

    def add(self, value: str) -> None:
        key = self.key(value)
        try:
            if not cache.add(key, 1, getattr(settings, self.seconds_setting)):
                cache.incr(key)
        except Exception:  # noqa: BLE001, S110
            pass
