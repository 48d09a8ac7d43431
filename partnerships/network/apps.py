from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NetworkConfig(AppConfig):
    """The partners' network (partner directory, practice library, network meetings, questions): part of the
    partnership programme, with its own app label."""

    name = "partnerships.network"
    label = "network"
    verbose_name = _("Partners' network")
