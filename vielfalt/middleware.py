import logging
import time
from urllib.parse import urlencode, urlsplit

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.exceptions import SuspiciousOperation
from django.db import connections, router
from django.http import HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import Resolver404, resolve, reverse
from django.utils.functional import LazyObject, empty
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.defaults import bad_request
from django_otp.middleware import OTPMiddleware as DjangoOTPMiddleware
from django_otp.models import Device

SESSION_TOUCHED_KEY = "_touched"
TOUCH_INTERVAL_SECONDS = 60
# When the session's user logged in (seconds since the epoch): set at login (vielfalt.accounts).
LOGGED_IN_AT_KEY = "_logged_in_at"

logger = logging.getLogger("vielfalt.sessions")


def accounts_only(middleware_class):
    """`middleware_class` as a middleware that serves accounts (the session, the user, the second factor,
    messages) and that the pages for people without an account skip: the survey's respondent pages
    (settings.ACCOUNTLESS_PATHS). They read no session and no user, so a respondent who is logged in to the
    portal in the same browser stays unknown to them: answering neither loads that session nor extends it (which
    would write the session row at the moment of the answer), and their responses carry no `Vary: Cookie`. On
    launch morning that is also a few per cent of a respondent request's CPU, spent on nothing those pages use.

    A subclass of the same name: Django's checks find the classes they ask for (admin.E408 and so on)."""

    class AccountsOnly(middleware_class):
        def __init__(self, get_response):
            super().__init__(get_response)
            self.accountless = tuple(settings.ACCOUNTLESS_PATHS)

        def __call__(self, request):
            if request.path_info.startswith(self.accountless):
                return self.get_response(request)
            return super().__call__(request)

    AccountsOnly.__name__ = AccountsOnly.__qualname__ = middleware_class.__name__
    AccountsOnly.__module__ = __name__
    AccountsOnly.__doc__ = middleware_class.__doc__
    return AccountsOnly


SessionMiddleware = accounts_only(DjangoSessionMiddleware)
AuthenticationMiddleware = accounts_only(DjangoAuthenticationMiddleware)
MessageMiddleware = accounts_only(DjangoMessageMiddleware)


class SessionIdleTimeoutMiddleware:
    """Extends a logged-in session's expiry at most once a minute instead of writing it on every request
    (what SESSION_SAVE_EVERY_REQUEST does): the idle timeout stays SESSION_COOKIE_AGE to within a minute.
    Nothing to do on a page without a session (settings.ACCOUNTLESS_PATHS)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            now = int(time.time())
            if now - session.get(SESSION_TOUCHED_KEY, 0) >= TOUCH_INTERVAL_SECONDS:
                session[SESSION_TOUCHED_KEY] = now  # marks the session modified: saved with a new expiry
        return response


class SessionLifetimeMiddleware:
    """Ends a logged-in session SESSION_ABSOLUTE_AGE after its login, however busy it has been: the idle timeout
    alone let a session live for as long as something used it (a page left polling a job's status, a colleague
    at the same desk), and with it a cookie stolen once. OWASP ASVS 3.3.2 (level 2) asks for a new login after
    12 hours of use. The session is emptied before anything reads its user, so that the request goes on as
    one without a login (to the login page, see SessionEndedMiddleware). A session from before this limit
    counts from its first request after it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)  # none on the respondents' pages (accounts_only)
        if session is not None and SESSION_KEY in session:  # the session a logged-in page loads anyway
            now = int(time.time())
            logged_in_at = session.get(LOGGED_IN_AT_KEY)
            if logged_in_at is None:
                session[LOGGED_IN_AT_KEY] = now
            elif not 0 <= now - logged_in_at < settings.SESSION_ABSOLUTE_AGE:
                logger.info("Session ended %s s after its login (SESSION_ABSOLUTE_AGE)", now - logged_in_at)
                session.flush()
        return self.get_response(request)


# What a logged-in user's page says to caches (the browser's included): keep nothing of it. A page without this
# stayed in the browser after "Abmelden": Back showed the employee list, names and e-mail addresses, from the
# back/forward cache, to whoever used the office's computer next.
PRIVATE_PAGE = "private, no-store"


