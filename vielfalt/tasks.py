from datetime import date, datetime
from urllib.parse import urlsplit

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import mailers
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .account_events import account_notice_mail, dormancy_notice_mail
from .invitations import awaits_password, invitation_mail
from .jobs import MAIL_TASK, JobError, JobTask, MarkedMailTask, job_input_discard, jobs_watch, memory_cap
from .models import User
from .password_reset import PortalPasswordResetForm
from .privacy import last_activity
from .services import employees_import_for_job


@shared_task(name="vielfalt.watch_jobs", ignore_result=True)
def task_watch_jobs() -> dict[str, int]:
    """Every JOB_WATCH_SECONDS (Celery beat): jobs whose worker died are re-queued once, then failed."""
    return jobs_watch()


@shared_task(name="vielfalt.password_reset", ignore_result=True)
def task_password_reset(*, email: str, language: str = "de") -> None:
    """The e-mail with a link to choose a new password, if an active account with a password, or one invited
    that has not chosen its password yet, uses `email` (Django's e-mail and token; vielfalt.password_reset). In
    the worker, so that the page asking for it answers alike whether one does or not."""
    portal = urlsplit(settings.PORTAL_URL)
    with translation.override(language):
        form = PortalPasswordResetForm({"email": email})
        if form.is_valid():
            form.save(domain_override=portal.netloc, use_https=portal.scheme == "https")


class AccountMailTask(MarkedMailTask):
    """An e-mail to an account's holder that did not get through is marked on the account (administrators see
    it in the list of accounts): a notice of a changed password or role the holder never read, a link to choose
    a password that never arrived."""

    def marked_rows(self, kwargs):
        return User.objects.filter(pk=kwargs.get("user_id"))


class DormancyNoticeTask(AccountMailTask):
    """A notice of the coming deactivation that did not get through does not count as given: the account is not
    deactivated on its strength, and the next retention run tells the holder again."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        super().on_failure(exc, task_id, args, kwargs, einfo)
        self.marked_rows(kwargs).update(dormancy_notice_at=None)


@shared_task(base=AccountMailTask, name="vielfalt.account_invitation", **MAIL_TASK)
def task_account_invitation(*, user_id: int) -> None:
    """The e-mail to a new account with a link to choose its password (vielfalt.invitations), in the portal's
    language; nothing if a password was chosen meanwhile (a retry, a second click)."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not awaits_password(user) or not user.email:
        return
    with translation.override(settings.LANGUAGE_CODE):
        message = invitation_mail(user)
    mailers.default.send_messages([message])


@shared_task(base=AccountMailTask, name="vielfalt.account_notice", **MAIL_TASK)
def task_account_notice(
    *, user_id: int, event: str, name: str, at: str, by_administrator: bool, address: str = ""
) -> None:
    """The e-mail telling an account's holder that its password, second factor or e-mail address changed
    (vielfalt.account_events)."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not (address or user.email):
        return
    message = account_notice_mail(
        user=user,
        event=event,
        name=name,
        at=datetime.fromisoformat(at),
        by_administrator=by_administrator,
        address=address,
    )
    mailers.default.send_messages([message])


@shared_task(base=DormancyNoticeTask, name="vielfalt.account_dormancy_notice", **MAIL_TASK)
def task_account_dormancy_notice(*, user_id: int, deactivate_on: str) -> None:
    """The notice before an unused account is deactivated (vielfalt.account_events.dormancy_notice); nothing if
    the account was used or deactivated meanwhile."""
    user = User.objects.filter(pk=user_id, is_active=True).annotate(last_used=last_activity()).first()
    if (
        user is None
        or not user.email
        or not user.dormancy_notice_at
        or user.dormancy_notice_at <= user.last_used
    ):
        return
    message = dormancy_notice_mail(
        user=user, deactivate_on=date.fromisoformat(deactivate_on), last_used=user.last_used
    )
    mailers.default.send_messages([message])


@shared_task(
    base=JobTask,
    name="vielfalt.import_employees",
    soft_time_limit=settings.IMPORT_SOFT_TIME_LIMIT,
    time_limit=settings.IMPORT_TIME_LIMIT,
)
def task_import_employees(*, job_id, actor_id: int, language: str = "de") -> None:
    """A large employee import, bounded in time (soft limit: stop with a message; hard limit: killed) and memory
    (IMPORT_MAX_MEMORY_MB). Whatever stops it, the import's transaction rolls back: nothing or everything."""
    with translation.override(language):
        try:
            with memory_cap(settings.IMPORT_MAX_MEMORY_MB):
                employees_import_for_job(job_id=job_id, actor_id=actor_id)
        except SoftTimeLimitExceeded:
            job_input_discard(job_id=job_id)
            raise JobError(
                ngettext(
                    "The import took longer than %(seconds)s second and was stopped; nothing was saved. "
                    "Please split the file into smaller ones.",
                    "The import took longer than %(seconds)s seconds and was stopped; nothing was saved. "
                    "Please split the file into smaller ones.",
                    settings.IMPORT_SOFT_TIME_LIMIT,
                )
                % {"seconds": settings.IMPORT_SOFT_TIME_LIMIT}
            ) from None
        except MemoryError:
            job_input_discard(job_id=job_id)
            raise JobError(
                _(
                    "The import needed more memory than allowed and was stopped; nothing was saved. "
                    "Please split the file into smaller ones."
                )
            ) from None
        except (JobError, PermissionDenied):
            job_input_discard(job_id=job_id)
            raise
    job_input_discard(job_id=job_id)
