"""A one-line text (a title, a name, a place) stays on one line. A browser's input takes no line break, but a
request made by hand can send one: a meeting's title with "\r\n" broke every registration mail (Python refuses an
e-mail header with a line break), and a question's title the mail about its answers."""

import inspect
from datetime import timedelta

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone

import partnerships.forms
import partnerships.network.forms
import surveys.forms
import trainings.forms
import vielfalt.forms
import vielfalt.second_factor
from partnerships.network import services
from partnerships.network.models import FieldOfAction, Meeting, Question
from vielfalt.permissions import SYSTEM
from vielfalt.validation import ModelForm, OneLineField, is_one_line_text

from .conftest import make_meeting

pytestmark = pytest.mark.django_db

CRAFTED = "Netzwerktreffen \r\nBcc: alle@example.org\r\n\r\nX-Priority: 1"
ONE_LINE = "Netzwerktreffen Bcc: alle@example.org X-Priority: 1"


def test_a_title_sent_with_line_breaks_is_stored_on_one_line_and_its_mails_go_out(
    client, ministry, duisburg, hr_duisburg, outbox, django_capture_on_commit_callbacks
):
    client.force_login(hr_duisburg)
    starts = timezone.localtime() + timedelta(days=20)
    response = client.post(
        reverse("network:meeting_create"),
        {
            "organisation": duisburg.pk,
            "kind": Meeting.Kind.MEETING,
            "title": CRAFTED,
            "agenda": "Begrüßung\r\nAustausch",  # a text area keeps its lines
            "starts_at": starts.strftime("%Y-%m-%dT10:00"),
            "ends_at": starts.strftime("%Y-%m-%dT12:00"),
            "location": "Rathaus\nRaum 1",
            "capacity": 10,
            "registration_deadline": (starts - timedelta(days=5)).strftime("%Y-%m-%dT10:00"),
            "open_to_all": "on",
            "fields_of_action": [FieldOfAction.SENSITISATION],
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    meeting = Meeting.objects.get()
    assert (meeting.title, meeting.location, meeting.agenda) == (
        ONE_LINE,
        "Rathaus Raum 1",
        "Begrüßung\r\nAustausch",
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("network:meeting_register", args=[meeting.pk]),
            {"organisation": duisburg.pk, "name": "Dirk\r\nSchäfer", "email": "dirk@example.org"},
        )
    assert response.status_code == 302
    assert meeting.registrations.get().name == "Dirk Schäfer"
    assert [(m.to, m.subject) for m in outbox] == [(["dirk@example.org"], f"Angemeldet: {ONE_LINE}")]
    assert [h for h in outbox[0].message() if h.lower() in ("bcc", "x-priority")] == []


def test_a_question_sent_with_line_breaks_is_stored_on_one_line(client, duisburg, hr_duisburg):
    client.force_login(hr_duisburg)
    response = client.post(
        reverse("network:question_create"),
        {"organisation": duisburg.pk, "title": "Wie\r\ngeht das?", "body": "Zeile 1\r\nZeile 2"},
    )
    assert response.status_code == 302
    assert Question.objects.values_list("title", "body").get() == ("Wie geht das?", "Zeile 1\r\nZeile 2")


def test_a_title_stored_with_a_line_break_still_gets_its_mails_out(
    ministry, duisburg, outbox, django_capture_on_commit_callbacks
):
    """Stored before the forms kept titles on one line, or typed into the admin: the subject is one line."""
    meeting = make_meeting(ministry, title="Treffen\r\nBcc: alle@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        services.registration_create(
            actor=SYSTEM, meeting=meeting, organisation=duisburg, name="Anna", email="anna@example.org"
        )
    assert [m.subject for m in outbox] == ["Angemeldet: Treffen Bcc: alle@example.org"]


def _project_forms():
    modules = (
        vielfalt.forms,
        vielfalt.second_factor,
        partnerships.forms,
        partnerships.network.forms,
        trainings.forms,
        surveys.forms,
    )
    for module in modules:
        for _name, form_class in inspect.getmembers(module, inspect.isclass):
            if issubclass(form_class, forms.BaseForm) and form_class.__module__ == module.__name__:
                yield form_class


def test_every_one_line_input_of_a_form_keeps_its_text_on_one_line():
    """A plain form's text field is a OneLineField; a model form's (vielfalt.validation.ModelForm) becomes one."""
    plain = []
    for form_class in _project_forms():
        if issubclass(form_class, forms.ModelForm):
            assert issubclass(form_class, ModelForm), form_class
            continue
        plain.extend(
            f"{form_class.__name__}.{name}"
            for name, field in form_class.base_fields.items()
            if is_one_line_text(field)
        )
    assert plain == []
    assert OneLineField().clean("  Treffen \r\n\u2028 in Duisburg ") == "Treffen in Duisburg"
