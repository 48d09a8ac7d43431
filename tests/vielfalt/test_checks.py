import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from vielfalt.checks import check_portal_url


def test_production_warns_when_portal_url_is_not_https(settings, db):  # db: the model checks ask PostgreSQL
    settings.DEBUG = False
    settings.PORTAL_URL = "http://127.0.0.1:8000"
    assert [w.id for w in check_portal_url(None)] == ["vielfalt.W001"]
    with pytest.raises(SystemCheckError):
        call_command("check", fail_level="WARNING")
    settings.PORTAL_URL = "https://vielfalt.nrw.example"
    assert check_portal_url(None) == []
    settings.DEBUG = True
    settings.PORTAL_URL = "http://127.0.0.1:8400"
    assert check_portal_url(None) == []
