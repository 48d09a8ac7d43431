import datetime

import pytest
from django.utils import timezone

from surveys.models import Campaign, Invitation
from surveys.services import campaign_create, campaign_open, invitation_issue, invitations_create
from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, hr_user
from vielfalt.models import TargetGroup

DEFAULT_ANSWERS = {
    "own_citizenship": "german",
    "birth_country": "germany",
    "immigration_year": "",
    "mother_citizenship": "german",
    "mother_immigrated": "no",
    "father_citizenship": "german",
    "father_immigrated": "no",
    "target_group": "public_facing",
    "org_unit": "na",
    "languages": ["de"],
}


def make_campaign(*, organisation=None, actor=None, k=5, **fields) -> Campaign:
    organisation = organisation or OrganisationFactory()
    actor = actor or hr_user(organisation)
    return campaign_create(
        actor=actor,
        organisation=organisation,
        title=fields.pop("title", "Befragung 2024"),
        opens_on=fields.pop("opens_on", timezone.localdate()),
        closes_on=fields.pop("closes_on", timezone.localdate() + datetime.timedelta(days=30)),
        k=k,
        previous_estimate="2–3 %",
        purpose="Wie vielfältig ist unsere Belegschaft?",
        legal_basis="Einwilligung, Art. 6 Abs. 1 lit. a DSGVO",
        dpo_contact="datenschutz@stadt.example",
        **fields,
    )


def open_campaign_with_invitations(*, employees=10, units=1, k=5, organisation=None, issue_tokens=True):
    """An open campaign with `employees` invited employees spread over `units` units; returns
    (campaign, tokens, hr user)."""
    organisation = organisation or OrganisationFactory()
    actor = hr_user(organisation)
    unit_objects = [OrgUnitFactory(organisation=organisation, name=f"Amt {i}") for i in range(units)]
    groups = [TargetGroup.TRAINEE, TargetGroup.PUBLIC_FACING, TargetGroup.MANAGER, TargetGroup.OTHER]
    for i in range(employees):
        EmployeeFactory(
            organisation=organisation, org_unit=unit_objects[i % units], target_group=groups[i % 4]
        )
    campaign = make_campaign(organisation=organisation, actor=actor, k=k)
    campaign_open(actor=actor, campaign=campaign)
    invitations_create(actor=actor, campaign=campaign)
    tokens = (
        [
            invitation_issue(actor=actor, invitation=i).token
            for i in Invitation.objects.filter(campaign=campaign)
        ]
        if issue_tokens
        else []
    )
    campaign.refresh_from_db()
    return campaign, tokens, actor


def respondent_state(client) -> dict:
    """What the respondent's sealed cookie holds (surveys.views.RESPONDENT_COOKIE)."""
    from surveys.credentials import respondent_unseal
    from surveys.views import RESPONDENT_COOKIE

    cookie = client.cookies.get(RESPONDENT_COOKIE)
    return (respondent_unseal(cookie.value) or {}) if cookie else {}


def form_key(client) -> str:
    return respondent_state(client).get("form_key", "")


def answer(client, token, **overrides):
    """Answer through the views as a respondent would; returns the final response."""
    client.get(f"/surveys/t/{token}/")
    data = {**DEFAULT_ANSWERS, "form_key": form_key(client), **overrides}
    return client.post("/surveys/answer/", data)


@pytest.fixture
def open_campaign(db):
    return open_campaign_with_invitations()
