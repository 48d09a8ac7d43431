"""The Django admin shows survey campaigns but changes none: a campaign is created and changed on its own page
(administrators act as HR for every organisation there), whose services keep an open or closed campaign's
settings as they were when it opened, withdraw a draft's invitations outside its units and offer the units of
the campaign's organisation only."""

import pytest
from django.urls import reverse

from surveys.models import Campaign, HeldAnswer, Invitation
from tests.factories import OrganisationFactory, OrgUnitFactory
from tests.surveys.conftest import answer, make_campaign, open_campaign_with_invitations

pytestmark = pytest.mark.django_db


def test_an_open_or_closed_campaigns_minimum_group_size_is_not_lowered_in_the_admin(client, superuser):
    """Before, an administrator could lower a closed campaign's k from 5 to 3 in the admin: its published results
    then showed groups of three and four respondents, which the campaign had promised never to show."""
    campaign, _tokens, _hr = open_campaign_with_invitations(employees=6, k=5)
    client.force_login(superuser)
    url = reverse("admin:surveys_campaign_change", args=[campaign.pk])
    page = client.get(url)
    assert page.status_code == 200  # to look at
    assert 'name="_save"' not in page.text
    data = {
        "organisation": campaign.organisation_id,
        "title": campaign.title,
        "opens_on": campaign.opens_on.strftime("%d.%m.%Y"),
        "closes_on": campaign.closes_on.strftime("%d.%m.%Y"),
        "k": "3",
        "purpose": campaign.purpose,
        "legal_basis": campaign.legal_basis,
        "dpo_contact": campaign.dpo_contact,
    }
    assert client.post(url, data).status_code == 403
    campaign.refresh_from_db()
    assert campaign.k == 5


def test_a_campaign_is_not_added_in_the_admin_with_another_organisations_units(client, superuser):
    """The admin's add form offered every organisation's units (the portal's form offers the organisation's)."""
    duisburg, oberhausen = OrganisationFactory(), OrganisationFactory()
    elsewhere = OrgUnitFactory(organisation=oberhausen)
    client.force_login(superuser)
    url = reverse("admin:surveys_campaign_add")
    data = {
        "organisation": duisburg.pk,
        "title": "Befragung",
        "opens_on": "01.01.2030",
        "closes_on": "31.01.2030",
        "units": [elsewhere.pk],
        "k": "5",
        "purpose": "Wie vielfältig ist unsere Belegschaft?",
        "legal_basis": "Einwilligung",
        "dpo_contact": "datenschutz@stadt.example",
    }
    assert client.post(url, data).status_code == 403
    assert not Campaign.objects.exists()


def test_only_a_draft_campaign_is_deleted_in_the_admin(client, superuser):
    """An open campaign's held answers went with it (the cascade): answers given, lost without a trace."""
    campaign, tokens, _hr = open_campaign_with_invitations(employees=6, k=5)
    answer(client, tokens[0])
    assert HeldAnswer.objects.filter(campaign=campaign).count() == 1
    client.force_login(superuser)
    delete = reverse("admin:surveys_campaign_delete", args=[campaign.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert HeldAnswer.objects.filter(campaign=campaign).count() == 1
    bulk = {"action": "delete_selected", "_selected_action": [campaign.pk], "post": "yes"}
    client.post(reverse("admin:surveys_campaign_changelist"), bulk)  # refused per object (perms_needed)
    assert HeldAnswer.objects.filter(campaign=campaign).count() == 1

    draft = make_campaign()
    delete = reverse("admin:surveys_campaign_delete", args=[draft.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not Campaign.objects.filter(pk=draft.pk).exists()
    assert Invitation.objects.filter(campaign=campaign).exists()
