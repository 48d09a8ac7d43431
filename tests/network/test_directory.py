"""The partner directory: profiles edited by their own HR, contact persons with consent, filters, the page per
partner."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from partnerships.models import Agreement
from partnerships.network import services
from partnerships.network.models import ContactPerson, FieldOfAction, PracticeEntry
from tests.factories import OrganisationFactory
from tests.partnerships.factories import AgreementFactory
from vielfalt.models import Organisation
from vielfalt.permissions import SYSTEM

from .conftest import make_entry

pytestmark = pytest.mark.django_db


def test_own_hr_edits_the_profile(hr_duisburg, hr_oberhausen, duisburg):
    services.profile_update(
        actor=hr_duisburg,
        organisation=duisburg,
        kind=Organisation.Kind.CITY,
        district=Organisation.District.DUESSELDORF,
        description="Größte Stadt am Niederrhein",
        fields_of_action=[FieldOfAction.ANONYMISED_APPLICATIONS],
        open_for_visits=True,
        website="https://www.duisburg.de",
    )
    profile = duisburg.network_profile
    assert (profile.open_for_visits, profile.fields_of_action) == (True, ["anonymised_applications"])
    with pytest.raises(PermissionDenied):
        services.profile_update(actor=hr_oberhausen, organisation=duisburg, description="gehackt")


def test_profile_page_of_another_organisation_answers_404(client, hr_oberhausen, duisburg):
    client.force_login(hr_oberhausen)
    url = reverse("network:profile_edit", args=[duisburg.slug])
    assert client.get(url).status_code == 404
    assert client.post(url, {"kind": "city", "description": "gehackt"}).status_code == 404


def test_profile_form(client, hr_duisburg, duisburg):
    client.force_login(hr_duisburg)
    url = reverse("network:profile_edit", args=[duisburg.slug])
    response = client.post(
        url,
        {
            "kind": "city",
            "district": "duesseldorf",
            "fields_of_action": ["sensitisation"],
            "open_for_visits": "on",
        },
    )
    assert response.status_code == 302
    duisburg.refresh_from_db()
    assert duisburg.network_profile.fields_of_action == ["sensitisation"]


def test_a_partner_cannot_make_itself_the_state_ministry(client, hr_duisburg, staff, duisburg):
    """The profile's kind offered "State ministry": Duisburg's HR could make the city one. It then left the
    directory and every partner list, its own profile page answered 404 (so nobody could set it back there),
    and the ministry's agreement form offered Duisburg as the state side."""
    client.force_login(hr_duisburg)
    url = reverse("network:profile_edit", args=[duisburg.slug])
    assert ("ministry", "Landesministerium") not in client.get(url).context["form"].fields["kind"].choices
    response = client.post(url, {"kind": "ministry", "district": "duesseldorf"})
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["kind"]
    for actor in (hr_duisburg, staff):
        with pytest.raises(ValidationError) as refused:
            services.profile_update(actor=actor, organisation=duisburg, kind=Organisation.Kind.STATE_MINISTRY)
        assert list(refused.value.message_dict) == ["kind"]
    duisburg.refresh_from_db()
    assert duisburg.is_partner
    assert client.get(url).status_code == 200


