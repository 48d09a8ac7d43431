from django.test import Client

from surveys.models import Invitation, Response
from surveys.services import campaign_close
from tests.surveys.conftest import answer


def test_answer_through_the_link_stores_one_response(open_campaign):
    campaign, tokens, _hr = open_campaign
    client = Client()
    response = client.get(f"/surveys/t/{tokens[0]}/")
    assert response.status_code == 302
    assert response["Location"] == "/surveys/answer/"
    assert response["Referrer-Policy"] == "no-referrer"
    page = client.get("/surveys/answer/")
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    done = answer(client, tokens[0], own_citizenship="not_german")
    assert done.status_code == 302
    assert client.get("/surveys/answer/").status_code == 200
    assert Invitation.objects.filter(used=True).count() == 1
    # A replay looks the same as a first answer (no used/unused oracle) and is not counted.
    replay = Client()
    replay.get(f"/surveys/t/{tokens[0]}/")
    assert replay.get("/surveys/answer/").status_code == 200
    assert answer(replay, tokens[0], own_citizenship="german").status_code == 302
    campaign_close(actor=_hr, campaign=campaign)
    assert Response.objects.get().migration_background == "yes"
