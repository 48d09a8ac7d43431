"""What changes how an account logs in is recorded and told to its holder.

A password replaced, a second factor set up or removed, recovery codes made anew: each is an audit entry (who
did it, to which account) and an e-mail to the account's holder, with the time and whether an administrator did
it. Someone who took over a password, or an administrator who reset a factor, cannot do so unnoticed: the holder
reads "if this was not you, tell the administration" the same minute. Neither the entry nor the e-mail holds a
secret (no password, key or code), only the factor's name.

Before, none of these left a trace: the second-factor pages and the admin's device pages wrote no audit entry,
and a changed password told nobody."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .audit import audit_record, record_text
from .jobs import send_after_commit
from .models import AuditEntry, User
from .permissions import recorded_user

# event: (the audit log's words, the e-mail's words); both take the factor's name as %(name)s.
EVENTS = {
    "password": (None, gettext_noop("Your password was changed.")),
    # An invited account's first password (vielfalt.invitations): the account can be used from now on. Recorded,
    # not told: the holder has just chosen it through the link the invitation sent them.
    "password_chosen": (gettext_noop("first password chosen"), None),
    "app_added": (
        gettext_noop("authenticator app “%(name)s” set up"),
        gettext_noop("An authenticator app (“%(name)s”) was set up as a second factor."),
    ),
    "passkey_added": (
        gettext_noop("passkey “%(name)s” set up"),
        gettext_noop("A passkey (“%(name)s”) was set up as a second factor."),
    ),
    "app_removed": (
        gettext_noop("authenticator app “%(name)s” removed"),
        gettext_noop("The authenticator app “%(name)s” was removed as a second factor."),
    ),
    "passkey_removed": (
        gettext_noop("passkey “%(name)s” removed"),
        gettext_noop("The passkey “%(name)s” was removed as a second factor."),
    ),
    "recovery_codes": (
        gettext_noop("new recovery codes"),
        gettext_noop("New recovery codes were made; the earlier ones no longer work."),
    ),
    "email": (
        gettext_noop("e-mail address changed to %(name)s"),
        gettext_noop(
            "The e-mail address of your account was changed to %(name)s. From now on the portal's e-mails go "
            "there, and so would a link to choose a new password."
        ),
    ),
    "deactivated": (
        gettext_noop("no login for %(name)s days"),
        gettext_noop(
            "Your account was deactivated because nobody logged in with it for %(name)s days. If you still need "
            "it, the portal's administration can activate it again."
        ),
    ),
    # Roles granted or withdrawn by an administrator (vielfalt.admin.UserAdmin, which records them itself): the
    # holder learns what they may now do, and of a role given to their account without their knowing.
    "roles": (
        gettext_noop("roles changed: %(name)s"),
        gettext_noop("The roles of your account were changed: %(name)s."),
    ),
    "recovery_codes_removed": (
        gettext_noop("recovery codes removed"),
        gettext_noop("Your recovery codes were removed."),
    ),
}


def account_changed(
    *,
    user: User,
    actor,
    event: str,
    name: str = "",
    audit: bool = True,
    address: str = "",
    by_administrator: bool | None = None,
) -> None:
    """Record `event` (a key of EVENTS) on `user`'s account, done by `actor` (the holder or an administrator),
    and e-mail the holder once the transaction commits, at `address` if given (a changed address is told at the
    earlier one). `audit=False` where the caller records the change itself (the admin's forms). The e-mail says
    an administrator did it when `actor` is someone else than the holder, or where `by_administrator` says so
    (an operator's command, run as the system actor)."""
    entry, _mail = EVENTS[event]
    if audit:
        if entry is None:
            changes = {"password": "***"}
        elif event == "password_chosen":
            changes = {"password": record_text(entry)}
        elif event == "deactivated":
            changes = {"is_active": [True, False], "reason": record_text(entry, name=name)}
        else:
            changes = {"second_factor": record_text(entry, name=name or _("unnamed"))}
        audit_record(actor=actor, action=AuditEntry.Action.CHANGE, obj=user, changes=changes)
    if _mail is None or not (address or user.email):
        return
    from .tasks import task_account_notice  # the tasks module imports what imports this one

    send_after_commit(
        task_account_notice,
        user_id=user.pk,
        event=event,
        name=name,
        at=timezone.now().isoformat(),
        by_administrator=recorded_user(actor) not in (None, user)
        if by_administrator is None
        else by_administrator,
        address=address,
    )


def account_notice_mail(
    *, user: User, event: str, name: str, at, by_administrator: bool, address: str = ""
) -> EmailMessage:
    """The e-mail to `user` about `event`, in the portal's language."""
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string(
            "registration/account_notice.txt",
            {
                "user": user,
                "what": _(EVENTS[event][1]) % {"name": name or _("unnamed")},
                "at": timezone.localtime(at),
                "by_administrator": by_administrator,
                "manage_url": settings.PORTAL_URL + reverse("second_factor_manage"),
                "second_factor": event not in ("password", "email", "deactivated", "roles"),
            },
        )
        subject = _("Your account for the portal “Vielfalt verbindet” was changed")
    return EmailMessage(subject=subject, body=body, to=[address or user.email])


def dormancy_notice(*, user: User, deactivate_on) -> None:
    """Tell the holder of an unused account, once the transaction commits, that it will be deactivated on
    `deactivate_on` unless they log in before (vielfalt.privacy.accounts_to_notify)."""
    if not user.email:
        return
    from .tasks import task_account_dormancy_notice

    send_after_commit(task_account_dormancy_notice, user_id=user.pk, deactivate_on=deactivate_on.isoformat())


def dormancy_notice_mail(*, user: User, deactivate_on, last_used) -> EmailMessage:
    """The notice before an unused account is deactivated, in the portal's language. An invitation never taken up
    is told how to choose the password first: the login alone would not let its holder in."""
    from .invitations import awaits_password  # it imports the second factor's views, which import this module

    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string(
            "registration/account_dormancy_notice.txt",
            {
                "user": user,
                "deactivate_on": deactivate_on,
                "last_used": timezone.localtime(last_used),
                "dormant_days": settings.RETENTION_PERIODS["dormant"],
                "account_days": settings.RETENTION_PERIODS["account"],
                "login_url": settings.PORTAL_URL + reverse("login"),
                "password_url": settings.PORTAL_URL + reverse("password_reset")
                if awaits_password(user)
                else "",
            },
        )
        subject = _("Your account for the portal “Vielfalt verbindet” will be deactivated")
    return EmailMessage(subject=subject, body=body, to=[user.email])
