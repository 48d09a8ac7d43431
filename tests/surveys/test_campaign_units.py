"""The campaign form offers the org units of the campaign's organisation only: an administrator's new campaign
listed every organisation's units as check boxes (2,041 at full scale, 80 ms a page). Choosing an organisation
loads its units (htmx, `surveys:campaign_units`); without JavaScript they come with the form once it has been
submitted with its organisation."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys.models import Campaign
from tests.factories import OrganisationFactory, OrgUnitFactory, UserFactory, hr_user

from .conftest import make_campaign

pytestmark = pytest.mark.django_db
UNITS = 'id="id_units_options"'


@pytest.fixture
def cities():
    duisburg, essen = OrganisationFactory(name="Stadt Duisburg"), OrganisationFactory(name="Stadt Essen")
    units = {
        duisburg: [
            OrgUnitFactory(organisation=duisburg, name=name) for name in ("Bürgeramt", "Amt <für> & Co")
        ],
        essen: [OrgUnitFactory(organisation=essen, name="Jugendamt")],
    }
    return duisburg, essen, units


def _offered(html: str) -> list[str]:
    """The values of the unit check boxes in a page or a swap."""
    return re.findall(r'<input type="checkbox"[^>]* name="units" value="(\d+)"', html)


def _campaign(organisation, units) -> dict:
    return {
        "organisation": organisation.pk,
        "title": "Befragung 2027",
        "opens_on": timezone.localdate().isoformat(),
        "closes_on": (timezone.localdate() + timedelta(days=30)).isoformat(),
        "units": [unit.pk for unit in units],
        "k": 5,
        "purpose": "Zweck",
        "legal_basis": "Einwilligung",
        "dpo_contact": "datenschutz@example.org",
    }


def test_an_administrator_chooses_the_organisation_first_and_gets_its_units(client, cities):
    duisburg, essen, units = cities
    client.force_login(UserFactory(is_superuser=True))
    page = client.get(reverse("surveys:campaign_create"), HTTP_ACCEPT_LANGUAGE="de").text
    assert UNITS in page and _offered(page) == []  # none before an organisation is chosen
    assert "Die Einheiten der oben gewählten Organisation." in page
    assert f'data-hx-get="{reverse("surveys:campaign_units")}"' in page
    swap = client.get(reverse("surveys:campaign_units"), {"organisation": duisburg.pk}).text
    assert f'<div {UNITS} data-hx-swap-oob="innerHTML">' in swap
    assert _offered(swap) == [
        str(units[duisburg][1].pk),
        str(units[duisburg][0].pk),
    ]  # by name: Amt, Bürgeramt
    assert "Amt &lt;für&gt; &amp; Co" in swap and "Amt <für>" not in swap
    assert "Stadt Duisburg" not in swap  # one organisation's units need no organisation in their label
    # Submitted with another city's unit: refused, and the form comes back with the chosen city's units.
    response = client.post(reverse("surveys:campaign_create"), _campaign(duisburg, units[essen]))
    assert response.status_code == 200 and not Campaign.objects.exists()
    assert response.context["form"].errors["units"]
    assert sorted(_offered(response.text)) == sorted(str(unit.pk) for unit in units[duisburg])
    response = client.post(reverse("surveys:campaign_create"), _campaign(duisburg, units[duisburg][:1]))
    assert response.status_code == 302
    assert list(Campaign.objects.get().units.all()) == units[duisburg][:1]


def test_hr_of_one_city_gets_its_units_at_once_and_no_other_city_s(client, cities):
    duisburg, essen, units = cities
    client.force_login(hr_user(duisburg))
    page = client.get(reverse("surveys:campaign_create")).text
    assert sorted(_offered(page)) == sorted(str(unit.pk) for unit in units[duisburg])
    assert client.get(reverse("surveys:campaign_units"), {"organisation": essen.pk}).status_code == 404
    for garbage in ("", "x", "0", "-1", "1e3"):
        assert client.get(reverse("surveys:campaign_units"), {"organisation": garbage}).status_code == 404


def test_a_draft_s_form_offers_its_organisation_s_units(client, cities):
    duisburg, _essen, units = cities
    administrator = UserFactory(is_superuser=True)
    campaign = make_campaign(organisation=duisburg, actor=administrator, units=units[duisburg][:1])
    client.force_login(administrator)
    page = client.get(reverse("surveys:campaign_update", args=[campaign.pk])).text
    assert sorted(_offered(page)) == sorted(str(unit.pk) for unit in units[duisburg])
    assert re.search(rf'name="units" value="{units[duisburg][0].pk}"[^>]* checked', page)
    assert not re.search(rf'name="units" value="{units[duisburg][1].pk}"[^>]* checked', page)
