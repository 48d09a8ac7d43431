"""The partners' network where the programme package joins it with the trainings app: the directory's courses
and target-group filter, the figures per partner and year, and the network's part of the start page."""

import pytest
from django.urls import reverse
from django.utils import timezone

from partnerships.network import services
from partnerships.network.models import PracticeEntry
from tests.factories import OrganisationFactory, hr_user, ministry_user
from tests.network.conftest import make_entry, make_meeting
from trainings.models import Course
from vielfalt.models import Organisation
from vielfalt.permissions import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def cities(db):
    ministry = OrganisationFactory(slug="mais-nrw", name="MAIS NRW", kind=Organisation.Kind.STATE_MINISTRY)
    duisburg = OrganisationFactory(slug="duisburg", name="Stadt Duisburg")
    oberhausen = OrganisationFactory(slug="oberhausen", name="Stadt Oberhausen")
    return ministry, duisburg, oberhausen


def joint_course(organiser, partner, groups):
    course = Course.objects.create(
        title="Interkulturelle Sensibilisierung",
        description="Ein Tag",
        target_groups=groups,
        organiser=organiser,
        duration_hours=7,
    )
    course.participants.create(organisation=partner)
    return course


def test_directory_shows_opened_courses_and_filters_by_their_target_groups(client, cities):
    ministry, duisburg, oberhausen = cities
    course = joint_course(oberhausen, duisburg, ["trainee", "manager"])
    koeln = OrganisationFactory(slug="koeln", name="Stadt Köln")
    client.force_login(hr_user(koeln))
    response = client.get(reverse("network:partner_list"), {"target_group": "trainee"})
    assert [p.name for p in response.context["partners"]] == ["Stadt Oberhausen"]
    content = client.get(reverse("network:partner_detail", args=["oberhausen"])).content.decode()
    assert "Kurse, die andere mitnutzen" in content
    assert "Interkulturelle Sensibilisierung" in content
    assert "Stadt Duisburg" in content
    assert course.get_absolute_url() not in content  # Köln does not take part: no link to the course


def test_figures_per_partner_and_year(client, cities):
    ministry, duisburg, oberhausen = cities
    make_entry(duisburg)
    meeting = make_meeting(ministry)
    services.registration_create(
        actor=SYSTEM, meeting=meeting, organisation=oberhausen, name="Olga", email="o@example.org"
    )
    question = services.question_ask(actor=SYSTEM, organisation=oberhausen, title="Wie?", body="")
    services.answer_create(actor=SYSTEM, question=question, organisation=duisburg, body="So.")
    year = timezone.now().year
    client.force_login(ministry_user())
    rows = {
        (r["organisation"], r["year"]): r for r in client.get(reverse("dashboard_network")).context["rows"]
    }
    assert rows[("Stadt Duisburg", year)] | {} == {
        "organisation": "Stadt Duisburg",
        "year": year,
        "entries": 1,
        "meetings": 0,
        "participants": 0,
        "questions": 0,
        "answers": 1,
    }
    assert rows[("Stadt Oberhausen", meeting.starts_at.year)]["participants"] == 1
    # The table as the page writes it (one pass over plain cells): the name escaped, the counts in their columns.
    Organisation.objects.filter(pk=duisburg.pk).update(name="Stadt <Duisburg> & Co")
    html = client.get(reverse("dashboard_network")).text
    assert (
        f'<tr><td>{year}</td><td>Stadt &lt;Duisburg&gt; &amp; Co</td><td class="text-end">1</td>'
        '<td class="text-end">0</td><td class="text-end">0</td><td class="text-end">0</td>'
        '<td class="text-end">1</td></tr>'
    ) in html
    client.force_login(hr_user(duisburg))
    organisations = {r["organisation"] for r in client.get(reverse("dashboard_network")).context["rows"]}
    assert organisations == {"Stadt <Duisburg> & Co"}


def test_start_page_part_follows_the_fields_of_action(client, cities):
    ministry, duisburg, oberhausen = cities
    services.profile_update(actor=SYSTEM, organisation=oberhausen, fields_of_action=["joint_training"])
    make_entry(duisburg, title="Anonymisiert")
    make_entry(duisburg, title="Gemeinsam geschult", field_of_action="joint_training")
    make_meeting(ministry, title="Treffen zu Schulungen", fields_of_action=["joint_training"])
    make_meeting(ministry, title="Treffen zur Befragung", fields_of_action=["staff_survey"])
    user = hr_user(oberhausen)
    client.force_login(user)
    assert 'hx-get="/network/start/"' in client.get("/").content.decode()
    content = client.get(reverse("network:start")).content.decode()
    assert "Gemeinsam geschult" in content and "Anonymisiert" not in content
    assert "Treffen zu Schulungen" in content and "Treffen zur Befragung" not in content
    assert PracticeEntry.objects.count() == 2


def test_the_course_is_linked_for_those_taking_part(client, cities):
    ministry, duisburg, oberhausen = cities
    course = joint_course(oberhausen, duisburg, ["trainee"])
    client.force_login(hr_user(duisburg))
    assert (
        course.get_absolute_url()
        in client.get(reverse("network:partner_detail", args=["oberhausen"])).content.decode()
    )
