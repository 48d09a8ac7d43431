"""Login, throttling per account, sessions and security headers."""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from tests.factories import PASSWORD, OrganisationFactory, hr_user
from vielfalt.models import AuditEntry

pytestmark = pytest.mark.django_db

SAME_OFFICE = {"REMOTE_ADDR": "203.0.113.10"}  # a whole city hall behind one address


def login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password}, **SAME_OFFICE)


@pytest.fixture
def city():
    return OrganisationFactory()


@pytest.mark.parametrize(
    "engine", ["django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"]
)
def test_login_cycles_the_session_key_and_logout_ends_it(client, city, settings, engine):
    settings.SESSION_ENGINE = engine
    hr_user(city, username="anna")
    client.get(reverse("login"))
    before = client.session.session_key
    response = login(client, "anna", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    after = client.session.session_key
    assert after and after != before
    client.post(reverse("logout"))
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=after).exists()
    from importlib import import_module

    assert not import_module(engine).SessionStore().exists(after)  # nor in the cache in front of the table
    assert client.get(reverse("home")).status_code == 302


def test_five_failures_lock_the_account_but_not_the_colleague(client, city):
    hr_user(city, username="anna")
    hr_user(city, username="bernd")
    for _ in range(4):
        assert login(client, "anna", "wrong-password").status_code == 200
    # The fifth failure locks the account; from now on even the right password is refused.
    assert login(client, "anna", "wrong-password").status_code == 429
    locked = login(client, "anna", PASSWORD)
    assert locked.status_code == 429
    assert "gesperrt" in locked.text or "locked" in locked.text
    # A colleague at the same address logs in normally.
    colleague = login(client.__class__(), "bernd", PASSWORD)
    assert colleague.status_code == 302
    actions = list(AuditEntry.objects.filter(object_repr="anna").values_list("action", flat=True))
    # Five wrong passwords and the refused right one while locked.
    assert actions.count(AuditEntry.Action.LOGIN_FAILED) == 6
    assert AuditEntry.Action.LOCKED_OUT in actions


def test_four_failures_then_success_resets_the_counter(client, city):
    hr_user(city, username="anna")
    for _ in range(4):
        login(client, "anna", "wrong-password")
    assert login(client, "anna", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        login(client, "anna", "wrong-password")
    assert login(client, "anna", PASSWORD).status_code == 302


def test_session_settings(settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"


SESSION_ENGINES = ["django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"]


@pytest.mark.parametrize("engine", SESSION_ENGINES)
def test_activity_extends_the_session_at_most_once_a_minute(client, city, settings, engine):
    settings.SESSION_ENGINE = engine
    from datetime import timedelta
    from importlib import import_module

    from django.conf import settings
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client.force_login(hr_user(city))
    client.get(reverse("home"))
    key = client.session.session_key
    soon = timezone.now() + timedelta(minutes=5)
    Session.objects.filter(session_key=key).update(expire_date=soon)
    client.get(reverse("home"))  # touched less than a minute ago: no write
    assert Session.objects.get(session_key=key).expire_date == soon
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)  # cache and database alike
    store["_touched"] -= 120
    store.save()
    Session.objects.filter(session_key=key).update(expire_date=soon)
    client.get(reverse("home"))  # idle for two minutes: the expiry moves 30 minutes ahead again
    assert Session.objects.get(session_key=key).expire_date > timezone.now() + timedelta(minutes=29)


@pytest.mark.parametrize("engine", SESSION_ENGINES)
def test_idle_session_expires(client, city, settings, engine):
    settings.SESSION_ENGINE = engine
    from datetime import timedelta
    from importlib import import_module

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    user = hr_user(city)
    client.force_login(user)
    assert client.get(reverse("home")).status_code == 200
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    if hasattr(store, "cache_key"):  # cached_db (with Redis): the cached copy expires at the same moment
        store._cache.delete(store.cache_key)
    assert client.get(reverse("home")).status_code == 302


def test_security_headers_on_every_page(client, city):
    client.force_login(hr_user(city))
    for url in [reverse("login"), reverse("home"), reverse("employee_list"), reverse("accessibility")]:
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        assert "script-src 'self' 'nonce-" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"


def test_permissions_policy_refuses_unused_browser_features(client, city):
    """Staff pages and a respondent's page refuse camera, microphone, location, payment and devices to
    themselves and to anything they embed; passkeys (the second factor) stay allowed for the portal itself."""
    client.force_login(hr_user(city))
    for url in [reverse("login"), reverse("home"), reverse("employee_list"), "/umfrage/"]:
        policy = {
            feature.strip(): allowed
            for feature, _sep, allowed in (
                part.partition("=") for part in client.get(url)["Permissions-Policy"].split(",")
            )
        }
        for feature in ("camera", "microphone", "geolocation", "payment", "usb", "display-capture"):
            assert policy[feature] == "()", (url, feature)
        assert policy["publickey-credentials-get"] == policy["publickey-credentials-create"] == "(self)"


def test_a_logged_in_users_pages_are_kept_by_no_cache(client, city):
    """Pages, exports and the second factor's setup page (its secret) of a logged-in user: `no-store`, so that
    neither the browser's cache nor its back/forward cache keeps them for whoever uses the computer after them. A public page
    is not touched; the survey's pages keep their own header."""
    from tests.factories import EmployeeFactory

    employee = EmployeeFactory(organisation=city)
    assert "Cache-Control" not in client.get(reverse("accessibility"))  # public, and nobody logged in
    client.force_login(hr_user(city))
    for url in [
        reverse("home"),
        reverse("employee_list"),
        reverse("employee_update", args=[employee.pk]),
        reverse("employee_export", args=["csv"]),
        reverse("accessibility"),
        reverse("second_factor_setup"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url
    assert client.get("/umfrage/")["Cache-Control"].startswith(
        "max-age=0"
    )  # the survey's own: no session read


def test_pages_carry_no_inline_script(client, city):
    """Every <script> has a src and the request's nonce: the CSP forbids inline code."""
    import re

    client.force_login(hr_user(city))
    response = client.get(reverse("employee_list"))
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S)
    assert scripts
    for attributes, body in scripts:
        assert 'src="' in attributes
        assert f'nonce="{nonce}"' in attributes
        assert body.strip() == ""
    assert not re.search(r"<[^>]+\son[a-z]+=", response.text), "inline event handler"


def test_hsts_and_secure_cookies_without_debug():
    from tests.vielfalt.test_settings import PRODUCTION, run_manage

    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT)"
    )
    result = run_manage("shell", "--no-imports", "-v", "0", "-c", code, **PRODUCTION)
    assert result.stdout.split() == ["31536000", "True", "True", "True"]


