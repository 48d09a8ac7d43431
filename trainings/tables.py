"""The rows of the training pages' long tables, built here rather than by the template language.

A table cell in a template costs a variable lookup, a filter call and an escape each (several µs apiece), a
date through the `date` filter about 15 µs; a page of 25 to 50 rows spent most of its time there. These
functions give each row as one piece of HTML (every value escaped as the template escapes it), with the same markup
the templates had, and format dates as the `date` filter does (vielfalt.formats)."""

from collections.abc import Callable
from datetime import datetime
from html import escape as html_escape

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from vielfalt.formats import datetime_formatter

from .models import COURSE_TARGET_GROUPS, Course, duration_text, target_group_labels

FORMAT_LABELS = dict(Course.Format.choices)


def _join(rows) -> SafeString:
    return mark_safe("".join(rows))  # noqa: S308 (every value in a row went through escape())


def escape(value) -> str:
    """`django.utils.html.escape` (the same `html.escape` of the text) without its lazy-text wrapper, which
    costs more than the escaping of a cell."""
    return html_escape(str(value))


def course_rows(courses, *, url: Callable[[int], str]) -> SafeString:
    """The rows of the course list; `courses` have pk, title, organiser_name, target_groups, duration_hours,
    format and next_date. The courses of a page share a few durations, sets of target groups and formats:
    each text is translated once."""
    texts = {}
    short = datetime_formatter("SHORT_DATETIME_FORMAT")
    rows = []
    for course in courses:
        key = (course.duration_hours, tuple(course.target_groups), course.format)
        if key not in texts:
            texts[key] = (
                escape(", ".join(target_group_labels(course.target_groups))),
                escape(FORMAT_LABELS.get(course.format, course.format)),
                escape(duration_text(course.duration_hours)),
            )
        groups, format_label, duration = texts[key]
        rows.append(
            f'\n    <tr>\n      <td><a href="{url(course.pk)}">{escape(course.title)}</a></td>\n'
            f"      <td>{escape(course.organiser_name)}</td>\n      <td>{groups}</td>\n"
            f"      <td>{format_label}</td>\n      <td>{duration}</td>\n"
            f"      <td>{short(course.next_date) if course.next_date else '–'}</td>\n    </tr>"
        )
    return _join(rows)


def course_date_rows(dates, *, url: Callable[[int], str], now: datetime) -> SafeString:
    """The rows of a course's dates; `dates` have pk, starts_at, target_group, location, capacity,
    enrolment_deadline, cancelled_at, seated_count and waiting_count."""
    short = datetime_formatter("SHORT_DATETIME_FORMAT")
    online = escape(gettext("online"))
    states = {
        "cancelled": format_html('<span class="badge text-bg-danger">{}</span>', gettext("cancelled")),
        "full": format_html('<span class="badge text-bg-warning">{}</span>', gettext("full")),
        "open": escape(gettext("open")),
        "closed": escape(gettext("closed")),
    }
    groups = {value: escape(label) for value, label in COURSE_TARGET_GROUPS}
    rows = []
    for d in dates:
        if d.cancelled_at is not None:
            state = "cancelled"
        elif d.seated_count >= d.capacity:
            state = "full"
        else:
            state = "open" if now <= d.enrolment_deadline else "closed"
        rows.append(
            f'\n    <tr>\n      <td><a href="{url(d.pk)}">{short(d.starts_at)}</a></td>\n'
            f"      <td>{groups.get(d.target_group) or escape(d.target_group) or '–'}</td>\n"
            f"      <td>{escape(d.location) if d.location else online}</td>\n"
            f"      <td>{d.seated_count} / {d.capacity}</td>\n      <td>{d.waiting_count}</td>\n"
            f"      <td>{short(d.enrolment_deadline)}</td>\n      <td>{states[state]}</td>\n    </tr>"
        )
    return _join(rows)


def enrolment_rows(rows, *, may_organise: bool, csrf_input: str) -> tuple[SafeString, SafeString]:
    """The rows of a date's seats and of its waiting list (the view's dicts of each enrolment)."""
    mail_failed = format_html(
        ' <span class="badge text-bg-warning">{}</span>', gettext("e-mail not delivered")
    )
    download = escape(gettext("Download"))
    question = escape(gettext("Really cancel this enrolment?"))
    cancel = escape(gettext("Cancel enrolment"))
    seated, waiting = [], []
    for row in rows:
        full_name = escape(row["full_name"])
        name = escape(row["name"]) + (mail_failed if row["mail_failed"] else "")
        cells = f"      <td>{escape(row['personnel_number'])}</td>\n      <td>{escape(row['organisation'])}</td>\n"
        cancel_cell = (
            f'<form method="post" action="{row["cancel_url"]}" data-confirm="{question}">{csrf_input}'
            f'<button type="submit" class="btn btn-sm btn-outline-danger">{cancel}'
            f'<span class="visually-hidden"> {full_name}</span></button></form>'
            if row["cancel_url"]
            else ""
        )
        if "position" in row:
            waiting.append(
                f"\n    <tr>\n      <td>{row['position']}</td>\n"
                f"      <td>{name}</td>\n{cells}      <td>{cancel_cell}</td>\n    </tr>"
            )
            continue
        if may_organise:
            field = row["field"]
            attendance = (
                f'\n        <label class="visually-hidden" for="{field}">{escape(row["attendance_label"])}</label>\n'
                f'        <select class="form-select form-select-sm" name="{field}" id="{field}" '
                f'form="attendance-form">\n          {row["attendance_options"]}\n        </select>\n        '
            )
        else:
            attendance = escape(row["attendance_text"])
        certificate = (
            f'<a href="{row["certificate_url"]}">{download}<span class="visually-hidden"> {full_name}</span></a>'
            if row["certificate_url"]
            else "–"
        )
        seated.append(
            f"\n    <tr>\n      <td>{name}</td>\n{cells}      <td>{attendance}</td>\n"
            f"      <td>{certificate}</td>\n      <td>{cancel_cell}</td>\n    </tr>"
        )
    return _join(seated), _join(waiting)
