import pytest
from django.core.management import call_command

from partnerships.models import Agreement, AgreementDocument

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_the_signed_duisburg_agreement_and_an_oberhausen_draft(settings):
    settings.DEBUG = True
    for _ in range(2):
        call_command("seed_demo", password="demo-password-1")
    duisburg = Agreement.objects.get(partner__slug="duisburg")
    assert duisburg.status == Agreement.Status.SIGNED
    assert list(duisburg.signatories.values_list("name", "function")) == [
        ("Sören Link", "Oberbürgermeister"),
        ("Guntram Schneider", "Minister"),
        ("Zülfiye Kaykin", "Staatssekretärin"),
    ]
    assert duisburg.commitments.count() == 3
    assert sorted(duisburg.documents.values_list("kind", flat=True)) == [
        AgreementDocument.Kind.GENERATED,
        AgreementDocument.Kind.SIGNED,
    ]
    oberhausen = Agreement.objects.get(partner__slug="oberhausen")
    assert oberhausen.status == Agreement.Status.DRAFT
