"""The retention of meeting registrations: name and e-mail address of whoever registered for a network meeting
are replaced by a pseudonym a period after the meeting (RETENTION_REGISTRATION_DAYS), by the daily purge, or with
the employee record they name (Art. 15 lists them, Art. 17 erases them)."""

import json
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from partnerships.network import services
from partnerships.network.models import Registration
from tests.factories import EmployeeFactory
from vielfalt.models import AuditEntry
from vielfalt.permissions import SYSTEM
from vielfalt.privacy import PSEUDONYM_PREFIX
from vielfalt.programme.privacy import access_export, employee_erase, processing_record, purge
from vielfalt.services import employee_deactivate

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


def test_an_employees_registrations_are_in_their_access_export_and_erased_with_them(
    ministry, duisburg, oberhausen, hr_duisburg, hr_oberhausen, django_capture_on_commit_callbacks
):
    """HR registers a colleague for a meeting by name and e-mail address: the registration names the employee
    without a link to the record. The Art. 15 export lists it; an erasure on request (Art. 17) takes it too. A
    registration of another organisation under the same address is not theirs."""
    anna = EmployeeFactory(
        organisation=duisburg, first_name="Anna", last_name="Yılmaz", email="anna.yilmaz@duisburg.example"
    )
    meeting = make_meeting(ministry, capacity=5)
    with django_capture_on_commit_callbacks(execute=True):
        theirs = services.registration_create(
            actor=hr_duisburg,
            meeting=meeting,
            organisation=duisburg,
            name="Anna Yılmaz",
            email="Anna.Yilmaz@duisburg.example",
        )
        services.registration_cancel(actor=hr_duisburg, registration=theirs)
        other = services.registration_create(
            actor=hr_oberhausen,
            meeting=meeting,
            organisation=oberhausen,
            name="Anna Yılmaz",
            email="anna.yilmaz@duisburg.example",
        )

    export = access_export(actor=hr_duisburg, employee=anna)
    listed = {key for section in export["sections"] for key in section["records"]}
    assert f"network.registration:{theirs.pk}" in listed
    assert f"network.registration:{other.pk}" not in listed
    assert meeting.title in json.dumps(export, default=str, ensure_ascii=False)

    anna = employee_deactivate(actor=hr_duisburg, employee=anna)
    with django_capture_on_commit_callbacks(execute=True):
        counts = employee_erase(actor=hr_duisburg, employee=anna)
    assert counts["registrations"] == 1
    theirs.refresh_from_db()
    other.refresh_from_db()
    assert theirs.name.startswith(PSEUDONYM_PREFIX) and theirs.email == ""
    assert (other.name, other.pseudonymised_at) == ("Anna Yılmaz", None)
    # The audit entry of the cancellation described the registration by name; now by its pseudonym.
    about = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Registration), object_id=str(theirs.pk)
    )
    assert about.exists()
    assert all("Yılmaz" not in entry.object_repr for entry in about)


def test_purge_counts_a_registration_due_twice_once(
    ministry, duisburg, hr_duisburg, settings, django_capture_on_commit_callbacks
):
    """Due by its own period and with the employee it names, in the same run: pseudonymised and counted once."""
    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "dormant": 0}
    anna = EmployeeFactory(organisation=duisburg, email="anna@duisburg.example")
    meeting = make_meeting(ministry)
    with django_capture_on_commit_callbacks(execute=True):
        services.registration_create(
            actor=hr_duisburg, meeting=meeting, organisation=duisburg, name="Anna", email=anna.email
        )
    employee_deactivate(actor=hr_duisburg, employee=anna)
    now = timezone.now() + timedelta(days=4 * 365)
    assert purge(actor=SYSTEM, now=now, dry_run=True)["registrations"] == 1
    counts = purge(actor=SYSTEM, now=now)
    assert (counts["employees"], counts["registrations"]) == (1, 1)


def test_registrations_made_with_an_account_go_with_the_accounts_pseudonym(
    ministry, duisburg, hr_duisburg, settings, django_capture_on_commit_callbacks
):
    """An account deactivated for RETENTION_ACCOUNT_DAYS loses user name, names and address; a registration made
    with it kept both, next to the link to the account, for a meeting whose own period had not run out."""
    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "registration": 3650}
    meeting = make_meeting(ministry)
    with django_capture_on_commit_callbacks(execute=True):
        registration = services.registration_create(
            actor=hr_duisburg,
            meeting=meeting,
            organisation=duisburg,
            name="Dirk Schmitz",
            email=hr_duisburg.email,
            user=hr_duisburg,
        )
    hr_duisburg.is_active = False
    hr_duisburg.save()
    now = timezone.now() + timedelta(days=settings.RETENTION_PERIODS["account"] + 30)
    assert purge(actor=SYSTEM, now=now, dry_run=True)["registrations"] == 1
    counts = purge(actor=SYSTEM, now=now)
    assert (counts["accounts"], counts["registrations"]) == (1, 1)
    registration.refresh_from_db()
    assert registration.name.startswith(PSEUDONYM_PREFIX)
    assert (registration.email, registration.user) == ("", None)
