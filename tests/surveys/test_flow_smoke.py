from django.test import Client

from surveys.models import Invitation, Response
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
    assert Response.objects.get().migration_background == "yes"
    assert Invitation.objects.filter(used=True).count() == 1
    replay = answer(Client(), tokens[0])
    assert replay.status_code == 410
