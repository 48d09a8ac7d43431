import pytest
from django.core.management import call_command

from partnerships.network.models import Meeting, PracticeEntry, Question, Registration
from partnerships.network.selectors import practice_search
from vielfalt.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_the_network(settings, postgres):
    settings.DEBUG = True
    for _ in range(2):
        call_command("seed_demo", password="demo-password-1")
    entries = PracticeEntry.objects.published()
    assert sorted(entries.values_list("organisation__slug", flat=True)) == ["duisburg", "oberhausen"]
    hr_oberhausen = User.objects.get(username="hr-oberhausen")
    [found] = practice_search(
        PracticeEntry.objects.visible_to(hr_oberhausen), "anonymisierte Bewerbungsverfahren"
    )
    assert found.organisation.slug == "duisburg"
    assert "100 Stellen" in found.summary
    assert found.commitment is not None
    meeting = Meeting.objects.get()
    assert (meeting.host.slug, "Düsseldorf" in meeting.location) == ("mais-nrw", True)
    assert sorted(
        meeting.registrations.filter(status=Registration.Status.SEATED).values_list(
            "organisation__slug", flat=True
        )
    ) == [
        "duisburg",
        "oberhausen",
    ]
    question = Question.objects.get()
    assert question.helpful_answer.organisation.slug == "duisburg"
