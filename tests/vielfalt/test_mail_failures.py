"""E-mails to an account's holder that cannot be handed to the background service (Redis down) are marked on the
account and shown to administrators, as the mails of enrolments and registrations are marked on theirs; before,
they were lost with a log line. A notice of coming deactivation that did not get out does not count as given."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, OrganisationFactory, hr_user
from tests.helpers import broker_unreachable
from vielfalt.account_events import account_changed
from vielfalt.models import User
from vielfalt.permissions import SYSTEM
from vielfalt.programme.privacy import purge

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("event", "name", "by_admin"),
    [
        ("roles", "granted: Personalverwaltung – Stadt Essen", True),
        ("deactivated", "365", True),
        ("password", "", False),
        ("app_added", "Handy", False),
        ("passkey_removed", "Schlüssel", False),
    ],
)
def test_an_account_notice_that_cannot_be_queued_is_marked_and_shown_to_administrators(
    client, superuser, django_capture_on_commit_callbacks, event, name, by_admin
):
    holder = hr_user(OrganisationFactory(), username="kim", email="kim@stadt.example")
    with broker_unreachable(), django_capture_on_commit_callbacks(execute=True):
        account_changed(user=holder, actor=superuser if by_admin else holder, event=event, name=name)
    holder.refresh_from_db()
    assert holder.mail_failed_at is not None
    client.force_login(superuser)
    listing = client.get(reverse("admin:vielfalt_user_changelist"), HTTP_ACCEPT_LANGUAGE="de").text
    assert "E-Mail nicht zugestellt" in listing
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*>kim<.*?</tr>", listing, re.S).group(0)
    assert re.search(r'class="field-mail_failed_at[^"]*">[^<-]', row), row  # a date, not "-"

    # The next notice that gets through (here: tasks run in-process) clears the mark.
    with django_capture_on_commit_callbacks(execute=True):
        account_changed(user=holder, actor=holder, event="password")
    assert [message.to for message in mail.outbox] == [["kim@stadt.example"]]
    holder.refresh_from_db()
    assert holder.mail_failed_at is None


def test_a_dormancy_notice_that_cannot_be_queued_does_not_count_as_given(
    settings, django_capture_on_commit_callbacks
):
    """The account would have been deactivated two weeks later on the strength of a notice nobody received."""
    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "dormant": 365, "dormant_notice": 14}
    now = timezone.now()
    unused = hr_user(OrganisationFactory(), username="told", email="told@stadt.example")
    almost = now - timedelta(days=352)
    User.objects.filter(pk=unused.pk).update(date_joined=almost, last_login=almost)

    with broker_unreachable(), django_capture_on_commit_callbacks(execute=True):
        assert purge(actor=SYSTEM, now=now)["accounts_notified"] == 1
    unused.refresh_from_db()
    assert unused.mail_failed_at is not None
    assert unused.dormancy_notice_at is None

    # Two weeks on, the account is not deactivated: the next run tells the holder first (and it gets out).
    later = now + timedelta(days=15)
    with django_capture_on_commit_callbacks(execute=True):
        counts = purge(actor=SYSTEM, now=later)
    assert (counts["accounts_deactivated"], counts["accounts_notified"]) == (0, 1)
    assert [message.to for message in mail.outbox] == [["told@stadt.example"]]
    unused.refresh_from_db()
    assert unused.is_active
    assert (unused.dormancy_notice_at, unused.mail_failed_at) == (later, None)


def test_the_holder_of_an_address_that_refused_a_notice_is_told_at_the_next_login(client):
    """The mark was shown only to administrators in the admin's list of accounts: the holder, the one person who
    knows whether the address is right, was never told. The next login says so (in German by default)."""
    holder = hr_user(OrganisationFactory(), username="kim", email="kim@stadt.example")
    User.objects.filter(pk=holder.pk).update(mail_failed_at=timezone.now() - timedelta(days=2))
    response = client.post(reverse("login"), {"username": "kim", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    text = " ".join(response.text.split())
    assert "Eine E-Mail des Portals an Ihre Adresse kim@stadt.example konnte nicht zugestellt werden" in text
    client.logout()
    User.objects.filter(pk=holder.pk).update(mail_failed_at=None)
    response = client.post(reverse("login"), {"username": "kim", "password": PASSWORD}, follow=True)
    assert "nicht zugestellt" not in response.text
