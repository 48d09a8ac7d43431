"""The logged-in user and their roles come from the cache between requests (vielfalt.auth) and never outlive a
change to them."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import OrganisationFactory, hr_user
from vielfalt.auth import BACKEND_PATH, PortalBackend
from vielfalt.models import Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _user_cache(settings):
    # A private memory cache: the shared Redis would keep users of rolled-back tests.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.AUTH_USER_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def test_the_login_records_the_portal_backend(client):
    user = hr_user(OrganisationFactory())
    client.force_login(user)
    assert client.session[BACKEND_SESSION_KEY] == BACKEND_PATH


def test_user_and_roles_come_from_the_cache_on_the_second_request():
    city = OrganisationFactory()
    user = hr_user(city)
    backend = PortalBackend()
    with CaptureQueriesContext(connection) as first:
        loaded = backend.get_user(user.pk)
        assert loaded.organisation_ids(Role.HR) == {city.pk}
    assert len(first) == 2  # the user, the memberships
    with CaptureQueriesContext(connection) as second:
        again = backend.get_user(user.pk)
        assert again.organisation_ids(Role.HR) == {city.pk}
        assert again.is_partner_hr
    assert len(second) == 0


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


def test_without_a_shared_cache_nothing_is_cached(settings):
    settings.AUTH_USER_CACHE_SECONDS = 0
    user = hr_user(OrganisationFactory())
    backend = PortalBackend()
    backend.get_user(user.pk)
    with CaptureQueriesContext(connection) as queries:
        backend.get_user(user.pk).organisation_ids(Role.HR)
    assert len(queries) == 2
