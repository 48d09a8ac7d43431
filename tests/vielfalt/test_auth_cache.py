"""The logged-in user comes with their roles in one query (vielfalt.auth), read fresh on every request: a change
to a user or their roles counts from their next request on."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import OrganisationFactory, hr_user
from vielfalt.auth import BACKEND_PATH, PortalBackend
from vielfalt.models import Membership, Role

pytestmark = pytest.mark.django_db


def test_the_login_records_the_portal_backend(client):
    user = hr_user(OrganisationFactory())
    client.force_login(user)
    assert client.session[BACKEND_SESSION_KEY] == BACKEND_PATH


def test_user_and_roles_come_in_one_query(postgres):
    city, other = OrganisationFactory(), OrganisationFactory()
    user = hr_user(city)
    Membership.objects.create(user=user, organisation=other, role=Role.ORGANISER)
    with CaptureQueriesContext(connection) as queries:
        loaded = PortalBackend().get_user(user.pk)
        assert loaded.organisation_ids(Role.HR) == {city.pk}
        assert loaded.organisation_ids(Role.ORGANISER) == {other.pk}
        assert loaded.is_partner_hr and not loaded.is_ministry_staff
    assert len(queries) == 1


def test_a_user_without_roles_and_an_unknown_user():
    from tests.factories import UserFactory

    user = UserFactory()
    loaded = PortalBackend().get_user(user.pk)
    assert loaded == user
    assert loaded.organisation_ids(Role.HR) == frozenset()
    assert PortalBackend().get_user(user.pk + 1000) is None


def test_a_new_or_removed_role_is_seen_at_once():
    city, other = OrganisationFactory(), OrganisationFactory()
    user = hr_user(city)
    backend = PortalBackend()
    assert backend.get_user(user.pk).organisation_ids(Role.HR) == {city.pk}
    membership = Membership.objects.create(user=user, organisation=other, role=Role.HR)
    assert backend.get_user(user.pk).organisation_ids(Role.HR) == {city.pk, other.pk}
    membership.delete()
    assert backend.get_user(user.pk).organisation_ids(Role.HR) == {city.pk}
    Membership.objects.filter(user=user).delete()
    assert not backend.get_user(user.pk).is_partner_hr


def test_a_deactivated_user_is_logged_out_at_once(client):
    user = hr_user(OrganisationFactory())
    client.force_login(user)
    assert client.get(reverse("employee_list")).status_code == 200
    user.is_active = False
    user.save()
    response = client.get(reverse("employee_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_password_change_elsewhere_ends_the_session(client):
    user = hr_user(OrganisationFactory())
    client.force_login(user)
    assert client.get(reverse("home")).status_code == 200
    user.set_password("a-new-and-long-password")
    user.save()
    assert client.get(reverse("home")).status_code == 302
