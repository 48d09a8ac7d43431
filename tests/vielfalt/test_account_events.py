"""What changes how an account logs in (its password, its second factors) is recorded in the audit log and told
to the holder by e-mail; administrators can remove a lost factor but never read, add or change one
(vielfalt.account_events, vielfalt.admin.SecondFactorAdmin)."""

import io
import re
import uuid

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp_webauthn.models import WebAuthnCredential

from tests.factories import PASSWORD, OrganisationFactory, UserFactory, ministry_user
from tests.helpers import form_data
from tests.vielfalt.test_second_factor import code_for, login, second_step, totp_device
from vielfalt.models import AuditEntry, AuthenticatorApp, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def official(db):
    user = ministry_user(username="miriam", email="miriam@mais.nrw.example", first_name="Miriam")
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    return user


def _passkey(user, name="YubiKey") -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user, name=name, credential_id=name.encode(), public_key=b"key", aaguid="0" * 36, confirmed=True
    )


def _second_factor_entries(user) -> list[str]:
    return [
        entry.changes["second_factor"]
        for entry in AuditEntry.objects.filter(
            object_id=str(user.pk), changes__has_key="second_factor"
        ).order_by("pk")
    ]


def test_the_admin_shows_no_key_or_recovery_code_and_neither_adds_nor_changes_a_factor(
    client, superuser, official
):
    app = totp_device(official)
    recovery = StaticDevice.objects.create(user=official, name="recovery", confirmed=True)
    StaticToken.objects.create(device=recovery, token="geheim42")
    _passkey(official)
    client.force_login(superuser)

    page = client.get(reverse("admin:vielfalt_authenticatorapp_change", args=[app.pk]))
    assert page.status_code == 200 and "miriam" in page.text
    assert app.bin_key.hex() not in page.text and "qrcode" not in page.text.lower()
    assert 'name="key"' not in page.text  # nothing to edit: a key typed in here would be the administrator's
    listing = client.get(reverse("admin:vielfalt_authenticatorapp_changelist"))
    assert listing.status_code == 200 and "qrcode" not in listing.text.lower()
    codes = client.get(reverse("admin:otp_static_staticdevice_change", args=[recovery.pk]))
    assert codes.status_code == 200 and "geheim42" not in codes.text
    removing = client.get(reverse("admin:otp_static_staticdevice_delete", args=[recovery.pk]))
    assert removing.status_code == 200 and "geheim42" not in removing.text  # the objects it would delete
    passkeys = client.get(reverse("admin:django_otp_webauthn_webauthncredential_changelist"))
    assert passkeys.status_code == 200 and "YubiKey" in passkeys.text  # listed, so it can be removed

    assert client.get(reverse("admin:vielfalt_authenticatorapp_add")).status_code == 403
    planted = client.post(
        reverse("admin:vielfalt_authenticatorapp_change", args=[app.pk]),
        {"user": official.pk, "name": "Telefon", "key": "00" * 20, "confirmed": "on"},
    )
    assert planted.status_code == 403
    app.refresh_from_db()
    assert app.bin_key != bytes(20)


def test_an_administrator_removes_a_lost_factor_and_the_holder_is_told(
    client, superuser, official, django_capture_on_commit_callbacks
):
    passkey = _passkey(official, "Laptop")
    app = totp_device(official)
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        url = reverse("admin:django_otp_webauthn_webauthncredential_delete", args=[passkey.pk])
        assert client.post(url, {"post": "yes"}).status_code == 302
        assert (
            client.post(
                reverse("admin:vielfalt_authenticatorapp_changelist"),
                {"action": "delete_selected", "_selected_action": [app.pk], "post": "yes"},
            ).status_code
            == 302
        )
    assert not WebAuthnCredential.objects.filter(user=official).exists()
    assert not AuthenticatorApp.objects.filter(user=official).exists()
    deleted = AuditEntry.objects.filter(action=AuditEntry.Action.DELETE, actor=superuser)
    assert deleted.count() == 2
    assert [message.to for message in mail.outbox] == [[official.email], [official.email]]
    first, second = (message.body for message in mail.outbox)
    assert "Laptop" in first and "Administration" in first
    assert "Telefon" in second and "Administration" in second


def test_setting_up_renewing_and_removing_a_factor_is_recorded_and_told(
    client, django_capture_on_commit_callbacks
):
    sven = UserFactory(
        username="sven", email="sven@oberhausen.example", roles=[(OrganisationFactory(), Role.ORGANISER)]
    )
    client.force_login(sven)
    client.get(reverse("second_factor_setup"))
    device = AuthenticatorApp.objects.get(user=sven)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("second_factor_setup"), {"token": code_for(device)}).status_code == 200
        renewed = client.post(reverse("second_factor_manage"), {"action": "recovery-codes"})
        client.post(reverse("second_factor_manage"), {"action": "remove-app", "device": device.pk})
    assert _second_factor_entries(sven) == [
        f"Authenticator-App „{device.name}“ eingerichtet",
        "neue Wiederherstellungscodes",
        f"Authenticator-App „{device.name}“ entfernt",
    ]
    assert [message.to for message in mail.outbox] == [[sven.email]] * 3
    bodies = [message.body for message in mail.outbox]
    assert "eingerichtet" in bodies[0] and "Administration des Portals vorgenommen" not in bodies[0]
    for code in re.findall(r"<li>([a-z2-7]{8})</li>", renewed.text):  # no code in any e-mail or entry
        assert not [body for body in bodies if code in body]
        assert not AuditEntry.objects.filter(changes__icontains=code).exists()


