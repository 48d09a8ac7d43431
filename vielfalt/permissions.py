"""Who may act for which organisation: the portal's one authorisation rule.

Every queryset's `visible_to(user)`, every form's choices, every view and every service asks this module and
nothing else. A user acts for an organisation in a role:

- partner HR (`Role.HR`) and course organisers (`Role.ORGANISER`) for the organisations in which they hold
  that role (`Membership`);
- ministry staff (`Role.MINISTRY`) for the whole programme: every organisation;
- administrators (superusers or `Role.ADMIN`) and the system actor in every role for every organisation.

Services that change data take a keyword-only `actor` and call `require(actor, role, organisation)`; there is
no "no actor means allowed": management commands and demo data pass `SYSTEM`, which the audit log records as
such. Views answer another organisation's objects with 404 by reading through `visible_to(user)` querysets,
which are built from `scope(user, role, field)`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Organisation, Role

__all__ = [
    "SYSTEM",
    "SystemActor",
    "acting_for",
    "has_role",
    "may",
    "organisation_ids",
    "require",
    "require_role",
    "scope",
    "RoleRequiredMixin",
    "PartnerHRMixin",
    "MinistryMixin",
]


class SystemActor:
    """The actor of management commands, beat tasks and demo data: allowed everything, recorded as "system"
    in the audit log (no user row). It is never a request's user."""

    pk = None
    id = None
    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_superuser = True
    is_staff = False
    is_system = True
    username = "system"

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return "<SystemActor>"

    # The same interface as `vielfalt.models.User`, so that code asking a user works with the system too.
    is_administrator = True
    is_ministry_staff = True
    is_partner_hr = False
    is_course_organiser = False

    def organisation_ids(self, role: str) -> frozenset[int]:
        return frozenset()

    def may(self, role: str, organisation) -> bool:
        return True


SYSTEM = SystemActor()

Roles = str | Iterable[str]


def _roles(roles: Roles) -> tuple[str, ...]:
    return (roles,) if isinstance(roles, str) else tuple(roles)


def _is_everywhere(user, role: str) -> bool:
    """Whether `user` acts in `role` for every organisation."""
    if user.is_administrator:
        return True
    return role == Role.MINISTRY and bool(user.organisation_ids(Role.MINISTRY))


def has_role(user, roles: Roles) -> bool:
    """Whether `user` holds any of `roles` for at least one organisation (administrators hold every role)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return any(_is_everywhere(user, role) or user.organisation_ids(role) for role in _roles(roles))


def organisation_ids(user, roles: Roles) -> frozenset[int] | None:
    """The primary keys of the organisations `user` acts for in any of `roles`; None means every
    organisation."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    ids: set[int] = set()
    for role in _roles(roles):
        if _is_everywhere(user, role):
            return None
        ids |= user.organisation_ids(role)
    return frozenset(ids)


def scope(user, roles: Roles, field: str = "organisation") -> Q:
    """A filter for a queryset whose `field` (a foreign key to Organisation, or a path to one) names the
    organisation that owns a row: rows of organisations `user` acts for in any of `roles`."""
    ids = organisation_ids(user, roles)
    if ids is None:
        return Q()
    if not ids:
        return Q(pk__in=[])
    return Q(**{f"{field}__in": ids})


def acting_for(user, roles: Roles):
    """The organisations `user` acts for in any of `roles` (also `Organisation.objects.acting_for`)."""
    return Organisation.objects.filter(scope(user, roles, field="pk"))


def may(user, roles: Roles, organisation: Organisation | int | None = None) -> bool:
    """Whether `user` may act in any of `roles` for `organisation` (an instance or a primary key); without an
    organisation, whether `user` holds any of `roles` at all."""
    if organisation is None:
        return has_role(user, roles)
    ids = organisation_ids(user, roles)
    if ids is None:
        return True
    organisation_id = organisation if isinstance(organisation, int) else organisation.pk
    return organisation_id in ids


def require(actor, roles: Roles, organisation: Organisation | int | None = None) -> None:
    """For services: raise PermissionDenied unless `actor` may act in any of `roles` for `organisation`.
    A missing actor is a programming error, never a pass."""
    if actor is None:
        raise TypeError("A service that changes data needs an actor (use permissions.SYSTEM for commands).")
    if not may(actor, roles, organisation):
        raise PermissionDenied(_("You may not do this for this organisation."))


def require_role(actor, roles: Roles) -> None:
    require(actor, roles, None)


# --- Views ----------------------------------------------------------------------------------------------------


class RoleRequiredMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Subclasses name the roles that may open the view at all (`roles = (Role.HR, Role.MINISTRY)`); which
    objects they see is decided by the querysets' `visible_to(user)`. Administrators may open every view."""

    roles: tuple[str, ...] = ()

    def test_func(self):
        return may(self.request.user, self.roles or (Role.ADMIN,))


class PartnerHRMixin(RoleRequiredMixin):
    roles = (Role.HR,)


class MinistryMixin(RoleRequiredMixin):
    roles = (Role.MINISTRY,)
