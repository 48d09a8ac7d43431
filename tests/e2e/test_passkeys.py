"""Passkeys in a real browser: Debian's Chromium with Chrome DevTools' virtual authenticator (CDP `WebAuthn`)
registers a passkey on the set-up page after the password, and a later login uses it as the second factor.
And as an attacker with the password only: no passkey of one's own can be added to an account that already has a
second factor, and the pages stay closed."""

import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django_otp_webauthn.models import WebAuthnCredential

from tests.conftest import axe_violations
from tests.factories import PASSWORD, ministry_user
from vielfalt.models import AuditEntry, AuthenticatorApp

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def passkey_site(live_server, settings):
    """The live server is http://localhost:PORT, a secure context for WebAuthn: the relying party is localhost."""
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    assert live_server.url.startswith("http://localhost:")
    return live_server.url


def virtual_authenticator(page) -> tuple[object, str]:
    """A platform authenticator (like a phone's or laptop's) that answers every request with user verification."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, authenticator["authenticatorId"]


def password_step(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/accounts/second-factor/.*"))


def wrong_password(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(PASSWORD + "-wrong")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def session_key(page) -> str:
    return next(
        cookie["value"] for cookie in page.context.cookies() if cookie["name"] == settings.SESSION_COOKIE_NAME
    )


def test_a_passkey_registered_in_the_browser_is_the_second_factor_of_the_next_login(passkey_site, page):
    base = passkey_site
    user = ministry_user(username="mira")
    cdp, authenticator_id = virtual_authenticator(page)

    # After the password: the set-up page, where the passkey is registered instead of an app.
    password_step(page, base, "mira")
    assert "/accounts/second-factor/setup/" in page.url
    page.get_by_role("button", name="Passkey registrieren").click()
    page.wait_for_function("document.querySelector('#passkey-register-status-message')?.textContent.trim()")
    credential = WebAuthnCredential.objects.get(user=user)
    assert credential.confirmed
    # Recorded, and told to her (vielfalt.account_events).
    [entry] = AuditEntry.objects.filter(object_id=str(user.pk), changes__has_key="second_factor")
    assert credential.name.startswith("Passkey vom ")  # told apart from the next one on the page
    assert (
        entry.actor == user and entry.changes["second_factor"] == f"Passkey „{credential.name}“ eingerichtet"
    )
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]) == 1
    page.goto(f"{base}/employees/")  # registering it passed the second factor for this session
    assert "/accounts/second-factor/" not in page.url

    # Log out; the next login asks for the second factor and the passkey answers it.
    page.goto(f"{base}/")
    page.locator("header form[action$='/accounts/logout/'] button").click()
    page.wait_for_load_state()
    wrong_password(page, base, "mira")  # one failed attempt, which the completed login forgets
    assert AccessAttempt.objects.filter(username="mira").exists()
    password_step(page, base, "mira")
    key_after_password = session_key(page)
    assert page.url.startswith(f"{base}/accounts/second-factor/?")
    assert page.get_by_role("heading", name="Oder nutzen Sie Ihren Passkey").is_visible()
    assert axe_violations(page) == []
    page.goto(f"{base}/dashboard/")  # still closed before the second factor
    assert "/accounts/second-factor/" in page.url
    page.get_by_role("button", name="Mit Passkey anmelden").click()
    page.wait_for_url(f"{base}/dashboard/")
    assert page.locator("main h1").first.is_visible()
    # As after a code: a new session key (the one of the password step opens nothing), the counter reset.
    assert session_key(page) != key_after_password
    assert not Session.objects.filter(session_key=key_after_password).exists()
    assert not AccessAttempt.objects.filter(username="mira").exists()
    credential.refresh_from_db()
    assert credential.sign_count >= 1 or credential.last_used_at is not None


def test_with_the_password_alone_no_passkey_can_be_added_to_an_account_with_a_second_factor(
    passkey_site, page
):
    """An attacker who knows the password of someone with an authenticator app registers a passkey of their own
    on the verify step's pages: refused (django-otp-webauthn asks for a verified session first)."""
    base = passkey_site
    user = ministry_user(username="moritz")
    AuthenticatorApp.objects.create(user=user, name="App", confirmed=True)
    virtual_authenticator(page)
    password_step(page, base, "moritz")
    assert page.url.startswith(f"{base}/accounts/second-factor/?")
    page.goto(f"{base}/accounts/second-factor/setup/")  # the set-up page sends such a session back
    assert page.url.startswith(f"{base}/accounts/second-factor/?")
    status = page.evaluate(
        """async () => {
            const csrf = document.querySelector('input[name=csrfmiddlewaretoken]').value;
            const response = await fetch('/accounts/passkeys/registration/begin/', {
                method: 'POST', headers: {'X-CSRFToken': csrf}});
            return response.status;
        }"""
    )
    assert status == 403
    assert WebAuthnCredential.objects.filter(user=user).count() == 0
    page.goto(f"{base}/dashboard/")
    assert "/accounts/second-factor/" in page.url
