from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VielfaltConfig(AppConfig):
    name = "vielfalt"
    verbose_name = _("Vielfalt verbindet")

    def ready(self):
        from django.db.models.signals import post_delete, post_migrate, post_save

        from .dbroles import grant_after_migrate

        post_migrate.connect(grant_after_migrate, dispatch_uid="grant-runtime-role")

        from . import (
            accounts,  # noqa: F401  (connects the login audit receivers)
            checks,  # noqa: F401  (registers the system checks)
        )
        from .auth import forget_cached_user
        from .caching import bump_employee_version

        for model_name in ("Employee", "OrgUnit"):
            model = self.get_model(model_name)
            post_save.connect(bump_employee_version, sender=model, dispatch_uid=f"bump-{model_name}")
            post_delete.connect(bump_employee_version, sender=model, dispatch_uid=f"bump-del-{model_name}")
        for model_name in ("User", "Membership"):
            model = self.get_model(model_name)
            post_save.connect(forget_cached_user, sender=model, dispatch_uid=f"forget-user-{model_name}")
            post_delete.connect(
                forget_cached_user, sender=model, dispatch_uid=f"forget-user-del-{model_name}"
            )
