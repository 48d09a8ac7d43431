"""The start page's roles and recent jobs (read by two raw statements)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import OrganisationFactory, UserFactory
from vielfalt.models import Job, Role

pytestmark = pytest.mark.django_db


def test_home_lists_the_roles_by_organisation_and_the_users_own_five_latest_jobs(client):
    zeta = OrganisationFactory(name="Zeta-Stadt")
    alpha = OrganisationFactory(name="Alpha-Kreis")
    user = UserFactory(roles=[(zeta, Role.HR), (alpha, Role.ORGANISER), (alpha, Role.ADMIN)])
    other = UserFactory()
    start = timezone.now() - datetime.timedelta(days=1)
    for number in range(7):
        job = Job.objects.create(kind="export", description=f"Export {number}", requested_by=user)
        Job.objects.filter(pk=job.pk).update(created_at=start + datetime.timedelta(minutes=number))
    foreign = Job.objects.create(kind="export", description="Fremder Export", requested_by=other)
    client.force_login(user)
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    text = response.text
    roles = text[text.index("Your roles:") : text.index("</p>", text.index("Your roles:"))]
    assert roles.index("(Alpha-Kreis)") < roles.index("(Zeta-Stadt)")
    assert roles.count("(Alpha-Kreis)") == 2
    assert [job.description for job in response.context["recent_jobs"]] == [
        f"Export {n}" for n in (6, 5, 4, 3, 2)
    ]
    assert (
        f'<a href="{reverse("job_detail", args=[response.context["recent_jobs"][0].pk])}">Export 6</a>'
        in text
    )
    assert "Fremder Export" not in text and str(foreign.pk) not in text  # not even for an administrator
