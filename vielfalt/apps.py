from axes.apps import AppConfig as AxesConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.apps import DefaultConfig as StaticConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TOTPConfig
from django_otp_webauthn.apps import OtpWebauthnConfig


class VielfaltConfig(AppConfig):
    name = "vielfalt"
    verbose_name = _("Vielfalt verbindet")

    def ready(self):
        from django.db.models.signals import post_migrate

        from .dbroles import grant_after_migrate

        post_migrate.connect(grant_after_migrate, dispatch_uid="grant-runtime-role")

        from .models import install_choice_display

        install_choice_display()

        from . import (
            accounts,  # noqa: F401  (connects the login audit receivers)
            checks,  # noqa: F401  (registers the system checks)
        )


# The libraries' apps under names an administrator understands: the admin's index and breadcrumbs showed
# "OTP_TOTP", "OTP_STATIC", "OTP WEBAUTHN" and "AXES" (in German too) where one looks for a lost second factor
# or a locked-out account. Their labels, and so their tables and migrations, stay the same.
class AuthenticatorAppsConfig(TOTPConfig):
    verbose_name = _("Second factor: authenticator apps (TOTP)")


class RecoveryCodesConfig(StaticConfig):
    verbose_name = _("Second factor: recovery codes (static devices)")


class PasskeysConfig(OtpWebauthnConfig):
    verbose_name = _("Second factor: passkeys (WebAuthn)")


class LoginAttemptsConfig(AxesConfig):
    verbose_name = _("Logins and failed attempts (django-axes)")
