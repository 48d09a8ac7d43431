"""The authentication backend: Django's ModelBackend, with the logged-in user and their roles kept in the shared
cache between requests.

Every request of a logged-in user needs the user row and their memberships (from which all permissions
follow). `get_user` takes both from one cache entry instead of two PostgreSQL queries. The entry is dropped
whenever the user or one of their memberships is saved or deleted (signals connected in VielfaltConfig.ready)
and lives at most AUTH_USER_CACHE_SECONDS, which bounds how long a change that bypasses the signals (a bulk
update in the shell) can go unseen. Django still compares the session's password hash with the user's, so a
password change logs other sessions out at once. Off (0) without Redis: a per-process memory cache could not
be invalidated from other processes."""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache

from .models import User

BACKEND_PATH = "vielfalt.auth.PortalBackend"


def _user_key(pk) -> str:
    return f"auth-user:{pk}"


class PortalBackend(ModelBackend):
    def get_user(self, user_id):
        seconds = settings.AUTH_USER_CACHE_SECONDS
        if not seconds:
            return super().get_user(user_id)
        key = _user_key(user_id)
        user = cache.get(key)
        if user is None:
            user = super().get_user(user_id)
            if user is None:
                return None
            user._role_org_ids  # noqa: B018  (loaded now, so that the cached copy carries the roles)
            cache.set(key, user, seconds)
        return user if self.user_can_authenticate(user) else None


def forget_cached_user(sender, instance, **kwargs) -> None:
    """post_save/post_delete of User and Membership."""
    pk = instance.pk if isinstance(instance, User) else instance.user_id
    cache.delete(_user_key(pk))
