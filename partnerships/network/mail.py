"""E-mails of the partners' network: answers to one's question, the weekly digest and registrations. Each
mail to a user carries a one-click unsubscribe link (RFC 8058) whose signed token is all it holds."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vielfalt.models import Role, User
from vielfalt.permissions import may
from vielfalt.validation import one_line

from .ical import ics_file_name, meeting_ics
from .models import (
    AUTHOR_ROLES,
    Answer,
    Meeting,
    NotificationSettings,
    PracticeEntry,
    Question,
    Registration,
    in_programme,
)

SALT = "network.unsubscribe"
KINDS = ("answers", "weekly_digest")


def unsubscribe_token(user: User, kind: str) -> str:
    return signing.dumps([user.pk, kind], salt=SALT)


def read_unsubscribe_token(token: str) -> tuple[User, str]:
    """The user and the kind of mail a token unsubscribes from; raises BadSignature or User.DoesNotExist."""
    user_id, kind = signing.loads(token, salt=SALT)
    if kind not in KINDS or not isinstance(user_id, int):
        raise signing.BadSignature("unknown kind")
    return User.objects.get(pk=user_id, is_active=True), kind


def absolute(path: str) -> str:
    return f"{settings.PORTAL_URL}{path}"


def unsubscribe_url(user: User, kind: str) -> str:
    return absolute(reverse("network:unsubscribe", args=[unsubscribe_token(user, kind)]))


def _user_message(*, user: User, kind: str, subject: str, template: str, context: dict) -> EmailMessage:
    link = unsubscribe_url(user, kind)
    body = render_to_string(template, {**context, "user": user, "unsubscribe_url": link})
    return EmailMessage(
        subject=one_line(subject),  # a title stored with a line break (before OneLineField, or by the admin)
        body=body,
        to=[user.email],
        headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def wants(user: User, kind: str) -> bool:
    settings_row = NotificationSettings.objects.filter(user=user).first()
    if settings_row is None:
        return kind == "answers"  # answers on unless switched off; the digest only on request
    return getattr(settings_row, kind)


def answer_mail(answer: Answer) -> EmailMessage | None:
    question = answer.question
    asker = question.asked_by
    if asker is None or not asker.email or not asker.is_active or asker.pk == answer.author_id:
        return None
    if not in_programme(asker):  # left the programme since asking: the network's texts are no longer theirs
        return None
    if not wants(asker, "answers"):
        return None
    return _user_message(
        user=asker,
        kind="answers",
        subject=_("New answer to your question: %(title)s") % {"title": question.title[:120]},
        template="network/mail/answer.txt",
        context={
            "question": question,
            "answer": answer,
            "question_url": absolute(question.get_absolute_url()) + f"#answer-{answer.pk}",
        },
    )


def practice_mail(entry: PracticeEntry, event: str) -> EmailMessage | None:
    """To whoever wrote the entry, when the ministry returns it (with its request) or publishes it; a message
    about their own work, so without an unsubscribe link. None if they cannot be written to, or no longer write
    for the entry's organisation (a returned entry and the ministry's request are that organisation's)."""
    author = entry.created_by
    if author is None or not author.email or not author.is_active:
        return None
    if not may(author, AUTHOR_ROLES, entry.organisation_id):
        return None
    subjects = {
        "returned": _("Practice example returned: %(title)s"),
        "published": _("Practice example published: %(title)s"),
    }
    body = render_to_string(
        "network/mail/practice.txt",
        {"entry": entry, "event": event, "user": author, "entry_url": absolute(entry.get_absolute_url())},
    )
    return EmailMessage(
        subject=one_line(subjects[event] % {"title": entry.title[:120]}), body=body, to=[author.email]
    )


def practice_submitted_mails(entry: PracticeEntry) -> list[EmailMessage]:
    """To the ministry's staff, who publish or return practice examples: one was submitted (one message each,
    in the language of the recipient's network e-mail settings, else the portal's)."""
    languages = {}
    for address, language in User.objects.filter(
        is_active=True, memberships__role=Role.MINISTRY, email__gt=""
    ).values_list("email", "network_mail__language"):
        languages.setdefault(address, language or settings.LANGUAGE_CODE)
    context = {"entry": entry, "entry_url": absolute(entry.get_absolute_url())}
    messages = []
    for address in sorted(languages):
        with translation.override(languages[address]):
            subject = one_line(_("Practice example submitted: %(title)s") % {"title": entry.title[:120]})
            body = render_to_string("network/mail/practice_submitted.txt", context)
        messages.append(EmailMessage(subject=subject, body=body, to=[address]))
    return messages


def digest_content(since):
    return {
        "entries": list(
            PracticeEntry.objects.published()
            .filter(published_at__gte=since)
            .select_related("organisation")[:20]
        ),
        "meetings": list(
            Meeting.objects.upcoming().filter(created_at__gte=since).select_related("host")[:20]
        ),
        "questions": list(Question.objects.filter(created_at__gte=since).select_related("organisation")[:20]),
    }


def digest_mail(user: User, content: dict) -> EmailMessage | None:
    if not user.email or not any(content.values()) or not in_programme(user):
        return None
    return _user_message(
        user=user,
        kind="weekly_digest",
        subject=_("The partners' network this week"),
        template="network/mail/digest.txt",
        context={**content, "portal_url": settings.PORTAL_URL},
    )


def digest_since():
    return timezone.now() - timedelta(days=7)


def registration_mail(registration: Registration, event: str) -> EmailMessage:
    meeting = registration.meeting
    if event == "registered" and registration.status == Registration.Status.WAITING:
        event_key = "waiting"
    else:
        event_key = event
    subjects = {
        "registered": _("Registered: %(title)s"),
        "waiting": _("Waiting list: %(title)s"),
        "promoted": _("You have a seat: %(title)s"),
        "cancelled": _("Registration cancelled: %(title)s"),
        "meeting_cancelled": _("Meeting cancelled: %(title)s"),
        "changed": _("Meeting changed: %(title)s"),
    }
    url = absolute(meeting.get_absolute_url())
    body = render_to_string(
        "network/mail/registration.txt",
        {
            "registration": registration,
            "meeting": meeting,
            "event": event_key,
            "starts_at": timezone.localtime(meeting.starts_at),
            "ends_at": timezone.localtime(meeting.ends_at),
            "meeting_url": url,
        },
    )
    message = EmailMessage(
        subject=one_line(subjects[event_key] % {"title": meeting.title}), body=body, to=[registration.email]
    )
    if event in ("cancelled", "meeting_cancelled"):
        status = "CANCELLED"
    elif registration.status == Registration.Status.WAITING:
        status = "TENTATIVE"
    else:
        status = "CONFIRMED"
    message.attach(ics_file_name(meeting), meeting_ics(meeting, status=status, url=url), "text/calendar")
    return message
