from functools import cache

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _


def portal(request):
    return {
        "navigation": _navigation(request),
        "language_choices": _language_choices(),
        "portal_operator": settings.PORTAL_OPERATOR,
    }


@cache
def _language_choices() -> tuple[tuple[str, str], ...]:
    """(code, the language's name in itself) for the language switch; the same on every page."""
    return tuple((code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES)


@cache
def _url(name: str, script_prefix: str, urlconf) -> str:
    return reverse(name, urlconf=urlconf)


def plain_url(name: str) -> str:
    """reverse() of an URL without arguments, once per process (it costs ~20 µs, and every page needs several)."""
    return _url(name, get_script_prefix(), get_urlconf())


def _navigation(request) -> list[dict]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items = [("home", _("Start"), True)]
    items += [
        ("dashboard", _("Overview"), user.is_partner_hr or user.is_ministry_staff),
        ("employee_list", _("Employees"), user.is_partner_hr or user.is_administrator),
        ("partnerships:index", _("Partnerships"), True),
        ("network:index", _("Network"), True),
        ("trainings:index", _("Trainings"), True),
        ("surveys:index", _("Surveys"), user.is_partner_hr or user.is_ministry_staff),
        ("audit_log", _("Audit log"), user.is_ministry_staff),
        ("privacy_record", _("Processing record"), user.is_ministry_staff),
        ("admin:index", _("Administration"), user.is_administrator and user.is_staff),
    ]
    path = request.path
    navigation = []
    for name, label, allowed in items:
        if not allowed:
            continue
        url = plain_url(name)
        active = path == url if url == "/" else path.startswith(url)
        navigation.append({"url": url, "label": label, "active": active})
    return navigation
