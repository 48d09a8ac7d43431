"""Data protection operations on the demo data: the retention purge (with the clock moved forward), the Art. 15
export (checked against every row that refers to the employee), the Art. 30 record, and their pages."""

import json
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, models, transaction
from django.urls import reverse
from django.utils import timezone

from surveys.models import Campaign, Invitation, Response
from surveys.services import invitation_counts
from tests.factories import EmployeeFactory, OrganisationFactory, UserFactory, hr_user
from tests.helpers import pdf_text
from trainings.models import Certificate, Enrolment
from trainings.selectors import report_by_date, trained_by_target_group
from vielfalt.audit import audit_record
from vielfalt.models import AuditEntry, Employee, Job, Role, User
from vielfalt.permissions import SYSTEM
from vielfalt.privacy import PSEUDONYM_PREFIX, audit_pseudonymise
from vielfalt.programme.privacy import (
    ErasureRefused,
    access_export,
    employee_erase,
    processing_record,
    purge,
    records_about,
)
from vielfalt.services import employee_deactivate

pytestmark = pytest.mark.django_db

LATER = timedelta(days=4 * 365)


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    call_command("seed_demo", password="demo-password-1")


def certified_employee() -> Employee:
    return Employee.objects.filter(
        organisation__slug="duisburg", enrolments__certificate__isnull=False
    ).first()


def report_figures():
    admin = User.objects.get(username="admin")
    return (
        [(row.pk, row.seated_count, row.waiting_count, row.no_shows) for row in report_by_date(admin)],
        trained_by_target_group(),
    )


# --- Purge ---------------------------------------------------------------------------------------------------


def test_purge_pseudonymises_inactive_employees_and_keeps_the_figures(
    demo, django_capture_on_commit_callbacks
):
    person = certified_employee()
    certificate = Certificate.objects.get(enrolment__employee=person)
    printed_name = certificate.holder_name
    still_active = Employee.objects.filter(organisation__slug="duisburg", is_active=True).exclude(
        pk=person.pk
    )[0]
    employee_deactivate(actor=SYSTEM, employee=person)
    figures = report_figures()
    now = timezone.now() + LATER

    expected = purge(actor=SYSTEM, now=now, dry_run=True)
    assert expected["employees"] == 1
    assert expected["certificates"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        counts = purge(actor=SYSTEM, now=now)
    assert counts == expected

    person.refresh_from_db()
    assert person.first_name == "–"
    assert person.last_name.startswith(PSEUDONYM_PREFIX)
    assert person.personnel_number == person.last_name
    assert person.email == ""
    assert person.pseudonymised_at == now
    still_active.refresh_from_db()
    assert still_active.pseudonymised_at is None
    assert not still_active.last_name.startswith(PSEUDONYM_PREFIX)

    # The training report's counts are the same; the certificate still verifies, the printed name too.
    assert report_figures() == figures
    assert Enrolment.objects.filter(employee=person).count() >= 1
    certificate.refresh_from_db()
    assert certificate.holder_name == ""
    assert certificate.code and not certificate.file
    client_response = _verify(certificate.code, printed_name)
    assert "Der eingegebene Name ist der Name, auf den" in client_response
    assert "Der eingegebene Name ist nicht der Name" in _verify(certificate.code, "Somebody Else")

    # One audit entry with the counts, and nothing names the person any more.
    entry = AuditEntry.objects.get(action=AuditEntry.Action.PURGE)
    assert entry.changes == counts
    assert entry.actor_name == "system"
    about = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Employee), object_id=str(person.pk)
    )
    assert about.exists()
    for old in about:
        assert old.pseudonymised_at == now
        assert printed_name.split()[-1] not in old.object_repr + json.dumps(old.changes)

    # A second run finds nothing left but the first run's own entry (written today, older than the audit period
    # by the moved clock). The holders of the demo accounts, unused for four years, were told that they will be
    # deactivated ACCOUNT_DORMANT_NOTICE_DAYS later.
    assert counts["accounts_notified"] == User.objects.filter(dormancy_notice_at=now).count() > 0
    assert purge(actor=SYSTEM, now=now, dry_run=True) == {
        "employees": 0,
        "certificates": 0,
        "invitations": 0,
        "jobs": 0,
        "login_records": 0,
        "registrations": 0,
        "audit_entries": 1,
        "accounts_notified": 0,
        "accounts_deactivated": 0,
        "accounts": 0,
    }


