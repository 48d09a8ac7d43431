"""Who may act for which organisation: the portal's one authorisation rule.

Every queryset's `visible_to(user)`, every form's choices, every view and every service asks this module and
nothing else. A user acts for an organisation in a role:

- partner HR (`Role.HR`) and course organisers (`Role.ORGANISER`) for the organisations in which they hold
  that role (`Membership`);
- ministry staff (`Role.MINISTRY`) for the whole programme: every organisation;
- administrators (superusers or `Role.ADMIN`) and the system actor in every role for every organisation.

The API, smallest first:

- `organisation_ids(user, roles)`: the organisations' keys, or None for "every organisation";
- `scope(user, roles, field)`: a `Q` for a queryset whose `field` leads to the owning organisation (every
  `visible_to(user)` is built from it; the "everything" filter is safe to combine with `|`);
- `acting_for(user, roles)` (also `Organisation.objects.acting_for`): the organisations, for form choices;
- `may(user, roles, organisation=None)` (also `user.may(...)`): one yes/no, for views and templates' flags;
- `acting_for_partners(user, roles)` and `may_for_partner(user, roles, organisation)`: the same two for what
  only a partner of the programme does (record its anonymised procedures), which a role held in the
  ministry's own organisation does not reach;
- `require(actor, roles, organisation=None)`: for services, raises `PermissionDenied` (`require_for_partner`
  for what only a partner does);
- `role_acted_in(user, roles, organisation)`: which of the roles a user acts in there, kept on a background
  job so that its file stays with that role;
- `recorded_user(actor)`: the `User` row to store as "created by" (None for `SYSTEM`), `actor_from_id(pk)`
  for tasks, which take the actor's primary key and load the user again;
- `own_organisation_ids(user, roles)`: the user's own memberships without an administrator's reach, for what
  a start page greets with; never for a decision;
- `own_scope(user, roles, field)`: `scope` of the user's own memberships without the ministry's reach
  (administrators: everything), for what a role reads of its own organisation only (the ministry's audit log).

Services that change data take a keyword-only `actor` and call `require(actor, role, organisation)`; there is
no "no actor means allowed" (`require` raises TypeError for None): management commands, beat tasks and demo
data pass `SYSTEM`, which the audit log records as "system". Background jobs pass the requesting user's
primary key and the task loads the user again (`actor_from_id`), so a job checks the same rule as the request
that started it. The one write without a user is the survey respondent's `surveys.services.response_submit`:
it is authorised by the one-time token, by design (the survey is anonymous).

Views answer another organisation's objects with 404 by reading through `visible_to(user)` querysets, which
are built from `scope(user, role, field)`; a role a user does not hold at all answers 403 (the mixins below).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.exceptions import PermissionDenied
from django.db.models import F, Q, Value
from django.db.models.lookups import Exact, In
from django.utils.translation import gettext_lazy as _

from .models import Organisation, Role, User

__all__ = [
    "SYSTEM",
    "SystemActor",
    "acting_for",
    "acting_for_partners",
    "actor_from_id",
    "has_role",
    "may",
    "may_for_partner",
    "organisation_ids",
    "own_organisation_ids",
    "own_scope",
    "recorded_user",
    "require",
    "require_for_partner",
    "require_role",
    "role_acted_in",
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


# `Q()` would vanish when combined with `|` (`Q() | Q(x=1)` is `Q(x=1)`); this one matches every row, adds no
# WHERE clause, and swallows whatever it is or-ed with.
EVERYTHING = ~Q(pk__in=[])
NOTHING = Q(pk__in=[])


def scope(user, roles: Roles, field: str = "organisation") -> Q:
    """A filter for a queryset whose `field` (a foreign key to Organisation, or a path to one) names the
    organisation that owns a row: rows of organisations `user` acts for in any of `roles`. Safe to combine
    with `|` and `&`."""
    ids = organisation_ids(user, roles)
    if ids is None:
        return EVERYTHING
    if not ids:
        return NOTHING
    return _organisations(field, ids)


def own_scope(user, roles: Roles, field: str = "organisation") -> Q:
    """`scope` without the ministry's reach: rows of the organisations in which `user` holds one of `roles`
    through a membership of their own (every row for administrators). For what a role reads of its own
    organisation only although it acts for every one: the ministry reads the audit log of its own staff, not
    every city's logins and personnel matters (data minimisation, Art. 5(1)(c) GDPR)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    if user.is_administrator:
        return EVERYTHING
    ids = own_organisation_ids(user, roles)
    return _organisations(field, ids) if ids else NOTHING