@accounts_only
class PrivatePagesMiddleware:
    """Every response to a request with a session (a logged-in user's page, export or PDF) is kept by no cache,
    unless its view said otherwise: `Cache-Control: private, no-store`. Decided by the session cookie, not by
    looking the user up, so that it holds also when the database does not answer. The public pages seen without
    a session (accessibility, imprint) are not touched, nor the respondents' pages, which set their own
    (`surveys.views._no_referrer`) and skip this middleware."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.cookie = settings.SESSION_COOKIE_NAME

    def __call__(self, request):
        response = self.get_response(request)
        if "Cache-Control" not in response and self.cookie in request.COOKIES:
            response["Cache-Control"] = PRIVATE_PAGE
        return response


def unwrapped(user):
    """The user object behind `request.user`'s lazy proxies, once they have been evaluated.

    Authentication (Django) and the second factor (django-otp) each wrap `request.user` in a SimpleLazyObject,
    one inside the other, so that a request that never asks who it comes from loads no session. Every request
    asks here (SecondFactorMiddleware), and afterwards a page reads the user 50 to 100 times (permissions,
    navigation, templates): 2.9 µs a read through both proxies (two failed attribute lookups, two calls)
    against 0.04 µs, 0.15–0.3 ms of a page's 4–7 ms CPU. django-otp set `otp_device` and `is_verified` on the
    user object itself, so it carries them."""
    while isinstance(user, LazyObject):
        wrapped = user._wrapped
        if wrapped is empty:  # not evaluated: leave the proxy as it is
            return user
        user = wrapped
    return user


@accounts_only
class SecondFactorMiddleware:
    """After the password, a user who owes a second factor (see vielfalt.second_factor) reaches no page but the
    second factor's own, logging out and the public pages: everything else, /admin/ included, redirects to it."""

    ALLOWED_URL_NAMES = frozenset(
        {
            "second_factor_verify",
            "second_factor_setup",
            "second_factor_passkey_complete",
            "second_factor_passkey_registered",  # the library's registration, recorded (vielfalt.account_events)
            "session_keepalive",  # a session waiting for its second factor may wait
            "logout",
            "set_language",
            "healthz",
            "accessibility",
            "imprint",
            "privacy",
        }
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from .second_factor import owes_second_factor

        owes = owes_second_factor(request)  # evaluates request.user: the session's user, or AnonymousUser
        request.user = unwrapped(request.user)
        if owes:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            allowed = match is not None and (
                match.url_name in self.ALLOWED_URL_NAMES or match.namespace == "otp_webauthn"
            )
            if not allowed:
                target = reverse("second_factor_verify")
                if request.method == "GET":
                    target = f"{target}?{urlencode({'next': request.get_full_path()})}"
                return redirect(target)
        return self.get_response(request)


class OTPMiddleware(DjangoOTPMiddleware):
    """django-otp's middleware (`request.user.is_verified()`), loading the session's device with one plain SQL
    statement: every request of a verified user loads it, and the ORM took four times as long to build that
    query as the database to answer it. Which device, and the checks on it (the user's own, confirmed), are
    django-otp's."""

    def _device_from_persistent_id(self, persistent_id: str):
        persistent_id = self._normalize_persistent_id(persistent_id)
        try:
            model_label, device_id = persistent_id.rsplit("/", 1)
            model = apps.get_model(model_label)
            device_id = int(device_id)
        except (ValueError, LookupError):
            return None
        if not issubclass(model, Device):
            return None
        alias = router.db_for_read(model)
        connection = connections[alias]
        quote = connection.ops.quote_name
        fields = model._meta.concrete_fields
        columns = ", ".join(quote(field.column) for field in fields)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} = %s",  # noqa: S608
                [device_id],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        return model.from_db(alias, [field.attname for field in fields], row)


REDIRECTS = frozenset({301, 302, 303, 307, 308})


