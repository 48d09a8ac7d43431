"""Forms speak to the person filling them in: constraint violations as sentences at their field, every problem
of a submission at once, each once; German select placeholders; no past dates for new things; no silent
truncation."""

import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.db.models import BaseConstraint
from django.urls import reverse
from django.utils import timezone, translation

from tests.factories import OrganisationFactory, UserFactory, hr_user
from tests.trainings.factories import CourseFactory
from trainings.forms import CourseDateForm
from vielfalt.models import Organisation, Role
from vielfalt.validation import constraint_field

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"vielfalt", "partnerships", "trainings", "surveys"}


def project_constraints():
    for model in apps.get_models():
        if model._meta.app_config.name.split(".")[0] in PROJECT_APPS:
            for constraint in model._meta.constraints:
                yield model, constraint


def test_every_constraint_has_a_sentence_in_german():
    missing = []
    for _model, constraint in project_constraints():
        message = constraint.violation_error_message
        if message == BaseConstraint.default_violation_error_message:
            missing.append(constraint.name)
            continue
        with translation.override("de"):
            german = str(message)
        with translation.override("en"):
            english = str(message)
        if german == english or constraint.name in german:
            missing.append(f"{constraint.name} (untranslated)")
    assert missing == []


def test_constraint_field_is_the_one_the_condition_is_about():
    constraints = {c.name: c for _, c in project_constraints()}
    fields = {"starts_at", "ends_at", "capacity", "organisation", "personnel_number"}
    assert constraint_field(constraints["coursedate_ends_after"], fields) == "ends_at"
    assert constraint_field(constraints["coursedate_capacity_positive"], fields) == "capacity"
    assert constraint_field(constraints["employee_unique_personnel_number"], fields) == "personnel_number"
    assert constraint_field(constraints["coursedate_ends_after"], {"location"}) is None


def _date_data(start, **changes):
    data = {
        "target_group": "",
        "starts_at": start.strftime("%Y-%m-%dT09:00"),
        "ends_at": start.strftime("%Y-%m-%dT16:00"),
        "location": "Rathaus",
        "online_link": "",
        "trainer": "T",
        "capacity": "10",
        "enrolment_deadline": (start - timedelta(days=3)).strftime("%Y-%m-%dT12:00"),
        "cancellation_deadline": (start - timedelta(days=2)).strftime("%Y-%m-%dT12:00"),
    }
    return {**data, **changes}


def test_one_submit_shows_every_problem_of_a_date_in_words_at_its_field():
    start = timezone.localtime() + timedelta(days=10)
    data = _date_data(
        start,
        ends_at=start.strftime("%Y-%m-%dT08:00"),  # before the start: coursedate_ends_after
        capacity="0",  # coursedate_capacity_positive
        enrolment_deadline=(start + timedelta(days=1)).strftime("%Y-%m-%dT12:00"),  # after the start
    )
    with translation.override("de"):
        form = CourseDateForm(data)
        assert not form.is_valid()
        errors = {name: [str(e) for e in messages] for name, messages in form.errors.items()}
    assert errors == {
        "ends_at": ["Das Ende muss nach dem Beginn liegen."],
        "capacity": ["Ein Termin braucht mindestens 1 Platz."],
        "enrolment_deadline": ["Der Anmeldeschluss darf nicht nach dem Beginn liegen."],
    }