def _verify(code: str, name: str) -> str:
    from django.test import Client

    return Client().post(reverse("trainings:verify", args=[code]), {"name": name}).content.decode()


def test_purge_leaves_recently_trained_and_recently_changed_employees(demo):
    person = certified_employee()
    employee_deactivate(actor=SYSTEM, employee=person)
    # Within the period after the deactivation: nothing happens.
    assert purge(actor=SYSTEM, now=timezone.now() + timedelta(days=30), dry_run=True)["employees"] == 0


def test_purge_deletes_token_hashes_and_stamps_of_closed_campaigns_and_keeps_the_counts(demo):
    campaign = Campaign.objects.get(status=Campaign.Status.CLOSED)
    counts_before = invitation_counts(campaign=campaign)
    answers = Response.objects.filter(campaign=campaign).count()
    purge(actor=SYSTEM, now=timezone.now())
    invitations = Invitation.objects.filter(campaign=campaign)
    assert invitations.count() == counts_before["invited"]
    assert all(invitation.token_hash.startswith("deleted:") for invitation in invitations)
    assert not invitations.filter(sent_at__isnull=False).exists()
    assert not invitations.filter(reminded_at__isnull=False).exists()
    counts_after = invitation_counts(campaign=campaign)
    assert (counts_after["invited"], counts_after["answered"]) == (
        counts_before["invited"],
        counts_before["answered"],
    )
    assert Response.objects.filter(campaign=campaign).count() == answers


def test_purge_deletes_old_job_files(db, settings, django_capture_on_commit_callbacks):
    from vielfalt.jobs import job_store_result

    old = Job.objects.create(kind="export")
    job_store_result(job_id=old.pk, content=b"Name;Vorname\nMuster;Max\n", file_name="export.csv")
    fresh = Job.objects.create(kind="export")
    old.refresh_from_db()
    path = old.result_file.path
    now = timezone.now() + timedelta(days=settings.RETENTION_PERIODS["job_file"] + 1)
    Job.objects.filter(pk=fresh.pk).update(created_at=now)
    with django_capture_on_commit_callbacks(execute=True):
        assert purge(actor=SYSTEM, now=now)["jobs"] == 1
    assert list(Job.objects.values_list("pk", flat=True)) == [fresh.pk]
    import os

    assert not os.path.exists(path)


def test_purge_deletes_old_login_records_and_expired_sessions(db, settings):
    from axes.models import AccessAttempt, AccessLog
    from django.contrib.sessions.models import Session

    now = timezone.now()
    old = now - timedelta(days=settings.RETENTION_PERIODS["login"] + 1)
    stale = AccessLog.objects.create(username="hr-mueller", ip_address="192.0.2.1", user_agent="Firefox")
    AccessLog.objects.create(username="hr-mueller", ip_address="192.0.2.1", user_agent="Firefox")
    AccessAttempt.objects.create(
        username="hr-mueller", ip_address="192.0.2.9", user_agent="x", failures_since_start=1
    )
    # attempt_time is set on creation: age the old ones by hand.
    AccessLog.objects.filter(pk=stale.pk).update(attempt_time=old)
    AccessAttempt.objects.update(attempt_time=old)
    Session.objects.create(session_key="old", session_data="", expire_date=now - timedelta(minutes=1))
    Session.objects.create(session_key="new", session_data="", expire_date=now + timedelta(minutes=30))
    assert purge(actor=SYSTEM, now=now)["login_records"] == 3
    assert AccessLog.objects.count() == 1
    assert AccessAttempt.objects.count() == 0
    assert list(Session.objects.values_list("session_key", flat=True)) == ["new"]


