"""One vocabulary: the import, the export and the screens name target groups and roles alike; a voluntary
survey never calls a question compulsory; the ministry's start page shows nothing empty."""

import pytest
from django.urls import reverse
from django.utils import translation

from tests.factories import EmployeeFactory, OrganisationFactory, UserFactory, hr_user
from vielfalt.models import Organisation, Role, TargetGroup
from vielfalt.permissions import SYSTEM
from vielfalt.services import employees_import_file
from vielfalt.tabular import TableRefused

pytestmark = pytest.mark.django_db

SCREEN_WORDS = [
    "Auszubildende",
    "Beschäftigte mit Publikumskontakt",
    "Führungskräfte",
    "Sonstige Beschäftigte",
]


def test_screens_name_the_target_groups_so():
    with translation.override("de"):
        assert [str(label) for label in TargetGroup.labels] == SCREEN_WORDS


def test_import_error_names_the_target_groups_as_the_screens_do():
    duisburg = OrganisationFactory(slug="duisburg")
    text = "Personalnummer;Nachname;Vorname;Zielgruppe\r\nDU-1;Gut;Gerda;Hausmeister\r\n"
    with translation.override("de"), pytest.raises(TableRefused) as refused:
        employees_import_file(actor=SYSTEM, organisation=duisburg, data=text.encode())
    (problem,) = refused.value.problems
    assert (
        str(problem.message)
        == "„Hausmeister“ ist keine gültige Zielgruppe (" + ", ".join(SCREEN_WORDS) + ")."
    )


def test_export_names_the_target_groups_as_the_screens_do_and_imports_again(client):
    duisburg = OrganisationFactory(slug="duisburg")
    for number, group in enumerate(TargetGroup.values):
        EmployeeFactory(
            organisation=duisburg, personnel_number=f"DU-{number}", target_group=group, org_unit=None
        )
    client.force_login(hr_user(duisburg))
    response = client.get(reverse("employee_export", args=["csv"]))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    groups = [line.split(";")[5] for line in body.splitlines()[1:]]
    assert sorted(groups) == sorted(SCREEN_WORDS)
    result = employees_import_file(actor=SYSTEM, organisation=duisburg, data=body.encode())
    # The export read back is what is stored: every record recognised, none changed.
    assert (result.created, result.updated, result.unchanged) == (0, 0, 4)


def test_a_voluntary_survey_asks_for_a_choice_not_for_a_compulsory_field():
    from surveys.forms import SurveyForm

    with translation.override("de"):
        form = SurveyForm({}, units=[])
        assert not form.is_valid()
        messages = {str(m) for errors in form.errors.values() for m in errors}
    assert messages == {
        "Bitte wählen Sie eine Antwort – oder „Keine Angabe“, wenn Sie diese Frage nicht beantworten möchten."
    }


def test_ministry_start_page_names_roles_rightly_and_shows_no_empty_card(client):
    ministry = OrganisationFactory(slug="mais-nrw", name="MAIS NRW", kind=Organisation.Kind.STATE_MINISTRY)
    user = UserFactory(roles=[(ministry, Role.MINISTRY), (ministry, Role.HR)])
    client.force_login(user)
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "(Partner)" not in html
    assert "Personalverwaltung (MAIS NRW)" in html
    assert 'id="card-employees"' not in html  # no employees kept: no empty card
    EmployeeFactory(organisation=ministry)
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert 'id="card-employees"' in html


def test_partner_hr_keeps_the_employees_card_to_start_importing(client):
    client.force_login(hr_user(OrganisationFactory()))
    assert 'id="card-employees"' in client.get(reverse("home")).content.decode()
