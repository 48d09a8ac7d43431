"""A city's campaign has 20,000 invitations: its page and the campaign list take their figures from
InvitationCount, kept by PostgreSQL triggers through every write, instead of reading every invitation on every
view. No count follows `used`: a submission moves none, so that no count changes with one person's answer."""

import datetime

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from surveys import services
from surveys.models import Invitation, InvitationCount
from surveys.privacy import invitations_purge
from tests.conftest import need
from tests.factories import EmployeeFactory
from tests.surveys.conftest import answer, open_campaign_with_invitations

pytestmark = pytest.mark.django_db


def kept(campaign) -> dict[tuple, int]:
    """The counts kept, without the keys that came back to zero."""
    return {
        (row.unit, row.pooled, row.counted, row.sent): row.invitations
        for row in InvitationCount.objects.filter(campaign=campaign)
        if row.invitations
    }


def counted(campaign) -> dict[tuple, int]:
    """The same counted from the invitations."""
    found: dict[tuple, int] = {}
    for invitation in Invitation.objects.filter(campaign=campaign):
        key = (
            invitation.org_unit_id or 0,
            invitation.employee_id is None,
            invitation.counted,
            bool(invitation.sent_at),
        )
        found[key] = found.get(key, 0) + 1
    return found


def figures_counted(campaign) -> dict:
    """What the campaign page said when it read every invitation."""
    invitations = Invitation.objects.filter(campaign=campaign)
    return invitations.aggregate(
        invited=Count("pk"),
        answered=Count("pk", filter=Q(counted=True)),
        sent=Count("pk", filter=Q(sent_at__isnull=False)),
        without_email=Count("pk", filter=Q(employee__isnull=True)),
    )


def test_every_kind_of_write_keeps_the_invitation_counts():
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    campaign, tokens, hr = open_campaign_with_invitations(employees=12, units=2, k=3)
    EmployeeFactory(organisation=campaign.organisation, org_unit=None, email="")  # a pool without a unit
    services.invitations_create(actor=hr, campaign=campaign)
    assert kept(campaign) == counted(campaign)
    assert services.campaign_figures(campaign=campaign).counts == figures_counted(campaign)

    for invitation in Invitation.objects.filter(campaign=campaign, employee__isnull=False)[:5]:
        services.invitation_mark_sent(actor=hr, invitation=invitation)  # sent, one by one
    for token in tokens[:4]:
        answer(Client(), token)
    assert services.held_release(actor=hr, campaign=campaign) == 4  # counted, in one statement
    assert kept(campaign) == counted(campaign)
    figures = services.campaign_figures(campaign=campaign)
    assert figures.counts == figures_counted(campaign)
    assert figures.counts["answered"] == 4

    Invitation.objects.filter(campaign=campaign, employee__isnull=True).update(org_unit=None)  # moved
    with connection.cursor() as cursor:  # plain SQL too
        cursor.execute(
            "DELETE FROM surveys_invitation WHERE id = (SELECT min(id) FROM surveys_invitation"
            " WHERE campaign_id = %s AND NOT used)",
            [campaign.pk],
        )
    assert kept(campaign) == counted(campaign)

    services.campaign_close(actor=hr, campaign=campaign)  # every used invitation stamped again
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=60)  # after its closing day
    assert invitations_purge(now=later)["invitations"] > 0  # stamps go
    campaign.refresh_from_db()
    assert kept(campaign) == counted(campaign)
    assert services.campaign_figures(campaign=campaign).counts == figures_counted(campaign)
    assert services.invitation_counts_of([campaign.pk]) == {
        campaign.pk: (figures_counted(campaign)["invited"], figures_counted(campaign)["answered"])
    }


def test_a_submission_moves_no_count():
    """The counts keep nothing of `used`: a submission's update of its invitation writes no count row, so none
    carries the submission's transaction id or moves with one person's answer."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    campaign, tokens, _hr = open_campaign_with_invitations(employees=6, k=3)

    def rows():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT xmin::text, ctid::text, unit, pooled, counted, sent, invitations"
                " FROM surveys_invitationcount WHERE campaign_id = %s ORDER BY unit, pooled, counted, sent",
                [campaign.pk],
            )
            return cursor.fetchall()

    before = rows()
    assert answer(Client(), tokens[0]).status_code == 302
    assert answer(Client(), tokens[0]).status_code == 302  # a used link again: the same page, nothing moves
    assert Invitation.objects.filter(campaign=campaign, used=True).count() == 1
    assert rows() == before


def test_the_campaign_pages_read_counts_not_invitations(client):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    campaign, _tokens, hr = open_campaign_with_invitations(employees=8, units=2, k=3)
    client.force_login(hr)
    for url in (reverse("surveys:campaign_detail", args=[campaign.pk]), reverse("surveys:index")):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        reading = [q["sql"] for q in queries.captured_queries if 'FROM "surveys_invitation"' in q["sql"]]
        assert reading == [], (url, reading)
    assert services.invitation_counts_of([campaign.pk]) == {campaign.pk: (8, 0)}


def test_a_campaign_is_deleted_with_its_counts():
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    campaign, _tokens, _hr = open_campaign_with_invitations(employees=4, k=3)
    assert InvitationCount.objects.filter(campaign=campaign).exists()
    campaign.delete()  # its invitations first (their triggers write the counts), then the counts
    assert not InvitationCount.objects.exists()
    assert not Invitation.objects.exists()
