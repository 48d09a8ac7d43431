"""The second factor after the password: an authenticator app (TOTP, vielfalt.models.AuthenticatorApp), a passkey
(WebAuthn) or a recovery code, all through django-otp and django-otp-webauthn.

Who owes one: ministry staff, administrators (and Django staff) always; anyone with a role in an organisation
that requires it (`Organisation.require_second_factor`); and everyone who has set one up. Until the session
has passed it, `vielfalt.middleware.SecondFactorMiddleware` sends the user here from every page.

Wrong codes count towards the account's lockout (django-axes, as wrong passwords do), and the counter is reset
only when the whole login succeeded (see `vielfalt.accounts`)."""

import base64
import json

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.utils import reset as axes_reset
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.generic import FormView, TemplateView
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.views import CompleteCredentialAuthenticationView, CompleteCredentialRegistrationView

from .account_events import account_changed
from .models import AuthenticatorApp, Organisation, Role
from .permissions import may
from .validation import OneLineField, submitted_id

# What the session owes, decided at login (vielfalt.accounts): "required", "enrolled" (set up voluntarily),
# or "" (nothing). Roles that always require one are checked on every request besides.
STATE_SESSION_KEY = "second_factor"
REQUIRED, ENROLLED, NONE = "required", "enrolled", ""


def required_by_role(user) -> bool:
    """Ministry staff and administrators always need a second factor (no query: the roles come with the user)."""
    return bool(user.is_superuser or user.is_staff or may(user, (Role.ADMIN, Role.MINISTRY)))


def second_factor_required(user) -> bool:
    if not user.is_authenticated:
        return False
    if required_by_role(user):
        return True
    return Organisation.objects.filter(memberships__user=user, require_second_factor=True).exists()


def has_second_factor(user) -> bool:
    return any(True for _device in devices_for_user(user, confirmed=True))


def second_factor_state(user) -> str:
    if second_factor_required(user):
        return REQUIRED
    return ENROLLED if has_second_factor(user) else NONE


def owes_second_factor(request) -> bool:
    """Whether this session must still pass the second factor before it may see a page."""
    user = request.user
    if not user.is_authenticated or user.is_verified():
        return False
    if required_by_role(user):
        return True
    state = request.session.get(STATE_SESSION_KEY)
    if state is None:  # a session from before the second factor existed
        state = request.session[STATE_SESSION_KEY] = second_factor_state(user)
    return bool(state)


def _complete_login(request, device) -> None:
    otp_login(request, device)
    request.session[STATE_SESSION_KEY] = NONE
    request.session.cycle_key()  # a new session key for the fully logged-in session
    axes_reset(username=request.user.get_username())


class PasskeyCompleteView(CompleteCredentialAuthenticationView):
    """A passkey answering the second factor ends the login as a code does: a new session key (the key the
    password step handed out, which an attacker may have planted or seen, is worth nothing afterwards), the
    second-factor state cleared and the account's failed-login counter reset. Never instead of the password
    (OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN is off)."""

    def complete_auth(self, device) -> None:
        if not self.request.user.is_authenticated:
            raise PermissionDenied
        _complete_login(self.request, device)


class PasskeyRegisteredView(CompleteCredentialRegistrationView):
    """The library's last step of registering a passkey, recorded and told to the holder
    (vielfalt.account_events). Its errors answer before this records anything."""

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        credential = WebAuthnCredential.objects.get(pk=json.loads(response.content)["id"])
        # The library names none: "Passkey" beside "Passkey" on the page to remove one.
        if not credential.name:
            registered = date_format(timezone.localtime(credential.created_at), "SHORT_DATETIME_FORMAT")
            credential.name = _("Passkey of %(date)s") % {"date": registered}
            credential.save(update_fields=["name"])
        account_changed(
            user=self.request.user, actor=self.request.user, event="passkey_added", name=credential.name
        )
        return response


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _continue(request) -> HttpResponseRedirect:
    """On to where the login was going: `next` is a URL of this site (any text without a slash was taken for
    a view's name by `redirect()`, and a `?next=foo` a server error)."""
    return HttpResponseRedirect(_next_url(request))


