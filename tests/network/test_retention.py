"""The retention of meeting registrations: name and e-mail address of whoever registered for a network meeting
are replaced by a pseudonym a period after the meeting (RETENTION_REGISTRATION_DAYS), by the daily purge."""

from datetime import timedelta

import pytest
from django.utils import timezone

from partnerships.network import services
from partnerships.network.models import Registration
from vielfalt.models import AuditEntry
from vielfalt.permissions import SYSTEM
from vielfalt.privacy import PSEUDONYM_PREFIX
from vielfalt.programme.privacy import processing_record, purge

from .conftest import make_meeting

pytestmark = pytest.mark.django_db


def test_purge_pseudonymises_registrations_a_period_after_the_meeting(
    ministry, duisburg, hr_duisburg, settings, django_capture_on_commit_callbacks
):
    # No account is deactivated meanwhile: this test is about registrations.
    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "dormant": 0}
    days = settings.RETENTION_PERIODS["registration"]
    past = make_meeting(ministry, capacity=1)
    later = make_meeting(
        ministry,
        starts_at=past.ends_at + timedelta(days=3),
        ends_at=past.ends_at + timedelta(days=3, hours=2),
        registration_deadline=past.ends_at + timedelta(days=2),
    )
    with django_capture_on_commit_callbacks(execute=True):
        anna = services.registration_create(
            actor=hr_duisburg,
            meeting=past,
            organisation=duisburg,
            name="Anna Yılmaz",
            email="anna@example.org",
        )
        dirk = services.registration_create(
            actor=hr_duisburg,
            meeting=past,
            organisation=duisburg,
            name="Dirk Schmitz",
            email=hr_duisburg.email,
            user=hr_duisburg,
        )
        services.registration_cancel(actor=hr_duisburg, registration=anna)
        olga = services.registration_create(
            actor=hr_duisburg,
            meeting=later,
            organisation=duisburg,
            name="Olga Berg",
            email="olga@example.org",
        )
    assert AuditEntry.objects.filter(object_repr__contains="Anna Yılmaz").exists()

    # The day before the period ends nothing is due; the day after, the past meeting's registrations are.
    assert (
        purge(actor=SYSTEM, now=past.ends_at + timedelta(days=days - 1), dry_run=True)["registrations"] == 0
    )
    now = past.ends_at + timedelta(days=days + 1)
    assert purge(actor=SYSTEM, now=now, dry_run=True)["registrations"] == 2
    assert purge(actor=SYSTEM, now=now)["registrations"] == 2

    for registration, status in ((anna, Registration.Status.CANCELLED), (dirk, Registration.Status.SEATED)):
        registration.refresh_from_db()
        assert registration.name.startswith(PSEUDONYM_PREFIX)
        assert (registration.email, registration.user, registration.pseudonymised_at) == ("", None, now)
        # What the meeting's history needs stays: status, organisation, who registered them.
        assert (registration.status, registration.organisation, registration.registered_by) == (
            status,
            duisburg,
            hr_duisburg,
        )
    olga.refresh_from_db()
    assert (olga.name, olga.email, olga.pseudonymised_at) == ("Olga Berg", "olga@example.org", None)
    # The audit log no longer describes them by name either.
    assert not AuditEntry.objects.filter(object_repr__contains="Anna Yılmaz").exists()
    assert not AuditEntry.objects.filter(object_repr__contains="Dirk Schmitz").exists()
    # Done once: a second run finds nothing.
    assert purge(actor=SYSTEM, now=now + timedelta(days=1))["registrations"] == 0


def test_purge_pseudonymises_the_registrations_of_a_cancelled_meeting(
    ministry, duisburg, hr_duisburg, settings, django_capture_on_commit_callbacks
):
    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "dormant": 0}
    starts_at = timezone.now() + timedelta(days=400)
    meeting = make_meeting(ministry, starts_at=starts_at, ends_at=starts_at + timedelta(hours=3))
    with django_capture_on_commit_callbacks(execute=True):
        registration = services.registration_create(
            actor=hr_duisburg,
            meeting=meeting,
            organisation=duisburg,
            name="Anna Yılmaz",
            email="anna@example.org",
        )
        services.meeting_cancel(actor=SYSTEM, meeting=meeting)
    meeting.refresh_from_db()
    # Cancelled long before it would have ended: the period runs from the cancellation.
    now = meeting.cancelled_at + timedelta(days=settings.RETENTION_PERIODS["registration"] + 1)
    assert now < meeting.ends_at
    assert purge(actor=SYSTEM, now=now)["registrations"] == 1
    registration.refresh_from_db()
    assert registration.name.startswith(PSEUDONYM_PREFIX)


def test_processing_record_gives_the_registrations_period(settings):
    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "registration": 180}
    (record,) = [record for record in processing_record() if "Netzwerktreffen" in record.name]
    assert "180 Tage" in record.retention
    assert "nicht" not in record.retention
