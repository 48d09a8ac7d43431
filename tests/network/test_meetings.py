"""Network meetings: registration on the core's seat engine (waiting list, promotion in strict order),
invitations with .ics, minutes for registered partners, the participants list PDF."""

import io
import re
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import formats, timezone, translation
from icalendar import Calendar
from pypdf import PdfReader

from partnerships.network import services
from partnerships.network.models import Meeting, MeetingDocument, Registration
from tests.helpers import assert_links_open, page_links
from vielfalt.models import AuditEntry, Job
from vielfalt.permissions import SYSTEM

from .conftest import make_meeting, pdf_bytes, upload

pytestmark = pytest.mark.django_db
SEATED, WAITING, CANCELLED = (
    Registration.Status.SEATED,
    Registration.Status.WAITING,
    Registration.Status.CANCELLED,
)


def register(actor, meeting, organisation, name):
    return services.registration_create(
        actor=actor,
        meeting=meeting,
        organisation=organisation,
        name=name,
        email=f"{name.lower()}@example.org",
    )


def test_waiting_list_and_promotion_in_strict_order(
    ministry, duisburg, oberhausen, hr_duisburg, hr_oberhausen, outbox, django_capture_on_commit_callbacks
):
    meeting = make_meeting(ministry, capacity=2)
    with django_capture_on_commit_callbacks(execute=True):
        first = register(hr_duisburg, meeting, duisburg, "Anna")
        register(hr_oberhausen, meeting, oberhausen, "Olga")
        waiting_1 = register(hr_duisburg, meeting, duisburg, "Dirk")
        waiting_2 = register(hr_oberhausen, meeting, oberhausen, "Oskar")
    assert [r.status for r in Registration.objects.order_by("pk")] == [SEATED, SEATED, WAITING, WAITING]
    assert (waiting_1.waiting_position, waiting_2.waiting_position) == (1, 2)
    assert [m.subject for m in outbox][-1].startswith("Warteliste")

    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        promoted = services.registration_cancel(actor=hr_duisburg, registration=first)
    assert promoted == [waiting_1]
    assert [r.status for r in Registration.objects.order_by("pk")] == [CANCELLED, SEATED, SEATED, WAITING]
    subjects = sorted(m.subject for m in outbox)
    assert subjects == sorted(
        [f"Anmeldung storniert: {meeting.title}", f"Sie haben einen Platz: {meeting.title}"]
    )
    promoted_mail = next(m for m in outbox if m.to == ["dirk@example.org"])
    name, content, mimetype = promoted_mail.attachments[0]
    event = Calendar.from_ical(content).walk("VEVENT")[0]
    assert (mimetype, str(event["STATUS"]), str(event["SUMMARY"])) == (
        "text/calendar",
        "CONFIRMED",
        meeting.title,
    )


def test_registration_rules(ministry, duisburg, oberhausen, hr_duisburg, hr_oberhausen):
    meeting = make_meeting(ministry, open_to_all=False)
    meeting.invited.set([duisburg])
    register(hr_duisburg, meeting, duisburg, "Anna")
    with pytest.raises(PermissionDenied):
        register(hr_oberhausen, meeting, oberhausen, "Olga")
    with pytest.raises(PermissionDenied):  # for another organisation
        register(hr_oberhausen, meeting, duisburg, "Olga")
    with pytest.raises(ValidationError):  # the same person twice
        register(hr_duisburg, meeting, duisburg, "Anna")
    meeting.registration_deadline = timezone.now() - timedelta(minutes=1)
    meeting.save()
    with pytest.raises(ValidationError):
        register(hr_duisburg, meeting, duisburg, "Bernd")


def test_concurrent_registrations_never_overbook(transactional_db, postgres, ministry, duisburg):
    meeting = make_meeting(ministry, capacity=3)
    errors = []

    def take(number):
        try:
            register(SYSTEM, meeting, duisburg, f"Person{number}")
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert meeting.registrations.filter(status=SEATED).count() == 3
    assert meeting.registrations.filter(status=WAITING).count() == 5


def test_registering_through_the_page(client, ministry, oberhausen, hr_oberhausen, outbox):
    meeting = make_meeting(ministry)
    client.force_login(hr_oberhausen)
    response = client.post(
        reverse("network:meeting_register", args=[meeting.pk]),
        {"organisation": oberhausen.pk, "name": "Olga Schäfer", "email": "hr-oberhausen@example.org"},
    )
    assert response.status_code == 302
    registration = Registration.objects.get()
    assert (registration.status, registration.user) == (SEATED, hr_oberhausen)
    content = client.get(meeting.get_absolute_url()).content.decode()
    assert "Olga Schäfer" in content


def test_capacity_cannot_drop_below_the_seats_taken_and_raising_it_promotes(ministry, duisburg, staff):
    meeting = make_meeting(ministry, capacity=1)
    register(SYSTEM, meeting, duisburg, "Anna")
    waiting = register(SYSTEM, meeting, duisburg, "Bernd")
    services.meeting_update(actor=staff, meeting=meeting, capacity=2)
    waiting.refresh_from_db()
    assert waiting.status == SEATED
    with pytest.raises(ValidationError):
        services.meeting_update(actor=staff, meeting=meeting, capacity=1)


