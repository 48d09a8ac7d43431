"""Two people editing one agreement (two colleagues, or one in two tabs): the second save no longer undoes the
first. It undid every field the first had changed and deleted the commitment the first had added (the form's
rows are the agreement's whole list). Now the second form is shown again with its input, says who changed the
agreement and when, and saving it again replaces the agreement knowingly (vielfalt.concurrency)."""

import pytest
from django.urls import reverse

from partnerships.models import Agreement
from tests.factories import ministry_user
from tests.helpers import form_data, logged_in, opened_forms

pytestmark = pytest.mark.django_db


def _errors(response) -> str:
    return (
        response.content.decode()
        .split('class="alert alert-danger error-summary"', 1)[1]
        .split("</div>", 1)[0]
    )


def test_a_second_save_does_not_undo_the_first(staff, agreement):
    colleague = ministry_user(username="ministerium-referat-2")
    url = reverse("partnerships:update", args=[agreement.pk])
    (first, mine), (second, theirs) = opened_forms(url, staff, colleague)

    mine["place"] = "Duisburg-Mitte"
    mine["commitments-2-field_of_action"] = "Ausbildung"
    mine["commitments-2-description"] = "Mehr Auszubildende mit Einwanderungsgeschichte"
    assert first.post(url, mine).status_code == 302

    theirs["title"] = "Vielfalt verbindet: Vereinbarung mit der Stadt Duisburg"
    response = second.post(url, theirs)
    assert response.status_code == 422
    assert "ministerium hat diesen Datensatz am" in _errors(response)
    # A link to the agreement as it is now, in a new tab (this form keeps the second person's input).
    assert f'<a href="{agreement.get_absolute_url()}" target="_blank" rel="noopener"' in _errors(response)
    assert "Der Datensatz, wie er jetzt ist (öffnet in einem neuen Tab)" in _errors(response)
    agreement.refresh_from_db()
    assert agreement.place == "Duisburg-Mitte"
    assert agreement.title != theirs["title"]
    assert agreement.commitments.count() == 3

    # Nothing of the second person's input is lost, and saving it again replaces the agreement knowingly.
    again = form_data(response.content.decode())
    assert again["title"] == theirs["title"]
    assert second.post(url, again).status_code == 302
    agreement.refresh_from_db()
    assert agreement.title == theirs["title"]
    assert agreement.place != "Duisburg-Mitte"


def test_saving_twice_in_a_row_is_no_conflict(staff, agreement):
    """One person saving, then editing and saving again, has opened the form at the latest version each time."""
    client = logged_in(staff)
    url = reverse("partnerships:update", args=[agreement.pk])
    for place in ("Duisburg-Mitte", "Duisburg-Süd"):
        data = form_data(client.get(url).content.decode())
        data["place"] = place
        assert client.post(url, data).status_code == 302
    assert Agreement.objects.get(pk=agreement.pk).place == "Duisburg-Süd"


def test_a_form_opened_before_the_check_existed_still_saves(staff, agreement):
    """A form without the opened version (opened before a deployment, or a hand-made request) saves as before."""
    client = logged_in(staff)
    url = reverse("partnerships:update", args=[agreement.pk])
    data = form_data(client.get(url).content.decode())
    del data["opened_version"]
    data["place"] = "Duisburg-Nord"
    assert client.post(url, data).status_code == 302
    assert Agreement.objects.get(pk=agreement.pk).place == "Duisburg-Nord"


def test_the_same_person_in_two_tabs_is_told_so(staff, agreement):
    client = logged_in(staff)
    url = reverse("partnerships:update", args=[agreement.pk])
    first_tab, second_tab = (
        form_data(client.get(url).content.decode()),
        form_data(client.get(url).content.decode()),
    )
    first_tab["place"] = "Duisburg-Mitte"
    assert client.post(url, first_tab).status_code == 302
    response = client.post(url, second_tab)
    assert "Sie haben diesen Datensatz am" in _errors(response)
    assert "in einem anderen Fenster geändert" in _errors(response)


def test_a_colleague_saving_without_a_change_does_not_refuse_mine(staff, agreement):
    """Saving a form unchanged (to close it) writes nothing: it made no newer version that would refuse a
    colleague's real change as a conflict with nobody's change."""
    colleague = ministry_user(username="ministerium-referat-2")
    url = reverse("partnerships:update", args=[agreement.pk])
    client = logged_in(staff)  # once through the form: its rows numbered from 1, as the form numbers them
    assert client.post(url, form_data(client.get(url).content.decode())).status_code == 302
    (first, unchanged), (second, theirs) = opened_forms(url, staff, colleague)
    assert first.post(url, unchanged).status_code == 302

    theirs["place"] = "Duisburg-Hamborn"
    assert second.post(url, theirs).status_code == 302
    assert Agreement.objects.get(pk=agreement.pk).place == "Duisburg-Hamborn"


def test_a_colleague_adding_only_a_commitment_is_a_newer_version(staff, agreement):
    """The rows alone changed: the agreement's own fields did not, its version still does (the second form's
    rows are the whole list and would delete the commitment added)."""
    colleague = ministry_user(username="ministerium-referat-2")
    url = reverse("partnerships:update", args=[agreement.pk])
    (first, mine), (second, theirs) = opened_forms(url, staff, colleague)
    mine["commitments-2-field_of_action"] = "Ausbildung"
    mine["commitments-2-description"] = "Mehr Auszubildende mit Einwanderungsgeschichte"
    assert first.post(url, mine).status_code == 302

    theirs["place"] = "Duisburg-Hamborn"
    assert second.post(url, theirs).status_code == 422
    assert agreement.commitments.count() == 3
