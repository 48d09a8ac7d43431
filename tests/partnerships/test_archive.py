"""The archive check: every stored agreement document read again, piece by piece, against the SHA-256 recorded
when it was stored; the administrators are e-mailed when a file is missing or changed."""

import tracemalloc
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.urls import reverse

from partnerships.models import AgreementDocument
from partnerships.network.models import NotificationSettings
from partnerships.services import document_store, documents_check_archive
from partnerships.tasks import task_check_archive
from tests.factories import UserFactory
from vielfalt.celery import app
from vielfalt.models import AuditEntry, Role
from vielfalt.permissions import SYSTEM

from .conftest import MINIMAL_PDF

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrators(ministry):
    """An administrator by role (who reads German), a superuser who reads English; ministry staff are no
    administrators and are not told."""
    admin = UserFactory(username="admin", roles=[(ministry, Role.ADMIN)])
    operator = UserFactory(username="operator", is_superuser=True, is_staff=True)
    NotificationSettings.objects.create(user=operator, language="en")
    return admin, operator


def stored_path(document: AgreementDocument) -> Path:
    return Path(document.file.path)


def test_an_intact_archive_is_recorded_and_nobody_is_told(administrators, staff, signed_agreement):
    document = signed_agreement.documents.get()

    assert documents_check_archive(actor=SYSTEM) == {"intact": 1, "missing": 0, "changed": 0}

    document.refresh_from_db()
    assert document.archive_state == "intact"
    assert document.archive_checked_at is not None
    assert mail.outbox == []
    # The first "intact" is no change worth an audit entry for each document of the archive.
    assert (
        not AuditEntry.objects.filter(object_repr__contains=str(document)).exclude(action="create").exists()
    )


def test_a_file_changed_on_disk_is_reported_to_the_administrators(
    administrators, staff, signed_agreement, django_capture_on_commit_callbacks
):
    document = signed_agreement.documents.get()
    documents_check_archive(actor=SYSTEM)
    stored_path(document).write_bytes(MINIMAL_PDF.replace(b"595", b"596"))  # one digit of the page size

    with django_capture_on_commit_callbacks(execute=True):
        assert documents_check_archive(actor=SYSTEM) == {"intact": 0, "missing": 0, "changed": 1}

    document.refresh_from_db()
    assert document.archive_state == "changed"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHANGE, object_id=str(document.pk))
    assert entry.changes == {"archive_state": ["intact", "changed"]}
    assert entry.organisation == signed_agreement.partner
    by_address = {message.to[0]: message for message in mail.outbox}
    assert sorted(by_address) == ["admin@example.org", "operator@example.org"]  # not the ministry's staff
    german, english = by_address["admin@example.org"], by_address["operator@example.org"]
    assert german.subject == "Archivprüfung: 1 Dokument einer Vereinbarung fehlt oder wurde verändert"
    assert "Stadt Duisburg" in german.body and ": geändert" in german.body
    url = f"{settings.PORTAL_URL}{signed_agreement.get_absolute_url()}#documents"
    assert url in german.body
    assert english.subject == "Archive check: 1 agreement document is missing or changed"
    assert url in english.body


def test_a_missing_file_is_reported_every_day_until_it_is_restored(
    administrators, signed_agreement, django_capture_on_commit_callbacks
):
    document = signed_agreement.documents.get()
    path = stored_path(document)
    kept = path.read_bytes()
    path.unlink()

    def check():
        with django_capture_on_commit_callbacks(execute=True):
            return documents_check_archive(actor=SYSTEM)

    assert check()["missing"] == 1
    assert check()["missing"] == 1
    assert len(mail.outbox) == 4  # two administrators, two runs

    path.write_bytes(kept)  # restored from the backup
    mail.outbox.clear()
    assert check()["intact"] == 1
    assert mail.outbox == []
    changes = list(
        AuditEntry.objects.filter(object_id=str(document.pk), action="change")
        .order_by("pk")
        .values_list("changes", flat=True)
    )
    assert changes == [{"archive_state": ["", "missing"]}, {"archive_state": ["missing", "intact"]}]


def test_the_check_reads_files_in_bounded_memory(administrators, agreement):
    """A stored file of 32 MB is hashed piece by piece: the check never holds it whole."""
    big = MINIMAL_PDF + b"%" + b"x" * (32 * 1024 * 1024)
    document, _new = document_store(
        actor=SYSTEM, agreement=agreement, kind=AgreementDocument.Kind.SIGNED, content=big
    )
    del big
    tracemalloc.start()
    try:
        counts = documents_check_archive(actor=SYSTEM)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert counts["intact"] == 1
    assert peak < 4 * 1024 * 1024


def test_only_administrators_check_the_archive(staff):
    with pytest.raises(PermissionDenied):
        documents_check_archive(actor=staff)


def test_the_beat_runs_the_check_daily(administrators, signed_agreement):
    entry = next(
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "partnerships.check_archive"
    )
    assert entry["task"] in app.tasks
    assert task_check_archive() == {"intact": 1, "missing": 0, "changed": 0}


def test_the_command_reports_and_fails_on_a_damaged_archive(administrators, signed_agreement, capsys):
    call_command("check_archive")
    assert "unversehrt: 1" in capsys.readouterr().out  # the portal's language
    stored_path(signed_agreement.documents.get()).unlink()
    with pytest.raises(CommandError, match="1 agreement document"):
        call_command("check_archive")


def test_the_agreement_page_shows_the_last_check(client, staff, signed_agreement):
    document = signed_agreement.documents.get()
    client.force_login(staff)
    page = client.get(reverse("partnerships:detail", args=[signed_agreement.pk])).content.decode()
    assert 'data-state="">Noch nicht geprüft' in page
    stored_path(document).unlink()
    documents_check_archive(actor=SYSTEM)
    page = client.get(reverse("partnerships:detail", args=[signed_agreement.pk])).content.decode()
    assert 'data-state="missing">Datei fehlt' in page