def test_german_is_the_default_and_english_can_be_chosen(client):
    response = client.get(reverse("login"))
    assert response["Content-Language"] == "de"
    assert '<html lang="de">' in response.text
    client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    response = client.get(reverse("login"))
    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in response.text


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_a_name_longer_than_any_account_s_is_refused_like_a_wrong_one(client, city, url_name):
    """Django's login forms let a name of any length through to the check; axes then failed to record the try
    (its tables hold 255 characters): a 500 on PostgreSQL for a scanner's 3,000-character name."""
    hr_user(city, username="anna")
    overlong = "anna" + "x" * 3000
    statuses = []
    for _ in range(5):
        response = client.post(reverse(url_name), {"username": overlong, "password": "wrong-password"})
        statuses.append(response.status_code)
        if response.status_code == 200:
            assert "Benutzername" in response.text  # the form again, with its error
    assert statuses == [200, 200, 200, 200, 429]  # as for any name: the fifth try locks it
    # Counted, cut to what axes holds, against a name nobody has; the account of the same beginning stays open.
    attempt = AccessAttempt.objects.get()
    assert attempt.username == overlong[:255] and attempt.failures_since_start == 5
    assert login(client, "anna", PASSWORD).status_code == 302


def test_the_holder_of_a_deactivated_account_is_told_so_and_nobody_else(client, city, settings):
    """A deactivated account (the purge deactivates one unused for a year, after telling its holder) answered
    its right password with "wrong name or password"; its holder then asked for a new password, and the portal
    sends none to a deactivated account. Now the right password gets the reason and whom to ask; a wrong one,
    or a name nobody has, gets the same answer as before, so nobody learns whether an account exists."""
    user = hr_user(city, username="anna")
    user.is_active = False
    user.save()
    told = login(client, "anna", PASSWORD)
    assert told.status_code == 200
    text = " ".join(told.text.split())
    assert "Ihr Zugang ist deaktiviert" in text
    assert settings.PORTAL_OPERATOR["email"] in text
    assert "_auth_user_id" not in client.session
    generic = login(client, "nobody", PASSWORD).context["form"].non_field_errors()
    assert login(client, "anna", "wrong-password").context["form"].non_field_errors() == generic
    assert "deaktiviert" not in str(generic)
    assert list(
        AuditEntry.objects.filter(object_repr="anna").values_list("action", flat=True).order_by("pk")
    ) == ["login_failed", "login_failed"]


@pytest.mark.django_db(transaction=True)
def test_chromium_recognises_every_feature_of_the_permissions_policy(live_server, page):
    """Chromium logs "Error with Permissions-Policy header: Unrecognized feature" for a name it does not know
    (and refuses nothing by it): "ambient-light-sensor" was one, on every page."""
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(live_server.url + reverse("login"))
    page.wait_for_load_state("load")
    assert [text for text in messages if "Permissions-Policy" in text] == []
