import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client

from surveys import services
from surveys.credentials import unseal
from surveys.models import Campaign, HeldAnswer, Invitation, Response
from tests.factories import EmployeeFactory, OrgUnitFactory
from tests.surveys.conftest import DEFAULT_ANSWERS, form_key, make_campaign, open_campaign_with_invitations
from vielfalt.models import AuditEntry


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_submissions_with_one_token_store_exactly_one_response(postgres):
    campaign, tokens, _hr = open_campaign_with_invitations(employees=5)
    token = tokens[0]
    clients = []
    for _ in range(50):
        client = Client()
        client.get(f"/surveys/t/{token}/")
        clients.append(client)
    barrier = threading.Barrier(50)
    statuses = []
    lock = threading.Lock()

    def submit(client):
        data = {**DEFAULT_ANSWERS, "form_key": form_key(client)}
        try:
            barrier.wait()
            status = client.post("/surveys/answer/", data).status_code
            with lock:
                statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Every one of them sees the same thanks; one answer is held, and counted once the campaign closes.
    assert statuses == [302] * 50
    # (The 49 others did the same work: their answers are held as void and dropped by the release.)
    held = [unseal(held.sealed) for held in HeldAnswer.objects.filter(campaign=campaign)]
    assert sorted(fields[services.VOID] for fields in held) == [0] + [1] * 49
    assert Invitation.objects.filter(campaign=campaign, used=True).count() == 1
    services.campaign_close(actor=_hr, campaign=campaign)
    assert Response.objects.filter(campaign=campaign).count() == 1
    assert not HeldAnswer.objects.exists()


@pytest.mark.django_db
def test_a_used_token_is_accepted_without_a_sign_and_not_counted_and_an_unknown_one_refused():
    campaign, tokens, hr = open_campaign_with_invitations(employees=5)
    answers = services.Answers(
        own_citizenship="german",
        birth_country="germany",
        immigration_year=None,
        mother_citizenship="german",
        father_citizenship="german",
        mother_immigrated="no",
        father_immigrated="no",
        target_group="other",
        org_unit=None,
        org_unit_other=False,
        languages=("de",),
    )
    credential = services.credential_for_token(tokens[0])
    services.response_submit(credential=credential, answers=answers)
    services.response_submit(credential=credential, answers=answers)  # the same as the first, to the caller
    with pytest.raises(services.InvitationUnknown):
        services.response_submit(credential=services.credential_for_token("made-up"), answers=answers)
    assert [unseal(held.sealed)[services.VOID] for held in HeldAnswer.objects.all()].count(0) == 1
    assert Response.objects.count() == 0  # held, not yet counted
    services.campaign_close(actor=hr, campaign=campaign)
    assert Response.objects.filter(campaign=campaign).count() == 1
    assert Response.objects.get().languages == "|de|"


@pytest.mark.django_db
def test_only_the_hash_of_a_token_is_stored_and_reissuing_replaces_it():
    campaign, tokens, hr = open_campaign_with_invitations(employees=3)
    invitation = Invitation.objects.get(token_hash=services.token_hash(tokens[0]))
    assert len(invitation.token_hash) == 64
    assert not Invitation.objects.filter(token_hash=tokens[0]).exists()
    new = services.invitation_issue(actor=hr, invitation=invitation, reminder=True)
    invitation.refresh_from_db()
    assert invitation.token_hash == services.token_hash(new.token)
    assert services.credential_for_code(new.code) == f"c:{invitation.code_hash}"
    assert new.code not in invitation.code_hash
    assert invitation.reminded_at is not None
    assert not Invitation.objects.filter(token_hash=services.token_hash(tokens[0])).exists()


@pytest.mark.django_db
def test_no_new_token_for_a_used_invitation():
    campaign, tokens, hr = open_campaign_with_invitations(employees=3)
    invitation = Invitation.objects.get(token_hash=services.token_hash(tokens[0]))
    Invitation.objects.filter(pk=invitation.pk).update(used=True)
    assert services.invitation_issue(actor=hr, invitation=invitation) is None


