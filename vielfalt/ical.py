"""iCalendar (RFC 5545) files for the portal's events (course dates, network meetings), written with the
`icalendar` library: it folds lines, escapes TEXT values and writes times in UTC."""

from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event


def uid(kind: str, pk) -> str:
    """A stable UID in the portal's domain, so calendars replace an entry instead of adding another."""
    domain = urlsplit(settings.PORTAL_URL).hostname or "vielfalt-verbindet.invalid"
    return f"{kind}-{pk}@{domain}"


def event_ics(
    *,
    prodid: str,
    uid: str,
    starts_at: datetime,
    ends_at: datetime,
    summary: str,
    description: str = "",
    location: str = "",
    url: str = "",
    status: str = "CONFIRMED",
    sequence: int = 0,
) -> bytes:
    """One event in a calendar of its own. `status`: CONFIRMED, TENTATIVE or CANCELLED; callers raise
    `sequence` when an entry changes so that calendars replace it."""
    calendar = Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", timezone.now().astimezone(UTC))
    event.add("dtstart", starts_at.astimezone(UTC))
    event.add("dtend", ends_at.astimezone(UTC))
    event.add("sequence", sequence)
    event.add("status", status)
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    if url:
        event.add("url", url)
    calendar.add_component(event)
    return calendar.to_ical()
