from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingsConfig(AppConfig):
    name = "trainings"
    verbose_name = _("Trainings")

    def ready(self):
        from vielfalt.signals import employees_left

        employees_left.connect(_end_enrolments_of_leavers, dispatch_uid="trainings_end_enrolments_of_leavers")


def _end_enrolments_of_leavers(sender, *, actor, employee_ids, **kwargs) -> int:
    from .services import enrolments_end_for_leavers

    return enrolments_end_for_leavers(actor=actor, employee_ids=employee_ids)
