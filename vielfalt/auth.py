"""The authentication backend: Django's ModelBackend, loading the logged-in user together with their roles.

Every request of a logged-in user needs the user row and their memberships (from which all permissions
follow). On PostgreSQL `get_user` reads both in one query (the memberships aggregated into an array), instead
of one for the user and a second one for the memberships; nothing is kept between requests, so a change to a
user or their roles is seen by their next request."""

from django.contrib.auth.backends import ModelBackend
from django.db import connection

from .models import Membership, User

BACKEND_PATH = "vielfalt.auth.PortalBackend"
# Set on a request whose login named an account that is deactivated, with its right password.
INACTIVE_ACCOUNT_ATTRIBUTE = "portal_inactive_account"


def _user_with_roles_sql() -> str:
    """The user's row and their memberships as an array of "role:organisation_id" (table names from the models,
    the key a parameter)."""
    user, membership = User._meta.db_table, Membership._meta.db_table
    columns = ", ".join(f'u."{field.column}"' for field in User._meta.concrete_fields)
    select = f"SELECT {columns}, ARRAY(SELECT m.role || ':' || m.organisation_id FROM \"{membership}\" m"  # noqa: S608
    return select + f' WHERE m.user_id = u.id) AS role_pairs FROM "{user}" u WHERE u.id = %s'  # noqa: S608


class PortalBackend(ModelBackend):
    _request = None  # while authenticate() runs (Django makes a backend for each call)

    def authenticate(self, request, username=None, password=None, **kwargs):
        self._request = request
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        finally:
            self._request = None

    def user_can_authenticate(self, user):
        """As ModelBackend (active accounts only). In authenticate() it is asked only once the password was
        right: a deactivated account's holder is then told so by the login form (`vielfalt.forms.LoginForm`)
        instead of "wrong name or password", which sent them to a password reset that sends nothing to a
        deactivated account. Nobody without the password learns whether an account exists or is deactivated."""
        allowed = super().user_can_authenticate(user)
        if not allowed and self._request is not None:
            setattr(self._request, INACTIVE_ACCOUNT_ATTRIBUTE, True)
        return allowed

    def get_user(self, user_id):
        if connection.vendor != "postgresql":
            return super().get_user(user_id)
        try:
            user_id = User._meta.pk.to_python(user_id)
        except Exception:  # noqa: BLE001  (a session with a broken key: logged out, as ModelBackend does)
            return None
        # Plain SQL: the ORM takes longer to build this query than PostgreSQL takes to answer it.
        with connection.cursor() as cursor:
            cursor.execute(_user_with_roles_sql(), [user_id])
            row = cursor.fetchone()
        if row is None:
            return None
        field_names = [field.attname for field in User._meta.concrete_fields]
        user = User.from_db(connection.alias, field_names, row[: len(field_names)])
        roles: dict[str, set[int]] = {}
        for pair in row[len(field_names)]:
            role, _, organisation_id = pair.partition(":")
            roles.setdefault(role, set()).add(int(organisation_id))
        # What User._role_org_ids would otherwise load with a query of its own.
        user.__dict__["_role_org_ids"] = {role: frozenset(ids) for role, ids in roles.items()}
        return user if self.user_can_authenticate(user) else None
