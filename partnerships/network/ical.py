"""iCalendar invitations for network meetings, through the core's `event_ics`."""

from vielfalt.ical import event_ics, uid

PRODID = "-//Vielfalt verbindet//Netzwerk//DE"


def meeting_ics(meeting, *, status: str = "CONFIRMED", url: str = "") -> bytes:
    """`status`: CONFIRMED (a seat), TENTATIVE (waiting list) or CANCELLED; a cancelled meeting is always
    CANCELLED, and a personal cancellation raises SEQUENCE so that calendars replace the entry."""
    if meeting.is_cancelled:
        status = "CANCELLED"
    sequence = meeting.sequence + (1 if status == "CANCELLED" and not meeting.is_cancelled else 0)
    description = meeting.agenda
    if meeting.online_link:
        description = f"{description}\n\n{meeting.online_link}"
    return event_ics(
        prodid=PRODID,
        uid=uid("network-meeting", meeting.pk),
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        summary=meeting.title,
        description=description,
        location=meeting.location or meeting.online_link,
        url=url,
        status=status,
        sequence=sequence,
    )


def ics_file_name(meeting) -> str:
    return f"netzwerktreffen-{meeting.pk}.ics"