@accounts_only
class SessionEndedMiddleware:
    """A request whose session has ended (30 minutes idle, 12 hours after the login, the password changed on
    another device), or that has none left (logged out in another tab, which took the cookie), is sent to the
    login page like any request without a login. Two things were wrong with that:

    - The login page did not say why: a clerk in the middle of their work found themselves logged out without
      a word. When the browser still brings the ended session's cookie (not after logging out, which removes
      it), the redirect now carries a message (in Django's message cookie, signed; nothing is written to the
      database for a session that no longer exists).
    - A request of htmx (a job's status every two seconds, a select's options) followed the redirect and put
      the whole login page into the status box, header and all, while the page around it still showed the
      user as logged in. htmx now gets the login page as a navigation of the whole window (`HX-Redirect`),
      back to the page the user was on (`HX-Current-URL`, if it is one of this host's) after logging in.

    After MessageMiddleware in MIDDLEWARE, so that the message is stored with the response."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.cookie = settings.SESSION_COOKIE_NAME

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code not in REDIRECTS or not self._to_login(response):
            return response
        # A session cookie came in, but no session: it has ended. Not after logging out on purpose.
        ended = (
            self.cookie in request.COOKIES
            and request.session.session_key is None
            and getattr(request.resolver_match, "url_name", None) != "logout"
        )
        if ended:
            messages.info(
                request,
                _(
                    "Your session has ended, for example after %(minutes)s minutes without activity or %(hours)s "
                    "hours after logging in. Please log in again."
                )
                % {
                    "minutes": settings.SESSION_COOKIE_AGE // 60,
                    "hours": settings.SESSION_ABSOLUTE_AGE // 3600,
                },
            )
        if request.headers.get("HX-Request") == "true":
            htmx = HttpResponse(status=204)
            htmx["HX-Redirect"] = self._login_url(request)
            return htmx
        return response

    @staticmethod
    def _to_login(response) -> bool:
        return urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)

    @staticmethod
    def _login_url(request) -> str:
        """The login page, back to the page htmx was called from: the request's own address is a fragment's."""
        current = request.headers.get("HX-Current-URL", "")
        if url_has_allowed_host_and_scheme(
            current, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            parts = urlsplit(current)
            return redirect_to_login(parts.path + (f"?{parts.query}" if parts.query else ""))["Location"]
        return resolve_url(settings.LOGIN_URL)


@accounts_only
class MethodNotAllowedMiddleware:
    """An address that only a button or a form sends to (a bookmarked "Abmelden", an action's address from the
    browser's history) opened as a link answered with Django's 405 and an empty body: a blank page. It gets the
    portal's page instead, which says that nothing was changed and leads on; the status and `Allow` stay."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 405
            and request.method == "GET"
            and not response.streaming
            and not response.content
        ):
            page = render(request, "405.html", status=405)
            page["Allow"] = response["Allow"]
            return page
        return response


def body_length(request) -> int:
    """The length of the request's body as its client announced it (0 when it announced none, or nonsense),
    known before anything reads the body."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RequestSizeMiddleware:
    """A request whose body is larger than any upload the portal takes (REQUEST_MAX_BYTES) is refused before
    its body is read, with a page in the user's language (413). Django streams an upload of any size to a
    temporary file before a form can look at its size: a few gigabytes sent to an upload form held a worker
    thread for as long as they took to arrive and filled the disk, and only then did the form refuse the file.
    A body without a length (chunked) is not read by Django at all."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if body_length(request) > settings.REQUEST_MAX_BYTES:
            return render(request, "413.html", {"limit": settings.REQUEST_MAX_BYTES}, status=413)
        return self.get_response(request)


class NulInAddressMiddleware:
    """An address whose parameters hold a NUL character ("%00") is a bad request (400). Nothing typed or chosen
    makes one, and PostgreSQL refuses NUL in any text it compares, so that wherever a parameter reaches a query
    without a form's check (the admin's list filters: `/admin/surveys/campaign/?status=%00`) it was a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "%00" in request.META.get("QUERY_STRING", ""):
            return bad_request(request, SuspiciousOperation("NUL character in the query string"))
        return self.get_response(request)
