"""Accounts of the portal have a life cycle in the retention purge too: one without a login for
ACCOUNT_DORMANT_DAYS is deactivated and its holder told; one deactivated for RETENTION_ACCOUNT_DAYS loses its
user name, names and e-mail address to a pseudonym, and password, roles and second factors go. Before, an account
was kept with everything in it for as long as nobody deleted it by hand, which the audit log's references forbid."""

from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from tests.factories import OrganisationFactory, UserFactory, hr_user
from vielfalt.models import AuditEntry, AuthenticatorApp, Membership, Role, User
from vielfalt.permissions import SYSTEM
from vielfalt.privacy import PSEUDONYM_PREFIX
from vielfalt.programme.privacy import purge, retention_overview
from vielfalt.tasks import task_account_dormancy_notice

pytestmark = pytest.mark.django_db

YEAR = timedelta(days=365)


def _aged(user: User, **moments) -> User:
    User.objects.filter(pk=user.pk).update(**moments)
    user.refresh_from_db()
    return user


def test_an_account_unused_for_the_period_is_deactivated_and_its_holder_told(
    settings, django_capture_on_commit_callbacks
):
    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "dormant": 365, "dormant_notice": 0}
    now = timezone.now()
    city = OrganisationFactory()
    long_ago = now - YEAR - timedelta(days=1)
    unused = _aged(
        hr_user(city, username="unused", email="unused@stadt.example"),
        date_joined=long_ago,
        last_login=long_ago,
    )
    never = _aged(hr_user(city, username="never", email="never@stadt.example"), date_joined=long_ago)
    recent = _aged(
        hr_user(city, username="recent"), date_joined=long_ago, last_login=now - timedelta(days=30)
    )
    reactivated = _aged(
        hr_user(city, username="reactivated"), date_joined=long_ago, last_login=long_ago, active_since=now
    )
    operator = _aged(
        UserFactory(username="root", is_superuser=True, is_staff=True),
        date_joined=long_ago,
        last_login=long_ago,
    )

    assert purge(actor=SYSTEM, now=now, dry_run=True)["accounts_deactivated"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        counts = purge(actor=SYSTEM, now=now)
    assert counts["accounts_deactivated"] == 2
    assert {user.username for user in User.objects.filter(is_active=False)} == {"unused", "never"}
    assert all(User.objects.get(pk=user.pk).is_active for user in (recent, reactivated, operator))
    assert User.objects.get(pk=unused.pk).deactivated_at == now
    entries = AuditEntry.objects.filter(
        changes__has_key="reason", object_id__in=[str(unused.pk), str(never.pk)]
    )
    assert entries.count() == 2 and {entry.actor_name for entry in entries} == {"system"}
    assert sorted(message.to[0] for message in mail.outbox) == ["never@stadt.example", "unused@stadt.example"]
    assert "365 Tage lang niemand damit angemeldet" in mail.outbox[0].body
    assert "Administration des Portals vorgenommen" not in mail.outbox[0].body  # the purge, not a person

    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "dormant": 0}  # off
    _aged(recent, last_login=long_ago)
    assert purge(actor=SYSTEM, now=now, dry_run=True)["accounts_deactivated"] == 0


def test_a_deactivated_account_is_pseudonymised_after_the_period(client, settings):
    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "account": 365}
    now = timezone.now()
    city = OrganisationFactory()
    gone = hr_user(
        city, username="kim.yilmaz", first_name="Kim", last_name="Yılmaz", email="kim@stadt.example"
    )
    AuthenticatorApp.objects.create(user=gone, name="Telefon", confirmed=True)
    gone.is_active = False
    gone.save()  # the admin's or the portal's path: the clock starts
    assert gone.deactivated_at is not None
    recently = hr_user(city, username="recently")
    recently.is_active = False
    recently.save()
    _aged(gone, deactivated_at=now - YEAR - timedelta(days=1))

    assert purge(actor=SYSTEM, now=now, dry_run=True)["accounts"] == 1
    assert purge(actor=SYSTEM, now=now)["accounts"] == 1
    gone.refresh_from_db()
    assert gone.username.startswith(PSEUDONYM_PREFIX)
    assert (gone.first_name, gone.last_name, gone.email) == ("", "", "")
    assert not gone.has_usable_password() and gone.pseudonymised_at == now
    assert not Membership.objects.filter(user=gone).exists()
    assert not AuthenticatorApp.objects.filter(user=gone).exists()
    assert not User.objects.filter(username="kim.yilmaz").exists()
    assert User.objects.get(pk=recently.pk).username == "recently"  # not due yet
    assert purge(actor=SYSTEM, now=now, dry_run=True)["accounts"] == 0

    # Activated again in the admin, an account counts as used from then on.
    recently.is_active = True
    recently.save()
    assert recently.active_since is not None and recently.deactivated_at is None


