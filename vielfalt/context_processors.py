from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def portal(request):
    return {
        "navigation": _navigation(request),
        "portal_operator": settings.PORTAL_OPERATOR,
    }


def _navigation(request) -> list[dict]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items = [("home", _("Start"), True)]
    items += [
        ("dashboard", _("Overview"), user.is_partner_hr or user.is_ministry_staff),
        ("employee_list", _("Employees"), user.is_partner_hr or user.is_administrator),
        ("partnerships:index", _("Partnerships"), True),
        ("trainings:index", _("Trainings"), True),
        ("surveys:index", _("Surveys"), user.is_partner_hr or user.is_ministry_staff),
        ("audit_log", _("Audit log"), user.is_ministry_staff),
        ("admin:index", _("Administration"), user.is_administrator and user.is_staff),
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