def test_audit_entries_are_pseudonymised_after_their_period(db, settings):
    settings.RETENTION_PERIODS = {
        **settings.RETENTION_PERIODS,
        "dormant": 0,
    }  # no account deactivated meanwhile
    hr = UserFactory(username="hr-mueller")
    employee = EmployeeFactory(last_name="Öztürk")
    audit_record(
        actor=hr, action=AuditEntry.Action.CHANGE, obj=employee, changes={"last_name": ["Yılmaz", "Öztürk"]}
    )
    audit_record(
        actor=hr, action=AuditEntry.Action.IMPORT, object_repr="Beschäftigte", changes={"created": 3}
    )
    now = timezone.now() + timedelta(days=800)
    assert purge(actor=SYSTEM, now=now)["audit_entries"] == 2
    change, imported = AuditEntry.objects.exclude(action=AuditEntry.Action.PURGE).order_by("pk")
    assert change.actor is None and change.actor_name.startswith(PSEUDONYM_PREFIX)
    assert change.actor_name == imported.actor_name  # the same person, the same pseudonym
    assert change.object_repr.startswith(PSEUDONYM_PREFIX)
    assert change.changes == {"last_name": "…"}
    assert imported.changes == {"created": 3}
    assert (change.action, change.object_id) == (AuditEntry.Action.CHANGE, str(employee.pk))


def test_entries_about_network_mail_settings_name_their_person_only_until_their_period(db, settings):
    """The description of an entry about someone's network e-mail settings is the account's user name."""
    from partnerships.network.services import mail_settings_update

    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "dormant": 0}
    user = UserFactory(username="hr-yilmaz")
    mail_settings_update(actor=user, user=user, answers=False, weekly_digest=True)
    (entry,) = AuditEntry.objects.filter(content_type__model="notificationsettings")
    assert entry.object_repr == "hr-yilmaz"
    purge(actor=SYSTEM, now=timezone.now() + timedelta(days=800))
    entry.refresh_from_db()
    assert entry.object_repr.startswith(PSEUDONYM_PREFIX)
    assert "hr-yilmaz" not in json.dumps([entry.object_repr, entry.actor_name, entry.changes])


def test_purge_needs_an_administrator(db):
    city = OrganisationFactory()
    with pytest.raises(PermissionDenied):
        purge(actor=hr_user(city), dry_run=True)
    with pytest.raises(TypeError):
        purge(actor=None, dry_run=True)


def test_postgres_allows_only_the_pseudonymisation_of_audit_entries(postgres):
    entry = audit_record(actor=UserFactory(), action=AuditEntry.Action.EXPORT, object_repr="Beschäftigte")

    def execute(sql, flag=False):
        with transaction.atomic(), connection.cursor() as cursor:
            if flag:
                cursor.execute("SET LOCAL vielfalt.audit_pseudonymise = 'on'")
            cursor.execute(sql, [entry.pk])

    refused = [
        ("UPDATE vielfalt_auditentry SET object_repr = 'x' WHERE id = %s", False),
        ("UPDATE vielfalt_auditentry SET actor_id = NULL, pseudonymised_at = now() WHERE id = %s", False),
        (
            "UPDATE vielfalt_auditentry SET action = 'login', actor_id = NULL, pseudonymised_at = now() WHERE id = %s",
            True,
        ),
        (
            "UPDATE vielfalt_auditentry SET at = now() - interval '1 year', actor_id = NULL, pseudonymised_at = now() WHERE id = %s",
            True,
        ),
        ("UPDATE vielfalt_auditentry SET object_repr = 'x' WHERE id = %s", True),
        (
            "UPDATE vielfalt_auditentry SET actor_id = NULL, actor_name = 'Mallory', pseudonymised_at = now() "
            "WHERE id = %s",
            True,
        ),
        (
            "UPDATE vielfalt_auditentry SET actor_id = NULL, object_repr = 'forged', pseudonymised_at = now() "
            "WHERE id = %s",
            True,
        ),
        ("DELETE FROM vielfalt_auditentry WHERE id = %s", True),
    ]
    for sql, flag in refused:
        with pytest.raises(DatabaseError, match="append-only"):
            execute(sql, flag)
    execute(
        "UPDATE vielfalt_auditentry SET actor_id = NULL, actor_name = 'P-1', pseudonymised_at = now() WHERE id = %s",
        flag=True,
    )
    # Once only.
    with pytest.raises(DatabaseError, match="append-only"):
        execute(
            "UPDATE vielfalt_auditentry SET actor_name = 'again', pseudonymised_at = now() WHERE id = %s",
            True,
        )
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert (entry.actor_name, entry.object_repr) == ("P-1", "Beschäftigte")
    # And the purge's own path goes through.
    assert (
        audit_pseudonymise(entries=AuditEntry.objects.all(), personal_models=set(), now=timezone.now()) == 0
    )


