"""iCalendar (RFC 5545) for a course date, written by hand: CRLF line ends, lines folded at 75 octets,
TEXT values escaped, times in UTC."""

from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

PRODID = "-//Vielfalt verbindet//Trainings//DE"


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Split a content line into pieces of at most 75 octets, never inside a UTF-8 sequence."""
    pieces = []
    current = ""
    limit = 75
    for char in line:
        if len((current + char).encode()) > limit:
            pieces.append(current)
            current = char
            limit = 74  # continuation lines start with a space
        else:
            current += char
    pieces.append(current)
    return "\r\n ".join(pieces)


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def course_date_ics(course_date, *, status: str = "", url: str = "") -> bytes:
    """`status`: CONFIRMED (a seat), TENTATIVE (waiting list) or CANCELLED (for this person); a cancelled date
    is always CANCELLED. A personal status other than CONFIRMED raises SEQUENCE so calendars replace the entry."""
    course = course_date.course
    if course_date.is_cancelled:
        status = "CANCELLED"
    status = status or "CONFIRMED"
    sequence = course_date.sequence + (1 if status == "CANCELLED" and not course_date.is_cancelled else 0)
    description = course.description
    if course_date.online_link:
        description = f"{description}\n\n{course_date.online_link}"
    if course_date.trainer:
        description = f"{description}\n\nTrainer: {course_date.trainer}"
    location = course_date.location or course_date.online_link
    domain = urlsplit(settings.PORTAL_URL).hostname or "vielfalt-verbindet.invalid"
    properties = [
        ("BEGIN", "VCALENDAR"),
        ("VERSION", "2.0"),
        ("PRODID", PRODID),
        ("CALSCALE", "GREGORIAN"),
        ("METHOD", "PUBLISH"),
        ("BEGIN", "VEVENT"),
        ("UID", f"course-date-{course_date.pk}@{domain}"),
        ("DTSTAMP", utc_stamp(timezone.now())),
        ("DTSTART", utc_stamp(course_date.starts_at)),
        ("DTEND", utc_stamp(course_date.ends_at)),
        ("SEQUENCE", str(sequence)),
        ("STATUS", status),
        ("SUMMARY", escape_text(course.title)),
        ("DESCRIPTION", escape_text(description)),
    ]
    if location:
        properties.append(("LOCATION", escape_text(location)))
    if url:
        properties.append(("URL", url))
    properties += [("END", "VEVENT"), ("END", "VCALENDAR")]
    return "".join(fold(f"{name}:{value}") + "\r\n" for name, value in properties).encode()


def ics_file_name(course_date) -> str:
    return f"termin-{course_date.pk}.ics"
