import functools
import time

from django.conf import settings
from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext_lazy as _

from .middleware import LOGGED_IN_AT_KEY, TOUCH_INTERVAL_SECONDS
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

    @property
    def any(self) -> bool:
        """Whether the user acts in any role for at least one organisation: the partners' network is theirs."""
        return any(self._may(role) for role in Role)


def portal(request):
    user = getattr(request, "user", None)
    urls = _portal_urls(get_resolver(get_urlconf()), get_script_prefix())
    language_choices = _language_choices(tuple(settings.LANGUAGES))
    language = get_language()
    return {
        "roles": RoleFlags(user),
        "navigation": _navigation(request, urls),
        "language_choices": language_choices,
        # The header's language switch for {% rowformat %}: (code, " selected" or "", name).
        "language_options": [
            (code, " selected" if code == language else "", name) for code, name in language_choices
        ],
        "portal_urls": urls,
        "portal_operator": settings.PORTAL_OPERATOR,
        "session_timing": _session_timing(request, user),
    }


# How long before a session's end the page warns (static/js/session.js; WCAG 2.2.1 asks for at least 20 seconds).
SESSION_WARNING_SECONDS = 120


def _session_timing(request, user) -> dict | None:
    """For a logged-in user's page: when their session ends, for the warning before it
    (includes/session_warning.html, static/js/session.js; the portal's pages and the Django admin).
    `idle`: seconds without a request; `slack`: how much earlier than that it may end (the session is extended
    at most once a minute, vielfalt.middleware); `ends`: the end 12 hours after the login (seconds since the
    epoch)."""
    if user is None or not user.is_authenticated:
        return None
    logged_in_at = request.session.get(LOGGED_IN_AT_KEY) or int(time.time())
    return {
        "idle": settings.SESSION_COOKIE_AGE,
        "slack": TOUCH_INTERVAL_SECONDS,
        "warn": SESSION_WARNING_SECONDS,
        "ends": logged_in_at + settings.SESSION_ABSOLUTE_AGE,
        "idle_minutes": settings.SESSION_COOKIE_AGE // 60,
        "hours": settings.SESSION_ABSOLUTE_AGE // 3600,
        "warn_minutes": SESSION_WARNING_SECONDS // 60,
    }


# The links of the header, the navigation, the footer and the start page: the same for every request of a process (they
# depend only on the URL configuration and the script prefix, the keys below), so they are reversed once
# instead of about twenty times per page.
PORTAL_URL_NAMES = (
    "home",
    "set_language",
    "password_change",
    "second_factor_manage",
    "my_data",
    "session_keepalive",
    "login",
    "logout",
    "accessibility",
    "imprint",
    "privacy",
    "document_check",
    "dashboard",
    "employee_list",
    "employee_import",
    "partnerships:index",
    "network:index",
    "network:start",
    "trainings:index",
    "surveys:index",
    "audit_log",
    "privacy_record",
    "admin:index",
)


@functools.cache
def _portal_urls(resolver, script_prefix: str) -> dict[str, str]:
    """{name: path}, names with ":" also under "_" (templates cannot look up a key with a colon)."""
    urls = {name: reverse(name) for name in PORTAL_URL_NAMES}
    return {**urls, **{name.replace(":", "_"): url for name, url in urls.items() if ":" in name}}


@functools.cache
def _language_choices(languages: tuple) -> list[tuple[str, str]]:
    """(code, the language's name in itself) for the language switch."""
    return [(code, get_language_info(code)["name_local"]) for code, _name in languages]


CURRENT_PAGE = mark_safe(' aria-current="page"')


def _navigation(request, urls: dict[str, str]) -> list[tuple]:
    """The header's links for {% rowformat %}: (" active" or "", URL, the aria-current attribute or "", label)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items = [("home", _("Start"), True)]
    items += [
        ("dashboard", _("Overview"), may(user, (Role.HR, Role.MINISTRY))),
        ("employee_list", _("Employees"), may(user, Role.HR)),
        ("partnerships:index", _("Partnerships"), True),
        # The partners' network is for those with a role in the programme: an account without one (never given
        # one, or its membership ended) was shown a link that answered 403.
        ("network:index", _("Network"), may(user, tuple(Role))),
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
        url = urls[name]
        active = path == url if url == "/" else path.startswith(url)
        navigation.append((" active", url, CURRENT_PAGE, str(label)) if active else ("", url, "", str(label)))
    return navigation
