"""The schema is the anonymity contract: a response cannot point at a person, an invitation or a moment."""

import uuid

import pytest
from django.db import IntegrityError, models

from surveys.models import Campaign, Invitation, Response
from tests.surveys.conftest import make_campaign
from vielfalt.models import Employee, User


def test_response_has_no_relation_to_users_employees_or_invitations():
    related = {f.related_model for f in Response._meta.get_fields() if f.is_relation}
    assert related == {Campaign, Response._meta.get_field("org_unit").related_model}
    assert not related & {User, Employee, Invitation}


def test_nothing_points_from_invitations_or_employees_to_responses():
    for model in (Invitation, Employee, User):
        assert all(f.related_model is not Response for f in model._meta.get_fields() if f.is_relation)


def test_response_has_no_time_field_and_no_trace_of_the_respondent():
    concrete = Response._meta.concrete_fields
    assert not [
        f.name for f in concrete if isinstance(f, (models.DateField, models.TimeField, models.DurationField))
    ]
    names = " ".join(f.name for f in concrete)
    for trace in (
        "user",
        "employee",
        "token",
        "invitation",
        "ip",
        "agent",
        "referrer",
        "referer",
        "created",
        "time",
    ):
        assert trace not in names.split("_") and trace not in [f.name for f in concrete]


def test_response_key_is_a_random_uuid():
    pk = Response._meta.pk
    assert isinstance(pk, models.UUIDField)
    assert pk.default is uuid.uuid4
    assert uuid.uuid4().version == 4


def test_invitation_stores_only_hash_and_used_about_the_answer():
    names = {f.name for f in Invitation._meta.concrete_fields}
    assert names == {
        "id",
        "campaign",
        "employee",
        "org_unit",
        "token_hash",
        "code_hash",
        "used",
        "counted",
        "sent_at",
        "reminded_at",
    }


def test_a_held_answer_has_nothing_but_its_campaign_and_a_sealed_answer():
    from surveys.models import HeldAnswer

    assert {f.name for f in HeldAnswer._meta.concrete_fields} == {"id", "campaign", "sealed"}
    assert HeldAnswer._meta.pk.default is uuid.uuid4


@pytest.mark.django_db
def test_k_below_3_is_refused_by_the_database():
    campaign = make_campaign()
    with pytest.raises(IntegrityError):
        Campaign.objects.filter(pk=campaign.pk).update(k=2)


@pytest.mark.django_db
def test_k_below_3_gets_a_readable_validation_error():
    from django.core.exceptions import ValidationError

    campaign = make_campaign()
    campaign.k = 2
    with pytest.raises(ValidationError) as error:
        campaign.full_clean()
    assert "k" in error.value.message_dict
