from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgrammeConfig(AppConfig):
    name = "vielfalt.programme"
    label = "programme"
    verbose_name = _("Programme overview")

    def ready(self):
        from django.apps import apps
        from django.db.models.signals import post_delete, post_save

        from vielfalt.caching import bump_programme_version

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
