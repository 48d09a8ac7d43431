"""The demo data of the anonymised procedures and the self-filling commitments."""

import pytest
from django.core.management import call_command
from django.db.models import Sum

from partnerships.models import AnonymisedProcedure, Commitment

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_duisburgs_anonymised_procedures_and_indicator_sources(settings):
    settings.DEBUG = True
    for _ in range(2):
        call_command("seed_demo", password="demo-password-1")
    procedures = AnonymisedProcedure.objects.filter(organisation__slug="duisburg")
    assert procedures.aggregate(n=Sum("posts_filled"))["n"] == 100
    assert procedures.filter(org_unit__isnull=True).count() == 0
    sources = dict(
        Commitment.objects.filter(agreement__partner__slug="duisburg").values_list(
            "field_of_action", "indicator_source"
        )
    )
    assert sources["Anonymisierte Bewerbungsverfahren"] == Commitment.IndicatorSource.ANONYMISED_POSTS_FILLED
    assert sources["Interkulturelle Sensibilisierung"] == Commitment.IndicatorSource.TRAINED_PUBLIC_FACING