def test_contact_needs_consent_and_removal_removes_it_everywhere(
    client, hr_duisburg, hr_oberhausen, duisburg
):
    with pytest.raises(ValidationError):
        services.contact_create(
            actor=hr_duisburg,
            organisation=duisburg,
            consent=False,
            name="A",
            function="B",
            email="a@example.org",
        )
    contact = services.contact_create(
        actor=hr_duisburg,
        organisation=duisburg,
        consent=True,
        name="Dana Demir",
        function="Personalamt",
        email="dana@example.org",
    )
    assert contact.consent_given_at is not None
    entry = make_entry(duisburg, contact=contact)
    client.force_login(hr_oberhausen)
    assert "Dana Demir" in client.get(entry.get_absolute_url()).content.decode()
    assert (
        "Dana Demir" in client.get(reverse("network:partner_detail", args=[duisburg.slug])).content.decode()
    )
    assert client.post(reverse("network:contact_delete", args=[contact.pk])).status_code == 404

    client.force_login(hr_duisburg)
    profile = client.get(reverse("network:profile_edit", args=[duisburg.slug])).text
    assert (  # asked first: listing them again needs their consent again
        'data-confirm="Dana Demir wirklich aus dem Verzeichnis entfernen? Für einen neuen Eintrag braucht es '
        'erneut die Einwilligung."' in profile
    )
    assert client.post(reverse("network:contact_delete", args=[contact.pk])).status_code == 302
    assert not ContactPerson.objects.exists()
    entry.refresh_from_db()
    assert entry.contact is None
    client.force_login(hr_oberhausen)
    assert "Dana Demir" not in client.get(entry.get_absolute_url()).content.decode()
    assert (
        "Dana Demir"
        not in client.get(reverse("network:partner_detail", args=[duisburg.slug])).content.decode()
    )


def test_contact_of_another_organisation_cannot_be_linked(hr_duisburg, duisburg, oberhausen):
    contact = services.contact_create(
        actor=SYSTEM, organisation=oberhausen, consent=True, name="O", function="F", email="o@example.org"
    )
    with pytest.raises(ValidationError):
        make_entry(duisburg, contact=contact)


def test_filters(client, hr_oberhausen, duisburg, oberhausen):
    services.profile_update(
        actor=SYSTEM,
        organisation=duisburg,
        fields_of_action=["anonymised_applications"],
        open_for_visits=True,
    )
    koeln = OrganisationFactory(slug="koeln", name="Stadt Köln", district=Organisation.District.KOELN)
    client.force_login(hr_oberhausen)

    def names(**query):
        response = client.get(reverse("network:partner_list"), query)
        return [p.name for p in response.context["partners"]]

    assert names() == ["Stadt Duisburg", "Stadt Köln", "Stadt Oberhausen"]
    assert names(district="koeln") == [koeln.name]
    assert names(field="anonymised_applications") == ["Stadt Duisburg"]
    assert names(visits="1") == ["Stadt Duisburg"]
    assert names(q="ober") == ["Stadt Oberhausen"]
    assert names(kind="company") == []


def test_agreement_link_only_for_those_who_may_see_it(client, hr_duisburg, hr_oberhausen, staff, duisburg):
    agreement = AgreementFactory(partner=duisburg, status=Agreement.Status.SIGNED, signed_on="2013-05-16")
    url = reverse("network:partner_detail", args=[duisburg.slug])
    for user, sees in [(hr_duisburg, True), (staff, True), (hr_oberhausen, False)]:
        client.force_login(user)
        content = client.get(url).content.decode()
        assert (agreement.get_absolute_url() in content) is sees, user
        assert "16.05.2013" in content  # "signed since" is public (in the short format, like every date here)


def test_partner_page_lists_only_published_entries(client, hr_oberhausen, duisburg):
    make_entry(duisburg, title="Öffentlich")
    make_entry(duisburg, title="Geheimer Entwurf", status=PracticeEntry.Status.DRAFT)
    client.force_login(hr_oberhausen)
    content = client.get(reverse("network:partner_detail", args=[duisburg.slug])).content.decode()
    assert "Öffentlich" in content
    assert "Geheimer Entwurf" not in content


@pytest.mark.parametrize("count", [1, 3])
def test_directory_queries_do_not_grow(client, hr_oberhausen, django_assert_num_queries, count):
    for number in range(count):
        partner = OrganisationFactory(slug=f"partner-{number}", name=f"Partner {number}")
        services.profile_update(actor=SYSTEM, organisation=partner, fields_of_action=["sensitisation"])
        AgreementFactory(partner=partner, status=Agreement.Status.SIGNED, signed_on="2014-01-01")
    client.force_login(hr_oberhausen)
    client.get(reverse("network:partner_list"))
    with django_assert_num_queries(4):  # session, user with roles, count, page
        response = client.get(reverse("network:partner_list"))
    assert len(response.context["partners"]) == count + 1  # and Oberhausen itself