@pytest.mark.django_db
def test_invitations_one_per_active_employee_of_the_chosen_units_and_audited():
    campaign = make_campaign()
    hr = AuditEntry.objects.get(object_id=str(campaign.pk)).actor
    unit_a = OrgUnitFactory(organisation=campaign.organisation, name="A")
    unit_b = OrgUnitFactory(organisation=campaign.organisation, name="B")
    EmployeeFactory.create_batch(3, organisation=campaign.organisation, org_unit=unit_a)
    EmployeeFactory.create_batch(2, organisation=campaign.organisation, org_unit=unit_b)
    EmployeeFactory(organisation=campaign.organisation, org_unit=unit_a, is_active=False)
    assert len(services.invitations_create(actor=hr, campaign=campaign, units=[unit_a])) == 3
    assert len(services.invitations_create(actor=hr, campaign=campaign)) == 2
    assert len(services.invitations_create(actor=hr, campaign=campaign)) == 0
    assert AuditEntry.objects.filter(object_id=str(campaign.pk), action=AuditEntry.Action.CREATE).count() == 4


@pytest.mark.django_db
def test_the_questionnaire_and_settings_freeze_once_open():
    campaign = make_campaign()
    hr = AuditEntry.objects.get(object_id=str(campaign.pk)).actor
    services.campaign_update(actor=hr, campaign=campaign, title="Neu")
    services.campaign_open(actor=hr, campaign=campaign)
    with pytest.raises(ValidationError):
        services.campaign_update(actor=hr, campaign=campaign, k=7)
    with pytest.raises(ValidationError):
        services.campaign_open(actor=hr, campaign=campaign)
    services.campaign_close(actor=hr, campaign=campaign)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.CLOSED
    assert AuditEntry.objects.filter(object_id=str(campaign.pk)).count() == 4


@pytest.mark.django_db
def test_only_units_with_at_least_k_invited_are_offered():
    campaign, _tokens, _hr = open_campaign_with_invitations(employees=12, units=3, k=4)
    # 12 employees over 3 units: 4 each, k=4 → all offered
    assert len(services.offered_units(campaign=campaign)) == 3
    campaign, _tokens, _hr = open_campaign_with_invitations(employees=12, units=3, k=5)
    assert services.offered_units(campaign=campaign) == []


@pytest.mark.django_db
def test_a_draft_s_invitations_follow_its_units_and_k_when_they_are_changed():
    """A draft can be invited before it opens. Narrowing its units afterwards left the invitations of the units
    taken out: the page named only the units kept, yet their staff were counted and e-mailed once the campaign
    opened, and respondents were offered units chosen under the old units and the old k."""
    campaign = make_campaign(k=3)
    hr = AuditEntry.objects.get(object_id=str(campaign.pk)).actor
    kept, dropped = (OrgUnitFactory(organisation=campaign.organisation, name=n) for n in ("A", "B"))
    EmployeeFactory.create_batch(4, organisation=campaign.organisation, org_unit=kept)
    EmployeeFactory.create_batch(3, organisation=campaign.organisation, org_unit=dropped)
    EmployeeFactory(organisation=campaign.organisation, org_unit=None)
    services.campaign_update(actor=hr, campaign=campaign, units=[kept, dropped])
    assert len(services.invitations_create(actor=hr, campaign=campaign)) == 7
    assert [unit.name for unit in services.offered_units(campaign=Campaign.objects.get(pk=campaign.pk))] == [
        "A",
        "B",
    ]

    services.campaign_update(actor=hr, campaign=campaign, units=[kept])
    campaign.refresh_from_db()
    assert set(Invitation.objects.filter(campaign=campaign).values_list("org_unit__name", flat=True)) == {"A"}
    assert services.invitation_counts(campaign=campaign)["invited"] == 4
    assert [unit.name for unit in services.offered_units(campaign=campaign)] == ["A"]

    services.campaign_update(actor=hr, campaign=campaign, k=5)
    campaign.refresh_from_db()
    assert services.offered_units(campaign=campaign) == []  # 4 invited in A: fewer than the new k
