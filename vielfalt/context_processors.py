from django.conf import settings
from django.urls import reverse
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from .models import Role
from .permissions import may


class RoleFlags:
    """For templates: `{% if roles.hr %}` and so on, whether the user acts in that role for at least one
    organisation (asked of vielfalt.permissions, once per page and role)."""

    def __init__(self, user):
        self._user = user
        self._answers: dict[str, bool] = {}

    def _may(self, role: str) -> bool:
        if role not in self._answers:
            self._answers[role] = may(self._user, role)
        return self._answers[role]

    @property
    def ministry(self) -> bool:
        return self._may(Role.MINISTRY)

    @property
    def hr(self) -> bool:
        return self._may(Role.HR)

    @property
    def organiser(self) -> bool:
        return self._may(Role.ORGANISER)

    @property
    def admin(self) -> bool:
        return self._may(Role.ADMIN)


def portal(request):
    user = getattr(request, "user", None)
    return {
        "roles": RoleFlags(user),
        "navigation": _navigation(request),
        "language_choices": _language_choices(),
        "portal_operator": settings.PORTAL_OPERATOR,
    }


def _language_choices() -> list[tuple[str, str]]:
    """(code, the language's name in itself) for the language switch."""
    return [(code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES]


def _navigation(request) -> list[dict]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items = [("home", _("Start"), True)]
    items += [
        ("dashboard", _("Overview"), may(user, (Role.HR, Role.MINISTRY))),
        ("employee_list", _("Employees"), may(user, Role.HR)),
        ("partnerships:index", _("Partnerships"), True),
        ("network:index", _("Network"), True),
        ("trainings:index", _("Trainings"), True),
        ("surveys:index", _("Surveys"), may(user, (Role.HR, Role.MINISTRY))),
        ("audit_log", _("Audit log"), may(user, Role.MINISTRY)),
        ("privacy_record", _("Processing record"), may(user, Role.MINISTRY)),
        ("admin:index", _("Administration"), may(user, Role.ADMIN) and user.is_staff),
    ]
    path = request.path
    navigation = []
    for name, label, allowed in items:
        if not allowed:
            continue
        url = reverse(name)
        active = path == url if url == "/" else path.startswith(url)
        navigation.append({"url": url, "label": label, "active": active})
    return navigation
