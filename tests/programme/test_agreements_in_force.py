"""Which agreements' commitments the programme counts: once per agreement in force, also for a past year after
the agreement ended. Before, an amendment signed beside the agreement it copies counted every commitment twice,
and a past year's figures lost the commitments of every agreement whose validity had run out since (the nightly
end of expired agreements turned them "ended", and only "signed" ones counted)."""

import datetime

import pytest
from django.utils import timezone

from partnerships.models import Agreement, StatusChange
from partnerships.services import agreement_transition, agreements_end_expired
from tests.factories import OrganisationFactory
from tests.partnerships.factories import AgreementFactory, CommitmentFactory
from tests.programme.conftest import SIGNED_ON
from vielfalt.permissions import SYSTEM
from vielfalt.programme.figures import commitment_rows, programme

pytestmark = pytest.mark.django_db

Status = Agreement.Status


def counted(year=None) -> dict[str, int]:
    """How many commitments the programme counts, the reports' way and the dashboard's (SQL) way alike."""
    reports, dashboard = programme(year=year), programme(year=year, details=False)
    assert dashboard.charts["progress"].total == reports.charts["progress"].total
    agreements = {}
    for figure in reports.commitments:
        title = figure.commitment.agreement.title
        agreements[title] = agreements.get(title, 0) + 1
    return agreements


def signed(partner, title, *, commitments=2, signed_on=SIGNED_ON, valid_until=None, amends=None):
    agreement = AgreementFactory(
        partner=partner,
        title=title,
        signed_on=signed_on,
        valid_from=signed_on,
        valid_until=valid_until,
        amends=amends,
    )
    for _ in range(commitments):
        CommitmentFactory(agreement=agreement, target_value=10, due_on=datetime.date(2030, 1, 1))
    Agreement.objects.filter(pk=agreement.pk).update(status=Status.SIGNED)
    agreement.refresh_from_db()
    return agreement


@pytest.fixture
def partner(db):
    return OrganisationFactory(slug="partner-9", name="Partner 009")


def test_an_amendment_s_commitments_count_in_place_of_those_of_the_agreement_it_replaces(partner):
    original = signed(partner, "Erste")
    # Both "signed", as between an amendment's signing and the day it takes effect (the original ends then).
    amendment = signed(partner, "Änderung", amends=original, signed_on=datetime.date(2015, 6, 1))
    assert counted() == {"Änderung": 2}
    assert counted(2014) == {"Erste": 2}
    assert counted(2015) == {"Änderung": 2}  # assessed at the year's end, when the amendment was in force
    agreement_transition(actor=SYSTEM, agreement=original, to_status=Status.ENDED, reason="Ersetzt")
    assert counted() == {"Änderung": 2}
    assert counted(2014) == {"Erste": 2}
    if commitment_rows(year=2015) is not None:  # PostgreSQL: the dashboard's commitment list, in SQL
        assert len(commitment_rows(year=2015)) == 2
        assert len(commitment_rows()) == 2
    assert amendment.status == Status.SIGNED


def test_a_past_year_keeps_the_commitments_of_an_agreement_ended_since(partner):
    expired = signed(partner, "Abgelaufen", valid_until=datetime.date(2016, 12, 31))
    stopped = signed(partner, "Beendet", commitments=3)
    assert agreements_end_expired(actor=SYSTEM) == 1  # today, long after 2016
    agreement_transition(actor=SYSTEM, agreement=stopped, to_status=Status.ENDED, reason="Gekündigt")
    expired.refresh_from_db()
    assert expired.status == Status.ENDED

    assert counted() == {}  # neither is in force today
    assert counted(2015) == {"Abgelaufen": 2, "Beendet": 3}
    assert counted(2017) == {"Beendet": 3}  # the validity of the first ran out before 2017

    # Ended by the ministry on 10 May 2016: counted in 2016, no more in 2017.
    ended_on = timezone.make_aware(datetime.datetime(2016, 5, 10, 9, 0))
    StatusChange.objects.filter(agreement=stopped, to_status=Status.ENDED).update(changed_at=ended_on)
    assert counted(2016) == {"Abgelaufen": 2, "Beendet": 3}
    assert counted(2017) == {}


def test_a_past_year_does_not_count_a_partner_whose_agreement_was_drawn_up_after_it(partners):
    """The 2014 report, made today, counted a city whose first draft the ministry began this year: as a partner
    of 2014, with a draft under way in 2014."""
    newcomer = OrganisationFactory(slug="partner-8", name="Partner 008")
    AgreementFactory(partner=newcomer)  # a draft, created today
    assert programme(year=2014).partner_count == 2
    assert programme(year=2014, details=False).partner_count == 2
    assert programme().partner_count == 3
    assert programme(year=timezone.localdate().year).partner_count == 3
    last_year = timezone.make_aware(datetime.datetime(2013, 12, 31, 23, 30))
    Agreement.objects.filter(partner=newcomer).update(created_at=last_year)
    assert programme(year=2014).partner_count == 3  # drawn up before 2014: under way in it
    assert programme(year=2013).partner_count == 3
    assert {bar.key: bar.value for bar in programme(year=2012).charts["status"].bars}.get("draft", 0) == 0


def status_chart(year=None) -> dict[str, int]:
    reports, dashboard = programme(year=year), programme(year=year, details=False)
    statuses = {bar.key: bar.value for bar in reports.charts["status"].bars if bar.value}
    assert {bar.key: bar.value for bar in dashboard.charts["status"].bars if bar.value} == statuses
    assert [row.agreement_status for row in reports.partners] == [
        row.agreement_status for row in dashboard.partners
    ]
    return statuses


def test_a_past_year_shows_the_statuses_agreements_had_at_its_end(partner):
    """A report of 2015 made today showed agreements in force all through 2015 as "ended" (they ended since)."""
    stopped = signed(partner, "Beendet")
    signed(partner, "Abgelaufen", valid_until=datetime.date(2016, 12, 31))  # the newest: the partner's row
    agreements_end_expired(actor=SYSTEM)
    agreement_transition(actor=SYSTEM, agreement=stopped, to_status=Status.ENDED, reason="Gekündigt")
    ended_on = timezone.make_aware(datetime.datetime(2016, 5, 10, 9, 0))
    StatusChange.objects.filter(agreement=stopped, to_status=Status.ENDED).update(changed_at=ended_on)

    assert status_chart() == {"ended": 2}
    assert status_chart(2015) == {"signed": 2}
    assert status_chart(2016) == {"signed": 1, "ended": 1}  # valid until 31.12.2016: ended the day after
    assert status_chart(2017) == {"ended": 1}
    assert [row.agreement_status for row in programme(year=2015).partners] == ["signed"]
    assert [row.agreement_status for row in programme(year=2016).partners] == ["signed"]
    assert [row.agreement_status for row in programme().partners] == ["ended"]
