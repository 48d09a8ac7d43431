"""One seat engine for every date with a capacity: course dates (trainings) and network meetings (network).

A date has a capacity and, optionally, a seat quota per organisation; its registrations are seated or wait.
The caller locks the date's row (`select_for_update`) for the whole transaction, so that seats are counted and
taken by one transaction at a time, and the waiting list is promoted in strict order (by primary key: rows are
created while the date is locked, so the key is the order of requests)."""

from collections.abc import Callable, Iterable

from django.db.models import Count, QuerySet


def seat_counts(seated: QuerySet) -> dict[int, int]:
    """Seats taken per organisation, from a queryset of the date's seated registrations."""
    return dict(
        seated.order_by()
        .values("organisation_id")
        .annotate(n=Count("pk"))
        .values_list("organisation_id", "n")
    )


class Seats:
    """Free seats of a locked date: the capacity, and each organisation's quota (None: no quota)."""

    def __init__(self, *, capacity: int, by_organisation: dict[int, int], quotas: dict | None = None):
        self.capacity = capacity
        self.by_organisation = by_organisation
        self.total = sum(by_organisation.values())
        self.quotas = quotas or {}

    def fits(self, organisation_id: int) -> bool:
        if self.total >= self.capacity:
            return False
        quota = self.quotas.get(organisation_id)
        return quota is None or self.by_organisation.get(organisation_id, 0) < quota

    def take(self, organisation_id: int) -> None:
        self.total += 1
        self.by_organisation[organisation_id] = self.by_organisation.get(organisation_id, 0) + 1

    @property
    def full(self) -> bool:
        return self.total >= self.capacity


def fill_free_seats(seats: Seats, waiting: Iterable, *, promote: Callable) -> list:
    """Promote, in the order of `waiting`, every registration that now fits (capacity and quota), calling
    `promote(registration)` for each. The date must be locked by the caller."""
    promoted = []
    if seats.full:
        return promoted
    for registration in waiting:
        if seats.full:
            break
        if seats.fits(registration.organisation_id):
            seats.take(registration.organisation_id)
            promote(registration)
            promoted.append(registration)
    return promoted