def _step(name: str, request) -> str:
    """The address of another step of the login, passing `next` on (encoded: it has a query string of its own)."""
    return f"{reverse(name)}?{urlencode({'next': _next_url(request)})}"


RECOVERY_CODE_SALT = "vielfalt.second_factor.recovery_code"  # migration 0029 writes it out as it stands


def recovery_code_hash(code: str, secret: str | None = None) -> str:
    """What the database keeps of a recovery code: a keyed hash (HMAC-SHA256 with the portal's secret key, 64 bits
    shown as 16 hex digits, the width of django-otp's token column), like a password's hash and unlike
    django-otp, which keeps the codes as they are. Whoever reads the table, or a stolen backup, cannot log in
    with what they find there. The code is compared as the login form cleans it (no spaces, lower case)."""
    return salted_hmac(RECOVERY_CODE_SALT, code, secret=secret, algorithm="sha256").hexdigest()[:16]


def new_recovery_codes(user) -> list[str]:
    """Replace the user's recovery codes with new ones (each works once) and return them for showing once; only
    their hashes are kept (recovery_code_hash)."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name="recovery", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=recovery_code_hash(code)) for code in codes
    )
    return codes


def match_token(user, token: str):
    """The user's device that accepts `token`, or None: django_otp.match_token, except that a recovery code is
    looked up by its hash, under the current secret key or one of SECRET_KEY_FALLBACKS (a rotated key does not
    lock anyone out of their codes). Each device counts a failure towards its own throttle, as django-otp's
    does."""
    with transaction.atomic():
        for device in devices_for_user(user, for_verify=True):
            candidate = token
            if isinstance(device, StaticDevice):
                hashes = [
                    recovery_code_hash(token, secret)
                    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
                ]
                stored = device.token_set.filter(token__in=hashes).values_list("token", flat=True).first()
                candidate = stored or hashes[0]
            if device.verify_token(candidate):
                return device
    return None


def totp_secret(device: AuthenticatorApp) -> str:
    """The device's key as the Base32 text authenticator apps (and oathtool) accept."""
    return base64.b32encode(device.bin_key).decode()


