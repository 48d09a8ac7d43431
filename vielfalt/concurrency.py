"""Saving a form over what someone else saved after it was opened (a colleague, another tab, an import).

An edit form carries the version of the record it was opened at (its `updated_at`, `OpenedVersionMixin`); the
service compares it with the record's version under the row's lock (`check_opened_version`) and refuses to
overwrite a newer one (`EditConflict`). The form is shown again with the person's input and says who changed
the record and when; it now carries the newer version, so that saving again replaces the record with what the
form shows, knowingly. Without the check the second save silently undid the first: every field it had changed,
and on an agreement the signatories and commitments it had added (the form's rows are the whole list).
"""

from datetime import datetime

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from .validation import OneLineField

FIELD_NAME = "opened_version"


def version_field(record) -> str:
    """The field that changes with every save of `record`: `updated_at`, or what its model names in
    `edit_version_field` (a course date's iCalendar `sequence`)."""
    return getattr(type(record), "edit_version_field", "updated_at")


def version_text(record) -> str:
    """`record`'s version as the form carries it; "" for a new record."""
    if record is None or record.pk is None:
        return ""
    value = getattr(record, version_field(record))
    return value.isoformat() if isinstance(value, datetime) else str(value)


class EditConflict(Exception):
    """The record changed after the form was opened."""

    def __init__(self, record, actor=None):
        super().__init__(record)
        self.record, self.actor = record, actor

    @property
    def message(self) -> str:
        from .models import AuditEntry

        entries = AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(type(self.record)), object_id=str(self.record.pk)
        )
        changed_at = getattr(self.record, "updated_at", None)
        if changed_at is not None:  # an entry older than the change did not make it (an import names none)
            entries = entries.filter(at__gte=changed_at)
        entry = entries.order_by("-at", "-pk").values_list("actor_name", "at").first()
        name, changed_at = (entry[0], entry[1]) if entry else ("", changed_at)
        when = (
            formats.date_format(timezone.localtime(changed_at), "SHORT_DATETIME_FORMAT") if changed_at else ""
        )
        if name and self.actor is not None and name == self.actor.get_username():
            changed = _(
                "You changed this record at %(time)s in another window, after you opened this form."
            ) % {"time": when}
        elif name:
            changed = _("%(name)s changed this record at %(time)s, after you opened this form.") % {
                "name": name,
                "time": when,
            }
        else:
            changed = _("This record was changed at %(time)s, after you opened this form.") % {"time": when}
        return " ".join(
            [
                changed,
                _(
                    "Your changes have not been saved. Open the record in another tab to see what changed; "
                    "saving this form again replaces it with what you see here."
                ),
            ]
        )


def check_opened_version(record, opened: str | None, *, actor=None) -> None:
    """Raise EditConflict when `record` (read under its row's lock) is newer than the version the form was
    opened at. `actor`: who is saving (the message tells them apart from a colleague)."""
    if opened is not None and version_text(record) != opened:
        raise EditConflict(record, actor)


class OpenedVersionMixin:
    """A model form that carries the version of its instance it was opened at (hidden), for the service's
    `check_opened_version`; `cleaned_data` does not hold it (the service's fields stay the model's)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[FIELD_NAME] = OneLineField(
            widget=forms.HiddenInput,
            required=False,
            initial=version_text(self.instance),
        )

    @property
    def opened_version(self) -> str | None:
        """The version the form was opened at; None for a form without one (opened before the check existed,
        or a new record)."""
        return (self.data.get(self.add_prefix(FIELD_NAME)) or None) if self.is_bound else None

    def clean(self):
        cleaned_data = super().clean()
        cleaned_data.pop(FIELD_NAME, None)
        return cleaned_data

    def edit_conflict(self, conflict: EditConflict) -> None:
        """Show the conflict, with a link to the record as it is now (a new tab: this form keeps the person's
        input), and carry the newer version: saving again overwrites it knowingly."""
        if url := getattr(conflict.record, "get_absolute_url", lambda: None)():
            self.add_error(
                None,
                format_html(
                    '{} <a href="{}" target="_blank" rel="noopener" class="alert-link">{}</a>',
                    conflict.message,
                    url,
                    _("The record as it is now (opens in a new tab)"),
                ),
            )
        else:
            self.add_error(None, conflict.message)
        self.data = self.data.copy()
        self.data[self.add_prefix(FIELD_NAME)] = version_text(conflict.record)
