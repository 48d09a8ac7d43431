import io
import zipfile
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from partnerships.network import services
from partnerships.network.models import FieldOfAction, PracticeEntry
from tests.factories import OrganisationFactory, UserFactory, hr_user, ministry_user
from vielfalt.models import Organisation, Role
from vielfalt.permissions import SYSTEM


@pytest.fixture
def ministry(db):
    return OrganisationFactory(slug="mais-nrw", name="MAIS NRW", kind=Organisation.Kind.STATE_MINISTRY)


@pytest.fixture
def duisburg(db):
    return OrganisationFactory(slug="duisburg", name="Stadt Duisburg")


@pytest.fixture
def oberhausen(db):
    return OrganisationFactory(slug="oberhausen", name="Stadt Oberhausen")


@pytest.fixture
def staff(ministry):
    return ministry_user(username="ministerium", email="ministerium@example.org")


@pytest.fixture
def hr_duisburg(duisburg):
    return hr_user(duisburg, username="hr-duisburg", email="hr-duisburg@example.org", first_name="Dirk")


@pytest.fixture
def hr_oberhausen(oberhausen):
    return hr_user(oberhausen, username="hr-oberhausen", email="hr-oberhausen@example.org", first_name="Olga")


@pytest.fixture
def organiser_oberhausen(oberhausen):
    return UserFactory(username="schulung-oberhausen", roles=[(oberhausen, Role.ORGANISER)])


def make_entry(organisation, *, status=PracticeEntry.Status.PUBLISHED, **fields) -> PracticeEntry:
    values = {
        "title": "Anonymisierte Bewerbungsverfahren in der Stadtverwaltung",
        "field_of_action": FieldOfAction.ANONYMISED_APPLICATIONS,
        "summary": "Rund 100 Stellen wurden über anonymisierte Bewerbungsverfahren besetzt.",
        "what_was_done": "Die Ausländerbehörde und das Personalamt haben Bewerbungen ohne Namen und Foto gesichtet.",
        **fields,
    }
    entry = services.practice_create(actor=SYSTEM, organisation=organisation, **values)
    if status in (
        PracticeEntry.Status.SUBMITTED,
        PracticeEntry.Status.PUBLISHED,
        PracticeEntry.Status.RETURNED,
    ):
        services.practice_transition(actor=SYSTEM, entry=entry, to=PracticeEntry.Status.SUBMITTED)
    if status == PracticeEntry.Status.PUBLISHED:
        services.practice_transition(actor=SYSTEM, entry=entry, to=PracticeEntry.Status.PUBLISHED)
    if status == PracticeEntry.Status.RETURNED:
        services.practice_transition(
            actor=SYSTEM, entry=entry, to=PracticeEntry.Status.RETURNED, comment="Bitte ergänzen."
        )
    entry.refresh_from_db()
    return entry


def make_meeting(host, **fields):
    now = timezone.now()
    values = {
        "title": "Netzwerktreffen Interkulturelle Öffnung",
        "agenda": "Begrüßung; Erfahrungen mit anonymisierten Bewerbungen",
        "starts_at": now + timedelta(days=20),
        "ends_at": now + timedelta(days=20, hours=4),
        "location": "Düsseldorf",
        "capacity": 2,
        "registration_deadline": now + timedelta(days=10),
        **fields,
    }
    return services.meeting_create(actor=SYSTEM, host=host, **values)


# --- Files ----------------------------------------------------------------------------------------------------


def pdf_bytes() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes], *, first: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if first:
            archive.writestr(zipfile.ZipInfo(first), members.pop(first), compress_type=zipfile.ZIP_STORED)
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def docx_bytes() -> bytes:
    return zip_bytes(
        {
            "[Content_Types].xml": b'<Types><Override PartName="/word/document.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
            "word/document.xml": b"<w:document/>",
        }
    )


def odt_bytes() -> bytes:
    return zip_bytes(
        {
            "mimetype": b"application/vnd.oasis.opendocument.text",
            "content.xml": b"<office:document-content/>",
        },
        first="mimetype",
    )


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    buffer = io.BytesIO()
    Workbook().save(buffer)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type="application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture
def outbox(settings):
    from django.core import mail

    settings.MAILERS = LOCMEM
    mail.outbox = []
    return mail.outbox
