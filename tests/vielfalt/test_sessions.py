"""Sessions live in PostgreSQL alone and are read with one plain SQL statement (vielfalt.sessions)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from vielfalt.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_the_portal_uses_its_database_sessions():
    assert settings.SESSION_ENGINE == "vielfalt.sessions"


def test_a_session_is_read_back_in_one_query():
    store = SessionStore()
    store["answer"] = 42
    store.save()
    with CaptureQueriesContext(connection) as queries:
        again = SessionStore(store.session_key)
        assert again["answer"] == 42
    assert len(queries) == 1


def test_an_expired_or_unknown_session_is_empty_and_gets_a_new_key():
    store = SessionStore()
    store["answer"] = 42
    store.save()
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    expired = SessionStore(store.session_key)
    assert dict(expired.items()) == {}
    assert expired.session_key is None
    unknown = SessionStore("x" * 32)
    assert dict(unknown.items()) == {}
    assert unknown.session_key is None
