from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


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
