"""The practice library: workflow, who sees what, attachments checked by content, German full-text search."""

import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from partnerships.network import selectors, services
from partnerships.network.models import FieldOfAction, NotificationSettings, PracticeEntry
from partnerships.network.selectors import practice_search, practice_snippets
from tests.helpers import assert_links_open, page_links
from vielfalt.models import AuditEntry
from vielfalt.permissions import SYSTEM

from .conftest import docx_bytes, make_entry, odt_bytes, pdf_bytes, upload, xlsx_bytes, zip_bytes

Status = PracticeEntry.Status
pytestmark = pytest.mark.django_db


# --- Workflow and visibility ----------------------------------------------------------------------------------


def test_draft_submitted_published(hr_duisburg, hr_oberhausen, staff, duisburg):
    entry = services.practice_create(
        actor=hr_duisburg,
        organisation=duisburg,
        title="Gemeinsame Schulung mit Oberhausen",
        field_of_action=FieldOfAction.JOINT_TRAINING,
        summary="Kurz",
        what_was_done="Lang",
    )
    assert entry.status == Status.DRAFT
    assert list(PracticeEntry.objects.visible_to(hr_oberhausen)) == []
    assert list(PracticeEntry.objects.visible_to(staff)) == [entry]

    services.practice_transition(actor=hr_duisburg, entry=entry, to=Status.SUBMITTED)
    with pytest.raises(PermissionDenied):
        services.practice_transition(actor=hr_duisburg, entry=entry, to=Status.PUBLISHED)
    services.practice_transition(actor=staff, entry=entry, to=Status.PUBLISHED)
    entry.refresh_from_db()
    assert entry.status == Status.PUBLISHED
    assert entry.published_at is not None
    assert list(PracticeEntry.objects.visible_to(hr_oberhausen)) == [entry]
    assert AuditEntry.objects.filter(object_id=str(entry.pk), action=AuditEntry.Action.CHANGE).count() == 2


def test_return_needs_a_comment_and_hides_the_entry_again(hr_duisburg, hr_oberhausen, staff, duisburg):
    entry = make_entry(duisburg, status=Status.SUBMITTED)
    with pytest.raises(ValidationError):
        services.practice_transition(actor=staff, entry=entry, to=Status.RETURNED, comment="  ")
    services.practice_transition(
        actor=staff, entry=entry, to=Status.RETURNED, comment="Bitte Kosten ergänzen."
    )
    entry.refresh_from_db()
    assert (entry.status, entry.return_comment) == (Status.RETURNED, "Bitte Kosten ergänzen.")
    assert list(PracticeEntry.objects.visible_to(hr_oberhausen)) == []
    assert list(PracticeEntry.objects.visible_to(hr_duisburg)) == [entry]
    # The author edits the returned entry and submits it again.
    services.practice_update(actor=hr_duisburg, entry=entry, effort="Zwei Personentage")
    services.practice_transition(actor=hr_duisburg, entry=entry, to=Status.SUBMITTED)