def test_moving_a_meeting_tells_everyone_registered_with_a_calendar_entry_that_replaces_theirs(
    ministry, duisburg, staff, outbox, django_capture_on_commit_callbacks
):
    """Before, the change was saved and the calendar version raised, but nobody registered was told."""
    meeting = make_meeting(ministry, capacity=1)
    anna = register(SYSTEM, meeting, duisburg, "Anna")
    bernd = register(SYSTEM, meeting, duisburg, "Bernd")
    gone = register(SYSTEM, meeting, duisburg, "Carla")
    services.registration_cancel(actor=SYSTEM, registration=gone)
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_update(actor=staff, meeting=meeting, location="Köln, Rathaus")
    assert sorted(m.to[0] for m in outbox) == sorted([anna.email, bernd.email])
    for message in outbox:
        assert message.subject == f"Treffen geändert: {meeting.title}" and "Köln, Rathaus" in message.body
        (attachment,) = message.attachments
        event = Calendar.from_ical(attachment[1]).walk("VEVENT")[0]
        assert (str(event["LOCATION"]), int(event["SEQUENCE"])) == ("Köln, Rathaus", 1)
    # The agenda is not the time or place: nobody is written to.
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_update(actor=staff, meeting=meeting, agenda="Begrüßung; Austausch")
    assert outbox == []


def test_cancelling_the_meeting_cancels_every_registration(ministry, duisburg, staff, hr_duisburg):
    meeting = make_meeting(ministry, capacity=1)
    register(SYSTEM, meeting, duisburg, "Anna")
    register(SYSTEM, meeting, duisburg, "Bernd")
    with pytest.raises(PermissionDenied):
        services.meeting_cancel(actor=hr_duisburg, meeting=meeting)
    services.meeting_cancel(actor=staff, meeting=meeting)
    assert set(meeting.registrations.values_list("status", flat=True)) == {CANCELLED}
    event = Calendar.from_ical(services_ics(meeting)).walk("VEVENT")[0]
    assert str(event["STATUS"]) == "CANCELLED"


def begin(meeting):
    """Let the meeting have begun an hour ago (the clock moved on after the registrations)."""
    now = timezone.now()
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=3),
        registration_deadline=now - timedelta(days=1),
    )
    meeting.refresh_from_db()
    return meeting


def test_an_organisation_whose_people_registered_stays_invited(ministry, duisburg, oberhausen, staff):
    """The host narrowed the invitation (or closed the meeting to those invited) after Duisburg's people had
    registered: they kept their seats for a meeting their organisation may no longer take part in, and nobody told
    them."""
    meeting = make_meeting(ministry, open_to_all=False, invited=[duisburg, oberhausen])
    anna = register(SYSTEM, meeting, duisburg, "Anna")
    with pytest.raises(ValidationError, match="Stadt Duisburg") as refused:
        services.meeting_update(actor=staff, meeting=meeting, invited=[oberhausen])
    assert list(refused.value.message_dict) == ["invited"]
    assert set(meeting.invited.all()) == {duisburg, oberhausen}
    services.meeting_update(actor=staff, meeting=meeting, invited=[duisburg])  # Oberhausen had nobody

    open_meeting = make_meeting(ministry, open_to_all=True)
    register(SYSTEM, open_meeting, oberhausen, "Olga")
    with pytest.raises(ValidationError, match="Stadt Oberhausen"):
        services.meeting_update(actor=staff, meeting=open_meeting, open_to_all=False, invited=[duisburg])
    open_meeting.refresh_from_db()
    assert open_meeting.open_to_all

    services.registration_cancel(actor=staff, registration=anna)
    services.meeting_update(actor=staff, meeting=meeting, invited=[oberhausen])
    assert list(meeting.invited.all()) == [oberhausen]


def test_a_change_to_a_meeting_under_way_tells_those_there_and_one_held_nobody(
    ministry, duisburg, staff, outbox, django_capture_on_commit_callbacks
):
    """The host correcting the room of a meeting held last week e-mailed every registered person a "changed"
    meeting with a calendar entry, the waiting list too, who could no longer move up."""
    meeting = make_meeting(ministry, capacity=1)
    anna, bernd = register(SYSTEM, meeting, duisburg, "Anna"), register(SYSTEM, meeting, duisburg, "Bernd")
    assert bernd.status == WAITING
    begin(meeting)
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # under way: to the rooms after the break
        services.meeting_update(actor=staff, meeting=meeting, location="Köln, Rathaus, Raum 2")
    assert [(m.to[0], m.subject) for m in outbox] == [(anna.email, f"Treffen geändert: {meeting.title}")]

    week = timedelta(days=7)
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=meeting.starts_at - week,
        ends_at=meeting.ends_at - week,
        registration_deadline=meeting.registration_deadline - week,
    )
    meeting.refresh_from_db()
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_update(actor=staff, meeting=meeting, location="Köln, Rathaus, Raum 3")
    assert outbox == []
    meeting.refresh_from_db()
    assert meeting.location == "Köln, Rathaus, Raum 3"


