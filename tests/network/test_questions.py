"""Questions to the network: answers, the helpful mark, a thread turned into a practice entry, e-mails with a
one-click unsubscribe that works without logging in, and the weekly digest (opt-in)."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from partnerships.network import services
from partnerships.network.models import NotificationSettings, PracticeEntry, Question
from partnerships.network.tasks import task_send_weekly_digest
from vielfalt.logging import redact

from .conftest import make_entry, make_meeting

pytestmark = pytest.mark.django_db
QUESTION = "Wie habt ihr anonymisierte Bewerbungen mit dem Personalrat vereinbart?"


@pytest.fixture
def question(hr_oberhausen, oberhausen):
    return services.question_ask(
        actor=hr_oberhausen,
        organisation=oberhausen,
        title=QUESTION,
        body="",
        fields_of_action=["anonymised_applications"],
    )


def answer(user, question, organisation, body="Mit einer Dienstvereinbarung.", capture=None):
    return services.answer_create(actor=user, question=question, organisation=organisation, body=body)


def test_answer_mail_with_link_and_unsubscribe_without_login(
    client, question, hr_duisburg, duisburg, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reply = answer(hr_duisburg, question, duisburg)
    [message] = outbox
    assert message.to == ["hr-oberhausen@example.org"]
    assert message.subject == f"Neue Antwort auf Ihre Frage: {QUESTION}"
    assert "Stadt Duisburg hat Ihre Frage an das Netzwerk beantwortet" in message.body
    links = re.findall(r"http://\S+", message.body)
    question_link, unsubscribe_link = links
    assert question_link.endswith(f"{question.get_absolute_url()}#answer-{reply.pk}")
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe_link}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "hr-oberhausen" not in unsubscribe_link and "@" not in unsubscribe_link

    path = unsubscribe_link.removeprefix("http://127.0.0.1:8000")
    assert redact(f"GET {path} HTTP/1.1") == "GET /network/unsubscribe/[redacted]/ HTTP/1.1"  # never in a log
    page = client.get(path)  # not logged in
    assert page.status_code == 200
    assert NotificationSettings.objects.filter(answers=False).count() == 0  # a GET changes nothing
    client.post(path)  # the mail client's one-click POST carries no CSRF token
    assert NotificationSettings.objects.get(user=question.asked_by).answers is False

    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer(hr_duisburg, question, duisburg, body="Noch ein Hinweis.")
    assert outbox == []


def test_unsubscribing_again_changes_and_records_nothing(client, hr_duisburg):
    """A second click on an unsubscribe link (or one after switching the digest off on the settings page) wrote
    another audit entry saying the setting went from on to off."""
    from partnerships.network.mail import unsubscribe_url
    from vielfalt.models import AuditEntry

    services.mail_settings_update(actor=hr_duisburg, user=hr_duisburg, answers=True, weekly_digest=True)
    # Switching the digest on is recorded too (mail_settings_update): only what the clicks record counts here.
    subscribed = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    path = unsubscribe_url(hr_duisburg, "weekly_digest").removeprefix("http://127.0.0.1:8000")
    for _click in range(2):
        assert client.post(path).status_code == 200
        assert NotificationSettings.objects.get(user=hr_duisburg).weekly_digest is False
        changes = AuditEntry.objects.filter(pk__gt=subscribed, changes__has_key="weekly_digest").values_list(
            "changes", flat=True
        )
        assert list(changes) == [{"weekly_digest": [True, False]}]


def test_forged_unsubscribe_token_answers_404(client, question):
    assert client.post(reverse("network:unsubscribe", args=["1:abc:def"])).status_code == 404
    assert client.get(reverse("network:unsubscribe", args=["WzEsImFuc3dlcnMiXQ"])).status_code == 404


def test_no_mail_for_ones_own_answer(
    question, hr_oberhausen, oberhausen, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer(hr_oberhausen, question, oberhausen)
    assert outbox == []


def test_helpful_mark_only_by_the_asker(client, question, hr_duisburg, hr_oberhausen, duisburg):
    reply = answer(hr_duisburg, question, duisburg)
    with pytest.raises(PermissionDenied):
        services.answer_mark_helpful(actor=hr_duisburg, question=question, answer=reply)
    client.force_login(hr_duisburg)
    assert (
        client.post(reverse("network:answer_helpful", args=[question.pk]), {"answer": reply.pk}).status_code
        == 404
    )
    client.force_login(hr_oberhausen)
    assert (
        client.post(reverse("network:answer_helpful", args=[question.pk]), {"answer": reply.pk}).status_code
        == 302
    )
    question.refresh_from_db()
    assert question.helpful_answer == reply
    assert list(Question.objects.open()) == []
    # An answer that is no id is none (it was a server error: the ORM refused it as an id).
    for garbage in ("abc", "1e309", "\x00", "🙂", "99999999999999999999"):
        url = reverse("network:answer_helpful", args=[question.pk])
        assert client.post(url, {"answer": garbage}).status_code == 404, garbage
    question.refresh_from_db()
    assert question.helpful_answer == reply


def test_ministry_turns_a_thread_into_a_draft_entry(question, hr_duisburg, staff, duisburg, hr_oberhausen):
    with pytest.raises(ValidationError):
        services.question_to_practice(actor=staff, question=question)
    reply = answer(hr_duisburg, question, duisburg)
    services.answer_mark_helpful(actor=hr_oberhausen, question=question, answer=reply)
    with pytest.raises(PermissionDenied):
        services.question_to_practice(actor=hr_oberhausen, question=question)
    entry = services.question_to_practice(actor=staff, question=question)
    assert (entry.organisation, entry.status, entry.title) == (duisburg, PracticeEntry.Status.DRAFT, QUESTION)
    assert "Stadt Duisburg: Mit einer Dienstvereinbarung." in entry.what_was_done
    assert services.question_to_practice(actor=staff, question=question) == entry


def test_asking_and_answering_through_the_pages(client, hr_oberhausen, hr_duisburg, oberhausen, duisburg):
    client.force_login(hr_oberhausen)
    response = client.post(
        reverse("network:question_create"),
        {"organisation": oberhausen.pk, "title": QUESTION, "fields_of_action": ["anonymised_applications"]},
    )
    question = Question.objects.get()
    assert response["Location"] == question.get_absolute_url()
    client.force_login(hr_duisburg)
    assert (
        client.post(
            reverse("network:answer_create", args=[question.pk]), {"organisation": duisburg.pk, "body": ""}
        ).status_code
        == 400
    )
    response = client.post(
        reverse("network:answer_create", args=[question.pk]), {"organisation": oberhausen.pk, "body": "x"}
    )
    assert response.status_code == 400  # not Duisburg's HR's organisation
    response = client.post(
        reverse("network:answer_create", args=[question.pk]),
        {"organisation": duisburg.pk, "body": "So ging es bei uns."},
    )
    assert response.status_code == 302
    assert question.answers.get().organisation == duisburg


def test_answer_mail_in_the_language_the_question_was_asked_in(
    client, hr_oberhausen, hr_duisburg, oberhausen, duisburg, outbox, django_capture_on_commit_callbacks
):
    client.force_login(hr_oberhausen)
    client.post(
        reverse("network:question_create"),
        {"organisation": oberhausen.pk, "title": QUESTION, "fields_of_action": ["anonymised_applications"]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    question = Question.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        answer(hr_duisburg, question, duisburg)  # answered from a German page
    [message] = outbox
    assert message.subject == f"New answer to your question: {QUESTION}"


def test_digest_in_the_language_of_the_settings_page(
    client, hr_duisburg, duisburg, outbox, question, django_capture_on_commit_callbacks
):
    client.force_login(hr_duisburg)
    client.post(reverse("network:mail_settings"), {"weekly_digest": "on"}, HTTP_ACCEPT_LANGUAGE="en")
    assert task_send_weekly_digest() == 1
    [message] = outbox
    assert message.subject == "The partners' network this week"


def test_weekly_digest_is_opt_in_and_sent_once(
    hr_duisburg, hr_oberhausen, staff, duisburg, ministry, outbox, question
):
    make_entry(duisburg)
    make_meeting(ministry)
    services.mail_settings_update(actor=hr_duisburg, user=hr_duisburg, answers=True, weekly_digest=True)
    with pytest.raises(PermissionDenied):
        services.mail_settings_update(
            actor=hr_oberhausen, user=hr_duisburg, answers=False, weekly_digest=False
        )
    assert task_send_weekly_digest() == 1
    [message] = outbox
    assert message.to == ["hr-duisburg@example.org"]
    assert "Anonymisierte Bewerbungsverfahren in der Stadtverwaltung" in message.body
    assert QUESTION in message.body
    assert "Netzwerktreffen Interkulturelle Öffnung" in message.body
    assert "unsubscribe" in message.extra_headers["List-Unsubscribe"]
    assert task_send_weekly_digest() == 0  # a second run in the same week sends nothing
    NotificationSettings.objects.update(digest_sent_at=timezone.now() - timedelta(days=7))
    assert task_send_weekly_digest() == 1


def test_mail_settings_page(client, hr_duisburg):
    """Saving the settings is recorded as the one-click unsubscribe records the same choice; it was not, so the
    log showed a digest switched off by a link but not how it had been switched on (or off) on this page."""
    from vielfalt.models import AuditEntry

    client.force_login(hr_duisburg)
    for _save in range(2):  # saving unchanged settings again records nothing
        assert client.post(reverse("network:mail_settings"), {"weekly_digest": "on"}).status_code == 302
    settings = NotificationSettings.objects.get(user=hr_duisburg)
    assert (settings.answers, settings.weekly_digest) == (False, True)
    entry = _audit(AuditEntry.Action.CHANGE, settings).get()
    assert (entry.actor, entry.organisation) == (hr_duisburg, None)
    assert entry.changes == {"answers": [True, False], "weekly_digest": [False, True]}


# --- Editing and deleting -------------------------------------------------------------------------------------


def _audit(action, obj):
    from django.contrib.contenttypes.models import ContentType

    from vielfalt.models import AuditEntry

    return AuditEntry.objects.filter(
        action=action, content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
    ).order_by("pk")


def test_the_asker_edits_and_deletes_the_question(question, hr_oberhausen, hr_duisburg, duisburg):
    from vielfalt.models import AuditEntry

    with pytest.raises(PermissionDenied):
        services.question_update(actor=hr_duisburg, question=question, title="Gekapert?")
    with pytest.raises(ValidationError):
        services.question_update(actor=hr_oberhausen, question=question, title="  ")
    changed = services.question_update(
        actor=hr_oberhausen, question=question, title="Wie mit dem Personalrat?", body="Details"
    )
    assert (changed.title, changed.body) == ("Wie mit dem Personalrat?", "Details")
    assert changed.edited_at is not None
    [entry] = _audit(AuditEntry.Action.CHANGE, question)
    assert (entry.actor, entry.changes) == (hr_oberhausen, {"fields": ["title", "body"]})
    assert QUESTION not in str(entry.changes)  # the log keeps which fields changed, not the old text

    reply = answer(hr_duisburg, question, duisburg)
    with pytest.raises(PermissionDenied):
        services.question_delete(actor=hr_duisburg, question=question)
    services.question_delete(actor=hr_oberhausen, question=question)
    assert not Question.objects.filter(pk=question.pk).exists()
    assert not type(reply).objects.filter(pk=reply.pk).exists()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.DELETE, actor=hr_oberhausen).count() == 1


def test_the_author_edits_and_deletes_the_answer(question, hr_oberhausen, hr_duisburg, duisburg):
    from vielfalt.models import AuditEntry

    reply = answer(hr_duisburg, question, duisburg)
    services.answer_mark_helpful(actor=hr_oberhausen, question=question, answer=reply)
    with pytest.raises(PermissionDenied):  # the asker marks it, but it is not hers to change
        services.answer_update(actor=hr_oberhausen, answer=reply, body="Anders.")
    changed = services.answer_update(
        actor=hr_duisburg, answer=reply, body="Mit einer Dienstvereinbarung (2014)."
    )
    assert changed.body == "Mit einer Dienstvereinbarung (2014)." and changed.edited_at is not None
    assert _audit(AuditEntry.Action.CHANGE, reply).get().changes == {"fields": ["body"]}
    with pytest.raises(PermissionDenied):
        services.answer_delete(actor=hr_oberhausen, answer=reply)
    services.answer_delete(actor=hr_duisburg, answer=reply)
    question.refresh_from_db()
    assert question.helpful_answer is None and question.answers.count() == 0
    assert _audit(AuditEntry.Action.DELETE, reply).get().actor == hr_duisburg


def test_an_author_who_left_the_organisation_no_longer_changes_it(question, hr_oberhausen):
    hr_oberhausen.memberships.all().delete()
    former = type(hr_oberhausen).objects.get(pk=hr_oberhausen.pk)  # roles are read once per user object
    with pytest.raises(PermissionDenied):
        services.question_update(actor=former, question=question, title="Noch da?")


def test_an_asker_who_moved_to_another_organisation_no_longer_marks_the_helpful_answer(
    client, question, hr_oberhausen, hr_duisburg, duisburg
):
    """Olga asked for Oberhausen and then moved to Duisburg's personnel office: she could still mark (and take
    back) the helpful answer of Oberhausen's question, which decides for Oberhausen which answer solved it and
    whose organisation a practice entry made from the thread belongs to; editing it she could not."""
    from vielfalt.models import Membership, Role

    reply = answer(hr_duisburg, question, duisburg)
    hr_oberhausen.memberships.all().delete()
    Membership.objects.create(user=hr_oberhausen, organisation=duisburg, role=Role.HR)
    moved = type(hr_oberhausen).objects.get(pk=hr_oberhausen.pk)  # roles are read once per user object
    with pytest.raises(PermissionDenied):
        services.answer_mark_helpful(actor=moved, question=question, answer=reply)
    client.force_login(moved)
    url = reverse("network:answer_helpful", args=[question.pk])
    assert client.post(url, {"answer": reply.pk}).status_code == 404
    assert "Als hilfreich markieren" not in client.get(question.get_absolute_url()).content.decode()
    question.refresh_from_db()
    assert question.helpful_answer is None


def test_the_ministry_moderates(question, staff, hr_duisburg, duisburg):
    from vielfalt.models import AuditEntry

    reply = answer(hr_duisburg, question, duisburg)
    services.answer_update(actor=staff, answer=reply, body="[Vom Ministerium gekürzt.]")
    services.question_update(actor=staff, question=question, body="Bitte keine Namen nennen.")
    services.answer_delete(actor=staff, answer=reply)
    services.question_delete(actor=staff, question=question)
    assert AuditEntry.objects.filter(actor=staff).count() == 4


def test_editing_and_deleting_through_the_pages(
    client, question, hr_oberhausen, hr_duisburg, duisburg, staff
):
    reply = answer(hr_duisburg, question, duisburg)
    question_edit = reverse("network:question_edit", args=[question.pk])
    answer_edit = reverse("network:answer_edit", args=[reply.pk])

    client.force_login(hr_duisburg)  # the answer's author, not the asker
    page = client.get(question.get_absolute_url()).content.decode()
    assert answer_edit in page and question_edit not in page
    assert client.get(question_edit).status_code == 404
    assert client.post(reverse("network:question_delete", args=[question.pk])).status_code == 404
    assert client.post(answer_edit, {"body": ""}).status_code == 400
    response = client.post(answer_edit, {"body": "Mit einer Dienstvereinbarung, seit 2014."})
    assert response["Location"] == f"{question.get_absolute_url()}#answer-{reply.pk}"
    assert "bearbeitet" in client.get(question.get_absolute_url()).content.decode()

    client.force_login(hr_oberhausen)  # the asker
    page = client.get(question.get_absolute_url()).content.decode()
    assert question_edit in page and answer_edit not in page
    assert client.get(answer_edit).status_code == 404
    assert client.post(reverse("network:answer_delete", args=[reply.pk])).status_code == 404
    assert client.get(question_edit).status_code == 200
    response = client.post(question_edit, {"title": "", "fields_of_action": ["sensitisation"]})
    assert response.status_code == 400
    assert response.context["form"].errors["title"]
    response = client.post(question_edit, {"title": "Neu gefragt?", "fields_of_action": ["sensitisation"]})
    assert response["Location"] == question.get_absolute_url()
    question.refresh_from_db()
    assert (question.title, question.fields_of_action) == ("Neu gefragt?", ["sensitisation"])

    client.force_login(staff)
    assert client.post(reverse("network:answer_delete", args=[reply.pk])).status_code == 302
    response = client.post(reverse("network:question_delete", args=[question.pk]))
    assert response["Location"] == reverse("network:question_list")
    assert not Question.objects.exists()


def test_who_left_the_programme_gets_no_more_network_mail(
    question, hr_oberhausen, hr_duisburg, duisburg, outbox, django_capture_on_commit_callbacks
):
    """Answers and digests carry the network's texts: only for people still in the programme."""
    make_entry(duisburg)
    services.mail_settings_update(actor=hr_oberhausen, user=hr_oberhausen, answers=True, weekly_digest=True)
    hr_oberhausen.memberships.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        answer(hr_duisburg, question, duisburg)
    assert task_send_weekly_digest() == 0
    assert outbox == []


