"""A campaign's closing day is the last day to answer: the campaign then closes by itself and publishes its
results. Before, `closes_on` was only shown: a campaign whose letters named 31 March took answers for as long as
nobody at HR remembered to close it, and published nothing until somebody did."""

import datetime

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from surveys.models import Campaign, HeldAnswer, Response
from surveys.results import results_visible
from surveys.services import campaign_close, campaign_extend, campaign_open
from surveys.tasks import task_close_due_campaigns
from tests.factories import UserFactory, hr_user
from tests.surveys.conftest import answer, make_campaign, open_campaign_with_invitations
from vielfalt.models import AuditEntry

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def test_a_campaign_closes_by_itself_after_its_closing_day_and_publishes_its_results(client):
    today = timezone.localdate()
    campaign, tokens, _hr = open_campaign_with_invitations(employees=6, k=5)
    other, _other_tokens, _other_hr = open_campaign_with_invitations(employees=6, k=5)
    Campaign.objects.filter(pk=other.pk).update(closes_on=today)  # its last day: answers still come
    for token in tokens[:3]:
        assert answer(client.__class__(), token).status_code == 302  # to the thanks
    assert HeldAnswer.objects.filter(campaign=campaign).count() == 3  # fewer than k: held
    assert task_close_due_campaigns() == 0  # nobody's closing day has passed

    Campaign.objects.filter(pk=campaign.pk).update(opens_on=today - 30 * DAY, closes_on=today - DAY)
    assert task_close_due_campaigns() == 1
    campaign.refresh_from_db()
    other.refresh_from_db()
    assert (campaign.status, other.status) == (Campaign.Status.CLOSED, Campaign.Status.OPEN)
    assert results_visible(campaign=campaign)
    assert Response.objects.filter(campaign=campaign).count() == 3  # every held answer released at closing
    assert not HeldAnswer.objects.filter(campaign=campaign).exists()
    entry = AuditEntry.objects.filter(object_id=str(campaign.pk)).order_by("pk").last()
    assert (entry.changes, entry.actor_id) == ({"status": ["open", "closed"]}, None)  # the system closed it
    assert task_close_due_campaigns() == 0
    assert answer(client.__class__(), tokens[3]).status_code == 410  # the page that says it is closed


def test_hr_learns_by_e_mail_that_its_campaign_closed_by_itself(
    mailoutbox, django_capture_on_commit_callbacks
):
    """The campaign closed by itself at night, and nobody at HR knew that its results were out until someone
    happened to look."""
    today = timezone.localdate()
    campaign, _tokens, hr = open_campaign_with_invitations(employees=2)
    colleague = hr_user(campaign.organisation)
    hr_user(campaign.organisation, is_active=False)
    hr_user(campaign.organisation, email="")
    UserFactory(roles=[(campaign.organisation, "organiser")])
    other, _other_tokens, other_hr = open_campaign_with_invitations(employees=2)
    Campaign.objects.filter(pk__in=[campaign.pk, other.pk]).update(
        opens_on=today - 30 * DAY, closes_on=today - DAY
    )
    campaign_close(actor=other_hr, campaign=other)  # closed by HR by hand: they know

    with django_capture_on_commit_callbacks(execute=True):
        assert task_close_due_campaigns() == 1
    assert sorted(m.to[0] for m in mailoutbox) == sorted([hr.email, colleague.email])
    message = mailoutbox[0]
    campaign.refresh_from_db()
    assert message.subject == f"Umfrage beendet: {campaign.title}"
    body = " ".join(message.body.split())
    assert f"bis zu ihrem Schließtag, {campaign.closes_on:%d.%m.%Y}, beantwortet" in body
    assert f"{settings.PORTAL_URL}{campaign.get_absolute_url()}" in body


def test_hr_extends_an_open_campaign_and_cannot_open_one_whose_closing_day_has_passed(client):
    today = timezone.localdate()
    campaign, _tokens, hr = open_campaign_with_invitations(employees=2)
    client.force_login(hr)
    german = {"accept-language": "de"}
    page = client.get(campaign.get_absolute_url(), headers=german).text
    assert 'id="extend-form"' in page
    assert "dann schließt sie von selbst" in " ".join(page.split())
    url = reverse("surveys:campaign_extend", args=[campaign.pk])
    for refused in (campaign.closes_on, campaign.closes_on - DAY, "", "kein Datum"):
        response = client.post(url, {"closes_on": str(refused)}, headers=german, follow=True)
        assert response.status_code == 200
        campaign.refresh_from_db()
        assert campaign.closes_on == today + 30 * DAY, refused
    later = today + 60 * DAY
    response = client.post(url, {"closes_on": later.isoformat()}, headers=german, follow=True)
    assert "Die Befragung nimmt jetzt bis zum Ende des" in response.text
    campaign.refresh_from_db()
    assert campaign.closes_on == later
    entry = AuditEntry.objects.filter(object_id=str(campaign.pk)).order_by("pk").last()
    assert entry.changes == {"closes_on": [(today + 30 * DAY).isoformat(), later.isoformat()]}
    with pytest.raises(ValidationError, match="366"):  # the longest period a campaign may have
        campaign_extend(actor=hr, campaign=campaign, closes_on=today + 5000 * DAY)

    draft = make_campaign(organisation=campaign.organisation, actor=hr, opens_on=today - 40 * DAY)
    Campaign.objects.filter(pk=draft.pk).update(closes_on=today - DAY)
    draft.refresh_from_db()
    with pytest.raises(ValidationError, match="Schlusstag ist vorbei|closing day has passed"):
        campaign_open(actor=hr, campaign=draft)
    draft.refresh_from_db()
    assert draft.is_draft


def test_a_campaign_opens_from_its_first_day(client):
    """HR could open a campaign whose first day was next month: it took answers before the period its page
    and the data protection officer's documentation give."""
    today = timezone.localdate()
    campaign = make_campaign(opens_on=today + DAY, closes_on=today + 30 * DAY)
    hr = campaign.organisation.memberships.get().user
    client.force_login(hr)
    german = {"accept-language": "de"}
    page = client.get(campaign.get_absolute_url(), headers=german).text
    assert "Die Befragung kann ab ihrem ersten Tag" in page
    assert reverse("surveys:campaign_open", args=[campaign.pk]) not in page
    response = client.post(reverse("surveys:campaign_open", args=[campaign.pk]), headers=german, follow=True)
    assert "Der erste Tag der Befragung ist der" in response.text
    campaign.refresh_from_db()
    assert campaign.is_draft
    with pytest.raises(ValidationError, match="first day|ersten Tag"):
        campaign_open(actor=hr, campaign=campaign)

    Campaign.objects.filter(pk=campaign.pk).update(opens_on=today)  # its day has come (or HR chose today)
    assert (
        reverse("surveys:campaign_open", args=[campaign.pk]) in client.get(campaign.get_absolute_url()).text
    )
    assert campaign_open(actor=hr, campaign=campaign).is_open
