"""iCalendar (RFC 5545) for a course date, through the core's `event_ics`."""

from vielfalt.ical import event_ics, uid

PRODID = "-//Vielfalt verbindet//Trainings//DE"


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
    return event_ics(
        prodid=PRODID,
        uid=uid("course-date", course_date.pk),
        starts_at=course_date.starts_at,
        ends_at=course_date.ends_at,
        summary=course.title,
        description=description,
        location=course_date.location or course_date.online_link,
        url=url,
        status=status,
        sequence=sequence,
    )


def ics_file_name(course_date) -> str:
    return f"termin-{course_date.pk}.ics"
