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
    lines = [line.strip() for line in out.getvalue().splitlines() if "/surveys/t/" in line]
    assert len(lines) == oberhausen.invitations.count()
    respondent = Client()
    respondent.get(lines[0][lines[0].index("/surveys/t/") :])
    assert respondent.get("/surveys/answer/").status_code == 200
    # The code printed beside the link works at /umfrage/, logged out.
    typing = Client()
    page = typing.post("/umfrage/", {"code": lines[1].split()[0].lower()})
    assert page.status_code == 302
    assert typing.get(page["Location"]).status_code == 200