def test_purge_command_dry_run_changes_nothing(demo):
    person = certified_employee()
    employee_deactivate(actor=SYSTEM, employee=person)
    call_command("purge_personal_data", "--dry-run")
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.PURGE).exists()
    call_command("purge_personal_data")
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PURGE).count() == 1
    person.refresh_from_db()
    assert person.pseudonymised_at is None  # deactivated today: not due yet


def test_purge_command_on_the_demo_data_with_the_clock_moved_forward(demo, settings):
    person = certified_employee()
    name = person.last_name
    employee_deactivate(actor=SYSTEM, employee=person)
    figures = report_figures()
    later = (timezone.localdate() + LATER).isoformat()
    settings.DEBUG = False
    with pytest.raises(CommandError, match="debug mode"):
        call_command("purge_personal_data", "--as-of", later)
    call_command("purge_personal_data", "--dry-run", "--as-of", later)
    assert Employee.objects.get(pk=person.pk).last_name == name
    settings.DEBUG = True
    call_command("purge_personal_data", "--as-of", later)
    assert Employee.objects.get(pk=person.pk).last_name.startswith(PSEUDONYM_PREFIX)
    assert not Employee.objects.filter(last_name=name, pk=person.pk).exists()
    assert report_figures() == figures
    assert AuditEntry.objects.get(action=AuditEntry.Action.PURGE).changes["employees"] == 1


def test_purge_runs_daily_from_beat(settings):
    from vielfalt.celery import app

    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "programme.purge_personal_data" in schedule
    assert "programme.purge_personal_data" in app.tasks


# --- Art. 17 ---------------------------------------------------------------------------------------------------


def test_hr_erases_an_inactive_employee_on_request(demo, client, django_capture_on_commit_callbacks):
    person = certified_employee()
    name = person.last_name
    certificate = Certificate.objects.get(enrolment__employee=person)
    url = reverse("employee_access", args=[person.pk])
    client.force_login(User.objects.get(username="hr-oberhausen"))
    assert client.post(url, {"action": "erase"}).status_code == 404
    client.force_login(User.objects.get(username="hr-duisburg"))
    client.post(url, {"action": "erase"})
    assert Employee.objects.get(pk=person.pk).last_name == name  # still active: refused
    with pytest.raises(ErasureRefused):
        employee_erase(actor=User.objects.get(username="hr-duisburg"), employee=person)

    employee_deactivate(actor=SYSTEM, employee=person)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "erase"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.last_name.startswith(PSEUDONYM_PREFIX) and person.pseudonymised_at
    certificate.refresh_from_db()
    assert certificate.holder_name == ""
    entry = AuditEntry.objects.get(action=AuditEntry.Action.PURGE)
    assert entry.changes["request"] == "art17"
    assert entry.actor_name == "hr-duisburg"
    export = json.dumps(
        access_export(actor=User.objects.get(username="hr-duisburg"), employee=person), default=str
    )
    assert name not in export
    with pytest.raises(ErasureRefused):
        employee_erase(actor=User.objects.get(username="hr-duisburg"), employee=person)