def _organisations(field: str, ids: frozenset[int]) -> Q:
    keys = sorted(ids)
    if len(keys) == 1:  # as cheap to build as the plain `field__in` (a list of expressions costs 40 µs more)
        return Q(Exact(F(field), _Key(keys[0])))
    return Q(In(F(field), [_Key(pk) for pk in keys]))


class _Key(Value):
    """An organisation's primary key typed as the key columns are (bigint), not as a bare number (integer):
    btree_gin has no cross-type operators, and PostgreSQL uses the organisation column of a GIN index (the
    employee search's, migration vielfalt 0021) only for a bigint."""

    def as_postgresql(self, compiler, connection):
        return "%s::bigint", [self.value]


def own_organisation_ids(user, roles: Roles) -> frozenset[int]:
    """The organisations in which `user` holds one of `roles` through a membership of their own, without the
    reach administrators and the ministry have: what a start page greets the user with. Never use it to
    decide what a user may do (that is `may`/`scope`)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    return frozenset().union(*(user.organisation_ids(role) for role in _roles(roles)))


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


def acting_for_partners(user, roles: Roles):
    """The programme's partners `user` acts for in any of `roles`, for what only a partner does (its
    anonymised application procedures). The ministry is no partner: ministry staff who also hold HR in the
    ministry's own organisation (for its employees and courses) record no procedures of its own."""
    return acting_for(user, roles).partners()


def may_for_partner(user, roles: Roles, organisation: Organisation) -> bool:
    """Whether `organisation` is among `acting_for_partners(user, roles)`: what a list asks of each row
    before it links to a page that offers `acting_for_partners`."""
    return organisation.is_partner and may(user, roles, organisation)


def role_acted_in(user, roles: Roles, organisation: Organisation | int | None = None) -> str:
    """Which of `roles` `user` acts in for `organisation`: the first they hold there (the first of `roles` for
    the system actor and for no user; "" for no roles). What a job keeps as the role its file belongs to."""
    roles = tuple(role for role in _roles(roles) if role)
    if user is None or getattr(user, "is_system", False):
        return roles[0] if roles else ""
    return next((role for role in roles if may(user, role, organisation)), roles[0] if roles else "")


def require(actor, roles: Roles, organisation: Organisation | int | None = None) -> None:
    """For services: raise PermissionDenied unless `actor` may act in any of `roles` for `organisation`.
    A missing actor is a programming error, never a pass."""
    if actor is None:
        raise TypeError("A service that changes data needs an actor (use permissions.SYSTEM for commands).")
    if not may(actor, roles, organisation):
        raise PermissionDenied(_("You may not do this for this organisation."))


def require_for_partner(actor, roles: Roles, organisation: Organisation) -> None:
    """`require` for what only a partner of the programme does (`may_for_partner`)."""
    require(actor, roles, organisation)
    if not organisation.is_partner:
        raise PermissionDenied(_("You may not do this for this organisation."))


def require_role(actor, roles: Roles) -> None:
    """`require` without an organisation: the actor holds one of `roles` somewhere (e.g. ministry exports)."""
    require(actor, roles, None)


def recorded_user(actor) -> User | None:
    """The user row to store as who did something (`created_by`, `requested_by`): None for the system actor
    (and for an anonymous user), whom the audit log records by name instead."""
    if actor is None or getattr(actor, "is_system", False) or not actor.is_authenticated:
        return None
    return actor


def actor_from_id(actor_id: int) -> User:
    """For tasks: the user whose request started the job, loaded again, so that a role withdrawn or an account
    deactivated meanwhile counts when the service checks the actor. A missing id is an error, not the system."""
    if actor_id is None:
        raise TypeError("A task that changes data needs the id of its actor, the user who started it.")
    return User.objects.get(pk=actor_id)


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
