"""Every page of the network renders for each role, and other organisations' objects answer 404."""

import pytest
from django.urls import reverse

from partnerships.network import services
from partnerships.network.models import PracticeEntry
from tests.factories import OrganisationFactory
from vielfalt.permissions import SYSTEM

from .conftest import make_entry, make_meeting

pytestmark = pytest.mark.django_db


@pytest.fixture
def network(duisburg, oberhausen, ministry, hr_duisburg):
    entry = make_entry(duisburg)
    draft = make_entry(duisburg, status=PracticeEntry.Status.DRAFT, title="Entwurf")
    meeting = make_meeting(ministry)
    question = services.question_ask(
        actor=hr_duisburg,
        organisation=duisburg,
        title="Wie habt ihr das mit dem Personalrat vereinbart?",
        body="",
    )
    services.answer_create(
        actor=SYSTEM, question=question, organisation=oberhausen, body="Mit einer Dienstvereinbarung."
    )
    services.contact_create(
        actor=SYSTEM,
        organisation=duisburg,
        consent=True,
        name="Dana Demir",
        function="Integrationsbeauftragte",
        email="dana@example.org",
    )
    return {"entry": entry, "draft": draft, "meeting": meeting, "question": question}


def page_urls(network, duisburg):
    return [
        reverse("network:index"),
        reverse("network:partner_list"),
        reverse("network:partner_list")
        + "?q=duis&district=duesseldorf&kind=city&field=sensitisation&visits=1",
        reverse("network:partner_detail", args=[duisburg.slug]),
        reverse("network:practice_list"),
        reverse("network:practice_list") + "?q=Bewerbung&field=anonymised_applications&target_group=trainee",
        network["entry"].get_absolute_url(),
        reverse("network:meeting_list"),
        reverse("network:meeting_list") + "?past=1",
        network["meeting"].get_absolute_url(),
        reverse("network:meeting_ics", args=[network["meeting"].pk]),
        reverse("network:question_list"),
        reverse("network:question_list") + "?show=open",
        network["question"].get_absolute_url(),
        reverse("network:question_create"),
        reverse("network:mail_settings"),
    ]


@pytest.mark.parametrize("who", ["hr_duisburg", "hr_oberhausen", "staff", "organiser_oberhausen"])
def test_pages_render_for_every_role(client, request, network, duisburg, who):
    client.force_login(request.getfixturevalue(who))
    for url in page_urls(network, duisburg):
        assert client.get(url).status_code == 200, url


def test_author_pages(client, network, duisburg, hr_duisburg, staff):
    for user in (hr_duisburg, staff):
        client.force_login(user)
        for url in [
            reverse("network:practice_create"),
            reverse("network:practice_edit", args=[network["draft"].pk]),
            network["draft"].get_absolute_url(),
            reverse("network:profile_edit", args=[duisburg.slug]),
        ]:
            assert client.get(url).status_code == 200, url


def test_other_organisations_pages_answer_404(client, network, duisburg, hr_oberhausen, organiser_oberhausen):
    for user in (hr_oberhausen, organiser_oberhausen):
        client.force_login(user)
        for url in [
            network["draft"].get_absolute_url(),
            reverse("network:practice_edit", args=[network["draft"].pk]),
            reverse("network:profile_edit", args=[duisburg.slug]),
            reverse("network:meeting_edit", args=[network["meeting"].pk]),
        ]:
            assert client.get(url).status_code == 404, url


