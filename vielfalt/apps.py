from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VielfaltConfig(AppConfig):
    name = "vielfalt"
    verbose_name = _("Vielfalt verbindet")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from . import accounts  # noqa: F401  (connects the login audit receivers)
        from .caching import bump_employee_version

        for model_name in ("Employee", "OrgUnit"):
            model = self.get_model(model_name)
            post_save.connect(bump_employee_version, sender=model, dispatch_uid=f"bump-{model_name}")
            post_delete.connect(bump_employee_version, sender=model, dispatch_uid=f"bump-del-{model_name}")