def test_the_ministry_hears_of_a_submission_and_the_author_of_its_decision(
    hr_duisburg, staff, duisburg, outbox, django_capture_on_commit_callbacks
):
    """Before, the ministry learned of a submission, and the author of a return (with the ministry's request) or
    of the publication, only by looking."""
    entry = services.practice_create(
        actor=hr_duisburg,
        organisation=duisburg,
        title="Mentoring für Auszubildende",
        field_of_action=FieldOfAction.JOINT_TRAINING,
        summary="Kurz",
        what_was_done="Lang",
    )

    def mails(to, **kwargs):
        outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            services.practice_transition(entry=entry, to=to, **kwargs)
        return [(m.to, m.subject, m.body) for m in outbox]

    ((to, subject, body),) = mails(Status.SUBMITTED, actor=hr_duisburg)
    assert (to, subject) == ([staff.email], "Praxisbeispiel eingereicht: Mentoring für Auszubildende")
    assert "Stadt Duisburg hat ein Praxisbeispiel zur Prüfung eingereicht" in body
    assert entry.get_absolute_url() in body
    # Withdrawn and submitted again the same day: the ministry is not written to again (clicks are no spam).
    assert mails(Status.DRAFT, actor=hr_duisburg) == []
    assert mails(Status.SUBMITTED, actor=hr_duisburg) == []
    ((to, subject, body),) = mails(Status.RETURNED, actor=staff, comment="Bitte Kosten ergänzen.")
    assert (to, subject) == ([hr_duisburg.email], "Praxisbeispiel zurückgegeben: Mentoring für Auszubildende")
    assert "Bitte Kosten ergänzen." in body and entry.get_absolute_url() in body
    assert len(mails(Status.SUBMITTED, actor=hr_duisburg)) == 1  # the changed entry, after a return
    assert [(to, subject) for to, subject, _ in mails(Status.PUBLISHED, actor=staff)] == [
        ([hr_duisburg.email], "Praxisbeispiel veröffentlicht: Mentoring für Auszubildende")
    ]


def test_a_practice_e_mail_goes_out_only_while_what_it_says_still_holds(
    hr_duisburg, staff, duisburg, outbox, django_capture_on_commit_callbacks
):
    """The e-mail waited in the queue (or for a retry after the mail server failed) while the entry moved on: the
    author was told "published" of an entry the ministry had returned meanwhile, after the return's own e-mail,
    and the ministry of a submission already withdrawn."""
    from partnerships.network.tasks import task_send_practice_mail

    entry = services.practice_create(
        actor=hr_duisburg,
        organisation=duisburg,
        title="Mentoring für Auszubildende",
        field_of_action=FieldOfAction.JOINT_TRAINING,
        summary="Kurz",
        what_was_done="Lang",
    )
    with django_capture_on_commit_callbacks(execute=False):  # its e-mail not sent yet
        services.practice_transition(actor=hr_duisburg, entry=entry, to=Status.SUBMITTED)
    services.practice_transition(actor=hr_duisburg, entry=entry, to=Status.DRAFT)
    assert task_send_practice_mail(entry_id=entry.pk, event=Status.SUBMITTED) == 0

    services.practice_transition(actor=hr_duisburg, entry=entry, to=Status.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=False):
        services.practice_transition(actor=staff, entry=entry, to=Status.PUBLISHED)
    with django_capture_on_commit_callbacks(execute=True):
        services.practice_transition(
            actor=staff, entry=entry, to=Status.RETURNED, comment="Bitte Kosten ergänzen."
        )
    assert [m.subject for m in outbox] == ["Praxisbeispiel zurückgegeben: Mentoring für Auszubildende"]
    assert task_send_practice_mail(entry_id=entry.pk, event=Status.PUBLISHED) == 0
    assert len(outbox) == 1
    assert task_send_practice_mail(entry_id=entry.pk, event=Status.RETURNED) == 1  # what still holds is sent


