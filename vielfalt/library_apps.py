"""The libraries' apps under names an administrator understands: the admin's index and breadcrumbs showed
"OTP_STATIC", "OTP WEBAUTHN" and "AXES" (in German too) where one looks for a lost second factor or
a locked-out account. Their labels, and so their tables and migrations, stay the same.

Not in vielfalt/apps.py: Django picks an app's configuration from its apps module only when that module holds
exactly one, and the portal's own (VielfaltConfig, whose ready() connects the login's receivers) must stay it."""

from axes.apps import AppConfig as AxesConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.apps import DefaultConfig as StaticConfig
from django_otp_webauthn.apps import OtpWebauthnConfig


class RecoveryCodesConfig(StaticConfig):
    verbose_name = _("Second factor: recovery codes (static devices)")


class PasskeysConfig(OtpWebauthnConfig):
    verbose_name = _("Second factor: passkeys (WebAuthn)")


class LoginAttemptsConfig(AxesConfig):
    verbose_name = _("Logins and failed attempts (django-axes)")