def test_network_model_forms_speak_like_every_other_form_of_the_portal(client, hr_duisburg, duisburg):
    """vielfalt.validation.ModelForm: no maxlength that cuts text off silently, a message instead."""
    from partnerships.network import forms
    from vielfalt.validation import ModelForm

    for form_class in (
        forms.ContactForm,
        forms.PracticeEntryForm,
        forms.MeetingForm,
        forms.QuestionEditForm,
        forms.AnswerEditForm,
    ):
        assert issubclass(form_class, ModelForm), form_class
    client.force_login(hr_duisburg)
    url = reverse("network:profile_edit", args=[duisburg.slug])
    assert 'name="contact-name" maxlength' not in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "contact-name": "x" * 201,
            "contact-function": "Personalamt",
            "contact-email": "a@example.org",
            "contact-consent": "on",
        },
    )
    assert response.context["contact_form"].errors["name"] == [
        "Bitte sicherstellen, dass der Wert aus höchstens 200 Zeichen besteht. (Er besteht aus 201 Zeichen.)"
    ]


def test_the_partner_page_names_the_fields_of_action_in_reading_order(client, hr_duisburg, duisburg):
    from tests.partnerships.factories import CommitmentFactory

    agreement = AgreementFactory(partner=duisburg)
    fields = ["Ausbildung", "Öffentlichkeitsarbeit", "Personalgewinnung"]
    for field in reversed(fields):
        CommitmentFactory(agreement=agreement, field_of_action=field)
    Agreement.objects.filter(pk=agreement.pk).update(status=Agreement.Status.SIGNED, signed_on="2013-05-16")
    client.force_login(hr_duisburg)
    content = client.get(reverse("network:partner_detail", args=[duisburg.slug])).content.decode()
    assert sorted(fields, key=content.index) == fields  # not "Öffentlichkeitsarbeit" after every other letter


def _profile_opened_by_two_colleagues(city) -> tuple[str, tuple, tuple]:
    """The profile's edit page, and (client, fields) of two of the city's HR staff who opened its form."""
    from tests.factories import hr_user
    from tests.helpers import opened_forms

    url = reverse("network:profile_edit", args=[city.slug])
    colleagues = [hr_user(city, username=f"hr-{city.slug}-{number}") for number in (1, 2)]
    return url, *opened_forms(url, *colleagues, form_id="profile-form")


def test_a_colleague_saving_the_profile_meanwhile_is_not_undone(duisburg):
    """Two of a city's HR staff edit its profile: the second save undid the first (vielfalt.concurrency)."""
    from tests.helpers import form_data

    url, (first, mine), (second, theirs) = _profile_opened_by_two_colleagues(duisburg)
    mine["description"] = "Größte Stadt am Niederrhein"
    assert first.post(url, mine).status_code == 302
    theirs["website"] = "https://www.duisburg.de"
    response = second.post(url, theirs)
    assert "hr-duisburg-1 hat diesen Datensatz am" in response.content.decode()
    profile = services.profile_of(duisburg)
    assert (profile.description, profile.website) == ("Größte Stadt am Niederrhein", "")

    again = form_data(response.content.decode(), "profile-form")
    assert again["website"] == "https://www.duisburg.de"
    assert second.post(url, again).status_code == 302
    assert services.profile_of(duisburg).website == "https://www.duisburg.de"


def test_a_colleague_changing_only_the_district_is_a_newer_profile(duisburg):
    url, (first, mine), (second, theirs) = _profile_opened_by_two_colleagues(duisburg)
    mine["district"] = "muenster"
    assert first.post(url, mine).status_code == 302
    theirs["description"] = "Neu"
    assert second.post(url, theirs).status_code == 200
    duisburg.refresh_from_db()
    assert duisburg.district == "muenster"