def test_practice_e_mails_in_the_recipients_language(
    client, hr_duisburg, staff, duisburg, outbox, django_capture_on_commit_callbacks
):
    """The e-mails of the practice library were German whatever language their recipient used the portal in:
    the author's is written in the language the entry was written in, the ministry's in the language of each
    official's network e-mail settings."""

    client.force_login(staff)
    client.post(reverse("network:mail_settings"), {"answers": "on"}, HTTP_ACCEPT_LANGUAGE="en")
    with translation.override("en"):  # the page the author wrote on
        entry = services.practice_create(
            actor=hr_duisburg,
            organisation=duisburg,
            title="Mentoring",
            field_of_action=FieldOfAction.JOINT_TRAINING,
            summary="Kurz",
            what_was_done="Lang",
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.practice_transition(actor=hr_duisburg, entry=entry, to=Status.SUBMITTED)
    [message] = outbox
    assert (message.to, message.subject) == ([staff.email], "Practice example submitted: Mentoring")
    assert "has submitted a practice example for review" in message.body
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # decided on a German page
        services.practice_transition(actor=staff, entry=entry, to=Status.PUBLISHED)
    [message] = outbox
    assert (message.to, message.subject) == ([hr_duisburg.email], "Practice example published: Mentoring")
    assert "your practice example is now published" in message.body


def test_opening_the_mail_settings_keeps_the_pages_language(
    client, hr_duisburg, staff, duisburg, outbox, django_capture_on_commit_callbacks
):
    """An official who only opened the e-mail settings page (in English) got a settings row in German, and with
    it German "submitted" e-mails: the row takes the language of the request that creates it."""
    client.force_login(staff)
    assert client.get(reverse("network:mail_settings"), HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    assert NotificationSettings.objects.get(user=staff).language == "en"
    client.get(reverse("network:mail_settings"), HTTP_ACCEPT_LANGUAGE="de")  # reading changes nothing
    assert NotificationSettings.objects.get(user=staff).language == "en"
    entry = make_entry(duisburg, status=Status.DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        services.practice_transition(actor=hr_duisburg, entry=entry, to=Status.SUBMITTED)
    [message] = outbox
    assert (message.to, message.subject) == ([staff.email], f"Practice example submitted: {entry.title}")


def test_an_author_who_moved_to_another_organisation_is_not_sent_the_ministrys_decision(
    hr_duisburg, staff, duisburg, oberhausen, outbox, django_capture_on_commit_callbacks
):
    """Dirk wrote Duisburg's entry and moved to Oberhausen's personnel office before the ministry returned it: the
    e-mail with the ministry's request (which only Duisburg and the ministry may read) still went to him."""
    from vielfalt.models import Membership, Role

    entry = make_entry(duisburg, status=Status.DRAFT)
    PracticeEntry.objects.filter(pk=entry.pk).update(created_by=hr_duisburg)
    services.practice_transition(actor=hr_duisburg, entry=entry, to=Status.SUBMITTED)
    hr_duisburg.memberships.all().delete()
    Membership.objects.create(user=hr_duisburg, organisation=oberhausen, role=Role.HR)
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.practice_transition(actor=staff, entry=entry, to=Status.RETURNED, comment="Interne Kosten?")
    assert outbox == []


def test_entries_in_progress_are_the_visible_unpublished_ones(
    hr_duisburg, hr_oberhausen, staff, duisburg, oberhausen
):
    for organisation in (duisburg, oberhausen):
        for status in Status:
            make_entry(organisation, status=status, title=f"{organisation.name} {status}")
    for user in (hr_duisburg, hr_oberhausen, staff):
        expected = set(PracticeEntry.objects.visible_to(user).exclude(status=Status.PUBLISHED))
        assert set(PracticeEntry.objects.unpublished_visible_to(user)) == expected
        assert len(expected) == (6 if user == staff else 3)


def test_authors_write_only_for_their_organisation(hr_oberhausen, duisburg):
    with pytest.raises(PermissionDenied):
        services.practice_create(
            actor=hr_oberhausen,
            organisation=duisburg,
            title="x",
            field_of_action="sensitisation",
            summary="s",
            what_was_done="w",
        )
    with pytest.raises(TypeError):
        services.practice_create(
            actor=None,
            organisation=duisburg,
            title="x",
            field_of_action="sensitisation",
            summary="s",
            what_was_done="w",
        )


def test_published_entry_is_changed_by_the_ministry_only(hr_duisburg, staff, duisburg):
    entry = make_entry(duisburg)
    with pytest.raises(ValidationError):
        services.practice_update(actor=hr_duisburg, entry=entry, title="Neu")
    services.practice_update(actor=staff, entry=entry, title="Neu")


def test_another_organisations_draft_and_its_attachment_answer_404(
    client, hr_duisburg, hr_oberhausen, duisburg
):
    entry = make_entry(duisburg, status=Status.DRAFT)
    attachment = services.attachment_add(
        actor=hr_duisburg, entry=entry, upload=upload("plan.pdf", pdf_bytes())
    )
    client.force_login(hr_oberhausen)
    for url in [
        entry.get_absolute_url(),
        reverse("network:practice_edit", args=[entry.pk]),
        reverse("network:attachment_download", args=[entry.pk, attachment.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    assert (
        client.post(reverse("network:practice_transition", args=[entry.pk]), {"to": "submitted"}).status_code
        == 404
    )
    client.force_login(hr_duisburg)
    response = client.get(reverse("network:attachment_download", args=[entry.pk, attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf_bytes()


def test_removing_an_attachment_asks_first(client, hr_duisburg, duisburg, django_capture_on_commit_callbacks):
    """The button removed the file at once, as no other removal in the portal does (meeting documents, contact
    persons and registrations ask first): the form carries the question the page's script asks."""
    entry = make_entry(duisburg, status=Status.DRAFT)
    attachment = services.attachment_add(
        actor=hr_duisburg, entry=entry, upload=upload("Zeitplan.pdf", pdf_bytes())
    )
    url = reverse("network:attachment_delete", args=[entry.pk, attachment.pk])
    client.force_login(hr_duisburg)
    page = client.get(entry.get_absolute_url()).content.decode()
    assert f'action="{url}" data-confirm="Zeitplan.pdf wirklich aus diesem Praxisbeispiel entfernen?"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)
    assert "Der Anhang wurde entfernt." in response.content.decode()
    assert not entry.attachments.exists()


def test_returning_through_the_page(client, staff, duisburg):
    entry = make_entry(duisburg, status=Status.SUBMITTED)
    client.force_login(staff)
    url = reverse("network:practice_transition", args=[entry.pk])
    assert client.post(url, {"to": "returned", "comment": ""}).status_code == 400
    assert client.post(url, {"to": "returned", "comment": "Bitte Quellen nennen."}).status_code == 302
    entry.refresh_from_db()
    assert entry.status == Status.RETURNED


def test_creating_through_the_page(client, hr_duisburg, duisburg):
    client.force_login(hr_duisburg)
    response = client.post(
        reverse("network:practice_create"),
        {
            "organisation": duisburg.pk,
            "title": "Mentoring für Auszubildende",
            "field_of_action": "recruitment",
            "target_groups": ["trainee"],
            "summary": "Mentoring",
            "what_was_done": "Tandems",
        },
    )
    entry = PracticeEntry.objects.get()
    assert response.status_code == 302
    assert (entry.organisation, entry.status, entry.target_groups) == (duisburg, Status.DRAFT, ["trainee"])


# --- Attachments ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "make", "kind"),
    [
        ("bericht.pdf", pdf_bytes, "pdf"),
        ("Ablauf.docx", docx_bytes, "docx"),
        ("ablauf.odt", odt_bytes, "odt"),
        ("Kosten.xlsx", xlsx_bytes, "xlsx"),
    ],
)
def test_accepted_documents_are_stored_with_their_hash(hr_duisburg, duisburg, name, make, kind):
    entry = make_entry(duisburg, status=Status.DRAFT)
    content = make()
    attachment = services.attachment_add(actor=hr_duisburg, entry=entry, upload=upload(name, content))
    assert (attachment.kind, attachment.size) == (kind, len(content))
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    with attachment.file.open("rb") as handle:
        assert handle.read() == content


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("x.pdf", b"<html><script>alert(1)</script></html>"),
        ("x.pdf", b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n"),
        ("x.docx", zip_bytes({"word/document.xml": b"<w/>"})),
        ("x.odt", zip_bytes({"mimetype": b"text/html", "content.xml": b"<x/>"}, first="mimetype")),
        ("x.xlsx", b"PK\x03\x04 not really a zip"),
        ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
        ("empty.pdf", b""),
    ],
)
def test_refused_documents(hr_duisburg, duisburg, name, content):
    entry = make_entry(duisburg, status=Status.DRAFT)
    with pytest.raises(ValidationError):
        services.attachment_add(actor=hr_duisburg, entry=entry, upload=upload(name, content))
    assert entry.attachments.count() == 0


def test_zip_bomb_and_large_files_are_refused(hr_duisburg, duisburg, settings):
    entry = make_entry(duisburg, status=Status.DRAFT)
    bomb = zip_bytes(
        {
            "[Content_Types].xml": b"wordprocessingml.document.main+xml",
            "word/document.xml": b"<w/>" + b" " * (120 * 1024 * 1024),
        }
    )
    with pytest.raises(ValidationError) as error:
        services.attachment_add(actor=hr_duisburg, entry=entry, upload=upload("bomb.docx", bomb))
    assert error.value.code == "too_large"
    big = b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024) + b"\n%%EOF\n"
    with pytest.raises(ValidationError) as error:
        services.attachment_add(actor=hr_duisburg, entry=entry, upload=upload("big.pdf", big))
    assert error.value.code == "too_large"


def test_upload_through_the_page_shows_the_error(client, hr_duisburg, duisburg):
    entry = make_entry(duisburg, status=Status.DRAFT)
    client.force_login(hr_duisburg)
    url = reverse("network:attachment_upload", args=[entry.pk])
    response = client.post(url, {"file": upload("evil.pdf", b"<html></html>")})
    assert response.status_code == 400
    assert "DOCX" in response.content.decode()
    # The refusal is the file field's error: announced with it (aria-invalid, aria-describedby), not above
    form = response.context["upload_form"]
    assert form.non_field_errors() == []
    assert form.errors["file"] == ["Die Datei ist kein PDF-, DOCX-, ODT- oder XLSX-Dokument."]
    assert 'aria-invalid="true"' in response.content.decode()
    response = client.post(url, {"file": upload("../../etc/plan.pdf", pdf_bytes())})
    assert response.status_code == 302
    assert entry.attachments.get().name == "plan.pdf"


# --- Search ---------------------------------------------------------------------------------------------------


def test_german_stemming_finds_inflected_words(postgres, duisburg, oberhausen):
    authority = make_entry(
        duisburg, title="Beratung in der Ausländerbehörde", what_was_done="Wartezeiten sanken."
    )
    course = make_entry(
        oberhausen,
        title="Sensibilisierung",
        field_of_action=FieldOfAction.SENSITISATION,
        summary="Eine gemeinsame Schulung mit Duisburg.",
        what_was_done="Drei Module.",
    )
    entries = PracticeEntry.objects.published()
    assert list(practice_search(entries, "Ausländerbehörden")) == [authority]
    assert list(practice_search(entries, "Schulungen")) == [course]
    assert list(practice_search(entries, "anonymisierte Bewerbungsverfahren")) == [authority]


def test_title_ranks_above_body_and_snippets_are_escaped(postgres, duisburg):
    body_hit = make_entry(
        duisburg, title="Bericht", summary="Kurz", what_was_done="Kosten & <i>Mentoring</i>"
    )
    title_hit = make_entry(duisburg, title="Mentoring für Auszubildende", what_was_done="Tandems")
    found = list(practice_search(PracticeEntry.objects.published(), "Mentoring"))
    assert found == [title_hit, body_hit]
    snippets = practice_snippets(found, "Mentoring")
    assert snippets[body_hit.pk].startswith("Kurz Kosten &amp;")
    assert "<mark>Mentoring</mark>" in snippets[body_hit.pk]
    assert "<i>" not in snippets[body_hit.pk]


def test_ranking_weighs_title_and_summary_not_the_length_of_the_text(postgres, duisburg):
    in_summary = make_entry(duisburg, title="Bericht", summary="Ein Mentoring für Auszubildende.")
    in_text = make_entry(duisburg, title="Bericht", summary="Kurz", what_was_done="Mentoring. " * 200)
    found = list(practice_search(PracticeEntry.objects.published(), "Mentoring"))
    assert found == [in_summary, in_text]
    assert (found[0].rank > 0, found[1].rank) == (True, 0)
    in_text.refresh_from_db()
    assert "mentoring" not in in_text.rank_vector and "mentoring" in in_text.search_vector


def test_an_authors_text_cannot_put_marks_into_the_snippet(postgres, duisburg):
    # The snippet's markers are private-use characters; an author may type them too.
    marker_text = f"Mentoring {selectors.START}<b>falsch</b>{selectors.STOP} Ende"
    entry = make_entry(duisburg, title="Bericht", summary="Kurz", what_was_done=marker_text)
    snippet = practice_snippets([entry], "Mentoring")[entry.pk]
    assert snippet.startswith("Kurz <mark>Mentoring</mark>")
    assert (snippet.count("<mark>"), snippet.count("</mark>"), "falsch" in snippet) == (1, 1, True)
    [row] = selectors.with_snippets(PracticeEntry.objects.filter(pk=entry.pk), "Mentoring")
    assert selectors.snippet_html(row.headline) == snippet


def test_search_pages_follow_the_ranking(postgres, duisburg, django_assert_num_queries):
    for number in range(12):
        make_entry(duisburg, title=f"Mentoring {number}", what_was_done="Tandems")
        make_entry(duisburg, title=f"Bericht {number}", what_was_done="Mentoring für alle")
    entries = practice_search(PracticeEntry.objects.published(), "Mentoring")
    ranked = list(entries)
    assert [entry.title for entry in ranked[:12]] == [f"Mentoring {number}" for number in reversed(range(12))]
    for number, expected in ((1, ranked[:20]), (2, ranked[20:]), (9, ranked[20:])):
        with django_assert_num_queries(
            2 if number < 9 else 4
        ):  # beyond the last page: counted, then the last
            page = selectors.counted_page(
                entries.all(), number, rows=lambda rows: selectors.with_snippets(rows, "Mentoring")
            )
        assert (page.paginator.count, page.paginator.num_pages, page.number) == (24, 2, min(number, 2))
        assert list(page.object_list) == expected
        snippets = [
            selectors.snippet_html(entry.headline) for entry in page if entry.title.startswith("Bericht")
        ]
        assert snippets and all("<mark>Mentoring</mark>" in snippet for snippet in snippets)


def test_the_search_index_has_no_pending_list(postgres):
    # A pending list ("fastupdate") filled by bulk loads made PostgreSQL scan the table even for rare words.
    with postgres.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'network_practice_search'")
        assert cursor.fetchone() == (["fastupdate=off"],)


def test_without_postgres_the_search_is_a_contains_search(db, duisburg, monkeypatch):
    entry = make_entry(duisburg, title="Anonymisierte Bewerbungsverfahren")
    monkeypatch.setattr(selectors, "full_text", lambda: False)
    assert list(practice_search(PracticeEntry.objects.published(), "bewerbungs")) == [entry]
    assert practice_snippets([entry], "bewerbungs") == {}


def test_search_page_highlights(client, postgres, hr_oberhausen, duisburg):
    make_entry(duisburg)
    client.force_login(hr_oberhausen)
    response = client.get(reverse("network:practice_list"), {"q": "anonymisierte Bewerbungsverfahren"})
    content = response.content.decode()
    assert "Anonymisierte Bewerbungsverfahren in der Stadtverwaltung" in content
    assert "<mark>" in content


@pytest.mark.parametrize("count", [1, 3])
def test_practice_list_queries_do_not_grow(client, hr_oberhausen, duisburg, django_assert_num_queries, count):
    for number in range(count):
        make_entry(duisburg, title=f"Anonymisierte Bewerbungsverfahren {number}")
    make_entry(duisburg, title="Entwurf", status=Status.DRAFT)
    client.force_login(hr_oberhausen)
    client.get(reverse("network:practice_list"))  # warm the session
    # session, user with roles, in-progress list, keys with the count, the page's rows with their snippets
    with django_assert_num_queries(5):
        response = client.get(reverse("network:practice_list"), {"q": "Bewerbungsverfahren"})
    assert response.status_code == 200
    assert response.content.decode().count('class="card mb-3"') == count


def test_system_actor_is_allowed(duisburg):
    assert make_entry(duisburg, status=Status.DRAFT, title="System").created_by is None
    assert SYSTEM.is_system


def test_entry_page_links_its_organisation_only_when_it_has_a_partner_page(client, ministry, hr_duisburg):
    entry = make_entry(ministry)
    client.force_login(hr_duisburg)
    html = client.get(reverse("network:practice_detail", args=[entry.pk])).text
    assert ministry.name in html
    assert reverse("network:partner_detail", args=[ministry.slug]) not in page_links(html)
    assert_links_open(client, html)


def test_a_colleague_saving_meanwhile_is_not_undone(duisburg):
    """Two of a city's HR staff edit the same draft: the second save undid the first (vielfalt.concurrency)."""
    from tests.factories import hr_user
    from tests.helpers import form_data, opened_forms

    entry = make_entry(duisburg, status=Status.DRAFT, effort="")
    url = reverse("network:practice_edit", args=[entry.pk])
    (first, mine), (second, theirs) = opened_forms(
        url, hr_user(duisburg, username="hr-duisburg-1"), hr_user(duisburg, username="hr-duisburg-2")
    )
    mine["effort"] = "Zwei Personentage"
    assert first.post(url, mine).status_code == 302
    theirs["summary"] = "Kürzer gefasst"
    response = second.post(url, theirs)
    assert "hr-duisburg-1 hat diesen Datensatz am" in response.content.decode()
    entry.refresh_from_db()
    assert entry.effort == "Zwei Personentage"
    assert entry.summary != "Kürzer gefasst"
    again = form_data(response.content.decode())
    assert again["summary"] == "Kürzer gefasst"
    assert second.post(url, again).status_code == 302


def test_a_colleague_saving_without_a_change_does_not_refuse_mine(duisburg):
    from tests.factories import hr_user
    from tests.helpers import opened_forms

    entry = make_entry(duisburg, status=Status.DRAFT, effort="")
    url = reverse("network:practice_edit", args=[entry.pk])
    (first, unchanged), (second, theirs) = opened_forms(
        url, hr_user(duisburg, username="hr-duisburg-1"), hr_user(duisburg, username="hr-duisburg-2")
    )
    assert first.post(url, unchanged).status_code == 302
    theirs["summary"] = "Kürzer gefasst"
    assert second.post(url, theirs).status_code == 302
    entry.refresh_from_db()
    assert entry.summary == "Kürzer gefasst"


def test_the_admin_names_no_other_organisations_contact_person_on_an_entry(
    client, superuser, duisburg, oberhausen
):
    """A contact person agreed to be listed for their own organisation (the entry form offers its own only, the
    service refuses another's): the admin put an Oberhausen clerk's name, e-mail and phone on Duisburg's entry."""
    from tests.helpers import form_data

    entry = make_entry(duisburg)
    theirs = services.contact_create(
        actor=SYSTEM,
        organisation=oberhausen,
        consent=True,
        name="Olga Schäfer",
        function="Personalamt",
        email="olga@oberhausen.example",
    )
    client.force_login(superuser)
    url = reverse("admin:network_practiceentry_change", args=[entry.pk])
    data = form_data(client.get(url).content.decode(), "practiceentry_form")
    data["contact"] = theirs.pk
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Die Ansprechperson gehört zu einer anderen Organisation." in response.text
    entry.refresh_from_db()
    assert entry.contact is None
