"""Login events go to the audit log, a login starts the session's lifetime and tells the holder of an e-mail to
them that did not get through. Django and django-axes announce them only through signals."""

import logging
import time

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from axes.utils import reset as axes_reset
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .audit import audit_record
from .middleware import LOGGED_IN_AT_KEY
from .models import AuditEntry
from .second_factor import STATE_SESSION_KEY, second_factor_state

logger = logging.getLogger("vielfalt.accounts")


def login_attempt_username(request, credentials=None) -> str | None:
    """`AXES_USERNAME_CALLABLE`: the name a login was tried with, as axes records and counts it, cut to what its
    tables hold (255 characters). Django's login forms do not refuse a longer name (`UsernameField` only leaves it
    unnormalised), so a scanner's 3,000-character name reached axes, whose insert failed on PostgreSQL: a 500 on
    the public login page and the admin's, and an error in the log, for every such try (django-axes #1381). No
    account's name is that long (150 characters at most), so a cut name still counts against nobody's."""
    if credentials:
        username = credentials.get("username")
    else:
        username = getattr(request, "data", request.POST).get("username")
    if username is None:
        return None
    return str(username)[: AccessAttempt._meta.get_field("username").max_length]


@receiver(user_logged_in, dispatch_uid="audit_login")
def audit_login(sender, request, user, **kwargs):
    audit_record(actor=user, action=AuditEntry.Action.LOGIN, obj=user)


@receiver(user_logged_in, dispatch_uid="second_factor_at_login")
def second_factor_at_login(sender, request, user, **kwargs):
    """Decide once per login what the session owes (vielfalt.second_factor). The failed-login counter of the
    account is reset only when nothing is owed; otherwise after the second factor."""
    if request is None or not hasattr(request, "session"):
        return
    state = second_factor_state(user)
    request.session[STATE_SESSION_KEY] = state
    if not state:
        axes_reset(username=user.get_username())


@receiver(user_logged_in, dispatch_uid="session_lifetime_at_login")
def session_lifetime_at_login(sender, request, user, **kwargs):
    """The session's SESSION_ABSOLUTE_AGE counts from here (vielfalt.middleware.SessionLifetimeMiddleware)."""
    if request is not None and hasattr(request, "session"):
        request.session[LOGGED_IN_AT_KEY] = int(time.time())


@receiver(user_logged_in, dispatch_uid="undelivered_mail_at_login")
def undelivered_mail_at_login(sender, request, user, **kwargs):
    """An e-mail to the holder that did not get through (`User.mail_failed_at`) was shown only to administrators
    in the admin's list of accounts; the holder, whose address it is, heard nothing and went on missing the notices
    of changes to their account. They are told at their next login (only administrators keep accounts, so nobody
    else in their organisation could correct the address)."""
    if request is None or user.mail_failed_at is None:
        return
    messages.warning(
        request,
        _(
            "An e-mail from the portal to your address %(email)s could not be delivered (%(date)s). The address "
            "may be wrong or your mailbox full: please ask the portal's administration to check it, so that notices "
            "about your account reach you."
        )
        % {
            "email": user.email,
            "date": date_format(timezone.localtime(user.mail_failed_at), "SHORT_DATE_FORMAT"),
        },
        fail_silently=True,  # a login without the messages middleware (the test client's login)
    )


@receiver(user_logged_out, dispatch_uid="audit_logout")
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=user, action=AuditEntry.Action.LOGOUT, obj=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    user = get_user_model().objects.filter(username=username).first()
    audit_record(actor=None, action=AuditEntry.Action.LOGIN_FAILED, obj=user, object_repr=username)


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def audit_locked_out(sender, request, username, ip_address, **kwargs):
    user = get_user_model().objects.filter(username=username).first()
    logger.warning("Account %s locked after repeated failed logins", username)
    audit_record(actor=None, action=AuditEntry.Action.LOCKED_OUT, obj=user, object_repr=str(username)[:150])