def test_erasure_deletes_the_job_files_that_name_the_employee(
    demo, client, django_capture_on_commit_callbacks
):
    """HR erased a former employee on request (Art. 17) and was told her names were replaced; the Art. 15 export
    made of her the week before, and the sign-in sheet of her course date, stayed on their job pages with her
    name, for download, until the jobs' own period ran out (30 days)."""
    from django.core.files.base import ContentFile

    person = certified_employee()
    other = Employee.objects.filter(organisation=person.organisation).exclude(pk=person.pk).first()
    clerk = User.objects.get(username="hr-duisburg")
    course_date = person.enrolments.first().course_date

    def job_with_file(kind, **task_kwargs):
        job = Job.objects.create(
            kind=kind, requested_by=clerk, organisation=person.organisation, task_kwargs=task_kwargs
        )
        job.result_file.save("datei.pdf", ContentFile(person.last_name.encode()), save=False)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.READY, result_file=job.result_file.name)
        return Job.objects.get(pk=job.pk)

    export = job_with_file("access_export_pdf", employee_id=person.pk, actor_id=clerk.pk)
    sheet = job_with_file("trainings.sign_in_sheet", course_date_id=course_date.pk)
    others_export = job_with_file("access_export_pdf", employee_id=other.pk, actor_id=clerk.pk)
    employee_deactivate(actor=SYSTEM, employee=person)
    client.force_login(clerk)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("employee_access", args=[person.pk]), {"action": "erase"})

    assert Employee.objects.get(pk=person.pk).pseudonymised_at is not None
    assert client.get(reverse("job_download", args=[export.pk])).status_code == 404
    assert not Job.objects.filter(pk__in=[export.pk, sheet.pk]).exists()
    assert not export.result_file.storage.exists(export.result_file.name)
    assert not sheet.result_file.storage.exists(sheet.result_file.name)
    assert Job.objects.filter(pk=others_export.pk).exists()


# --- Art. 15 ---------------------------------------------------------------------------------------------------


def rows_referring_to(employee: Employee) -> set[str]:
    """Every row of every table that refers to `employee`: through a foreign key to Employee, through a foreign key
    to such a row (a certificate through its enrolment), and audit entries about any of them."""
    found = {f"vielfalt.employee:{employee.pk}"}
    frontier = {(Employee, employee.pk)}
    while frontier:
        next_frontier = set()
        for target, pk in frontier:
            for model in apps.get_models():
                for field in model._meta.get_fields():
                    if (
                        isinstance(field, models.ForeignKey | models.OneToOneField)
                        and field.related_model is target
                    ):
                        if not field.concrete:
                            continue
                        for row_pk in model.objects.filter(**{field.name: pk}).values_list("pk", flat=True):
                            key = f"{model._meta.label_lower}:{row_pk}"
                            if key not in found:
                                found.add(key)
                                next_frontier.add((model, row_pk))
        frontier = next_frontier
    for key in list(found):
        label, pk = key.rsplit(":", 1)
        content_type = ContentType.objects.get_by_natural_key(*label.split("."))
        for entry_pk in AuditEntry.objects.filter(content_type=content_type, object_id=pk).values_list(
            "pk", flat=True
        ):
            found.add(f"vielfalt.auditentry:{entry_pk}")
    return found


def test_access_export_holds_every_row_that_refers_to_the_employee(demo):
    person = Employee.objects.filter(
        organisation__slug="duisburg", enrolments__certificate__isnull=False, survey_invitations__isnull=False
    ).first()
    assert person is not None
    hr = User.objects.get(username="hr-duisburg")
    export = access_export(actor=hr, employee=person)
    listed = {key for section in export["sections"] for key in section["records"]}
    expected = rows_referring_to(person)
    labels = {key.split(":")[0] for key in expected}
    assert {
        "trainings.enrolment",
        "trainings.certificate",
        "surveys.invitation",
        "vielfalt.auditentry",
    } <= labels
    assert expected - listed == set()
    # What the purge pseudonymises in the audit log is what the export lists.
    assert set(records_about([person.pk])) <= listed
    text = json.dumps(export, default=str)
    assert person.last_name in text
    certificate = Certificate.objects.get(enrolment__employee=person)
    assert certificate.code in text
    # Never an answer, nor whether the person answered.
    assert "surveys.response" not in text
    for field in ("migration_background", "own_citizenship", '"used"'):
        assert field not in text


