"""Asking for a new password without an account: the page tells nobody whether an account uses the address, and
nobody can flood an address (a colleague's, the ministry's) with e-mails.

Django's own view looks the address up and sends the e-mail while the asker waits: the page took as long as the
mail server for an address with an account and no time for one without, which told whoever measured it which
addresses have accounts, and it sent as many e-mails as it was asked for. Here the page only counts and queues;
the worker (`vielfalt.tasks.task_password_reset`) looks the address up and sends Django's e-mail with Django's
token, its link built from PORTAL_URL as every e-mail of the portal is."""

import logging

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm, _unicode_ci_compare  # Django's own comparison
from django.http import HttpResponseRedirect
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .account_events import account_changed
from .clients import client_address
from .invitations import awaits_password
from .jobs import NOT_QUEUED_ERRORS
from .models import User
from .throttle import Throttle

logger = logging.getLogger(__name__)

PER_ADDRESS = Throttle(
    "password-reset-address", limit="PASSWORD_RESET_LIMIT_PER_ADDRESS", seconds="PASSWORD_RESET_LIMIT_SECONDS"
)
PER_CLIENT = Throttle(
    "password-reset-client", limit="PASSWORD_RESET_LIMIT_PER_CLIENT", seconds="PASSWORD_RESET_LIMIT_SECONDS"
)


class PortalPasswordResetForm(PasswordResetForm):
    """Django's form, which also answers an account invited by an administrator that has not chosen its password
    yet and never logged in (vielfalt.invitations): its link expired, and the page with the expired link tells the
    person to ask for a new one. Django's own form skips every account without a usable password, so the request
    went unanswered. An account whose password was disabled after it had been used stays skipped."""

    def get_users(self, email):
        accounts = User._default_manager.filter(email__iexact=email, is_active=True)
        return (
            user
            for user in accounts
            if (user.has_usable_password() or awaits_password(user))
            and _unicode_ci_compare(email, user.email)
        )


class PasswordResetView(auth_views.PasswordResetView):
    """The same answer, after the same work, whether an account uses the address or not: at most
    PASSWORD_RESET_LIMIT_PER_ADDRESS e-mails to one address and PASSWORD_RESET_LIMIT_PER_CLIENT requests from
    one client within PASSWORD_RESET_LIMIT_SECONDS; beyond that nothing is sent, and the page says the same."""

    def form_valid(self, form):
        from .tasks import task_password_reset

        address, client = form.cleaned_data["email"].casefold(), client_address(self.request)
        if not (PER_ADDRESS.exceeded(address) or PER_CLIENT.exceeded(client)):
            try:
                task_password_reset.apply_async(
                    kwargs={"email": form.cleaned_data["email"], "language": get_language()}
                )
            except NOT_QUEUED_ERRORS as exc:  # whatever the address: it says nothing about an account
                logger.warning("A password reset could not be queued: %s", type(exc).__name__)
                form.add_error(
                    None,
                    _(
                        "The e-mail could not be sent: the background service is not reachable. "
                        "Please try again in a few minutes."
                    ),
                )
                return self.render_to_response(self.get_context_data(form=form), status=503)
            PER_ADDRESS.add(address)
            PER_CLIENT.add(client)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's page behind the e-mailed link. A password in use that is replaced here is recorded and told to
    the holder (vielfalt.account_events): whoever got hold of the mailbox and reset the password does not go
    unnoticed. An invited account's first password is not a change: it is recorded, not told."""

    def get_user(self, uidb64):
        """Django's, for active accounts only: a link sent before an administrator deactivated the account (the
        invitation of someone who left before starting, a reset asked for on the last day) no longer sets a
        password, which whoever held the link would otherwise keep for the day the account is activated again.
        The page says the link is invalid, as for any other link that no longer works."""
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        replaced = form.user.has_usable_password()
        response = super().form_valid(form)
        account_changed(user=form.user, actor=form.user, event="password" if replaced else "password_chosen")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's page for changing one's password, recorded and told to the holder (vielfalt.account_events)."""

    def form_valid(self, form):
        response = super().form_valid(form)
        account_changed(user=form.user, actor=form.user, event="password")
        return response