class CodeForm(forms.Form):
    token = OneLineField(
        label=_("Code"),
        max_length=16,
        help_text=_("The six-digit code from your authenticator app, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )

    def clean_token(self):
        return "".join(self.cleaned_data["token"].split()).lower()


class SetupForm(forms.Form):
    token = OneLineField(
        label=_("Code from the app"),
        max_length=16,
        help_text=_("Enter the six-digit code your authenticator app shows after scanning."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_token(self):
        return "".join(self.cleaned_data["token"].split())


class VerifyView(LoginRequiredMixin, FormView):
    """The second step of the login."""

    template_name = "registration/second_factor_verify.html"
    form_class = CodeForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            if request.user.is_verified():
                return _continue(request)
            if not has_second_factor(request.user):
                return redirect(_step("second_factor_setup", request))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            next=_next_url(self.request),
            has_passkey=WebAuthnCredential.objects.filter(user=self.request.user, confirmed=True).exists(),
            **kwargs,
        )

    def _credentials(self):
        return {"username": self.request.user.get_username()}

    def _locked_out(self):
        request = self.request
        logout(request)
        return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=429)

    def form_valid(self, form):
        request = self.request
        if AxesProxyHandler.is_locked(request, self._credentials()):
            return self._locked_out()
        device = match_token(request.user, form.cleaned_data["token"])
        if device is None:
            # Counts towards the account's lockout like a wrong password, and lands in the audit log.
            user_login_failed.send(sender=__name__, credentials=self._credentials(), request=request)
            if AxesProxyHandler.is_locked(request, self._credentials()):
                return self._locked_out()
            form.add_error("token", _("This code is not valid. Please try again."))
            return self.form_invalid(form)
        _complete_login(request, device)
        if isinstance(device, StaticDevice):
            left = device.token_set.count()
            messages.warning(
                request,
                ngettext(
                    "You used a recovery code; %(count)d is left. Create new ones under “Second factor”.",
                    "You used a recovery code; %(count)d are left. Create new ones under “Second factor”.",
                    left,
                )
                % {"count": left},
            )
        return _continue(request)


class SetupView(LoginRequiredMixin, FormView):
    """Set up an authenticator app: QR code and key, then one code to confirm; recovery codes are shown once."""

    template_name = "registration/second_factor_setup.html"
    form_class = SetupForm

    def dispatch(self, request, *args, **kwargs):
        # Adding a device needs a session that passed the existing one.
        if (
            request.user.is_authenticated
            and not request.user.is_verified()
            and has_second_factor(request.user)
        ):
            return redirect(_step("second_factor_verify", request))
        return super().dispatch(request, *args, **kwargs)

    def _device(self) -> AuthenticatorApp:
        # The same unconfirmed device across reloads, so the QR code already scanned stays valid.
        device = (
            AuthenticatorApp.objects.filter(user=self.request.user, confirmed=False).order_by("pk").first()
        )
        if device is not None and not device.key_readable:  # its secret key was rotated away: start anew
            device.delete()
            device = None
        if device is None:
            device = AuthenticatorApp.objects.create(
                user=self.request.user, name=str(_("Authenticator app")), confirmed=False
            )
        return device

    def get_context_data(self, **kwargs):
        device = self._device()
        secret = totp_secret(device)
        return super().get_context_data(
            qr_code=segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2),
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            next=_next_url(self.request),
            required=second_factor_required(self.request.user),
            **kwargs,
        )

    @transaction.atomic
    def form_valid(self, form):
        request = self.request
        device = self._device()
        if not device.verify_token(form.cleaned_data["token"]):
            form.add_error(
                "token",
                _("This code is not valid. Check that the app shows the portal and the time on your device."),
            )
            return self.form_invalid(form)
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = new_recovery_codes(request.user)
        account_changed(user=request.user, actor=request.user, event="app_added", name=device.name)
        _complete_login(request, device)
        return render(
            request,
            "registration/second_factor_codes.html",
            {"codes": codes, "next": _next_url(request), "new_device": True},
        )


class ManageView(LoginRequiredMixin, TemplateView):
    """The user's second factors: authenticator apps, passkeys, recovery codes; add or remove them."""

    template_name = "registration/second_factor_manage.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        recovery = StaticDevice.objects.filter(user=user, name="recovery", confirmed=True).first()
        return super().get_context_data(
            apps=AuthenticatorApp.objects.filter(user=user, confirmed=True).order_by("pk"),
            passkeys=WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("pk"),
            recovery_left=recovery.token_set.count() if recovery else 0,
            required=second_factor_required(user),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        user = request.user
        if has_second_factor(user) and not user.is_verified():
            return redirect("second_factor_verify")
        action = request.POST.get("action")
        if action == "recovery-codes":
            if not has_second_factor(user):
                return redirect("second_factor_manage")
            codes = new_recovery_codes(user)
            account_changed(user=user, actor=user, event="recovery_codes")
            return render(
                request,
                "registration/second_factor_codes.html",
                {"codes": codes, "next": reverse("second_factor_manage")},
            )
        if action in ("remove-app", "remove-passkey"):
            model = AuthenticatorApp if action == "remove-app" else WebAuthnCredential
            device = model.objects.filter(
                user=user, confirmed=True, pk=submitted_id(request.POST.get("device")) or 0
            ).first()
            others = [
                d
                for d in devices_for_user(user, confirmed=True)
                if d != device and not isinstance(d, StaticDevice)
            ]
            if device is None:
                return redirect("second_factor_manage")
            if not others and second_factor_required(user):
                messages.error(
                    request, _("You need a second factor: set up another one before removing this.")
                )
                return redirect("second_factor_manage")
            device.delete()
            account_changed(
                user=user,
                actor=user,
                event="app_removed" if action == "remove-app" else "passkey_removed",
                name=device.name,
            )
            if not others:  # nothing left to log in with: the recovery codes go too
                StaticDevice.objects.filter(user=user).delete()
                request.session[STATE_SESSION_KEY] = NONE
            messages.success(request, _("The second factor was removed."))
        return redirect("second_factor_manage")
