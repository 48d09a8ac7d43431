import datetime
from datetime import timedelta

import pytest
from django.utils import timezone

from partnerships.models import Agreement, AnonymisedProcedure, Commitment
from surveys.models import Campaign
from surveys.results import published_counts_store
from tests.factories import EmployeeFactory, OrganisationFactory, hr_user, ministry_user
from tests.partnerships.factories import AgreementFactory, CommitmentFactory
from tests.surveys.test_results import add_response
from tests.trainings.factories import CourseDateFactory, EnrolmentFactory
from trainings.models import Enrolment
from vielfalt.models import Organisation, TargetGroup

SIGNED_ON = datetime.date(2013, 3, 7)


@pytest.fixture
def ministry(db):
    return OrganisationFactory(slug="mais-nrw", name="MAIS NRW", kind=Organisation.Kind.STATE_MINISTRY)


@pytest.fixture
def staff(ministry):
    return ministry_user(username="ministerium")


def closed_campaign(organisation, *, yes: int, no: int, k: int = 5):
    campaign = Campaign.objects.create(
        organisation=organisation,
        title="Befragung",
        opens_on=datetime.date(2014, 3, 1),
        closes_on=datetime.date(2014, 3, 31),
        k=k,
        purpose="Zweck",
        legal_basis="Einwilligung",
        dpo_contact="datenschutz@example.org",
        status=Campaign.Status.CLOSED,
    )
    for _ in range(yes):
        add_response(campaign, mh="yes")
    for _ in range(no):
        add_response(campaign, mh="no")
    # What closing stores: its published counts, which the programme's figures add up.
    published_counts_store([campaign])
    return campaign


def make_partner(
    index: int,
    *,
    kind=Organisation.Kind.CITY,
    district=Organisation.District.DUESSELDORF,
    trained=(1, 2, 0, 0),
    survey=(6, 14),
    posts=(3,),
):
    """A partner with a signed agreement and three commitments (two fill themselves), employees of whom some
    attended a course (`trained` per target group in TargetGroup order), a closed survey and procedures."""
    partner = OrganisationFactory(
        slug=f"partner-{index}", name=f"Partner {index:03d}", kind=kind, district=district
    )
    agreement = AgreementFactory(partner=partner, signed_on=SIGNED_ON, valid_from=SIGNED_ON)
    CommitmentFactory(
        agreement=agreement,
        indicator_source=Commitment.IndicatorSource.TRAINED_PUBLIC_FACING,
        target_value=2,
        due_on=datetime.date(2030, 12, 31),
    )
    CommitmentFactory(
        agreement=agreement,
        indicator_source=Commitment.IndicatorSource.ANONYMISED_POSTS_FILLED,
        target_value=100,
        due_on=datetime.date(2015, 12, 31),
    )
    CommitmentFactory(agreement=agreement, target_value=None, due_on=None)
    # Signed once its commitments are written: a signed agreement's commitments no longer change.
    Agreement.objects.filter(pk=agreement.pk).update(status=Agreement.Status.SIGNED)
    past = timezone.now() - timedelta(days=30)
    course_date = CourseDateFactory(starts_at=past)
    for group, count in zip(TargetGroup.values, trained, strict=True):
        for _ in range(count):
            employee = EmployeeFactory(organisation=partner, target_group=group)
            EnrolmentFactory(
                course_date=course_date, employee=employee, attendance=Enrolment.Attendance.ATTENDED
            )
    EmployeeFactory(organisation=partner, target_group=TargetGroup.OTHER)  # not trained
    if survey:
        closed_campaign(partner, yes=survey[0], no=survey[1])
    for number, filled in enumerate(posts):
        AnonymisedProcedure.objects.create(
            organisation=partner,
            post=f"Stelle {number}",
            held_on=datetime.date(2014, 6, 1),
            method=AnonymisedProcedure.Method.STANDARD_FORM,
            applications=50,
            invited=10,
            posts_filled=filled,
        )
    return partner


@pytest.fixture
def partners(ministry):
    return [
        make_partner(1, trained=(1, 2, 1, 0), survey=(6, 14), posts=(3, 4)),
        make_partner(
            2,
            kind=Organisation.Kind.COMPANY,
            district=Organisation.District.KOELN,
            trained=(0, 3, 0, 1),
            survey=(2, 20),
            posts=(5,),
        ),
    ]


@pytest.fixture
def hr_first(partners):
    return hr_user(partners[0], username="hr-partner-1")