def test_anonymous_users_are_sent_to_the_login(client, network):
    response = client.get(reverse("network:practice_list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("count", [1, 3])
def test_meeting_and_question_lists_keep_their_query_count(
    client, ministry, duisburg, hr_oberhausen, django_assert_num_queries, count
):
    for number in range(count):
        meeting = make_meeting(ministry, title=f"Treffen {number}")
        services.registration_create(
            actor=SYSTEM, meeting=meeting, organisation=duisburg, name="A", email=f"a{number}@example.org"
        )
        question = services.question_ask(
            actor=SYSTEM, organisation=duisburg, title=f"Frage {number}", body=""
        )
        services.answer_create(actor=SYSTEM, question=question, organisation=duisburg, body="Antwort")
    client.force_login(hr_oberhausen)
    # session, user with roles, and the page's own: count and page (lists), three lists (overview)
    for name, queries in (("network:meeting_list", 4), ("network:question_list", 4), ("network:index", 5)):
        client.get(reverse(name))
        with django_assert_num_queries(queries):
            response = client.get(reverse(name))
        assert response.status_code == 200


@pytest.mark.parametrize("query", ["", "?past=1"])
def test_meeting_list_pages_an_ordered_list(client, ministry, hr_oberhausen, query):
    """Meta.ordering does not apply to the grouped query with the seat counts: the view orders explicitly, so a
    page neither repeats nor skips meetings (and Django warns of no unordered list)."""
    import warnings
    from datetime import timedelta

    from django.core.paginator import UnorderedObjectListWarning
    from django.utils import timezone

    start = timezone.now() - timedelta(days=30) if query else timezone.now() + timedelta(days=30)
    for number in range(25):  # two pages, all on the same day: the key decides the order
        make_meeting(
            ministry,
            title=f"Treffen {number}",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            registration_deadline=start - timedelta(days=1),
        )
    client.force_login(hr_oberhausen)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnorderedObjectListWarning)
        for page in (1, 2):
            separator = "&" if query else "?"
            response = client.get(f"{reverse('network:meeting_list')}{query}{separator}page={page}")
            assert response.status_code == 200
            seen += [meeting.pk for meeting in response.context["meetings"]]
    assert len(seen) == 25 and len(set(seen)) == 25


def test_the_overview_shows_the_next_meetings_and_the_newest_open_questions(
    client, ministry, duisburg, hr_oberhausen
):
    """Meta.ordering does not apply to the grouped queries with the seat and answer counts: the overview showed
    three upcoming meetings and five open questions in no particular order (in practice the first announced and
    the oldest), not the next meetings and the newest questions."""
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    for days in (90, 60, 30, 20, 10):  # announced in the opposite order of their dates
        start = now + timedelta(days=days)
        make_meeting(
            ministry,
            title=f"In {days} Tagen",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            registration_deadline=start - timedelta(days=1),
        )
    for number in range(7):
        services.question_ask(actor=SYSTEM, organisation=duisburg, title=f"Frage {number}", body="")
    client.force_login(hr_oberhausen)
    context = client.get(reverse("network:index")).context
    assert [meeting.title for meeting in context["meetings"]] == ["In 10 Tagen", "In 20 Tagen", "In 30 Tagen"]
    assert [question.title for question in context["questions"]] == [f"Frage {n}" for n in (6, 5, 4, 3, 2)]


def _listing_world(count, ministry, duisburg, oberhausen):
    from datetime import timedelta

    from django.utils import timezone

    from partnerships.network.models import FieldOfAction

    for number in range(count):
        organisation = OrganisationFactory(slug=f"stadt-{number}", name=f"Stadt {number}")
        services.profile_update(
            actor=SYSTEM,
            organisation=organisation,
            description="Wir bilden gemeinsam aus.",
            fields_of_action=[FieldOfAction.SENSITISATION],
            open_for_visits=True,
        )
        services.contact_create(
            actor=SYSTEM,
            organisation=organisation,
            consent=True,
            name=f"Kontakt {number}",
            function="Personalamt",
            email=f"k{number}@example.org",
        )
        make_entry(
            organisation,
            title=f"Schulung für Ausländerbehörden {number}",
            field_of_action=FieldOfAction.SENSITISATION,
        )
        past = timezone.now() - timedelta(days=10 + number)
        make_meeting(
            ministry,
            title=f"Vergangenes Treffen {number}",
            starts_at=past,
            ends_at=past + timedelta(hours=2),
            registration_deadline=past - timedelta(days=1),
        )


@pytest.mark.parametrize("count", [1, 3])
def test_directory_and_library_keep_their_query_count(
    client, ministry, duisburg, oberhausen, hr_oberhausen, django_assert_num_queries, count
):
    _listing_world(count, ministry, duisburg, oberhausen)
    client.force_login(hr_oberhausen)
    # session, user with roles, then the page's own
    pages = {
        reverse("network:partner_list"): 4,
        reverse("network:partner_list") + "?q=Stadt&field=sensitisation&visits=1": 4,
        reverse("network:practice_list"): 5,
        # a search: its snippets come with the page's rows
        reverse("network:practice_list") + "?q=Ausl%C3%A4nderbeh%C3%B6rde&field=sensitisation": 5,
        reverse("network:meeting_list") + "?past=1": 4,
    }
    for url, queries in pages.items():
        client.get(url)
        with django_assert_num_queries(queries):
            response = client.get(url)
        assert response.status_code == 200, url


def test_a_cancelled_meeting_to_come_is_listed_among_the_upcoming_marked_cancelled(
    client, ministry, hr_oberhausen
):
    """A cancelled meeting that has not yet taken place was in neither list: those registered could not find
    it. It is listed among the upcoming ones, marked cancelled; the past list stays the past."""
    cancelled = make_meeting(ministry, title="Abgesagtes Treffen")
    services.meeting_cancel(actor=SYSTEM, meeting=cancelled)
    client.force_login(hr_oberhausen)
    upcoming = client.get(reverse("network:meeting_list"))
    assert [meeting.pk for meeting in upcoming.context["meetings"]] == [cancelled.pk]
    assert '<span class="badge text-bg-danger">abgesagt</span>' in upcoming.content.decode()
    past = client.get(reverse("network:meeting_list") + "?past=1")
    assert list(past.context["meetings"]) == []


@pytest.mark.parametrize("name", ["network:partner_list", "network:practice_list"])
def test_the_network_searches_take_as_many_characters_as_the_portal_s_other_lists(
    client, network, hr_duisburg, name
):
    """The directory's and the library's search took 200 characters, the portal's other lists 100 (with a German
    message, vielfalt.validation.SearchField): the same rule now, said in the same words under the field."""
    client.force_login(hr_duisburg)
    refused = client.get(reverse(name), {"q": "k" * 101})
    assert refused.status_code == 200
    assert "Bitte suchen Sie mit höchstens 100 Zeichen (eingegeben: 101)." in refused.text
    assert 'maxlength="100"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert (
        list(refused.context["page_obj"]) == []
    )  # as the portal's other lists: a refused search finds nothing
    assert list(client.get(reverse(name)).context["page_obj"]) != []
    assert "Bitte suchen Sie" not in client.get(reverse(name), {"q": "k" * 100}).text
