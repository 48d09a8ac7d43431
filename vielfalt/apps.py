from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VielfaltConfig(AppConfig):
    name = "vielfalt"
    verbose_name = _("Vielfalt verbindet")

    def ready(self):
        from django.apps import apps
        from django.db.models.signals import post_delete, post_save

        from . import accounts  # noqa: F401  (connects the login audit receivers)
        from .auth import forget_cached_user
        from .caching import bump_employee_version, bump_programme_version

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
        # What the programme dashboard counts. Survey responses count only once their campaign is closed, and
        # a closed campaign takes no more answers: closing or deleting the campaign (its save and delete) are
        # the writes that matter there, not each answer coming in. (A receiver on Response would also make
        # deleting a campaign load every answer to send it.)
        for label in (
            "vielfalt.Organisation",
            "vielfalt.Employee",
            "partnerships.Agreement",
            "partnerships.Commitment",
            "partnerships.ProgressReport",
            "partnerships.AnonymisedProcedure",
            "trainings.Course",
            "trainings.CourseDate",
            "trainings.Enrolment",
            "surveys.Campaign",
        ):
            model = apps.get_model(label)
            post_save.connect(bump_programme_version, sender=model, dispatch_uid=f"programme-{label}")
            post_delete.connect(bump_programme_version, sender=model, dispatch_uid=f"programme-del-{label}")
