"""iCalendar invitations for network meetings, written with the `icalendar` library."""

from datetime import UTC
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

PRODID = "-//Vielfalt verbindet//Netzwerk//DE"


def meeting_ics(meeting, *, status: str = "CONFIRMED", url: str = "") -> bytes:
    """`status`: CONFIRMED (a seat), TENTATIVE (waiting list) or CANCELLED; a cancelled meeting is always
    CANCELLED, and a personal cancellation raises SEQUENCE so that calendars replace the entry."""
    if meeting.is_cancelled:
        status = "CANCELLED"
    sequence = meeting.sequence + (1 if status == "CANCELLED" and not meeting.is_cancelled else 0)
    domain = urlsplit(settings.PORTAL_URL).hostname or "vielfalt-verbindet.invalid"
    description = meeting.agenda
    if meeting.online_link:
        description = f"{description}\n\n{meeting.online_link}"
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"network-meeting-{meeting.pk}@{domain}")
    event.add("dtstamp", timezone.now().astimezone(UTC))
    event.add("dtstart", meeting.starts_at.astimezone(UTC))
    event.add("dtend", meeting.ends_at.astimezone(UTC))
    event.add("sequence", sequence)
    event.add("status", status)
    event.add("summary", meeting.title)
    event.add("description", description)
    if meeting.location or meeting.online_link:
        event.add("location", meeting.location or meeting.online_link)
    if url:
        event.add("url", url)
    calendar.add_component(event)
    return calendar.to_ical()


def ics_file_name(meeting) -> str:
    return f"netzwerktreffen-{meeting.pk}.ics"
