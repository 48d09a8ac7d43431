"""The retention clock of an employee's record, as far as the trainings app holds it back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.trainings.conftest import employees_of
from tests.trainings.factories import CourseDateFactory, EnrolmentFactory
from trainings.models import Enrolment
from vielfalt.privacy import retention_days
from vielfalt.programme.privacy import employees_due

pytestmark = pytest.mark.django_db


def test_a_cancelled_enrolment_does_not_hold_back_a_leaver_s_pseudonymisation(course, duisburg):
    """An employee who leaves gives up their enrolments on dates to come (trainings.services
    .enrolments_end_for_leavers). Before, such a cancelled enrolment still counted as activity: the record of
    someone who left was kept past its period for as long as the date they never attended lay ahead (and a date
    cancelled by the organiser held back whoever had been enrolled on it)."""
    cancelled_leaver, enrolled_leaver = employees_of(duisburg, 2, is_active=False)
    later = timezone.now() + timedelta(days=retention_days("employee") + 1)
    far_ahead = CourseDateFactory(course=course, starts_at=later + timedelta(days=180))
    EnrolmentFactory(course_date=far_ahead, employee=cancelled_leaver, status=Enrolment.Status.CANCELLED)
    # An enrolment not cancelled still holds the record back until its date lies the period behind.
    EnrolmentFactory(course_date=far_ahead, employee=enrolled_leaver)
    assert list(employees_due(now=later)) == [cancelled_leaver]
