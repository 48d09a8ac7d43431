"""Background work of the survey app. Tasks take primary keys; raw tokens are made inside the task, put into
one message or letter and never passed through the broker, stored or logged."""

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import OperationalError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from vielfalt.collation import text_order
from vielfalt.jobs import MAIL_TASK, JobError, JobTask, MarkedMailTask, job_store_result
from vielfalt.models import Job, Role, User
from vielfalt.pdf import letterhead_for, render_pdf
from vielfalt.permissions import SYSTEM, actor_from_id
from vielfalt.validation import one_line

from .credentials import format_code
from .models import Campaign, HeldAnswer, Invitation
from .results import campaign_results, results_visible
from .services import (
    campaigns_close_due,
    code_sheets_reissue,
    held_release,
    invitation_issue,
    invitation_mark_sent,
)

logger = logging.getLogger(__name__)

EASY_LINK_SUFFIX = "leicht/"  # a one-time link ending in it opens the survey in easy-to-read language


def survey_link(token: str, *, easy: bool = False) -> str:
    """The absolute one-time link, at the portal's public address (PORTAL_URL); `easy`: the same link, opening
    the survey in easy-to-read language (Leichte Sprache)."""
    return settings.PORTAL_URL + reverse("surveys:token", args=[token]) + (EASY_LINK_SUFFIX if easy else "")


def code_address() -> str:
    """Where a code is typed: short enough to copy from paper."""
    return settings.PORTAL_URL + reverse("survey_code")


def _invitations_to_send(campaign_id: int, *, reminder: bool, since):
    """E-mail invitations only: pooled codes go out on paper. Only to those still employed: someone who left since
    being invited is neither invited nor reminded. Reminders go only to those not yet answered, and not again to
    those reminded since `since` (the job was requested: a retry continues where the last attempt stopped). Each
    invitation is checked again as it is written (`due`), so that two jobs at once (a second click, a colleague)
    do not both write to one person, the second link breaking the first."""
    invitations = Invitation.objects.filter(
        campaign_id=campaign_id, used=False, employee__isnull=False, employee__is_active=True
    ).exclude(employee__email="")
    if reminder:
        due = Q(sent_at__isnull=False) & (Q(reminded_at__isnull=True) | Q(reminded_at__lt=since))
    else:
        due = Q(sent_at__isnull=True)
    return invitations.filter(due), due


# Every error of handing a message to the mail server: a refused or lost connection, a timeout, SMTP's own.
MAIL_ERRORS = (smtplib.SMTPException, OSError)


@sensitive_variables()
def _send_one(actor, campaign, invitation, *, connection, reminder: bool, due: Q) -> int:
    """Hand one invitation's message with a new link and code to the mail server and stamp it; 0 if it was
    answered or written to by another job meanwhile. Runs inside the caller's transaction."""
    credentials = invitation_issue(
        actor=actor, invitation=invitation, reminder=reminder, mark_sent=False, due=due
    )
    if credentials is None:
        return 0
    body = render_to_string(
        "surveys/email/invitation.txt",
        {
            "campaign": campaign,
            "link": survey_link(credentials.token),
            "easy_link": survey_link(credentials.token, easy=True),
            "code": format_code(credentials.code),
            "code_address": code_address(),
            "reminder": reminder,
        },
    )
    subject = _("Reminder: %(title)s") if reminder else "%(title)s"
    message = EmailMessage(
        subject=subject % {"title": one_line(campaign.title)}, body=body, to=[invitation.employee.email]
    )
    connection.send_messages([message])
    invitation_mark_sent(actor=actor, invitation=invitation, reminder=reminder)
    return 1


def _refuse_unless_open(campaign: Campaign, *, under_way: bool = False) -> None:
    """A job of a campaign closed since it was requested (a retry days later, a job waiting while HR or beat
    closed it) sends no links and prints no codes: they would lead to a closed questionnaire. No numbers: how
    many e-mails were still due is a participation figure."""
    if campaign.is_open:
        return
    if under_way:
        raise JobError(_("The campaign was closed while the e-mails went out; the rest were not sent."))
    raise JobError(_("The campaign is closed: nothing was sent or printed."))