def test_a_colleague_saving_the_profile_unchanged_does_not_refuse_mine(duisburg):
    url, (first, unchanged), (second, theirs) = _profile_opened_by_two_colleagues(duisburg)
    assert first.post(url, unchanged).status_code == 302
    theirs["description"] = "Größte Stadt am Niederrhein"
    assert second.post(url, theirs).status_code == 302
    assert services.profile_of(duisburg).description == "Größte Stadt am Niederrhein"


def test_the_admin_adds_and_deletes_a_contact_person_as_the_directory_does(client, superuser, duisburg):
    """The admin's deletion wrote an entry naming the person whose listing had ended, where the directory's
    writes "Contact person of Stadt Duisburg"; and it added a person with a consent typed in, never asked for."""
    from tests.helpers import form_data
    from vielfalt.models import AuditEntry

    client.force_login(superuser)
    url = reverse("admin:network_contactperson_add")
    data = form_data(client.get(url).text, "contactperson_form")
    data.update(organisation=duisburg.pk, name="Dana Demir", function="Personalamt", email="dana@example.org")
    data.pop("consent", None)
    assert client.post(url, data).status_code == 200
    assert not ContactPerson.objects.exists()
    data["consent"] = "on"
    assert client.post(url, data).status_code == 302
    contact = ContactPerson.objects.get()
    assert contact.consent_given_at is not None
    created = AuditEntry.objects.get(action=AuditEntry.Action.CREATE)
    assert (created.actor, created.organisation, created.object_repr) == (
        superuser,
        duisburg,
        "Dana Demir (Personalamt)",
    )

    delete = reverse("admin:network_contactperson_delete", args=[contact.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not ContactPerson.objects.exists()
    deleted = AuditEntry.objects.get(action=AuditEntry.Action.DELETE)
    assert (deleted.actor, deleted.organisation, deleted.object_repr) == (
        superuser,
        duisburg,
        "Ansprechperson von Stadt Duisburg",
    )


def test_the_admin_shows_a_contact_person_and_links_to_the_profile_that_manages_it(
    client, superuser, duisburg
):
    """The admin's change form listed another name or address under the consent the first person had given,
    past the directory's services: the portal never changes a listing, it removes one and adds another with
    consent (on the partner's profile)."""
    contact = services.contact_create(
        actor=SYSTEM,
        organisation=duisburg,
        consent=True,
        name="Dana Demir",
        function="Personalamt",
        email="dana@example.org",
    )
    client.force_login(superuser)
    url = reverse("admin:network_contactperson_change", args=[contact.pk])
    data = {"organisation": duisburg.pk, "name": "Jemand anders", "function": "Personalamt"}
    assert client.post(url, {**data, "email": "jemand@example.org", "phone": ""}).status_code == 403
    contact.refresh_from_db()
    assert (contact.name, contact.email) == ("Dana Demir", "dana@example.org")
    page = client.get(url).text
    assert f'href="{reverse("network:profile_edit", args=[duisburg.slug])}"' in page
    assert 'name="name"' not in page  # shown, not a field to change


def test_the_admin_shows_a_partner_profile_and_links_to_the_page_that_edits_it(client, superuser, duisburg):
    """The admin's change form saved the profile past profile_update: over a colleague's change made since the
    form was opened, unasked, and audited as the admin's own edit rather than the portal's."""
    profile = services.profile_update(actor=SYSTEM, organisation=duisburg, description="Wir bilden aus.")
    client.force_login(superuser)
    url = reverse("admin:network_partnerprofile_change", args=[profile.pk])
    data = {
        "organisation": duisburg.pk,
        "description": "Überschrieben",
        "website": "",
        "fields_of_action": "[]",
    }
    assert client.post(url, data).status_code == 403
    profile.refresh_from_db()
    assert profile.description == "Wir bilden aus."
    page = client.get(url).text
    assert f'href="{reverse("network:profile_edit", args=[duisburg.slug])}"' in page
    assert 'name="description"' not in page  # shown, not a field to change
