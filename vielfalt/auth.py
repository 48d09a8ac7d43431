"""The authentication backend: Django's ModelBackend, loading the logged-in user together with their roles.

Every request of a logged-in user needs the user row and their memberships (from which all permissions
follow). On PostgreSQL `get_user` reads both in one query (the memberships aggregated into an array), instead
of one for the user and a second one for the memberships; nothing is kept between requests, so a change to a
user or their roles is seen by their next request."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat

from .models import User

BACKEND_PATH = "vielfalt.auth.PortalBackend"


class PortalBackend(ModelBackend):
    def get_user(self, user_id):
        if connection.vendor != "postgresql":
            return super().get_user(user_id)
        pairs = ArrayAgg(
            Concat("memberships__role", Value(":"), Cast("memberships__organisation_id", CharField())),
            filter=Q(memberships__isnull=False),
            default=Value([]),
        )
        user = User._default_manager.filter(pk=user_id).annotate(role_pairs=pairs).first()
        if user is None:
            return None
        roles: dict[str, set[int]] = {}
        for pair in user.role_pairs:
            role, _, organisation_id = pair.partition(":")
            roles.setdefault(role, set()).add(int(organisation_id))
        # What User._role_org_ids would otherwise load with a query of its own.
        user.__dict__["_role_org_ids"] = {role: frozenset(ids) for role, ids in roles.items()}
        return user if self.user_can_authenticate(user) else None
