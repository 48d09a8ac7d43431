import datetime

import pytest
from django.core.files.base import ContentFile

from partnerships.models import Agreement, AgreementDocument, Side
from partnerships.services import document_store
from tests.factories import OrganisationFactory, UserFactory, hr_user, ministry_user
from vielfalt.models import Organisation, Role
from vielfalt.permissions import SYSTEM

from .factories import AgreementFactory, CommitmentFactory, SignatoryFactory

# The smallest file that passes the signed-copy check (a PDF with one page; a real scan is any PDF).
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


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
    return ministry_user(username="ministerium")


@pytest.fixture
def admin_user(ministry):
    return UserFactory(username="admin", roles=[(ministry, Role.ADMIN)])


@pytest.fixture
def hr_duisburg(duisburg):
    return hr_user(duisburg, username="hr-duisburg")


@pytest.fixture
def hr_oberhausen(oberhausen):
    return hr_user(oberhausen, username="hr-oberhausen")


@pytest.fixture
def agreement(duisburg, ministry):
    """A draft with one signatory on each side and two commitments."""
    agreement = AgreementFactory(partner=duisburg, state_party=ministry, signed_on=datetime.date(2013, 3, 7))
    SignatoryFactory(agreement=agreement, side=Side.PARTNER, name="Sören Link", function="Oberbürgermeister")
    SignatoryFactory(agreement=agreement, side=Side.STATE, name="Guntram Schneider", function="Minister")
    SignatoryFactory(agreement=agreement, side=Side.STATE, name="Zülfiye Kaykin", function="Staatssekretärin")
    CommitmentFactory(agreement=agreement, field_of_action="Interkulturelle Sensibilisierung")
    CommitmentFactory(agreement=agreement, field_of_action="Anonymisierte Bewerbungsverfahren")
    # Drawn up before it was signed (a date of signing lies between the creation and today).
    backdate(agreement, datetime.date(2013, 1, 15))
    return agreement


def backdate(agreement, day: datetime.date):
    """Let `agreement` have been created on `day` (historical agreements entered after the fact)."""
    from django.utils import timezone

    created = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))
    Agreement.objects.filter(pk=agreement.pk).update(created_at=created)
    agreement.refresh_from_db()
    return agreement


def make_signed(agreement, actor=SYSTEM):
    """Put an agreement into the signed state directly (the services are tested on their own)."""
    document_store(actor=actor, agreement=agreement, kind=AgreementDocument.Kind.SIGNED, content=MINIMAL_PDF)
    Agreement.objects.filter(pk=agreement.pk).update(
        status=Agreement.Status.SIGNED, signed_on=agreement.signed_on or datetime.date(2013, 3, 7)
    )
    agreement.refresh_from_db()
    return agreement


@pytest.fixture
def signed_agreement(agreement):
    return make_signed(agreement)


def pdf_upload(content=MINIMAL_PDF, name="scan.pdf"):
    return ContentFile(content, name=name)
