"""Which commitment a practice entry may say it fulfils: one of the partner's agreements in force. The form
offered the commitments of every agreement of the partner, drafts too, and after an amendment each field of action
twice under the same label (the amendment repeats them), so nobody could tell which was which."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from partnerships.models import Agreement
from partnerships.network import services
from partnerships.network.forms import PracticeEntryForm
from partnerships.network.models import FieldOfAction
from tests.partnerships.factories import AgreementFactory, CommitmentFactory

from .conftest import make_entry

pytestmark = pytest.mark.django_db


def agreement_with(partner, ministry, field, *, status, signed_on=None, amends=None):
    agreement = AgreementFactory(partner=partner, state_party=ministry, signed_on=signed_on, amends=amends)
    commitment = CommitmentFactory(agreement=agreement, field_of_action=field)
    Agreement.objects.filter(pk=agreement.pk).update(status=status)
    commitment.agreement.refresh_from_db()
    return commitment


def options(form) -> list[str]:
    return [label for value, label in form.fields["commitment"].choices if value]


def test_only_commitments_of_agreements_in_force_are_offered_with_the_agreement_s_date(
    duisburg, ministry, hr_duisburg, client
):
    replaced = agreement_with(
        duisburg, ministry, "Schulungen", status="ended", signed_on=datetime.date(2013, 3, 7)
    )
    current = agreement_with(
        duisburg,
        ministry,
        "Schulungen",
        status="signed",
        signed_on=datetime.date(2020, 5, 4),
        amends=replaced.agreement,
    )
    agreement_with(duisburg, ministry, "Entwurfsmaßnahme", status="draft")
    form = PracticeEntryForm(user=hr_duisburg, organisation=duisburg)
    assert options(form) == ["Schulungen (Vereinbarung vom 04.05.2020)"]

    # An entry linked to the replaced one keeps it as a choice (and saves unchanged).
    entry = make_entry(duisburg, status="draft", commitment=replaced)
    form = PracticeEntryForm(instance=entry, user=hr_duisburg, organisation=duisburg)
    assert options(form) == [
        "Schulungen (Vereinbarung vom 07.03.2013)",
        "Schulungen (Vereinbarung vom 04.05.2020)",
    ]
    services.practice_update(actor=hr_duisburg, entry=entry, title="Neu")
    assert current.pk in [value.value for value, _label in form.fields["commitment"].choices if value]

    client.force_login(hr_duisburg)
    page = client.get(reverse("network:practice_create")).text
    assert "Schulungen (Vereinbarung vom 04.05.2020)" in page
    assert "Entwurfsmaßnahme" not in page


def test_a_draft_s_commitment_cannot_be_linked(duisburg, ministry, hr_duisburg):
    draft = agreement_with(duisburg, ministry, "Entwurfsmaßnahme", status="draft")
    with pytest.raises(ValidationError) as refused:
        make_entry(duisburg, status="draft", commitment=draft)
    assert refused.value.message_dict == {
        "commitment": ["Die Maßnahme gehört zu einer noch nicht unterschriebenen Partnervereinbarung."]
    }
    entry = make_entry(duisburg, status="draft", field_of_action=FieldOfAction.ANONYMISED_APPLICATIONS)
    with pytest.raises(ValidationError):
        services.practice_update(actor=hr_duisburg, entry=entry, commitment=draft)


def test_a_form_for_another_organisation_offers_none_of_its_contacts_or_commitments(
    duisburg, oberhausen, ministry, hr_duisburg
):
    """The choices followed the organisation the request named, before the form checked it: HR of Duisburg
    sending Oberhausen's id got the form back with Oberhausen's contact persons and commitments to choose from."""
    from partnerships.network.models import ContactPerson

    agreement_with(
        oberhausen, ministry, "Oberhausener Maßnahme", status="signed", signed_on=datetime.date(2014, 1, 2)
    )
    ContactPerson.objects.create(
        organisation=oberhausen, name="Olga Obst", function="Personalamt", email="olga@example.org",
        consent_given_at=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    )  # fmt: skip
    form = PracticeEntryForm({"organisation": str(oberhausen.pk)}, user=hr_duisburg)
    assert not form.is_valid() and "organisation" in form.errors
    assert options(form) == []
    assert [label for value, label in form.fields["contact"].choices if value] == []
