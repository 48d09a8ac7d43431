"""Cached counts and rows of the employee list are never stale: every write bumps the data version."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, hr_user
from vielfalt.permissions import SYSTEM
from vielfalt.services import employees_import_file

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def list_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.LIST_CACHE_SECONDS = 300
    settings.AUTH_USER_CACHE_SECONDS = 300
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    cache.clear()
    yield
    cache.clear()


def test_list_reflects_every_kind_of_write(client, django_assert_num_queries):
    city = OrganisationFactory()
    unit = OrgUnitFactory(organisation=city, name="Feuerwehr")
    employee = EmployeeFactory(organisation=city, last_name="Schmidt", org_unit=unit)
    client.force_login(hr_user(city))
    url = reverse("employee_list")

    def listing():
        text = client.get(url).text
        return int(re.search(r"(\d+) (Beschäftigte|beschäftigte Person) gefunden", text).group(1)), text

    assert listing()[0] == 1
    assert "Schmidt" in listing()[1]
    with django_assert_num_queries(0):  # session, user with roles and the list itself: all from the cache
        assert "Schmidt" in client.get(url).text

    client.post(
        reverse("employee_update", args=[employee.pk]),
        {
            "personnel_number": employee.personnel_number,
            "first_name": "Ada",
            "last_name": "Schmidt-Öztürk",
            "email": "",
            "org_unit": unit.pk,
            "target_group": "manager",
            "is_active": "on",
        },
    )
    assert "Schmidt-Öztürk" in listing()[1]

    data = "Personalnummer;Nachname;Vorname;Organisationseinheit\nNEU-1;Nguyễn;Lan;Feuerwehr\n".encode()
    employees_import_file(actor=SYSTEM, organisation=city, data=data)
    count, text = listing()
    assert count == 2
    assert "Nguyễn" in text

    employee.delete()
    count, text = listing()
    assert count == 1
    assert "Schmidt-Öztürk" not in text


def test_cached_rows_are_not_shared_between_organisations(client):
    duisburg, oberhausen = OrganisationFactory(), OrganisationFactory()
    EmployeeFactory(organisation=duisburg, last_name="Duisburger")
    EmployeeFactory(organisation=oberhausen, last_name="Oberhausener")
    client.force_login(hr_user(duisburg))
    assert "Duisburger" in client.get(reverse("employee_list")).text
    client.force_login(hr_user(oberhausen))
    text = client.get(reverse("employee_list")).text
    assert "Oberhausener" in text
    assert "Duisburger" not in text


def test_a_fragment_built_before_a_write_committed_is_not_served():
    from vielfalt.caching import VersionedFragment, bump_version

    fragment = VersionedFragment("test", "employees", [1], "query")
    assert fragment.get() is None
    # A write bumps the version while this request renders from data read before it: the fragment is
    # stored with the version read first, so the next request does not take it.
    bump_version("employees", 1)
    fragment.set("old rows", 60)
    assert VersionedFragment("test", "employees", [1], "query").get() is None
    fresh = VersionedFragment("test", "employees", [1], "query")
    assert fresh.get() is None
    fresh.set("new rows", 60)
    assert VersionedFragment("test", "employees", [1], "query").get() == "new rows"
    assert VersionedFragment("test", "employees", [2], "query").get() is None


def test_the_redis_cache_reuses_its_client(settings):
    from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

    from vielfalt.cache import RedisCache

    cache_ = RedisCache("redis://127.0.0.1:6379/15", {})
    assert cache_._cache.get_client() is cache_._cache.get_client(write=True)
    assert (
        DjangoRedisCache("redis://127.0.0.1:6379/15", {})._cache.get_client()
        is not cache_._cache.get_client()
    )