def test_a_changed_password_is_recorded_and_told_and_a_first_one_is_not_a_change(
    client, official, django_capture_on_commit_callbacks
):
    device = totp_device(official)
    login(client, "miriam")
    second_step(client, code_for(device))
    new = "Ein-ganz-neues-Passwort-7"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("password_change"),
            {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        )
    assert response.status_code == 302
    official.refresh_from_db()
    assert official.check_password(new)
    [message] = mail.outbox
    assert message.to == [official.email] and "Ihr Passwort wurde geändert." in message.body
    assert new not in message.body
    entry = AuditEntry.objects.get(object_id=str(official.pk), changes__has_key="password")
    assert entry.actor == official and entry.changes == {"password": "***"}


def test_a_password_reset_by_link_is_told_and_an_invited_accounts_first_password_is_not(
    client, official, settings, django_capture_on_commit_callbacks
):
    # The reset throttle counts per address and client in Redis, across runs: addresses of this run's own.
    official.email = f"miriam.{uuid.uuid4().hex[:10]}@mais.nrw.example"
    official.save(update_fields=["email"])
    invited = UserFactory(username="neu", email=f"neu.{uuid.uuid4().hex[:10]}@stadt.example")
    invited.set_unusable_password()
    invited.save()
    new = "Ein-ganz-neues-Passwort-8"
    remote = "10.{}.{}.{}".format(*uuid.uuid4().bytes[:3])
    for user in (official, invited):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("password_reset"), {"email": user.email}, REMOTE_ADDR=remote)
        link = next(line.strip() for line in mail.outbox[-1].body.splitlines() if "/accounts/reset/" in line)
        form = client.get(link.removeprefix(settings.PORTAL_URL))["Location"]
        with django_capture_on_commit_callbacks(execute=True):
            done = client.post(form, {"new_password1": new, "new_password2": new})
        assert done.status_code == 302
        user.refresh_from_db()
        assert user.check_password(new)
    notices = [message for message in mail.outbox if "wurde geändert" in message.subject]
    assert [message.to for message in notices] == [[official.email]]


def test_an_address_changed_in_the_admin_is_told_at_the_earlier_one(
    client, superuser, official, django_capture_on_commit_callbacks
):
    """Whoever changes the address next receives the link to a new password: the holder hears of it at the address
    they still read."""
    earlier = official.email
    client.force_login(superuser)
    url = reverse("admin:vielfalt_user_change", args=[official.pk])
    data = form_data(client.get(url).content.decode(), "user_form")
    data["email"] = "jemand@anders.example"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, data).status_code == 302
    [message] = mail.outbox
    assert message.to == [earlier]
    assert (
        "jemand@anders.example" in message.body and "Administration des Portals vorgenommen" in message.body
    )


def test_a_password_set_by_an_operator_on_the_command_line_is_recorded_and_told(
    official, monkeypatch, django_capture_on_commit_callbacks
):
    """`manage.py changepassword` replaced a password without a trace."""
    new = "Vom-Betrieb-gesetzt-2026"
    monkeypatch.setattr("getpass.getpass", lambda prompt="": new)  # what the operator types, twice
    with django_capture_on_commit_callbacks(execute=True):
        call_command("changepassword", "miriam", stdout=io.StringIO())
    official.refresh_from_db()
    assert official.check_password(new)
    entry = AuditEntry.objects.get(object_id=str(official.pk), changes__has_key="password")
    assert (entry.actor_name, entry.changes) == ("system", {"password": "***"})
    [message] = mail.outbox
    assert message.to == [official.email] and "Ihr Passwort wurde geändert." in message.body
    assert "Administration des Portals vorgenommen" in message.body and new not in message.body


def test_a_superuser_made_on_the_command_line_is_recorded(monkeypatch):
    """`manage.py createsuperuser` made the most powerful account without a trace."""
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Betrieb-Root-2026-x")
    call_command(
        "createsuperuser",
        "--noinput",
        username="root-ops",
        email="ops@mais.nrw.example",
        stdout=io.StringIO(),
    )
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CREATE, object_repr="root-ops")
    assert (entry.actor_name, entry.changes) == ("system", {"via": "createsuperuser", "is_superuser": True})
    assert "Betrieb-Root" not in str(entry.changes)