def test_date_form_page_names_no_rule_and_says_it_once(client):
    oberhausen = OrganisationFactory(slug="oberhausen")
    course = CourseFactory(organiser=oberhausen)
    client.force_login(UserFactory(roles=[(oberhausen, Role.ORGANISER)]))
    start = timezone.localtime() + timedelta(days=10)
    response = client.post(
        reverse("trainings:date_create", args=[course.pk]),
        _date_data(start, ends_at=start.strftime("%Y-%m-%dT08:00"), capacity="0"),
        HTTP_ACCEPT_LANGUAGE="de",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "coursedate_" not in html and "Bedingung" not in html
    # Once in the summary above the form, once at the field: never a third time in a box of its own.
    assert html.count("Das Ende muss nach dem Beginn liegen.") == 2
    assert html.count("Ein Termin braucht mindestens 1 Platz.") == 2


def test_login_error_appears_once(client):
    response = client.post(reverse("login"), {"username": "niemand", "password": "falsch"})
    html = response.content.decode()
    with translation.override("de"):
        from django.contrib.auth.forms import AuthenticationForm

        message = str(AuthenticationForm.error_messages["invalid_login"]) % {"username": "Benutzername"}
    assert html.count(message.split("%")[0][:40]) == 1


def test_no_past_start_for_a_new_date_or_campaign():
    from surveys.forms import CampaignForm

    yesterday = timezone.localtime() - timedelta(days=1)
    with translation.override("de"):
        form = CourseDateForm(_date_data(yesterday))
        assert not form.is_valid()
        assert form.errors["starts_at"] == [
            "Der Beginn liegt in der Vergangenheit. Bitte wählen Sie einen Zeitpunkt in der Zukunft."
        ]
        duisburg = OrganisationFactory(slug="duisburg")
        campaign = CampaignForm(
            {
                "organisation": duisburg.pk,
                "title": "Befragung",
                "opens_on": yesterday.date().isoformat(),
                "closes_on": (yesterday + timedelta(days=30)).date().isoformat(),
                "k": "5",
                "purpose": "Zweck",
                "legal_basis": "Grundlage",
                "dpo_contact": "dsb@duisburg.example",
            },
            user=hr_user(duisburg),
        )
        assert not campaign.is_valid()
        assert campaign.errors["opens_on"] == [
            "Der Beginn liegt in der Vergangenheit. Bitte wählen Sie heute oder einen späteren Tag."
        ]


def test_too_long_title_is_refused_with_a_message_not_cut_off():
    from partnerships.forms import AgreementForm

    OrganisationFactory(slug="mais-nrw", kind=Organisation.Kind.STATE_MINISTRY)
    form = AgreementForm()
    assert "maxlength" not in str(form["title"])  # the browser would cut the text silently
    with translation.override("de"):
        bound = AgreementForm({"title": "T" * 301})
        bound.is_valid()
        assert re.search(r"höchstens 300 Zeichen.*301", str(bound.errors["title"]))


def test_select_placeholders_are_german(client):
    duisburg = OrganisationFactory(slug="duisburg")
    client.force_login(hr_user(duisburg))
    pages = [reverse("employee_create"), reverse("employee_list")]
    for url in pages:
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
        assert "Select an option" not in html and "---------" not in html, url
    assert "– bitte auswählen –" in client.get(reverse("employee_create")).content.decode()
    assert "– alle –" in client.get(reverse("employee_list")).content.decode()


def test_every_form_page_lists_its_problems_once_above_the_form():
    """crispy's own list of non-field errors is switched off (templates/bootstrap5/errors.html): a page that
    renders a form with crispy lists its problems with includes/form_errors.html."""
    from django.conf import settings

    missing = [
        str(path.relative_to(settings.BASE_DIR))
        for path in (settings.BASE_DIR / "templates").rglob("*.html")
        if "{{ form|crispy }}" in path.read_text(encoding="utf-8")
        and "includes/form_errors.html" not in path.read_text(encoding="utf-8")
        and "error-summary" not in path.read_text(encoding="utf-8")  # a summary of its own (agreement form)
    ]
    assert missing == []


def test_no_form_takes_a_control_character(client):
    """A one-line field (the portal's model forms make every plain one a OneLineField) and a text area
    (MultiLineField) refuse an invisible control character, where it is; tabs and line breaks stay text."""
    from partnerships.network.forms import QuestionForm
    from vielfalt.forms import EmployeeForm

    city = OrganisationFactory()
    user = hr_user(city)
    data = {"personnel_number": "P-1", "last_name": "Ka\x07ya", "first_name": "Ayşe", "target_group": "other"}
    with translation.override("de"):
        form = EmployeeForm(data, user=user)
        assert not form.is_valid()
        assert form.errors["last_name"] == [
            "Der Text enthält an Stelle 3 ein unsichtbares Steuerzeichen (U+0007). Bitte entfernen Sie es."
        ]
        assert "first_name" not in form.errors
        question = QuestionForm({"title": "Frage", "body": "Zeile\tund\r\nZeile\x00"}, user=user)
        assert not question.is_valid() and "U+0000" in str(question.errors["body"])
        question = QuestionForm({"title": "Frage", "body": "Zeile\tund\r\nZeile"}, user=user)
        assert "body" not in question.errors
    # Through the page: refused, nothing saved.
    client.force_login(user)
    response = client.post(reverse("employee_create"), data)
    assert response.status_code == 200 and "U+0007" in response.text
    assert not city.employees.exists()