def test_a_meeting_is_a_record_from_its_start(
    client,
    ministry,
    duisburg,
    oberhausen,
    staff,
    hr_duisburg,
    hr_oberhausen,
    outbox,
    django_capture_on_commit_callbacks,
):
    """Cancelling a registration after the meeting moved the first on the waiting list up into it (with an
    e-mail offering a seat at a meeting already held) and gave that organisation the minutes, while the one that
    took part lost them; the host could cancel a meeting held last week and tell everyone so."""
    meeting = make_meeting(ministry, capacity=1)
    anna = register(hr_duisburg, meeting, duisburg, "Anna")
    register(hr_oberhausen, meeting, oberhausen, "Olga")
    begin(meeting)
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for actor in (hr_duisburg, staff):
            with pytest.raises(ValidationError, match="begonnen|begun"):
                services.registration_cancel(actor=actor, registration=anna)
        with pytest.raises(PermissionDenied):  # who may not is told so first
            services.registration_cancel(actor=hr_oberhausen, registration=anna)
        with pytest.raises(ValidationError, match="begonnen|begun"):
            services.meeting_cancel(actor=staff, meeting=meeting)
        services.meeting_update(actor=staff, meeting=meeting, capacity=2)  # a place more: nobody moves up
    assert outbox == []
    assert dict(meeting.registrations.values_list("name", "status")) == {"Anna": SEATED, "Olga": WAITING}
    later = timezone.now() + timedelta(days=7)
    with pytest.raises(ValidationError, match="begonnen|begun") as refused:  # it would un-begin it
        services.meeting_update(
            actor=staff, meeting=meeting, starts_at=later, ends_at=later + timedelta(hours=2)
        )
    assert list(refused.value.message_dict) == ["starts_at"]
    meeting.refresh_from_db()
    assert not meeting.is_cancelled
    assert services.may_read_documents(hr_duisburg, meeting)
    assert not services.may_read_documents(hr_oberhausen, meeting)
    client.force_login(staff)
    form = client.get(reverse("network:meeting_edit", args=[meeting.pk])).context["form"]
    assert [name for name, field in form.fields.items() if field.disabled] == [
        "starts_at",
        "registration_deadline",
    ]
    html = client.get(meeting.get_absolute_url()).text
    assert reverse("network:meeting_cancel", args=[meeting.pk]) not in html
    assert reverse("network:registration_cancel", args=[meeting.pk, anna.pk]) not in html
    response = client.post(
        reverse("network:meeting_cancel", args=[meeting.pk]), headers={"accept-language": "de"}, follow=True
    )
    assert "Ein Netzwerktreffen, das begonnen hat, kann nicht mehr abgesagt werden." in response.text


def services_ics(meeting):
    from partnerships.network.ical import meeting_ics

    meeting.refresh_from_db()
    return meeting_ics(meeting)


def test_ics_download(client, ministry, hr_oberhausen):
    meeting = make_meeting(ministry, title="Fachtag, Düsseldorf; 2026")
    client.force_login(hr_oberhausen)
    response = client.get(reverse("network:meeting_ics", args=[meeting.pk]))
    assert response["Content-Type"].startswith("text/calendar")
    event = Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Fachtag, Düsseldorf; 2026"
    assert event.decoded("DTSTART") == meeting.starts_at.replace(microsecond=0)


def test_minutes_for_registered_partners_only(
    client, ministry, duisburg, oberhausen, staff, hr_duisburg, hr_oberhausen
):
    meeting = make_meeting(ministry)
    register(SYSTEM, meeting, duisburg, "Anna")
    document = services.meeting_document_add(
        actor=staff,
        meeting=meeting,
        kind=MeetingDocument.Kind.MINUTES,
        upload=upload("Protokoll.pdf", pdf_bytes()),
    )
    with pytest.raises(PermissionDenied):
        services.meeting_document_add(
            actor=hr_duisburg, meeting=meeting, kind="material", upload=upload("x.pdf", pdf_bytes())
        )
    url = reverse("network:meeting_document_download", args=[meeting.pk, document.pk])
    client.force_login(hr_duisburg)
    assert client.get(url).status_code == 200
    assert "Protokoll.pdf" in client.get(meeting.get_absolute_url()).content.decode()
    client.force_login(hr_oberhausen)
    assert client.get(url).status_code == 404
    assert "Protokoll.pdf" not in client.get(meeting.get_absolute_url()).content.decode()


def test_refused_meeting_document_is_the_file_fields_error(client, ministry, staff):
    meeting = make_meeting(ministry)
    client.force_login(staff)
    response = client.post(
        reverse("network:meeting_document_upload", args=[meeting.pk]),
        {"kind": "minutes", "file": upload("protokoll.pdf", b"kein PDF")},
    )
    assert response.status_code == 400
    form = response.context["document_form"]
    assert form.non_field_errors() == []
    assert list(form.errors) == ["file"]
    assert not meeting.documents.exists()


