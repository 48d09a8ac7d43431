from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NetworkConfig(AppConfig):
    """The partners' network (partner directory, practice library, network meetings, questions): part of the
    partnership programme, with its own app label."""

    name = "partnerships.network"
    label = "network"
    verbose_name = _("Partners' network")

    def ready(self):
        from vielfalt.signals import accounts_left, employees_left

        accounts_left.connect(
            _end_registrations_of_accounts, dispatch_uid="network_end_account_registrations"
        )
        employees_left.connect(_end_registrations_of_leavers, dispatch_uid="network_end_leaver_registrations")


def _end_registrations_of_accounts(sender, *, actor, user_ids, **kwargs) -> int:
    from .services import registrations_end_for_accounts

    return registrations_end_for_accounts(actor=actor, user_ids=user_ids)


def _end_registrations_of_leavers(sender, *, actor, employee_ids, **kwargs) -> int:
    from .services import registrations_end_for_leavers

    return registrations_end_for_leavers(actor=actor, employee_ids=employee_ids)