def test_the_retention_page_and_the_record_of_processing_name_the_account_periods(client, settings):
    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "dormant": 180, "account": 400}
    overview = retention_overview()
    periods = {period["setting"]: period["days"] for period in overview["periods"]}
    assert periods["ACCOUNT_DORMANT_DAYS"] == 180 and periods["RETENTION_ACCOUNT_DAYS"] == 400
    assert {row["kind"] for row in overview["next_run"]} >= {"accounts_deactivated", "accounts"}
    administrator = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(administrator)
    record = client.get(reverse("privacy_record")).content.decode()
    assert "180 Tage lang niemand angemeldet hat, wird deaktiviert" in record
    assert "400 Tage nach der Deaktivierung" in record
    assert Role.ADMIN


def test_the_holder_is_told_before_an_unused_account_is_deactivated_and_a_login_keeps_it(
    settings, django_capture_on_commit_callbacks
):
    """Before, an account was deactivated on the day its year ran out, and its holder read of it afterwards."""
    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "dormant": 365, "dormant_notice": 14}
    now = timezone.now()
    city = OrganisationFactory()
    almost = now - timedelta(days=352)  # a year unused in 13 days
    told = _aged(
        hr_user(city, username="told", email="told@stadt.example", first_name="Kim", last_name="Ay"),
        date_joined=almost,
        last_login=almost,
    )
    keeps = _aged(
        hr_user(city, username="keeps", email="keeps@stadt.example"), date_joined=almost, last_login=almost
    )
    _aged(  # unused for two years when the notice came in: told first all the same
        hr_user(city, username="overdue", email="overdue@stadt.example"), date_joined=now - 2 * YEAR
    )
    _aged(
        hr_user(city, username="later"),
        date_joined=now - timedelta(days=340),
        last_login=now - timedelta(days=340),
    )
    # Told on the first night it could be (a year unused in 14 days and a minute): deactivated on the day named
    # all the same, though that night's run starts earlier in the day than the run that told.
    _aged(
        hr_user(city, username="edge", email="edge@stadt.example"),
        date_joined=almost,
        last_login=now - timedelta(days=351, minutes=1),
    )
    invited = hr_user(city, username="invited", email="invited@stadt.example")
    invited.set_unusable_password()  # an invitation never taken up: the login alone would not let them in
    invited.save()
    _aged(invited, date_joined=almost)

    assert purge(actor=SYSTEM, now=now, dry_run=True)["accounts_notified"] == 5
    with django_capture_on_commit_callbacks(execute=True):
        counts = purge(actor=SYSTEM, now=now)
    assert (counts["accounts_notified"], counts["accounts_deactivated"]) == (5, 0)
    assert User.objects.filter(is_active=False).count() == 0
    assert sorted(message.to[0] for message in mail.outbox) == [
        "edge@stadt.example",
        "invited@stadt.example",
        "keeps@stadt.example",
        "overdue@stadt.example",
        "told@stadt.example",
    ]
    to_invited = next(message for message in mail.outbox if message.to == ["invited@stadt.example"])
    assert "Sie haben noch kein Passwort gewählt." in to_invited.body
    assert reverse("password_reset") in to_invited.body and reverse("login") not in to_invited.body
    notice = next(message for message in mail.outbox if message.to == ["told@stadt.example"])
    assert notice.subject == "Ihr Zugang zum Portal „Vielfalt verbindet“ wird deaktiviert"
    on = date_format(timezone.localdate(now + timedelta(days=14)), "DATE_FORMAT")
    since = date_format(timezone.localtime(almost), "DATE_FORMAT")
    assert notice.body.startswith("Guten Tag Kim Ay,")
    assert (
        f"„told“ zum Portal „Vielfalt verbindet“ hat sich seit dem {since} niemand angemeldet" in notice.body
    )
    assert f"Ihr Zugang wird am {on} deaktiviert." in notice.body
    assert "http://" in notice.body and reverse("login") in notice.body
    assert User.objects.get(pk=told.pk).dormancy_notice_at == now

    mail.outbox.clear()  # the next day: nobody is told twice, nobody deactivated before their notice ran out
    with django_capture_on_commit_callbacks(execute=True):
        counts = purge(actor=SYSTEM, now=now + timedelta(days=1))
    assert (counts["accounts_notified"], counts["accounts_deactivated"], len(mail.outbox)) == (0, 0, 0)

    _aged(keeps, last_login=now + timedelta(days=3))  # its holder logs in
    task_account_dormancy_notice.apply(kwargs={"user_id": keeps.pk, "deactivate_on": on})  # a late retry
    assert mail.outbox == []
    # The night of the day the notice named, at an earlier time of day than the run that told.
    named_day = timezone.make_aware(
        datetime.combine(timezone.localdate(now + timedelta(days=14)), time(0, 1))
    )
    with django_capture_on_commit_callbacks(execute=True):
        counts = purge(actor=SYSTEM, now=named_day)
    assert (counts["accounts_deactivated"], counts["accounts_notified"]) == (4, 1)  # "later" is told now
    assert set(User.objects.filter(is_active=False).values_list("username", flat=True)) == {
        "told",
        "overdue",
        "invited",
        "edge",
    }
    # Unused again: told again, counted from its last login.
    again = now + timedelta(days=3 + 352)
    assert purge(actor=SYSTEM, now=again - timedelta(days=2), dry_run=True)["accounts_notified"] == 0
    assert purge(actor=SYSTEM, now=again, dry_run=True)["accounts_notified"] == 1