def test_meeting_documents_are_bounded_and_a_cancelled_meeting_takes_none(
    client, ministry, staff, monkeypatch
):
    """Minutes and materials had no limit in number and could still be uploaded to a cancelled meeting."""
    monkeypatch.setattr(services, "MEETING_MAX_DOCUMENTS", 2, raising=False)
    meeting = make_meeting(ministry)
    for name in ("Protokoll.pdf", "Folien.pdf"):
        services.meeting_document_add(
            actor=staff, meeting=meeting, kind="material", upload=upload(name, pdf_bytes())
        )
    with pytest.raises(ValidationError, match="höchstens 2 Dokumente"):
        services.meeting_document_add(
            actor=staff, meeting=meeting, kind="material", upload=upload("Mehr.pdf", pdf_bytes())
        )
    other = make_meeting(ministry)
    services.meeting_cancel(actor=staff, meeting=other)
    client.force_login(staff)
    response = client.post(
        reverse("network:meeting_document_upload", args=[other.pk]),
        {"kind": "minutes", "file": upload("protokoll.pdf", pdf_bytes())},
    )
    assert response.status_code == 400
    assert response.context["document_form"].errors["file"] == [
        "Das Treffen wurde abgesagt: Es nimmt weder Protokolle noch Materialien auf."
    ]
    assert meeting.documents.count() == 2 and not other.documents.exists()
    assert client.get(other.get_absolute_url()).context["document_form"] is None


def test_other_organisations_registrations_are_not_shown_or_cancelled(
    client, ministry, duisburg, hr_oberhausen
):
    meeting = make_meeting(ministry)
    registration = register(SYSTEM, meeting, duisburg, "Anna")
    client.force_login(hr_oberhausen)
    assert "Anna" not in client.get(meeting.get_absolute_url()).content.decode()
    url = reverse("network:registration_cancel", args=[meeting.pk, registration.pk])
    assert client.post(url).status_code == 404
    registration.refresh_from_db()
    assert registration.status == SEATED


def test_registration_mails_in_each_registrations_language(
    ministry, duisburg, hr_duisburg, outbox, django_capture_on_commit_callbacks
):
    meeting = make_meeting(ministry, capacity=1)
    with django_capture_on_commit_callbacks(execute=True):
        first = register(hr_duisburg, meeting, duisburg, "Anna")  # registered from a German page
        with translation.override("en"):
            register(hr_duisburg, meeting, duisburg, "Dirk")  # from an English page: the waiting list
    assert [m.subject for m in outbox] == [f"Angemeldet: {meeting.title}", f"Waiting list: {meeting.title}"]
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.registration_cancel(actor=hr_duisburg, registration=first)
    assert sorted(m.subject for m in outbox) == [
        f"Anmeldung storniert: {meeting.title}",
        f"You have a seat: {meeting.title}",
    ]


def test_participants_list_pdf(
    client, ministry, duisburg, oberhausen, staff, hr_duisburg, django_capture_on_commit_callbacks
):
    meeting = make_meeting(ministry, title="Netzwerktreffen Düsseldorf")
    register(SYSTEM, meeting, duisburg, "Anna")
    register(SYSTEM, meeting, oberhausen, "Olga")
    client.force_login(hr_duisburg)
    assert client.post(reverse("network:meeting_participants", args=[meeting.pk])).status_code == 404
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("network:meeting_participants", args=[meeting.pk]))
    job = Job.objects.get()
    assert response["Location"] == job.get_absolute_url()
    assert job.status == Job.Status.READY
    with job.result_file.open("rb") as handle:
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(handle.read())).pages)
    assert "Netzwerktreffen Düsseldorf" in " ".join(text.split())
    assert "Anna" in text and "Olga" in text and "Stadt Oberhausen" in text


@pytest.mark.parametrize(
    ("language", "words", "file_name"),
    [
        (
            "de",
            ["Teilnehmendenliste: Netzwerktreffen", "Gastgeber", "Unterschrift"],
            "teilnehmende-netzwerktreffen",
        ),
        ("en", ["Participants list: Netzwerktreffen", "Host", "Signature"], "participants-network-meeting"),
    ],
)
def test_participants_list_in_the_requesters_language(
    client, ministry, duisburg, staff, django_capture_on_commit_callbacks, language, words, file_name
):
    meeting = make_meeting(ministry, title="Netzwerktreffen Düsseldorf")
    register(SYSTEM, meeting, duisburg, "Anna")
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("network:meeting_participants", args=[meeting.pk]), HTTP_ACCEPT_LANGUAGE=language)
    job = Job.objects.get()
    with job.result_file.open("rb") as handle:
        text = " ".join(
            "".join(page.extract_text() for page in PdfReader(io.BytesIO(handle.read())).pages).split()
        )
    assert [word in text for word in words] == [True, True, True]
    assert job.result_name == f"{file_name}-{meeting.pk}.pdf"
    # every date in the reader's format, the letterhead's date of the document too
    date_format = "%d.%m.%Y" if language == "de" else "%Y-%m-%d"
    dates = set(re.findall(r"\d\d[./]\d\d[./]\d{4}|\d{4}-\d\d-\d\d", text))
    assert dates == {timezone.localtime(meeting.starts_at).strftime(date_format)}


