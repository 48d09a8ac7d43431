"""A year typed wrong (2062 for 2026, or 9999) made a course date, a network meeting or a survey campaign last for
decades, and the forms accepted it: now each says to check the dates, from the model's `clean`, so that the
pages and the services refuse it alike."""

import datetime
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from surveys.models import CAMPAIGN_MAX_DAYS
from tests.factories import OrganisationFactory, UserFactory, hr_user
from tests.network.conftest import make_meeting
from tests.trainings.factories import CourseFactory
from trainings.models import COURSE_DATE_MAX_DAYS
from trainings.services import course_date_create
from vielfalt.models import Role

pytestmark = pytest.mark.django_db

MESSAGE = "Das Ende liegt mehr als"


def test_a_course_date_of_more_than_a_month_is_refused():
    organiser_org = OrganisationFactory()
    organiser = UserFactory(roles=[(organiser_org, Role.ORGANISER)])
    course = CourseFactory(organiser=organiser_org)
    start = timezone.now() + timedelta(days=30)
    fields = {
        "starts_at": start,
        "location": "Oberhausen",
        "capacity": 10,
        "enrolment_deadline": start - timedelta(days=7),
        "cancellation_deadline": start - timedelta(days=3),
    }
    with translation.override("de"), pytest.raises(ValidationError) as refused:
        course_date_create(actor=organiser, course=course, ends_at=start.replace(year=9999), **fields)
    assert MESSAGE in refused.value.message_dict["ends_at"][0]
    created = course_date_create(
        actor=organiser, course=course, ends_at=start + timedelta(days=COURSE_DATE_MAX_DAYS), **fields
    )
    assert created.pk


def test_a_meeting_of_more_than_a_week_is_refused():
    host = OrganisationFactory()
    start = timezone.now() + timedelta(days=20)
    with translation.override("de"), pytest.raises(ValidationError) as refused:
        make_meeting(host, starts_at=start, ends_at=start + timedelta(days=8))
    assert MESSAGE in refused.value.message_dict["ends_at"][0]
    assert make_meeting(host, starts_at=start, ends_at=start + timedelta(days=2)).pk


def test_a_campaign_open_for_more_than_a_year_is_refused():
    from surveys.services import campaign_create

    organisation = OrganisationFactory()
    actor = hr_user(organisation)
    opens = timezone.localdate() + timedelta(days=1)

    def create(closes_on):
        return campaign_create(
            actor=actor,
            organisation=organisation,
            title="Befragung",
            opens_on=opens,
            closes_on=closes_on,
            k=5,
            previous_estimate="",
            purpose="Wie vielfältig ist unsere Belegschaft?",
            legal_basis="Einwilligung, Art. 6 Abs. 1 lit. a DSGVO",
            dpo_contact="datenschutz@stadt.example",
        )

    with translation.override("de"), pytest.raises(ValidationError) as refused:
        create(datetime.date(9999, 12, 31))
    assert MESSAGE in refused.value.message_dict["closes_on"][0]
    assert create(opens + timedelta(days=CAMPAIGN_MAX_DAYS)).pk