@shared_task(base=JobTask, name="surveys.send_invitations", bind=True)
@sensitive_variables()
def task_send_invitations(self, *, job_id, campaign_id: int, actor_id: int, reminder: bool = False):
    """E-mail every unsent invitation (or, as a reminder, every sent but unused one) a fresh link and code.

    An invitation counts as sent (or reminded) only once the mail server took its message; if it could not take
    it, the invitation keeps its previous link and code (a failed reminder does not break the first e-mail's
    link). A mail server that cannot be reached is retried with backoff, each retry continuing where the last
    stopped; after the last one the job fails saying how many e-mails were handed over and how many were not."""
    actor = actor_from_id(actor_id)
    campaign = Campaign.objects.select_related("organisation").get(pk=campaign_id)
    _refuse_unless_open(campaign)
    requested = Job.objects.values_list("created_at", flat=True).get(pk=job_id)
    invitations, due = _invitations_to_send(campaign_id, reminder=reminder, since=requested)
    invitations = invitations.select_related("employee", "campaign")
    pending = invitations.count()
    handed_over = 0
    connection = mailers.default
    with translation.override(settings.LANGUAGE_CODE):
        try:
            with connection:
                for invitation in invitations.iterator(chunk_size=500):
                    # One transaction per invitation: the new link and code, the message handed over, the stamp.
                    # A message the mail server did not take rolls the new link back (the first e-mail's keeps
                    # working); a second job writing to this invitation waits for the first's stamp.
                    with transaction.atomic():
                        handed_over += _send_one(
                            actor, campaign, invitation, connection=connection, reminder=reminder, due=due
                        )
        except MAIL_ERRORS as exc:
            logger.warning("Survey e-mails: the mail server did not take a message (%s)", type(exc).__name__)
            if self.request.retries < self.max_retries:
                raise self.retry(exc=exc, countdown=min(5 * 2**self.request.retries, 300)) from None
            if reminder:
                # No numbers: how many reminders were due is how many invitees have not answered yet, a
                # participation figure that moves with each answer (README, "Anonymity of the survey").
                raise JobError(
                    _(
                        "The mail server could not be reached: not every reminder was handed over. Please try "
                        "again later; reminders already sent are not sent again."
                    )
                ) from None
            raise JobError(
                _(
                    "The mail server could not be reached: %(handed_over)s of %(pending)s e-mails were handed "
                    "over, %(left)s were not. Please try again later; e-mails already sent are not sent again."
                )
                % {"handed_over": handed_over, "pending": pending, "left": pending - handed_over}
            ) from None
    if handed_over < pending:  # some not sent: answered meanwhile, or the campaign closed
        campaign.refresh_from_db(fields=["status"])
        _refuse_unless_open(campaign, under_way=True)


@shared_task(base=JobTask, name="surveys.render_code_sheets")
@sensitive_variables()
def task_render_code_sheets(
    *,
    job_id,
    campaign_id: int,
    actor_id: int,
    easy: bool = False,
    reprint: bool = False,
    unit_id: int | None = None,
):
    """Code sheets for staff without e-mail: one letter per pooled code not yet printed, from the
    organisation's personnel office to the staff of the unit, without a name. They are handed out in the
    unit to whoever has no e-mail; nobody can tell which sheet went to whom, and the portal never pairs a
    code with a name. `reprint`: the sheets of one unit's pool (`unit_id`, None for staff without a unit)
    again, with fresh codes for those not used yet (services.code_sheets_reissue)."""
    import segno

    actor = actor_from_id(actor_id)
    campaign = Campaign.objects.select_related("organisation").get(pk=campaign_id)
    _refuse_unless_open(campaign)
    if reprint:
        issued = code_sheets_reissue(actor=actor, campaign=campaign, unit_id=unit_id)
    else:
        issued = []
        invitations = Invitation.objects.filter(
            campaign=campaign, employee__isnull=True, used=False, sent_at__isnull=True
        ).select_related("org_unit", "campaign")
        for invitation in invitations.order_by(*text_order(Invitation, "org_unit__name", "code_hash")):
            # Checked again as it is written: a second print job at once waits for this one's stamp and leaves
            # the code alone (a new one would make the sheet printed here worthless).
            credentials = invitation_issue(actor=actor, invitation=invitation, due=Q(sent_at__isnull=True))
            if credentials is not None:
                issued.append((invitation, credentials))
    sheets = []
    for invitation, credentials in issued:
        link = survey_link(credentials.token, easy=easy)
        qr = segno.make(link, error="m").svg_inline(scale=4, omitsize=False, title=_("QR code of the link"))
        sheets.append(
            {"unit": invitation.org_unit, "link": link, "qr": qr, "code": format_code(credentials.code)}
        )
    with translation.override(settings.LANGUAGE_CODE):
        pdf = render_pdf(
            "pdf/surveys/letters.html",
            {
                "campaign": campaign,
                "sheets": sheets,
                "code_address": code_address(),
                "today": timezone.localdate(),
                "letterhead": letterhead_for(campaign.organisation),  # the house layout's sender
                "easy": easy,  # the letter in easy-to-read language (Leichte Sprache)
                "reprint": reprint,
            },
        )
    job_store_result(job_id=job_id, content=pdf, file_name=f"codes-{campaign.pk}.pdf")