def test_english_meeting_page_has_one_date_format(client, ministry, staff):
    meeting = make_meeting(ministry)
    client.force_login(staff)
    html = client.get(meeting.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    starts_at = timezone.localtime(meeting.starts_at)
    with translation.override("en"):
        short, long = (formats.date_format(starts_at, name) for name in ("SHORT_DATE_FORMAT", "DATE_FORMAT"))
    assert (short in html, long in html) == (True, False)


def test_meeting_page_links_the_host_only_when_it_has_a_partner_page(
    client, ministry, duisburg, staff, hr_duisburg
):
    """The ministry hosts meetings but has no partner page: its name is text, and every link opens."""
    by_ministry, by_partner = make_meeting(ministry), make_meeting(duisburg)
    partner_page = reverse("network:partner_detail", args=[duisburg.slug])
    for user in (staff, hr_duisburg):
        client.force_login(user)
        html = client.get(by_ministry.get_absolute_url()).text
        assert ministry.name in html
        assert reverse("network:partner_detail", args=[ministry.slug]) not in page_links(html)
        assert_links_open(client, html)
        html = client.get(by_partner.get_absolute_url()).text
        assert partner_page in page_links(html)
        assert_links_open(client, html)


def test_a_colleague_saving_meanwhile_is_not_undone(duisburg):
    """Two of the host's staff edit one meeting: the second save undid the first (another room, and the calendar
    update its registrants had been sent). The meeting's calendar version is what the form compares."""
    from partnerships.network.models import Meeting
    from tests.factories import hr_user
    from tests.helpers import form_data, opened_forms

    meeting = make_meeting(duisburg, capacity=10)
    url = reverse("network:meeting_edit", args=[meeting.pk])
    (first, mine), (second, theirs) = opened_forms(
        url, hr_user(duisburg, username="hr-duisburg-1"), hr_user(duisburg, username="hr-duisburg-2")
    )
    mine["location"] = "Rathaus Duisburg, Ratssaal"
    assert first.post(url, mine).status_code == 302
    theirs["capacity"] = "30"
    response = second.post(url, theirs)
    assert "hr-duisburg-1 hat diesen Datensatz am" in response.content.decode()
    meeting.refresh_from_db()
    assert (meeting.location, meeting.capacity) == ("Rathaus Duisburg, Ratssaal", 10)
    again = form_data(response.content.decode())
    assert again["capacity"] == "30"
    assert second.post(url, again).status_code == 302
    assert Meeting.objects.get(pk=meeting.pk).capacity == 30


def test_a_colleague_inviting_another_partner_meanwhile_is_not_undone(duisburg, oberhausen):
    """The invited organisations alone changed: the meeting's version still changes (and the audit log says so),
    so that a colleague's form opened before cannot take the invitation back."""
    from partnerships.network.models import Meeting
    from tests.factories import hr_user
    from tests.helpers import form_data, logged_in, opened_forms
    from vielfalt.models import AuditEntry

    meeting = make_meeting(duisburg, capacity=10, open_to_all=False)
    url = reverse("network:meeting_edit", args=[meeting.pk])
    host = logged_in(hr_user(duisburg, username="hr-duisburg-0"))
    # Once through the form: make_meeting's times have seconds, which the form's minutes drop (a change).
    assert host.post(url, form_data(host.get(url).content.decode())).status_code == 302
    (first, mine), (second, theirs) = opened_forms(
        url, hr_user(duisburg, username="hr-duisburg-1"), hr_user(duisburg, username="hr-duisburg-2")
    )
    mine["invited"] = [str(oberhausen.pk)]
    assert first.post(url, mine).status_code == 302
    entry = AuditEntry.objects.filter(object_id=str(meeting.pk), action=AuditEntry.Action.CHANGE).latest("at")
    assert entry.changes == {"invited": [[], [oberhausen.name]]}

    theirs["capacity"] = "30"
    assert "hr-duisburg-1 hat diesen Datensatz am" in second.post(url, theirs).content.decode()
    assert list(Meeting.objects.get(pk=meeting.pk).invited.all()) == [oberhausen]


def test_a_cancelled_meeting_has_no_participants_list(
    client, ministry, duisburg, staff, django_capture_on_commit_callbacks
):
    """Offered and made for a cancelled meeting: a list with nobody on it; and a list asked for before the
    cancellation, its job run after it, made the same."""
    meeting = make_meeting(ministry, title="Netzwerktreffen Düsseldorf")
    register(SYSTEM, meeting, duisburg, "Anna")
    with django_capture_on_commit_callbacks() as callbacks:
        asked_before = services.participants_pdf_job(actor=staff, meeting=meeting)
    services.meeting_cancel(actor=staff, meeting=meeting)
    for callback in callbacks:  # the job runs now
        callback()
    asked_before.refresh_from_db()
    assert (asked_before.status, asked_before.error) == (
        "failed",
        "Ein abgesagtes Treffen hat keine Teilnehmendenliste.",
    )

    client.force_login(staff)
    url = reverse("network:meeting_participants", args=[meeting.pk])
    assert url not in client.get(meeting.get_absolute_url()).text
    response = client.post(url, follow=True)
    assert "Ein abgesagtes Treffen hat keine Teilnehmendenliste." in response.text
    assert Job.objects.count() == 1


def test_cancelling_a_registration_asks_first(client, ministry, duisburg, hr_duisburg):
    """One click cancelled a colleague's registration, for good: the seat went to the next on the waiting list."""
    meeting = make_meeting(ministry)
    services.registration_create(
        actor=SYSTEM, meeting=meeting, organisation=duisburg, name='Anna "<b>" Kaya', email="anna@example.org"
    )
    client.force_login(hr_duisburg)
    page = client.get(meeting.get_absolute_url()).text
    assert (
        'data-confirm="Die Anmeldung von Anna &quot;&lt;b&gt;&quot; Kaya wirklich stornieren? Der Platz geht an die '
        'nächste Person auf der Warteliste."' in page
    )


def test_a_registration_e_mail_goes_out_only_while_what_it_says_still_holds(
    ministry, duisburg, hr_duisburg, outbox, django_capture_on_commit_callbacks
):
    """The "registered" e-mail waited in the queue (or for a retry after the mail server failed) while the
    registration was cancelled: it went out after the cancellation's, telling of a seat and a CONFIRMED calendar
    entry the person no longer had."""
    from partnerships.network.tasks import task_send_registration_mails

    meeting = make_meeting(ministry, capacity=2)
    # Registered, its e-mail not sent yet (the commit's callbacks not run).
    with django_capture_on_commit_callbacks(execute=False):
        anna = register(hr_duisburg, meeting, duisburg, "Anna")
    with django_capture_on_commit_callbacks(execute=True):
        services.registration_cancel(actor=hr_duisburg, registration=anna)
    assert [message.subject for message in outbox] == [f"Anmeldung storniert: {meeting.title}"]
    # Now the queued e-mail goes out: nothing is sent.
    assert task_send_registration_mails(registration_ids=[anna.pk], event="registered") == 0
    assert task_send_registration_mails(registration_ids=[anna.pk], event="changed") == 0
    assert len(outbox) == 1
    # What still holds is sent.
    assert task_send_registration_mails(registration_ids=[anna.pk], event="cancelled") == 1


def test_a_meeting_is_not_changed_or_cancelled_in_the_admin(
    client, superuser, ministry, duisburg, hr_duisburg
):
    """Saved in the Django admin, a meeting "cancelled" (or moved, or given more seats) kept its people registered,
    told nobody and moved nobody up: the admin only shows it; its own page changes it."""
    meeting = make_meeting(ministry, capacity=1)
    seated = register(hr_duisburg, meeting, duisburg, "Anna")
    client.force_login(superuser)
    url = reverse("admin:network_meeting_change", args=[meeting.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    when = timezone.localtime(meeting.starts_at)
    data = {
        "host": ministry.pk,
        "kind": meeting.kind,
        "title": meeting.title,
        "agenda": meeting.agenda,
        "starts_at_0": when.strftime("%d.%m.%Y"),
        "starts_at_1": "09:00:00",
        "ends_at_0": when.strftime("%d.%m.%Y"),
        "ends_at_1": "16:00:00",
        "location": "Köln",
        "capacity": "40",
        "registration_deadline_0": when.strftime("%d.%m.%Y"),
        "registration_deadline_1": "08:00:00",
        "cancelled_at_0": when.strftime("%d.%m.%Y"),
        "cancelled_at_1": "07:00:00",
        "sequence": "0",
    }
    assert client.post(url, data).status_code == 403
    meeting.refresh_from_db()
    seated.refresh_from_db()
    assert (meeting.location, meeting.capacity, meeting.cancelled_at) == ("Düsseldorf", 1, None)
    assert seated.status == SEATED
    # An administrator changes it on the meeting's own page.
    assert client.get(reverse("network:meeting_edit", args=[meeting.pk])).status_code == 200


def test_a_meeting_is_not_added_or_deleted_in_the_admin(client, superuser, ministry, duisburg, hr_duisburg):
    """Deleted in the admin, a meeting took its registrations with it: the people registered were told nothing and
    kept its entry in their calendars (its own page cancels it and tells them). Added there, it skipped the
    meeting's checks: one with neither place nor link, taking registrations after it began, was announced."""
    meeting = make_meeting(ministry, capacity=1)
    seated = register(hr_duisburg, meeting, duisburg, "Anna")
    client.force_login(superuser)
    delete = reverse("admin:network_meeting_delete", args=[meeting.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [meeting.pk], "post": "yes"}
    client.post(reverse("admin:network_meeting_changelist"), bulk)
    assert Registration.objects.filter(pk=seated.pk).exists()
    data = {
        "host": ministry.pk,
        "kind": meeting.kind,
        "title": "Rückwärts",
        "agenda": "–",
        "starts_at_0": "02.01.2030",
        "starts_at_1": "09:00:00",
        "ends_at_0": "02.01.2030",
        "ends_at_1": "16:00:00",
        "location": "",
        "capacity": "10",
        "registration_deadline_0": "03.01.2030",
        "registration_deadline_1": "09:00:00",
        "sequence": "0",
        "registrations-TOTAL_FORMS": "0",
        "registrations-INITIAL_FORMS": "0",
    }
    assert client.post(reverse("admin:network_meeting_add"), data).status_code == 403
    assert not Meeting.objects.filter(title="Rückwärts").exists()


def test_a_deactivated_account_gives_up_its_own_registrations_for_meetings_to_come(
    client, superuser, ministry, duisburg, hr_duisburg, outbox, django_capture_on_commit_callbacks
):
    """An account deactivated in the admin kept the seats it had registered for itself until someone cancelled
    them: the waiting list lost them. Now its own registrations for meetings not yet begun are cancelled (with
    their e-mails and audit entries) and the first waiting moves up; the colleagues it registered keep theirs."""
    from tests.factories import hr_user
    from tests.helpers import form_data
    from vielfalt.models import AuditEntry

    leaver = hr_user(duisburg, username="geht", email="geht@example.org")
    meeting = make_meeting(ministry, capacity=2)
    own = services.registration_create(
        actor=leaver, meeting=meeting, organisation=duisburg, name="Geht", email=leaver.email, user=leaver
    )
    colleague = register(leaver, meeting, duisburg, "Kollegin")
    waiting = register(hr_duisburg, meeting, duisburg, "Wartet")
    begun = make_meeting(ministry)
    kept = services.registration_create(
        actor=leaver, meeting=begun, organisation=duisburg, name="Geht", email=leaver.email, user=leaver
    )
    Meeting.objects.filter(pk=begun.pk).update(starts_at=timezone.now() - timedelta(hours=1))
    outbox.clear()

    client.force_login(superuser)
    url = reverse("admin:vielfalt_user_change", args=[leaver.pk])
    data = form_data(client.get(url).content.decode(), "user_form")
    data.pop("is_active")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, data).status_code == 302
    statuses = dict(Registration.objects.values_list("pk", "status"))
    assert [statuses[r.pk] for r in (own, colleague, waiting, kept)] == [CANCELLED, SEATED, SEATED, SEATED]
    assert sorted((m.to[0], m.subject) for m in outbox) == [
        ("geht@example.org", f"Anmeldung storniert: {meeting.title}"),
        ("wartet@example.org", f"Sie haben einen Platz: {meeting.title}"),
    ]
    assert AuditEntry.objects.filter(object_id=str(own.pk), changes__status=[SEATED, CANCELLED]).exists()


def test_the_purge_of_unused_accounts_ends_their_own_registrations(
    settings, ministry, duisburg, hr_duisburg, outbox, django_capture_on_commit_callbacks
):
    from tests.factories import hr_user
    from vielfalt.models import User
    from vielfalt.programme.privacy import purge

    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "dormant": 365, "dormant_notice": 0}
    unused = hr_user(duisburg, username="ungenutzt", email="ungenutzt@example.org")
    meeting = make_meeting(ministry, capacity=1)
    own = services.registration_create(
        actor=unused,
        meeting=meeting,
        organisation=duisburg,
        name="Ungenutzt",
        email=unused.email,
        user=unused,
    )
    waiting = register(hr_duisburg, meeting, duisburg, "Wartet")
    long_ago = timezone.now() - timedelta(days=400)
    User.objects.filter(pk=unused.pk).update(date_joined=long_ago, last_login=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        purge(actor=SYSTEM)
    own.refresh_from_db()
    waiting.refresh_from_db()
    assert (own.status, waiting.status) == (CANCELLED, SEATED)


def test_the_purges_preview_counts_the_cancellations_it_writes(
    settings, ministry, duisburg, outbox, django_capture_on_commit_callbacks
):
    """A purge --as-of a later day deactivates unused accounts, whose registrations for meetings not yet begun
    are cancelled, each with an audit entry that is due in the same run: the preview left those entries out."""
    from tests.factories import hr_user
    from vielfalt.programme.privacy import purge

    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "dormant": 365, "dormant_notice": 0}
    unused = hr_user(duisburg, username="ungenutzt", email="ungenutzt@example.org")
    for title in ("Fachtag", "Netzwerktreffen"):
        services.registration_create(
            actor=unused,
            meeting=make_meeting(ministry, title=title),
            organisation=duisburg,
            name="Ungenutzt",
            email=unused.email,
            user=unused,
        )
    later = timezone.now() + timedelta(days=settings.RETENTION_PERIODS["audit"] + 1)
    preview = purge(actor=SYSTEM, now=later, dry_run=True)
    with django_capture_on_commit_callbacks(execute=True):
        counts = purge(actor=SYSTEM, now=later)
    assert Registration.objects.filter(status=CANCELLED).count() == 2
    assert preview == counts


def test_an_employee_who_left_gives_up_the_registrations_hr_made_by_e_mail_address(
    client, ministry, duisburg, oberhausen, hr_duisburg, outbox, django_capture_on_commit_callbacks
):
    """HR registered a colleague by e-mail address; when the colleague leaves the organisation (HR marks the
    employee inactive), the registration for a meeting not yet begun is cancelled and the first waiting moves up.
    Another organisation's registration with the same address stays."""
    from tests.factories import EmployeeFactory
    from vielfalt.services import employee_deactivate

    employee = EmployeeFactory(organisation=duisburg, email="Kai.Leaver@Example.org")
    meeting = make_meeting(ministry, capacity=1)
    registration = services.registration_create(
        actor=hr_duisburg, meeting=meeting, organisation=duisburg, name="Kai", email="kai.leaver@example.org"
    )
    waiting = register(hr_duisburg, meeting, duisburg, "Wartet")
    elsewhere = services.registration_create(
        actor=SYSTEM,
        meeting=make_meeting(ministry),
        organisation=oberhausen,
        name="Kai",
        email="kai.leaver@example.org",
    )
    with django_capture_on_commit_callbacks(execute=True):
        employee_deactivate(actor=hr_duisburg, employee=employee)
    for row in (registration, waiting, elsewhere):
        row.refresh_from_db()
    assert (registration.status, waiting.status, elsewhere.status) == (CANCELLED, SEATED, SEATED)
    assert {m.subject for m in outbox} >= {
        f"Anmeldung storniert: {meeting.title}",
        f"Sie haben einen Platz: {meeting.title}",
    }


def test_an_account_whose_role_is_withdrawn_gives_up_its_own_registrations_of_that_organisation(
    client, superuser, ministry, duisburg, hr_duisburg, outbox, django_capture_on_commit_callbacks
):
    """An administrator withdrew Duisburg's HR role from an account (its holder left the personnel office): the
    seat it had registered for itself as one of Duisburg stayed taken, and nobody at Duisburg could see it."""
    from tests.factories import hr_user
    from tests.helpers import form_data

    leaver = hr_user(duisburg, username="wechselt", email="wechselt@example.org")
    meeting = make_meeting(ministry, capacity=1)
    own = services.registration_create(
        actor=leaver, meeting=meeting, organisation=duisburg, name="Wechselt", email=leaver.email, user=leaver
    )
    waiting = register(hr_duisburg, meeting, duisburg, "Wartet")
    client.force_login(superuser)
    url = reverse("admin:vielfalt_user_change", args=[leaver.pk])
    data = form_data(client.get(url).content.decode(), "user_form")
    data["memberships-0-DELETE"] = "on"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, data).status_code == 302
    assert not leaver.memberships.exists()
    for row in (own, waiting):
        row.refresh_from_db()
    assert (own.status, waiting.status) == (CANCELLED, SEATED)


def test_host_removes_a_meeting_document_uploaded_by_mistake(
    client,
    ministry,
    duisburg,
    staff,
    hr_duisburg,
    hr_oberhausen,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    """A document uploaded by mistake kept its place among the MEETING_MAX_DOCUMENTS for good: nobody could
    remove it."""
    monkeypatch.setattr(services, "MEETING_MAX_DOCUMENTS", 1, raising=False)
    meeting = make_meeting(ministry)
    register(SYSTEM, meeting, duisburg, "Anna")
    wrong = services.meeting_document_add(
        actor=staff, meeting=meeting, kind="minutes", upload=upload("Falsch.pdf", pdf_bytes())
    )
    storage, name = wrong.file.storage, wrong.file.name
    url = reverse("network:meeting_document_delete", args=[meeting.pk, wrong.pk])
    for other in (hr_duisburg, hr_oberhausen):  # a registered partner reads it, but neither removes it
        client.force_login(other)
        assert client.post(url).status_code == 404
        assert f'action="{url}"' not in client.get(meeting.get_absolute_url()).content.decode()
    assert MeetingDocument.objects.filter(pk=wrong.pk).exists()

    client.force_login(staff)
    page = client.get(meeting.get_absolute_url()).content.decode()
    assert f'action="{url}" data-confirm="Falsch.pdf wirklich entfernen?' in page
    assert client.get(url).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)
    assert "Das Dokument wurde entfernt." in response.content.decode()
    assert not MeetingDocument.objects.filter(pk=wrong.pk).exists()
    assert not storage.exists(name)
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.DELETE, object_id=str(wrong.pk), actor=staff, organisation=ministry
    ).exists()
    services.meeting_document_add(  # the place is free again
        actor=staff, meeting=meeting, kind="minutes", upload=upload("Protokoll.pdf", pdf_bytes())
    )


def test_the_admins_deactivate_action_ends_the_accounts_own_registrations(
    client, superuser, ministry, duisburg, hr_duisburg, outbox, django_capture_on_commit_callbacks
):
    """The admin deactivates accounts (its delete is gone) with the action as with the field "active"."""
    from tests.factories import hr_user

    leaver = hr_user(duisburg, username="geht", email="geht@example.org")
    meeting = make_meeting(ministry, capacity=1)
    own = services.registration_create(
        actor=leaver, meeting=meeting, organisation=duisburg, name="Geht", email=leaver.email, user=leaver
    )
    waiting = register(hr_duisburg, meeting, duisburg, "Wartet")
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:vielfalt_user_changelist"),
            {"action": "deactivate", "_selected_action": [leaver.pk]},
        )
    assert response.status_code == 302
    own.refresh_from_db()
    waiting.refresh_from_db()
    assert (own.status, waiting.status) == (CANCELLED, SEATED)