def test_the_thread_links_its_practice_entry_only_for_those_who_may_read_it(
    client, question, hr_duisburg, hr_oberhausen, duisburg, staff
):
    """The ministry turned the thread into a draft of Oberhausen's (the asker's; no answer was marked helpful) and
    gave it a working title: the question's page showed that title and a link to every partner, while the draft
    itself answers 404 to all but Oberhausen and the ministry."""
    answer(hr_duisburg, question, duisburg)
    entry = services.question_to_practice(actor=staff, question=question)
    services.practice_update(actor=staff, entry=entry, title="Entwurf: Dienstvereinbarung Personalrat")

    def shown(user):
        client.force_login(user)
        return (
            "Entwurf: Dienstvereinbarung Personalrat"
            in client.get(question.get_absolute_url()).content.decode()
        )

    assert (shown(staff), shown(hr_oberhausen), shown(hr_duisburg)) == (True, True, False)
    assert client.get(entry.get_absolute_url()).status_code == 404  # Duisburg may not read the draft

    services.practice_transition(actor=hr_oberhausen, entry=entry, to=PracticeEntry.Status.SUBMITTED)
    services.practice_transition(actor=staff, entry=entry, to=PracticeEntry.Status.PUBLISHED)
    assert shown(hr_duisburg) is True
