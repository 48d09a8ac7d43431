"""Two of a city's HR staff preparing one survey campaign: the second save undid the first (its closing date, its
purpose, the org units a respondent may name). Now the second form comes back with its input and says who
changed the campaign and when (vielfalt.concurrency)."""

import datetime

import pytest
from django.urls import reverse

from surveys.models import Campaign
from tests.factories import OrganisationFactory, hr_user
from tests.helpers import form_data, opened_forms
from vielfalt.models import AuditEntry

from .conftest import make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def city():
    city = OrganisationFactory(slug="duisburg", name="Stadt Duisburg")
    for name in ("Bürgeramt", "Jugendamt"):
        city.units.create(name=name)
    return city


def test_a_colleague_saving_meanwhile_is_not_undone(city):
    campaign = make_campaign(organisation=city)
    url = reverse("surveys:campaign_update", args=[campaign.pk])
    (first, mine), (second, theirs) = opened_forms(
        url, hr_user(city, username="hr-duisburg-1"), hr_user(city, username="hr-duisburg-2")
    )
    mine["units"] = [str(unit.pk) for unit in city.units.all()]
    closes_on = str(campaign.opens_on + datetime.timedelta(days=45))
    mine["closes_on"] = closes_on
    assert first.post(url, mine).status_code == 302

    theirs["purpose"] = "Wie vielfältig sind wir?"
    response = second.post(url, theirs)
    assert "hr-duisburg-1 hat diesen Datensatz am" in response.content.decode()
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert (str(campaign.closes_on), campaign.units.count()) == (closes_on, 2)
    assert campaign.purpose != "Wie vielfältig sind wir?"

    again = form_data(response.content.decode())
    assert again["purpose"] == "Wie vielfältig sind wir?"
    assert second.post(url, again).status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).purpose == "Wie vielfältig sind wir?"


def test_a_colleague_choosing_only_units_is_a_newer_version_and_audited(city):
    campaign = make_campaign(organisation=city)
    url = reverse("surveys:campaign_update", args=[campaign.pk])
    (first, mine), (second, theirs) = opened_forms(
        url, hr_user(city, username="hr-duisburg-1"), hr_user(city, username="hr-duisburg-2")
    )
    mine["units"] = [str(city.units.get(name="Jugendamt").pk)]
    assert first.post(url, mine).status_code == 302
    entry = AuditEntry.objects.filter(object_id=str(campaign.pk), action=AuditEntry.Action.CHANGE).latest(
        "at"
    )
    assert entry.changes == {"units": [[], ["Jugendamt"]]}

    theirs["title"] = "Befragung 2024/25"
    assert second.post(url, theirs).status_code == 200
    assert list(Campaign.objects.get(pk=campaign.pk).units.values_list("name", flat=True)) == ["Jugendamt"]


def test_a_colleague_saving_unchanged_does_not_refuse_mine(city):
    campaign = make_campaign(organisation=city)
    url = reverse("surveys:campaign_update", args=[campaign.pk])
    (first, unchanged), (second, theirs) = opened_forms(
        url, hr_user(city, username="hr-duisburg-1"), hr_user(city, username="hr-duisburg-2")
    )
    changes = AuditEntry.objects.filter(action=AuditEntry.Action.CHANGE).count()
    assert first.post(url, unchanged).status_code == 302
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CHANGE).count() == changes  # nothing changed
    theirs["title"] = "Befragung 2024/25"
    assert second.post(url, theirs).status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).title == "Befragung 2024/25"


def test_a_campaign_opened_meanwhile_says_so_instead_of_404(city):
    """A colleague opened the campaign while the form was open: saving leads to the campaign's page, which says
    that only a draft can be changed (it answered 404, as if the campaign were gone)."""
    from surveys.services import campaign_open

    campaign = make_campaign(organisation=city)
    url = reverse("surveys:campaign_update", args=[campaign.pk])
    (mine, opened), (colleague, _opened) = opened_forms(
        url, hr_user(city, username="hr-duisburg-1"), hr_user(city, username="hr-duisburg-2")
    )
    campaign_open(actor=hr_user(city, username="hr-duisburg-3"), campaign=campaign)
    opened["title"] = "Befragung 2024/25"
    response = mine.post(url, opened, follow=True)
    assert response.redirect_chain == [(campaign.get_absolute_url(), 302)]
    assert "Nur eine Befragung im Entwurf kann geändert werden." in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).title == "Befragung 2024"
    assert colleague.get(url).status_code == 302
