import time
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import connections, router
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.functional import LazyObject, empty
from django_otp.middleware import OTPMiddleware as DjangoOTPMiddleware
from django_otp.models import Device

SESSION_TOUCHED_KEY = "_touched"
TOUCH_INTERVAL_SECONDS = 60


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
