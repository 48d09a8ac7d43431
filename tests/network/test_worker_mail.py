"""The network's e-mails as they travel in production: the request commits, a real Celery worker (Redis broker)
renders and sends the mail, and the links in it work. hr-oberhausen asks, hr-duisburg answers through the pages;
the asker's link leads to the answer; the one-click unsubscribe works without logging in, by the button on its
page and by the mail client's RFC 8058 POST (no session, no CSRF token); a changed or borrowed token does nothing
to anyone else. The same for the weekly digest sent by the beat task."""

import re
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from partnerships.network import services
from partnerships.network.models import NotificationSettings, Question
from partnerships.network.tasks import task_send_weekly_digest
from tests.mailfailure import wait_for

from .conftest import LOCMEM, make_entry, make_meeting

pytestmark = pytest.mark.django_db(transaction=True)
QUESTION = "Wie habt ihr anonymisierte Bewerbungen mit dem Personalrat vereinbart?"


@pytest.fixture
def portal(settings):
    settings.MAILERS = LOCMEM
    settings.PORTAL_URL = "https://vielfalt.nrw.example"
    mail.outbox = []
    return settings.PORTAL_URL


def links(message) -> list[str]:
    return re.findall(r"https://\S+", message.body)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def one_click(path: str):
    """What a mail client does for List-Unsubscribe-Post: a POST with this one field, no cookies, no token."""
    return Client(enforce_csrf_checks=True).post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )


def test_answer_mail_from_the_worker_with_working_links_and_unsubscribe(
    celery_worker, portal, client, hr_oberhausen, oberhausen, hr_duisburg, duisburg
):
    client.force_login(hr_oberhausen)
    response = client.post(
        reverse("network:question_create"),
        {"organisation": oberhausen.pk, "title": QUESTION, "fields_of_action": ["anonymised_applications"]},
    )
    question = Question.objects.get(title=QUESTION)
    assert response["Location"] == question.get_absolute_url()

    answering = Client()
    answering.force_login(hr_duisburg)
    response = answering.post(
        reverse("network:answer_create", args=[question.pk]),
        {"organisation": duisburg.pk, "body": "Mit einer Dienstvereinbarung über zwei Jahre."},
    )
    assert response.status_code == 302
    [message] = wait_for(lambda: list(mail.outbox), what="the answer mail")
    assert message.to == ["hr-oberhausen@example.org"]
    assert message.subject == f"Neue Antwort auf Ihre Frage: {QUESTION}"
    question_link, unsubscribe_link = links(message)
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe_link}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The link leads the asker to the answer
    reply = question.answers.get()
    assert question_link == f"{portal}{question.get_absolute_url()}#answer-{reply.pk}"
    page = client.get(path_of(question_link))
    assert page.status_code == 200
    assert f'id="answer-{reply.pk}"' in page.content.decode()
    assert "Mit einer Dienstvereinbarung über zwei Jahre." in page.content.decode()

    # Unsubscribing: no login; the page's GET changes nothing, its button (a POST with the page's own CSRF
    # token in a fresh browser) and the mail client's one-click POST both work, and again is harmless.
    unsubscribe = path_of(unsubscribe_link)
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(unsubscribe)
    assert page.status_code == 200
    assert "Abbestellen" in page.content.decode()
    assert NotificationSettings.objects.filter(user=hr_oberhausen, answers=False).exists() is False
    token = browser.cookies.get(settings.CSRF_COOKIE_NAME)
    data = {"csrfmiddlewaretoken": token.value} if token else {}
    assert browser.post(unsubscribe, data).status_code == 200
    assert NotificationSettings.objects.get(user=hr_oberhausen).answers is False
    NotificationSettings.objects.filter(user=hr_oberhausen).update(answers=True)
    response = one_click(unsubscribe)
    assert response.status_code == 200
    assert "keine E-Mails" in response.content.decode()
    assert NotificationSettings.objects.get(user=hr_oberhausen).answers is False
    assert one_click(unsubscribe).status_code == 200

    # Unsubscribed: the next answer sends nothing (the first mail took the worker well under 3 s)
    mail.outbox.clear()
    services.answer_create(actor=hr_duisburg, question=question, organisation=duisburg, body="Noch etwas.")
    time.sleep(3)
    assert mail.outbox == []


def test_a_token_changes_nothing_for_anyone_else(
    celery_worker, portal, hr_oberhausen, oberhausen, hr_duisburg, duisburg
):
    question = services.question_ask(
        actor=hr_oberhausen, organisation=oberhausen, title=QUESTION, body="", fields_of_action=[]
    )
    services.answer_create(actor=hr_duisburg, question=question, organisation=duisburg, body="So.")
    [message] = wait_for(lambda: list(mail.outbox), what="the answer mail")
    unsubscribe = path_of(links(message)[1])
    token = unsubscribe.rstrip("/").rsplit("/", 1)[1]
    services.mail_settings_update(actor=hr_duisburg, user=hr_duisburg, answers=True, weekly_digest=True)

    from django.core import signing

    user_id, kind = signing.loads(token, salt="network.unsubscribe")
    for forged in (
        signing.dumps([hr_duisburg.pk, kind], salt="another-salt"),  # signed for something else
        signing.dumps(
            [hr_duisburg.pk, "weekly_digest"], key="not-the-portals-key", salt="network.unsubscribe"
        ),
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # a tampered signature
    ):
        path = reverse("network:unsubscribe", args=[forged])
        assert one_click(path).status_code == 404
        assert Client().get(path).status_code == 404
    settings_of_duisburg = NotificationSettings.objects.get(user=hr_duisburg)
    assert (settings_of_duisburg.answers, settings_of_duisburg.weekly_digest) == (True, True)
    # The asker's own token unsubscribes the asker from answers only, whoever posts it
    assert user_id == hr_oberhausen.pk
    assert one_click(unsubscribe).status_code == 200
    assert NotificationSettings.objects.get(user=hr_oberhausen).answers is False
    settings_of_duisburg.refresh_from_db()
    assert (settings_of_duisburg.answers, settings_of_duisburg.weekly_digest) == (True, True)


def test_weekly_digest_from_the_worker_with_working_links_and_unsubscribe(
    celery_worker, portal, client, hr_duisburg, hr_oberhausen, duisburg, oberhausen, ministry
):
    entry = make_entry(duisburg)
    meeting = make_meeting(ministry)
    question = services.question_ask(
        actor=hr_oberhausen, organisation=oberhausen, title=QUESTION, body="", fields_of_action=[]
    )
    services.mail_settings_update(actor=hr_duisburg, user=hr_duisburg, answers=True, weekly_digest=True)
    task_send_weekly_digest.delay()  # what Celery beat does on Monday morning
    [message] = wait_for(lambda: list(mail.outbox), what="the digest")
    assert message.to == ["hr-duisburg@example.org"]
    found = links(message)
    assert found[:3] == [
        f"{portal}{entry.get_absolute_url()}",
        f"{portal}{meeting.get_absolute_url()}",
        f"{portal}{question.get_absolute_url()}",
    ]
    client.force_login(hr_duisburg)
    for link in found[:3]:
        assert client.get(path_of(link)).status_code == 200, link
    unsubscribe = found[3]
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    response = one_click(path_of(unsubscribe))
    assert response.status_code == 200
    assert "wöchentliche Übersicht nicht mehr" in response.content.decode()
    row = NotificationSettings.objects.get(user=hr_duisburg)
    assert (row.weekly_digest, row.answers) == (False, True)
