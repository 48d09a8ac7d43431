"""The agreement list's total comes from AgreementCount, kept by PostgreSQL triggers (vielfalt.counts) through
every kind of write, instead of a COUNT over every agreement on every page."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partnerships.models import Agreement, AgreementCount, agreement_total
from tests.conftest import need
from tests.factories import OrganisationFactory, UserFactory
from vielfalt.models import Role

from .factories import AgreementFactory

pytestmark = pytest.mark.django_db


def counts(*partners) -> list[int]:
    found = dict(AgreementCount.objects.values_list("partner_id", "agreements"))
    return [found.get(partner.pk, 0) for partner in partners]


def test_every_kind_of_write_keeps_the_count(ministry, duisburg, oberhausen):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    first = AgreementFactory(partner=duisburg, state_party=ministry)
    AgreementFactory(partner=oberhausen, state_party=ministry)
    assert counts(duisburg, oberhausen) == [1, 1]
    Agreement.objects.bulk_create(
        [Agreement(partner=duisburg, state_party=ministry, title=f"Nachtrag {n}") for n in range(2)]
    )
    assert counts(duisburg, oberhausen) == [3, 1]
    Agreement.objects.filter(pk=first.pk).update(title="Neu")  # no move: no change
    assert counts(duisburg, oberhausen) == [3, 1]
    Agreement.objects.filter(pk=first.pk).update(partner=oberhausen)  # moved
    assert counts(duisburg, oberhausen) == [2, 2]
    with connection.cursor() as cursor:  # plain SQL too
        cursor.execute("DELETE FROM partnerships_agreement WHERE partner_id = %s", [duisburg.pk])
    assert counts(duisburg, oberhausen) == [0, 2]
    Agreement.objects.get(pk=first.pk).delete()
    assert counts(duisburg, oberhausen) == [0, 1]
    assert agreement_total([duisburg.pk, oberhausen.pk]) == 1
    assert agreement_total(None) == Agreement.objects.count() == 1
    assert agreement_total([]) == 0


def found(response) -> int:
    return int(re.search(r"(\d+) Partnervereinbarung(?:en)? gefunden", response.text).group(1))


def test_the_unfiltered_list_counts_no_rows_and_each_user_sees_their_own_total(
    client, staff, hr_duisburg, ministry, duisburg, oberhausen
):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    AgreementFactory.create_batch(3, partner=duisburg, state_party=ministry, title="Ruhrort-Vereinbarung")
    AgreementFactory(partner=oberhausen, state_party=ministry)
    for user, total in ((staff, 4), (hr_duisburg, 3), (UserFactory(roles=[(duisburg, Role.ORGANISER)]), 0)):
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("partnerships:index"))
        assert found(response) == total == len(response.context["object_list"])
        assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    client.force_login(staff)
    assert found(client.get(reverse("partnerships:index"), {"q": "Ruhrort"})) == 3  # counted by PostgreSQL
    assert found(client.get(reverse("partnerships:index"), {"page": "1", "ordering": "title"})) == 4
    assert found(client.get(reverse("partnerships:index"), {"status": "signed"})) == 0
    OrganisationFactory()  # an organisation without agreements adds nothing
    assert found(client.get(reverse("partnerships:index"))) == 4