def test_access_export_only_for_hr_of_the_employees_organisation(demo):
    person = certified_employee()
    with pytest.raises(PermissionDenied):
        access_export(actor=User.objects.get(username="hr-oberhausen"), employee=person)


def test_access_pages_json_and_pdf(demo, client, django_capture_on_commit_callbacks):
    person = certified_employee()
    client.force_login(User.objects.get(username="hr-duisburg"))
    url = reverse("employee_access", args=[person.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert person.last_name in page.content.decode()
    # The record's labels are headings ("Aktiv", as the admin writes them), not "aktiv".
    labels = re.findall(r'<dt class="col-sm-4">([^<]*)</dt>', page.content.decode())
    assert "Aktiv" in labels, labels
    lower = [label for label in labels if label[:1].islower()]
    assert not lower, lower
    download = client.get(url, {"format": "json"})
    assert download["Content-Disposition"].startswith("attachment;")
    assert json.loads(download.content)["employee"] == f"vielfalt.employee:{person.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    job = Job.objects.get(kind="access_export_pdf")
    assert response.status_code == 302
    assert job.status == Job.Status.READY, job.error
    text = pdf_text(job.result_file.read())
    assert person.last_name in text
    assert Certificate.objects.get(enrolment__employee=person).code in text
    # The controller is named, not squeezed into "von Ministerium …" without its article; the employer answers
    # on its own letterhead, dated and with a reference.
    flat = " ".join(text.split())
    assert "Verantwortlich: Ministerium für Arbeit" in flat and "von Ministerium" not in flat
    assert f"Zeichen DS-A15-{person.pk}" in flat
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT, object_id=str(person.pk)).count() == 2

    client.force_login(User.objects.get(username="hr-oberhausen"))
    assert client.get(url).status_code == 404
    assert client.get(url, {"format": "json"}).status_code == 404
    assert client.post(url).status_code == 404


# --- Art. 30 and the administrators' page ------------------------------------------------------------------------


def test_processing_record_lists_every_app_with_the_configured_periods(settings):
    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "employee": 1234}
    records = processing_record()
    assert {record.app for record in records} == {"vielfalt", "partnerships", "trainings", "surveys"}
    assert all(
        record.purpose and record.legal_basis and record.retention and record.recipients for record in records
    )
    assert any("1234" in record.retention for record in records)


def test_record_page_and_pdf(demo, client, django_capture_on_commit_callbacks):
    client.force_login(User.objects.get(username="ministerium"))
    page = client.get(reverse("privacy_record"))
    assert page.status_code == 200
    assert "Beschäftigtendaten der Partnerorganisationen" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("privacy_record"))
    job = Job.objects.get(kind="processing_record_pdf")
    assert job.status == Job.Status.READY, job.error
    text = pdf_text(job.result_file.read())
    assert "Verzeichnis von Verarbeitungstätigkeiten" in text
    assert "Teilnahmebescheinigung" in text or "Bescheinigungen" in text

    client.force_login(User.objects.get(username="hr-duisburg"))
    assert client.get(reverse("privacy_record")).status_code == 403


def test_retention_page_only_for_administrators(demo, client):
    person = Employee.objects.filter(organisation__slug="oberhausen", enrolments__isnull=True).first()
    Employee.objects.filter(pk=person.pk).update(is_active=False, updated_at=timezone.now() - LATER)
    client.force_login(User.objects.get(username="admin"))
    page = client.get(reverse("privacy_retention"))
    assert page.status_code == 200
    content = page.content.decode()
    assert "RETENTION_EMPLOYEE_DAYS" in content
    assert page.context["next_run"][0] == {
        "kind": "employees",
        "label": "Pseudonymisierte Beschäftigtendatensätze",
        "count": 1,
    }
    purge(actor=SYSTEM, now=timezone.now())
    english = client.get(reverse("privacy_retention"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r"Last run: \d{4}-\d\d-\d\d \d\d:\d\d</p>", english)  # not "1:45 a.m.."
    for username in ("ministerium", "hr-duisburg"):
        client.force_login(User.objects.get(username=username))
        assert client.get(reverse("privacy_retention")).status_code == 403
    assert Role.ADMIN
