import io

import pytest
from django.core.management import call_command
from django.test import Client

from surveys.models import Campaign, Response
from surveys.results import campaign_results

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_a_closed_and_an_open_campaign_idempotently(settings):
    settings.DEBUG = True
    for _ in range(2):
        out = io.StringIO()
        call_command("seed_demo", password="demo-password-1", stdout=out)
    duisburg = Campaign.objects.get(organisation__slug="duisburg")
    assert duisburg.status == Campaign.Status.CLOSED
    results = campaign_results(duisburg)
    assert results.invited == 120
    assert results.respondents == Response.objects.filter(campaign=duisburg).count() == 84
    share = results.overall["mh_yes"].share
    assert share == pytest.approx(11.9)  # 10 of 84
    assert results.previous_estimate == "2–3 %"
    assert results.has_suppressed
    oberhausen = Campaign.objects.get(organisation__slug="oberhausen")
    assert oberhausen.is_open
    links = [line.strip() for line in out.getvalue().splitlines() if "/surveys/t/" in line]
    assert len(links) == 40
    respondent = Client()
    respondent.get(links[0][links[0].index("/surveys/t/") :])
    assert respondent.get("/surveys/answer/").status_code == 200
