"""Background work of the survey app. Tasks take primary keys; raw tokens are made inside the task, put into
one message or letter and never passed through the broker, stored or logged."""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from vielfalt.jobs import JobTask, job_store_result
from vielfalt.pdf import render_pdf
from vielfalt.permissions import actor_from_id

from .models import Campaign, Invitation
from .results import campaign_results, results_visible
from .services import invitation_issue_token


def survey_link(token: str) -> str:
    """The absolute one-time link, at the portal's public address (PORTAL_URL)."""
    return settings.PORTAL_URL + reverse("surveys:token", args=[token])


def _invitations_to_send(campaign_id: int, *, reminder: bool):
    invitations = Invitation.objects.filter(campaign_id=campaign_id, used=False).exclude(employee__email="")
    if reminder:
        return invitations.filter(sent_at__isnull=False)
    return invitations.filter(sent_at__isnull=True)


@shared_task(base=JobTask, name="surveys.send_invitations")
@sensitive_variables()
def task_send_invitations(*, job_id, campaign_id: int, actor_id: int, reminder: bool = False):
    """E-mail every unsent invitation (or, as a reminder, every sent but unused one) a fresh link. A retry
    continues where it stopped: an invitation already sent is not sent again."""
    actor = actor_from_id(actor_id)
    campaign = Campaign.objects.get(pk=campaign_id)
    started = timezone.now()
    invitations = _invitations_to_send(campaign_id, reminder=reminder).select_related("employee", "campaign")
    if reminder:
        invitations = invitations.exclude(reminded_at__gte=started)
    with translation.override(settings.LANGUAGE_CODE):
        for invitation in invitations.iterator(chunk_size=500):
            token = invitation_issue_token(actor=actor, invitation=invitation, reminder=reminder)
            if token is None:
                continue
            body = render_to_string(
                "surveys/email/invitation.txt",
                {"campaign": campaign, "link": survey_link(token), "reminder": reminder},
            )
            subject = _("Reminder: %(title)s") if reminder else "%(title)s"
            EmailMessage(
                subject=subject % {"title": campaign.title}, body=body, to=[invitation.employee.email]
            ).send()


@shared_task(base=JobTask, name="surveys.render_letters")
@sensitive_variables()
def task_render_letters(*, job_id, campaign_id: int, actor_id: int):
    """Printable letters (one page per person, link and QR code) for unused invitations of employees without
    e-mail. Each run issues new links: the letters of an earlier run stop working."""
    import segno

    actor = actor_from_id(actor_id)
    campaign = Campaign.objects.select_related("organisation").get(pk=campaign_id)
    letters = []
    invitations = Invitation.objects.filter(campaign=campaign, used=False, employee__email="").select_related(
        "employee", "campaign"
    )
    for invitation in invitations.order_by("employee__last_name", "employee__first_name", "pk"):
        token = invitation_issue_token(actor=actor, invitation=invitation)
        if token is None:
            continue
        link = survey_link(token)
        qr = segno.make(link, error="m").svg_inline(scale=4, omitsize=False, title=_("QR code of the link"))
        letters.append({"employee": invitation.employee, "link": link, "qr": qr})
    with translation.override(settings.LANGUAGE_CODE):
        pdf = render_pdf("pdf/surveys/letters.html", {"campaign": campaign, "letters": letters})
    job_store_result(job_id=job_id, content=pdf, file_name=f"einladungen-{campaign.pk}.pdf")


@shared_task(base=JobTask, name="surveys.render_report")
def task_render_report(*, job_id, campaign_id: int, language: str = ""):
    campaign = Campaign.objects.select_related("organisation").get(pk=campaign_id)
    results = campaign_results(campaign)
    if not results_visible(campaign=campaign, respondents=results.respondents):
        from vielfalt.jobs import JobError

        raise JobError(_("The results of this campaign are not available yet."))
    with translation.override(language or settings.LANGUAGE_CODE):
        pdf = render_pdf("pdf/surveys/report.html", {"campaign": campaign, "results": results})
    job_store_result(job_id=job_id, content=pdf, file_name=f"befragung-{campaign.pk}-ergebnisse.pdf")
