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


def test_partner_hr_finds_its_agreement_and_the_yearly_progress_report_from_the_start_page(client):
    """Reporting progress on the agreement's commitments is partner HR's yearly duty; the start page had no way
    to it (only the ministry's card led to the agreements)."""
    duisburg = OrganisationFactory(name="Stadt Duisburg")
    client.force_login(UserFactory(roles=[(duisburg, Role.HR)]))
    text = client.get(reverse("home")).text
    card = text[
        text.index('id="card-partnerships"') : text.index("</section>", text.index('id="card-partnerships"'))
    ]
    assert "melden Sie einmal im Jahr, was erreicht wurde" in card
    assert f'href="{reverse("partnerships:index")}"' in card
    client.force_login(UserFactory(roles=[(duisburg, Role.ORGANISER)]))
    assert 'id="card-partnerships"' not in client.get(reverse("home")).text