# Beat's own tasks: acknowledged once done (a worker that dies mid-way leaves the message for another), and tried
# again a little later when PostgreSQL is briefly unavailable.
BEAT_TASK_OPTIONS = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(name="surveys.release_held_answers", **BEAT_TASK_OPTIONS)
def task_release_held_answers():
    """Celery beat: move the held answers of every open campaign with at least k of them into the results."""
    campaign_ids = (
        HeldAnswer.objects.filter(campaign__status=Campaign.Status.OPEN)
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    for campaign in Campaign.objects.filter(pk__in=list(campaign_ids)):
        held_release(actor=SYSTEM, campaign=campaign)


class CampaignClosedMailTask(MarkedMailTask):
    """The e-mail telling HR that their campaign closed, when it did not get through, is marked on the campaign
    (its page shows it to HR)."""

    def marked_rows(self, kwargs):
        return Campaign.objects.filter(pk=kwargs.get("campaign_id"))


# Retried like every e-mail task, also when the mail server refuses the connection (a ConnectionError).
@shared_task(base=CampaignClosedMailTask, name="surveys.tell_campaign_closed", **MAIL_TASK)
def task_tell_campaign_closed(*, campaign_id: int) -> int:
    """Tell the organisation's HR office that its campaign closed by itself on its closing day
    (`campaigns_close_due`), and where its results are; one e-mail to each, in the portal's language. HR who
    closed it themselves saw it happen and are not written to."""
    campaign = Campaign.objects.select_related("organisation").filter(pk=campaign_id).first()
    if campaign is None:
        return 0
    addresses = (
        User.objects.filter(
            is_active=True,
            email__gt="",
            memberships__organisation_id=campaign.organisation_id,
            memberships__role=Role.HR,
        )
        .values_list("email", flat=True)
        .distinct()
        .order_by("email")
    )
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Survey closed: %(title)s") % {"title": one_line(campaign.title)}
        body = render_to_string(
            "surveys/email/campaign_closed.txt",
            {"campaign": campaign, "url": settings.PORTAL_URL + campaign.get_absolute_url()},
        )
    messages = [EmailMessage(subject=subject, body=body, to=[address]) for address in addresses]
    return mailers.default.send_messages(messages) if messages else 0


@shared_task(name="surveys.close_due_campaigns", **BEAT_TASK_OPTIONS)
def task_close_due_campaigns() -> int:
    """Celery beat, hourly: close the open campaigns whose closing day has passed (an hour missed while no worker
    ran is made up by the next)."""
    return campaigns_close_due()


@shared_task(base=JobTask, name="surveys.render_report")
def task_render_report(*, job_id, campaign_id: int, language: str = ""):
    campaign = Campaign.objects.select_related("organisation").get(pk=campaign_id)
    results = campaign_results(campaign)
    if not results_visible(campaign=campaign, respondents=results.respondents):
        from vielfalt.jobs import JobError

        raise JobError(_("The results of this campaign are not available yet."))
    with translation.override(language or settings.LANGUAGE_CODE):
        pdf = render_pdf(
            "pdf/surveys/report.html",
            {
                "campaign": campaign,
                "results": results,
                "letterhead": letterhead_for(campaign.organisation),  # the house layout's letterhead
                "document_date": timezone.localdate(),
                "reference": f"BF-{campaign.pk:05d}",
            },
        )
    job_store_result(job_id=job_id, content=pdf, file_name=f"befragung-{campaign.pk}-ergebnisse.pdf")
