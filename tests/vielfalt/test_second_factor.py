"""The second factor after the password (vielfalt.second_factor): who owes one, set-up with recovery codes, the
second step, its lockout, and the demo users' TOTP secrets. Every login here goes through the real forms."""

import base64
import io
import re

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils.encoding import iri_to_uri
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from tests.factories import PASSWORD, OrganisationFactory, UserFactory, hr_user, ministry_user
from vielfalt.models import AuditEntry, AuthenticatorApp, Role
from vielfalt.second_factor import new_recovery_codes, recovery_code_hash

pytestmark = pytest.mark.django_db

SAME_OFFICE = {"REMOTE_ADDR": "203.0.113.10"}


def login(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password}, **SAME_OFFICE)


def code_for(device: AuthenticatorApp) -> str:
    """The code an authenticator app shows now."""
    return f"{totp(device.bin_key, step=device.STEP, digits=device.DIGITS):06d}"


def second_step(client, token, next_url=""):
    return client.post(reverse("second_factor_verify"), {"token": token, "next": next_url}, **SAME_OFFICE)


def totp_device(user) -> AuthenticatorApp:
    return AuthenticatorApp.objects.create(user=user, name="Telefon", confirmed=True)


def test_ministry_staff_reach_no_page_before_setting_up_a_second_factor(client):
    ministry_user(username="miriam")
    assert login(client, "miriam").status_code == 302
    for url in ["/", "/employees/", "/partnerships/", "/admin/", "/audit/", "/dashboard/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("second_factor_verify")), url
    # Without any device the second step sends her to set one up.
    verify = client.get(reverse("second_factor_verify"))
    assert verify.status_code == 302
    assert verify["Location"].startswith(reverse("second_factor_setup"))

    setup = client.get(reverse("second_factor_setup"))
    assert setup.status_code == 200
    assert 'src="data:image/svg+xml' in setup.text  # the QR code
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', setup.text).group(1).replace(" ", "")
    device = AuthenticatorApp.objects.get(user__username="miriam", confirmed=False)
    assert base64.b32decode(secret) == device.bin_key
    # The page again shows the same key (the app already scanned keeps working).
    assert secret.encode() in client.get(reverse("second_factor_setup")).content.replace(b" ", b"")

    wrong = client.post(reverse("second_factor_setup"), {"token": "000000"})
    assert wrong.status_code == 200 and "nicht gültig" in wrong.text
    assert client.get("/").status_code == 302

    done = client.post(reverse("second_factor_setup"), {"token": code_for(device)})
    assert done.status_code == 200
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", done.text)
    assert len(codes) == 10
    assert client.get("/").status_code == 200
    assert client.get("/partnerships/").status_code == 200


def test_next_login_asks_for_the_code_and_a_recovery_code_works_once(client):
    user = ministry_user(username="miriam")
    device = totp_device(user)
    recovery = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    recovery.token_set.create(token=recovery_code_hash("abcd2345"))

    login(client, "miriam")
    assert (
        client.get("/partnerships/")["Location"]
        == f"{reverse('second_factor_verify')}?next=%2Fpartnerships%2F"
    )
    page = client.get(reverse("second_factor_verify"))
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.text
    response = second_step(client, code_for(device), next_url="/partnerships/")
    assert response.status_code == 302 and response["Location"] == "/partnerships/"
    assert client.get("/partnerships/").status_code == 200

    client.post(reverse("logout"))
    login(client, "miriam")
    assert second_step(client, "ABCD 2345").status_code == 302  # spaces and case do not matter
    assert client.get("/").status_code == 200
    client.post(reverse("logout"))
    login(client, "miriam")
    assert second_step(client, "abcd2345").status_code == 200  # used up
    assert client.get("/").status_code == 302


def test_second_step_cycles_the_session_key(client):
    user = ministry_user(username="miriam")
    device = totp_device(user)
    login(client, "miriam")
    before = client.session.session_key
    second_step(client, code_for(device))
    assert client.session.session_key != before


def test_wrong_codes_lock_the_account_like_wrong_passwords(client):
    user = ministry_user(username="miriam")
    device = totp_device(user)
    login(client, "miriam")
    for _ in range(4):
        assert second_step(client, "123456").status_code == 200
    locked = second_step(client, "654321")
    assert locked.status_code == 429
    # Logged out, and now even the right password with the right code is refused.
    assert client.get("/").status_code == 302 and client.get("/")["Location"].startswith(reverse("login"))
    assert login(client, "miriam").status_code == 429
    actions = list(AuditEntry.objects.filter(object_repr="miriam").values_list("action", flat=True))
    assert actions.count(AuditEntry.Action.LOGIN_FAILED) >= 5
    assert AuditEntry.Action.LOCKED_OUT in actions
    assert device.verify_token(code_for(device))  # the device itself is fine


def test_a_mistyped_code_is_not_kept_in_the_login_records_the_admin_shows(client, superuser):
    """django-axes keeps a failed attempt's form data, and the admin shows it ("Form Data"): the code typed in the
    second step stood there in clear, a recovery code with one letter wrong beside its holder's name (the codes
    themselves are kept only as hashes), and the form's CSRF token with it."""
    from axes.models import AccessAttempt

    user = ministry_user(username="miriam")
    recovery = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    recovery.token_set.create(token=recovery_code_hash("abcd2345"))
    login(client, "miriam")
    csrf = client.get(reverse("second_factor_verify")).context["csrf_token"]
    client.post(
        reverse("second_factor_verify"),
        {"token": "abcd2346", "csrfmiddlewaretoken": str(csrf)},
        **SAME_OFFICE,
    )
    attempt = AccessAttempt.objects.get(username="miriam")
    assert "abcd2346" not in attempt.post_data and str(csrf) not in attempt.post_data, attempt.post_data
    client.force_login(superuser)
    page = client.get(reverse("admin:axes_accessattempt_change", args=[attempt.pk]))
    assert page.status_code == 200
    assert "abcd2346" not in page.text


def test_a_right_password_does_not_reset_the_counter_of_wrong_codes(client):
    user = ministry_user(username="miriam")
    device = totp_device(user)
    for _ in range(2):
        login(client, "miriam")
        for _ in range(2):
            second_step(client, "123456")
        client.post(reverse("logout"))
    login(client, "miriam")
    assert second_step(client, "123456").status_code == 429  # the fifth wrong code, over three logins
    assert device.confirmed


def test_partner_hr_logs_in_without_a_second_factor_unless_the_organisation_requires_it(client):
    city = OrganisationFactory()
    hr_user(city, username="anna")
    login(client, "anna")
    assert client.get("/").status_code == 200
    client.post(reverse("logout"))

    city.require_second_factor = True
    city.save()
    login(client, "anna")
    assert client.get("/employees/").status_code == 302
    assert client.get(reverse("second_factor_verify"))["Location"].startswith(reverse("second_factor_setup"))


def test_partner_hr_who_set_one_up_is_asked_for_it(client):
    anna = hr_user(OrganisationFactory(), username="anna")
    device = totp_device(anna)
    login(client, "anna")
    assert client.get("/").status_code == 302
    second_step(client, code_for(device))
    assert client.get("/").status_code == 200


def test_course_organiser_may_set_one_up_and_remove_it(client):
    sven = UserFactory(username="sven", roles=[(OrganisationFactory(), Role.ORGANISER)])
    client.force_login(sven)
    manage = client.get(reverse("second_factor_manage"))
    assert manage.status_code == 200 and "freiwillig" in manage.text
    client.get(reverse("second_factor_setup"))
    device = AuthenticatorApp.objects.get(user=sven)
    assert client.post(reverse("second_factor_setup"), {"token": code_for(device)}).status_code == 200
    # A device that is no id is none: back to the page (it was a server error), nothing removed.
    for garbage in ("abc", "1e309", "🙂"):
        for action in ("remove-app", "remove-passkey"):
            response = client.post(reverse("second_factor_manage"), {"action": action, "device": garbage})
            assert response.status_code == 302, (action, garbage)
    assert AuthenticatorApp.objects.filter(user=sven).exists()
    client.post(reverse("second_factor_manage"), {"action": "remove-app", "device": device.pk})
    assert not AuthenticatorApp.objects.filter(user=sven).exists()
    assert not StaticDevice.objects.filter(user=sven).exists()
    client.post(reverse("logout"))
    login(client, "sven")
    assert client.get("/").status_code == 200


def test_ministry_staff_cannot_remove_their_last_second_factor(client):
    user = ministry_user(username="miriam")
    device = totp_device(user)
    login(client, "miriam")
    second_step(client, code_for(device))
    client.post(reverse("second_factor_manage"), {"action": "remove-app", "device": device.pk})
    assert AuthenticatorApp.objects.filter(pk=device.pk).exists()
    # New recovery codes replace the old ones.
    first = client.post(reverse("second_factor_manage"), {"action": "recovery-codes"})
    second = client.post(reverse("second_factor_manage"), {"action": "recovery-codes"})
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", second.text)
    assert len(codes) == 10
    assert set(codes).isdisjoint(re.findall(r"<li>([a-z2-7]{8})</li>", first.text))
    # The table keeps a keyed hash of each, never the code (django-otp keeps them as they are).
    stored = StaticDevice.objects.get(user=user, name="recovery").token_set.values_list("token", flat=True)
    assert sorted(stored) == sorted(recovery_code_hash(code) for code in codes)
    assert set(stored).isdisjoint(codes)


def test_admin_login_of_django_admin_also_needs_the_second_factor(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    device = totp_device(admin)
    response = client.post(
        reverse("admin:login"), {"username": "root", "password": PASSWORD, "next": "/admin/"}, **SAME_OFFICE
    )
    assert response.status_code == 302
    assert client.get("/admin/")["Location"].startswith(reverse("second_factor_verify"))
    second_step(client, code_for(device))
    assert client.get("/admin/").status_code == 200


def test_seed_demo_gives_ministry_and_admin_a_totp_secret_that_works(client, tmp_path, settings):
    settings.DEBUG = True
    path = tmp_path / ".demo-totp"
    out = io.StringIO()
    call_command("seed_demo", password="demo-password-42", totp_file=str(path), stdout=out)
    lines = dict(line.split() for line in path.read_text().splitlines())
    assert sorted(lines) == ["admin", "ministerium"]
    assert lines["ministerium"] in out.getvalue()
    assert oct(path.stat().st_mode)[-3:] == "600"
    # A second run keeps the secrets (the authenticator app keeps working).
    call_command("seed_demo", password="demo-password-42", totp_file=str(path), stdout=io.StringIO())
    assert dict(line.split() for line in path.read_text().splitlines()) == lines

    login(client, "ministerium", "demo-password-42")
    key = base64.b32decode(lines["ministerium"])
    assert second_step(client, f"{totp(key):06d}").status_code == 302
    assert client.get("/").status_code == 200
    client.post(reverse("logout"))
    # hr-duisburg needs none.
    login(client, "hr-duisburg", "demo-password-42")
    assert client.get("/").status_code == 200


def _session_with_device(client, user, persistent_id):
    from django_otp import DEVICE_ID_SESSION_KEY

    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = persistent_id
    session.save()


def test_the_sessions_device_is_loaded_with_one_plain_query(client):
    """vielfalt.middleware.OTPMiddleware reads the device with plain SQL; django-otp's checks still hold."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    staff = ministry_user(username="mona")
    device = totp_device(staff)
    _session_with_device(client, staff, device.persistent_id)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    device_queries = [q["sql"] for q in queries if "vielfalt_authenticatorapp" in q["sql"]]
    assert len(device_queries) == 1
    assert "ORDER BY" not in device_queries[0]


@pytest.mark.parametrize("which", ["other user's", "unconfirmed", "missing", "malformed", "not a device"])
def test_a_session_naming_a_device_that_does_not_verify_it_owes_the_second_factor(client, which):
    staff, other = ministry_user(username="mona"), ministry_user(username="otto")
    persistent_id = {
        "other user's": lambda: totp_device(other).persistent_id,
        "unconfirmed": lambda: (
            AuthenticatorApp.objects.create(user=staff, name="x", confirmed=False).persistent_id
        ),
        "missing": lambda: "vielfalt.authenticatorapp/999999",
        "malformed": lambda: "vielfalt.authenticatorapp/abc",
        "not a device": lambda: f"vielfalt.user/{staff.pk}",
    }[which]()
    _session_with_device(client, staff, persistent_id)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("second_factor_verify"))


def test_a_page_reads_the_user_itself_not_two_lazy_proxies(client):
    """Authentication and django-otp each wrap request.user lazily, one proxy inside the other; a page reads the
    user 50 to 100 times, about 3 µs each through both. Once the second factor's middleware has evaluated it,
    the request carries the user object, with django-otp's `otp_device` and `is_verified` on it."""
    from django.contrib.auth.models import AnonymousUser
    from django.utils.functional import LazyObject

    anonymous = client.get(reverse("login"))
    assert type(anonymous.wsgi_request.user) is AnonymousUser
    assert anonymous.wsgi_request.user.is_verified() is False

    staff = ministry_user(username="mona")
    device = totp_device(staff)
    _session_with_device(client, staff, device.persistent_id)
    page = client.get(reverse("home"))
    assert page.status_code == 200
    user = page.wsgi_request.user
    assert not isinstance(user, LazyObject) and type(user) is type(staff) and user.pk == staff.pk
    assert user.is_verified() and user.otp_device == device
    assert page.context["user"] is user  # what the templates read

    # A user who still owes the second factor is still sent to it.
    hr = hr_user(OrganisationFactory(), username="hanna")
    totp_device(hr)
    client.logout()
    assert login(client, "hanna").status_code == 302
    owing = client.get(reverse("home"))
    assert owing.status_code == 302 and owing["Location"].startswith(reverse("second_factor_verify"))
    assert type(owing.wsgi_request.user) is type(hr) and owing.wsgi_request.user.is_verified() is False


def test_the_second_step_passes_next_on_whole_and_takes_it_for_an_address(client):
    """`next` with a query string of its own reached the set-up step cut at its first "&", and a `next` without a
    slash (`?next=foo`) was taken by `redirect()` for the name of a view: a server error."""
    user = ministry_user(username="miriam")
    login(client, "miriam")
    going_to = "/partnerships/?status=draft&year=2024"
    to_setup = client.get(reverse("second_factor_verify"), {"next": going_to})
    assert to_setup.status_code == 302
    assert client.get(to_setup["Location"]).context["next"] == going_to

    device = totp_device(user)
    assert second_step(client, code_for(device), next_url=going_to)["Location"] == going_to
    for next_url in ("foo", "²", "partnerships"):
        response = client.get(reverse("second_factor_verify"), {"next": next_url})
        assert response.status_code == 302
        assert response["Location"] == iri_to_uri(next_url)


def test_recovery_codes_are_kept_as_hashes_and_survive_a_rotated_secret_key(client, settings):
    """A stolen backup or a look into the table gave working recovery codes: django-otp keeps them as they are."""
    user = ministry_user(username="miriam")
    totp_device(user)
    codes = new_recovery_codes(user)
    dump = " ".join(StaticToken.objects.values_list("token", flat=True))
    assert not any(code in dump for code in codes)

    login(client, "miriam")
    assert (
        second_step(client, recovery_code_hash(codes[0])).status_code == 200
    )  # what the table holds is no code
    assert second_step(client, codes[0].upper()).status_code == 302

    client.post(reverse("logout"))
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 50  # rotated, the old one kept as a fallback
    login(client, "miriam")
    assert second_step(client, codes[1]).status_code == 302
    assert StaticToken.objects.count() == len(codes) - 2


def _database_values():
    """Every value of every table of the portal's database, as PostgreSQL (or SQLite) returns it."""
    from django.db import connection

    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {quote(table)}")  # noqa: S608
            for row in cursor.fetchall():
                yield from (value for value in row if value is not None)


def test_no_authenticator_app_s_key_can_be_read_from_the_database(client):
    """django-otp kept the app's key in clear (hex): whoever read the table, or a stolen backup, computed every
    official's codes. Now it is encrypted under the portal's secret key and bound to its holder."""
    ministry_user(username="miriam")
    login(client, "miriam")
    setup = client.get(reverse("second_factor_setup"))
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', setup.text).group(1).replace(" ", "")
    key = base64.b32decode(secret)
    code = f"{totp(key, step=30, digits=6):06d}"
    assert client.post(reverse("second_factor_setup"), {"token": code}).status_code == 200
    assert client.get("/partnerships/").status_code == 200

    readable = {key.hex(), key.hex().upper(), secret, secret.lower()}
    for value in _database_values():
        if isinstance(value, bytes | memoryview):
            assert key not in bytes(value)
            value = bytes(value).decode("latin-1")
        assert not any(form in str(value) for form in readable)


def test_an_authenticator_app_works_through_a_rotated_secret_key(client, settings):
    user, other = ministry_user(username="miriam"), ministry_user(username="otto")
    device, unused = totp_device(user), totp_device(other)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 50  # rotated, the old one kept as a fallback

    login(client, "miriam")
    assert second_step(client, code_for(device)).status_code == 302
    device.refresh_from_db()
    assert device._key()[1]  # used: encrypted again under the new key

    out = io.StringIO()
    call_command("encrypt_again", stdout=out)  # before the fallback goes
    assert "1 authenticator app key(s) encrypted again" in out.getvalue()  # the one not used meanwhile
    settings.SECRET_KEY_FALLBACKS = []
    for app in (device, unused):
        app.refresh_from_db()
        assert app._key()[1]


def test_an_authenticator_app_s_key_copied_to_another_account_does_not_work(client, caplog):
    """A database administrator cannot give an official's app to an account of theirs (nor read its key)."""
    official, planted = ministry_user(username="miriam"), ministry_user(username="mallory")
    device = totp_device(official)
    AuthenticatorApp.objects.create(
        user=planted, name="Telefon", confirmed=True, encrypted_key=device.encrypted_key
    )

    login(client, "mallory")
    response = second_step(client, code_for(device))
    assert response.status_code == 200 and "nicht gültig" in response.text
    assert client.get("/").status_code == 302
    assert "cannot be decrypted" in caplog.text


def test_an_app_being_set_up_under_a_secret_key_rotated_away_starts_anew(client):
    ministry_user(username="miriam")
    login(client, "miriam")
    first = client.get(reverse("second_factor_setup"))
    assert first.status_code == 200
    device = AuthenticatorApp.objects.get(user__username="miriam")
    with override_settings(SECRET_KEY="a-key-rotated-away-" + "x" * 50):  # and no fallback kept
        device.set_key(bytes(20))
        device.save()
    assert not device.key_readable
    again = client.get(reverse("second_factor_setup"))
    assert again.status_code == 200  # not a server error: a new key, to scan again
    (device,) = AuthenticatorApp.objects.filter(user__username="miriam")
    assert device.key_readable
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', again.text).group(1).replace(" ", "")
    assert base64.b32decode(secret) == device.bin_key
