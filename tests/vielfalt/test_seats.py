"""The core's seat engine, shared by course dates and network meetings."""

from types import SimpleNamespace

from vielfalt.seats import Seats, fill_free_seats


def registration(pk, organisation_id):
    return SimpleNamespace(pk=pk, organisation_id=organisation_id)


def test_capacity_and_quotas():
    seats = Seats(capacity=3, by_organisation={1: 1}, quotas={1: 1, 2: None})
    assert not seats.fits(1)  # quota of organisation 1 used up
    assert seats.fits(2)
    seats.take(2)
    seats.take(3)
    assert seats.full and not seats.fits(2)


def test_promotion_in_strict_order_skips_who_does_not_fit():
    seats = Seats(capacity=3, by_organisation={1: 1}, quotas={1: 1})
    waiting = [registration(10, 1), registration(11, 2), registration(12, 3), registration(13, 2)]
    promoted = []
    result = fill_free_seats(seats, waiting, promote=promoted.append)
    assert [r.pk for r in result] == [11, 12] == [r.pk for r in promoted]


def test_a_full_date_promotes_nobody_and_reads_no_waiting_list():
    def waiting():
        raise AssertionError("the waiting list must not be read")
        yield

    assert fill_free_seats(Seats(capacity=1, by_organisation={1: 1}), waiting(), promote=print) == []
