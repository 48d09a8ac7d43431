"""iCalendar (RFC 5545) for a course date, through the core's `event_ics`."""

from vielfalt.ical import event_ics, uid

PRODID = "-//Vielfalt verbindet//Trainings//DE"


def course_date_ics(course_date, *, status: str = "", url: str = "", earlier_enrolments: int = 0) -> bytes:
    """`status`: CONFIRMED (a seat), TENTATIVE (waiting list) or CANCELLED (for this person); a cancelled date
    is always CANCELLED. A personal status other than CONFIRMED raises SEQUENCE so calendars replace the entry.

    `earlier_enrolments`: how many enrolments the same person had on this date before (all cancelled, each
    with an entry of this UID sent up to one version above the date's). A calendar ignores an entry whose
    SEQUENCE is below the one it holds, so that a person enrolled again after a cancellation kept the
    cancelled entry: each earlier enrolment lifts this one's versions by two, above all it was sent."""
    course = course_date.course
    if course_date.is_cancelled:
        status = "CANCELLED"
    status = status or "CONFIRMED"
    personal_cancel = status == "CANCELLED" and not course_date.is_cancelled
    # The date's version and its course's: renaming the course changes every date's entry.
    version = course_date.sequence + course.calendar_version
    sequence = version + 2 * earlier_enrolments + (1 if personal_cancel else 0)
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
