"""Unicode's case rules in SQLite's LIKE and UPPER (vielfalt.sqlite, the backend of `make run` without
DATABASE_URL): SQLite's own ignore and change the case of A–Z only, so a search for "öz" missed Öztürk there."""

import pytest

from tests.factories import EmployeeFactory, OrganisationFactory
from vielfalt.models import Employee
from vielfalt.sqlite.base import DatabaseWrapper, like

pytestmark = pytest.mark.django_db


def test_like_reads_a_pattern_as_sqlite_does_but_ignores_every_letter_s_case():
    assert like("%öz%", "Öztürk") and like("ŁU%", "łukasz") and like("%ŞA%", "Şahin")
    assert like("_z%", "Öztürk") and not like("_z", "Öztürk")
    assert like("%", "") and not like("a", "") and like("a\nb", "A\nB")
    assert like(r"100\%", "100%", "\\") and not like(r"100\%", "1000", "\\")
    assert like(r"a\_c", "a_c", "\\") and not like(r"a\_c", "abc", "\\") and like(r"a\\c", "a\\c", "\\")
    assert not like("a.c", "abc") and not like("(x", "x") and like("(x", "(X")  # no regular expression
    assert like("%", None) is None and like(None, "x") is None
    assert like("1%", 12)  # a number compares as its text, as in SQLite


def test_a_connection_of_the_backend_uses_them():
    settings = {
        "NAME": ":memory:",
        "OPTIONS": {},
        "TIME_ZONE": None,
        "AUTOCOMMIT": True,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "ATOMIC_REQUESTS": False,
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "TEST": {},
    }
    wrapper = DatabaseWrapper(settings, alias="sqlite_case")
    try:
        with wrapper.cursor() as cursor:
            cursor.execute(
                "SELECT 'Öztürk' LIKE '%öz%', 'Łukasz' LIKE 'ł%' ESCAPE '\\', UPPER('Şahin'), 'Abc' LIKE 'abd'"
            )
            assert cursor.fetchone() == (1, 1, "ŞAHIN", 0)
    finally:
        wrapper.close()


def test_the_employee_search_finds_a_name_whatever_the_case_of_its_first_letter():
    """On the test database, whichever it is: PostgreSQL compares by its own case rules."""
    city = OrganisationFactory()
    for first_name, last_name in [("Ayşe", "Öztürk"), ("Łukasz", "Nowak"), ("Emre", "Şahin"), ("Jan", "Oz")]:
        EmployeeFactory(organisation=city, first_name=first_name, last_name=last_name)

    def found(text):
        return set(Employee.objects.search(text).values_list("last_name", flat=True))

    assert found("öz") == found("ÖZ") == {"Öztürk"}
    assert found("öztürk") == {"Öztürk"}
    assert found("ł") == {"Nowak"}
    assert found("şa") == found("ŞAHİN".replace("İ", "I")) == {"Şahin"}
    assert found("oz") == {"Oz"}
