"""The header leads nowhere it shuts: every link of the main navigation opens for the user it is shown to."""

import re

import pytest
from django.test import Client

from tests.conftest import pass_second_factor
from tests.factories import OrganisationFactory, UserFactory, hr_user, ministry_user
from vielfalt.models import Role


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    pass_second_factor(session, user)
    session.save()
    return client


def _navigation_links(page: str) -> list[str]:
    navigation = page[page.index('<ul class="navbar-nav">') :]
    navigation = navigation[: navigation.index("</ul>")]
    return re.findall(r'href="([^"]+)"', navigation)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["no role", "hr", "organiser", "ministry", "ended membership"])
def test_every_link_of_the_header_opens_for_whom_it_is_shown(kind):
    organisation = OrganisationFactory()
    if kind == "hr":
        user = hr_user(organisation)
    elif kind == "organiser":
        user = UserFactory(roles=[(organisation, Role.ORGANISER)])
    elif kind == "ministry":
        user = ministry_user()
    elif kind == "ended membership":
        user = hr_user(organisation)
        user.memberships.all().delete()
    else:
        user = UserFactory()
    client = _client(user)
    home = client.get("/")
    assert home.status_code == 200
    links = _navigation_links(home.content.decode())
    assert links and links[0] == "/"
    refused = {link: client.get(link).status_code for link in links}
    assert {link: status for link, status in refused.items() if status != 200} == {}
    # Nor does the start page offer the network to an account without a role.
    assert ("/network/" in home.content.decode()) is (kind not in ("no role", "ended membership"))
