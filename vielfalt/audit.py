"""The append-only audit log: services call `audit_record` for every change they make (the changed fields as
`model_changes` records them); pages show an entry's changes in words with `ChangeReader` and its actor with
`actor_text`."""

import enum
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .formats import datetime_formatter, escape_text
from .models import AuditEntry, Organisation, User
from .permissions import SYSTEM


def record_text(message: str, /, **params) -> str:
    """A text for the audit log in the portal's language (settings.LANGUAGE_CODE), whatever language the person
    acting reads the portal in: `message` (marked with gettext_noop) translated, each of `params` (an object, a
    lazy text) put in as text in that language. Written in the actor's language, the log held "Employees of …"
    beside "Beschäftigte der Organisation …" for the same kind of event, and a search for either missed the
    other. (Labels of fields and actions are translated when read: ChangeReader.)"""
    with translation.override(settings.LANGUAGE_CODE):
        text = _(message)
        return text % {name: str(value) for name, value in params.items()} if params else text


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    organisation: Organisation | None = None,
    changes: dict | None = None,
    object_repr: str = "",
) -> AuditEntry:
    if actor is None or not actor.is_authenticated:
        actor_name = ""
        actor = None
    elif getattr(actor, "is_system", False):
        actor_name = actor.get_username()
        actor = None
    else:
        actor_name = actor.get_username()
    if organisation is None and obj is not None:
        organisation = obj if isinstance(obj, Organisation) else getattr(obj, "organisation", None)
    if not object_repr and obj is not None:
        with translation.override(settings.LANGUAGE_CODE):  # as record_text
            object_repr = str(obj)
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=actor_name,
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=object_repr[:300],
        organisation=organisation,
        changes=changes or {},
    )


def audit_entries_for(obj: models.Model):
    """The history of one object, newest first."""
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
    ).select_related("actor")


def model_changes(instance: models.Model, fields: list[str], before: dict) -> dict:
    """Field-by-field differences between `before` (field → old value) and `instance`, as [old, new].

    Values are recorded as what they mean, not as text in the writer's language: a choice as its stored value,
    a boolean as a boolean, a list as a list, a number as a number; `ChangeReader` puts them into words (the
    field's label, the choices' labels) in the reader's language. A related object is recorded as its text: the
    log keeps what it was called then, even after it is renamed or gone."""
    changes = {}
    for name in fields:
        old, new = before.get(name), getattr(instance, name)
        if old != new:
            changes[name] = [_recorded(old), _recorded(new)]
    return changes


def _recorded(value):
    """`value` as JSON holds it."""
    if isinstance(value, enum.Enum):  # a choice (TextChoices, IntegerChoices): its stored value
        value = value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, models.Model | Promise):
        return str(value)
    if isinstance(value, date | time):  # datetime too
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return [_recorded(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _recorded(item) for key, item in value.items()}
    return str(value)  # Decimal, UUID, ...


def actor_text(actor_name: str, actor_id: int | None) -> str:
    """Who made an entry, as a reader sees it: the system actor (commands, scheduled tasks) in the reader's
    language, "–" for nobody (a failed login). The log stores the system actor's user name, untranslated."""
    if actor_name == SYSTEM.username and actor_id is None:
        return _("system")
    return actor_name or "–"


# Keys of `changes` that name no field of the entry's model: what services record besides changed fields
# (counts, notes). A field's key (and a reverse relation's, e.g. a campaign's "invitations") is read through the
# model instead; keys in neither stay as they are.
KEY_LABELS = {
    "accounts": gettext_lazy("accounts pseudonymised"),
    "accounts_deactivated": gettext_lazy("accounts deactivated"),
    "accounts_notified": gettext_lazy("holders told of deactivation"),
    "agreements": gettext_lazy("agreements"),
    "amendment": gettext_lazy("amendment"),
    "audit_entries": gettext_lazy("audit entries"),
    "cancelled": gettext_lazy("cancelled"),
    "certificates": gettext_lazy("certificates"),
    "changed": gettext_lazy("changed"),
    "code sheets": gettext_lazy("Code sheets"),
    "created": gettext_lazy("created"),
    "deleted": gettext_lazy("deleted"),
    "employees": gettext_lazy("employees"),
    "enrolments_cancelled": gettext_lazy("enrolments cancelled"),
    "expiry_notice": gettext_lazy("expiry notice (days before the end)"),
    "fields": gettext_lazy("fields changed"),
    "granted": gettext_lazy("granted"),
    "filters": gettext_lazy("filters"),
    "format": gettext_lazy("format"),
    "invitations": gettext_lazy("invitations"),
    "jobs": gettext_lazy("background jobs"),
    "kind": gettext_lazy("kind"),
    "login_records": gettext_lazy("login records"),
    "organisation": gettext_lazy("organisation"),
    "password": gettext_lazy("Password"),
    "password_link": gettext_lazy("link to choose a password"),
    "reason": gettext_lazy("Reason"),
    "recipients": gettext_lazy("recipients"),
    "registrations": gettext_lazy("meeting registrations"),
    "registrations_cancelled": gettext_lazy("registrations cancelled"),
    "request": gettext_lazy("request"),
    "seated": gettext_lazy("seat confirmed"),
    "second_factor": gettext_lazy("second factor"),
    "sha256": gettext_lazy("SHA-256 checksum"),
    "updated": gettext_lazy("updated"),
    "via": gettext_lazy("via"),
    "waiting": gettext_lazy("waiting list"),
    "withdrawn": gettext_lazy("withdrawn"),
}
# Keys whose value is a list of items (field names, personnel numbers), never a change "before → after".
LIST_KEYS = {"fields", "seated", "waiting"}

EMPTY = "–"


class ChangeReader:
    """Audit entries' `changes` in words, in the reader's language: a field's label instead of its name
    ("Offen für Besuche und Hospitationen", not "open_for_visits"), a choice's label instead of its stored value
    ("nicht erschienen", not "no_show"), "ja"/"nein" for a boolean, "before → after" for a change. Entries
    written before values were recorded as JSON (`model_changes`) hold `str()` of them ("False", "[]",
    "[FieldOfAction.SENSITISATION]"): read as well.

    A model names the choices of the items of its list fields (a JSONField has no choices of its own) in a class
    attribute `item_choices` (field name → choices).

    One reader serves one page (in one language): it looks up each model's key once, however many of the page's
    entries hold it, instead of reading a field's lazy label and choices anew for every entry (half the CPU of
    an audit page of 50 entries)."""

    def __init__(self):
        self._keys: dict[tuple[int | None, str], _Key] = {}
        self.yes, self.no = _("yes"), _("no")
        self._datetime_text = None

    def __call__(self, content_type_id: int | None, changes: dict | None) -> list[tuple[str, str]]:
        if not isinstance(changes, dict):
            return []
        rows = []
        for key, value in changes.items():
            key_words = self._keys.get((content_type_id, key))
            if key_words is None:
                key_words = self._keys[content_type_id, key] = _Key(self, content_type_id, key)
            rows.append((key_words.label, key_words.text(value)))
        return rows

    def html(self, content_type_id: int | None, changes: dict | None) -> SafeString:
        """The changes as the audit log's table shows them: a line each, label and text escaped."""
        return mark_safe(  # noqa: S308 - every label and text is escaped here
            "".join(
                [
                    f'<div><span class="text-body-secondary">{escape_text(label)}:</span> {escape_text(text)}</div>'
                    for label, text in self(content_type_id, changes)
                ]
            )
        )

    def line(self, content_type_id: int | None, changes: dict | None) -> str:
        """The changes as one line of plain text (the access export)."""
        return "; ".join([f"{label}: {text}" for label, text in self(content_type_id, changes)])

    def datetime_text(self, value: datetime) -> str:
        if self._datetime_text is None:
            self._datetime_text = datetime_formatter("SHORT_DATETIME_FORMAT")
        return self._datetime_text(value)

    def plain(self, value) -> str:
        """A value of no known kind in words: lists and dictionaries item by item, dates by the locale."""
        if value is None or value == "" or value == []:
            return EMPTY
        if isinstance(value, bool):
            return self.yes if value else self.no
        if isinstance(value, str):
            moment = _as_datetime(value)
            return self.datetime_text(moment) if moment else value
        if isinstance(value, list):
            return ", ".join([self.plain(item) for item in value])
        if isinstance(value, dict):
            return ", ".join(
                [
                    f"{_key_label(key, readable=False)}: {self.change(item) if _is_pair(item) else self.plain(item)}"
                    for key, item in value.items()
                ]
            )
        return str(value)

    def change(self, value: list) -> str:
        return f"{self.plain(value[0])} → {self.plain(value[1])}"


class _Key:
    """How one key of one model's entries reads: its label, and its values in words by the kind of field."""

    __slots__ = ("label", "_reader", "_show", "_is_pair", "_choices", "_names")

    def __init__(self, reader: ChangeReader, content_type_id: int | None, key: str):
        self._reader = reader
        self._show, self._is_pair = reader.plain, _is_pair
        model = ContentType.objects.get_for_id(content_type_id).model_class() if content_type_id else None
        model, field = _field_of(model, key)
        if isinstance(field, models.ForeignObjectRel):  # a reverse relation: a count of the related objects
            self.label = str(capfirst(field.related_model._meta.verbose_name_plural))
        elif field is not None and hasattr(field, "verbose_name"):
            self.label = str(capfirst(str(field.verbose_name))).replace("_", " ")
            self._read_as(model, field)
        else:
            self.label = _key_label(key)
            if key in LIST_KEYS:
                self._is_pair = _never
            if key == "fields" and model is not None:  # the names of the fields that changed
                self._choices = {
                    f.name: str(capfirst(str(f.verbose_name)))
                    for f in model._meta.get_fields()
                    if hasattr(f, "verbose_name")
                }
                self._names = {}
                self._show = self._list

    def text(self, value) -> str:
        """The value in words: "before → after" for a change (as `model_changes` records it), else the one
        value."""
        if self._is_pair(value):
            return f"{self._show(value[0])} → {self._show(value[1])}"
        return self._show(value)

    def _read_as(self, model: type[models.Model], field: models.Field) -> None:
        if field.many_to_many:  # the admin records the related objects after the change, not a change
            self._is_pair = _never
        elif isinstance(field, models.BooleanField):
            self._show = self._boolean
        elif getattr(field, "choices", None):  # a ForeignKey's `flatchoices` would read its table: no choices
            # Entries written before values were recorded as JSON hold a number's choice as text.
            self._choices = {}
            for stored, label in field.flatchoices:
                self._choices[stored] = self._choices[str(stored)] = str(label)
            self._show = self._choice
        elif isinstance(field, models.JSONField) and field.default is list:
            self._choices = {
                stored: str(label) for stored, label in getattr(model, "item_choices", {}).get(field.name, ())
            }
            # Old entries name a choice as its repr, "FieldOfAction.SENSITISATION": the member's name.
            self._names = {str(stored).upper(): stored for stored in self._choices}
            self._show, self._is_pair = self._list, _is_pair_of_lists
        elif isinstance(field, models.DateTimeField):
            self._show = self._datetime
        elif isinstance(field, models.DateField):
            self._show = self._date
        elif isinstance(field, models.DecimalField):
            self._show = self._decimal

    def _boolean(self, value) -> str:
        if value is True or value == "True":
            return self._reader.yes
        if value is False or value == "False":
            return self._reader.no
        return self._reader.plain(None if value == "None" else value)

    def _choice(self, value) -> str:
        try:
            return self._choices[value]
        except (KeyError, TypeError):  # a choice since removed; a list is no key
            return self._reader.plain(value)

    def _list(self, value) -> str:
        if isinstance(value, str):
            items = _old_list(value)
            if items is None:
                return self._reader.plain(value)
            value = [self._names.get(item.rpartition(".")[2], item) for item in items]
        if not isinstance(value, list):
            return self._reader.plain(value)
        choices, plain = self._choices, self._reader.plain
        return (
            ", ".join(
                [(choices.get(item) if isinstance(item, str) else None) or plain(item) for item in value]
            )
            or EMPTY
        )

    def _datetime(self, value) -> str:
        moment = _as_datetime(value) if isinstance(value, str) else None
        return self._reader.datetime_text(moment) if moment else self._reader.plain(value)

    def _date(self, value) -> str:
        day = parse_date(value) if isinstance(value, str) and len(value) == 10 else None
        return formats.date_format(day, "SHORT_DATE_FORMAT") if day else self._reader.plain(value)

    def _decimal(self, value) -> str:
        if isinstance(value, str | int) and not isinstance(value, bool):
            try:
                return formats.number_format(Decimal(value))
            except InvalidOperation:  # "" or text
                pass
        return self._reader.plain(value)


def _field_of(
    model: type[models.Model] | None, key: str
) -> tuple[type[models.Model] | None, models.Field | None]:
    """The field `key` of `model`, or of the model it extends one-to-one (a partner profile records changes of
    its organisation's fields too), with the model that has it."""
    if model is None:
        return None, None
    try:
        return model, model._meta.get_field(key)
    except FieldDoesNotExist:
        pass
    for link in model._meta.concrete_fields:
        if isinstance(link, models.OneToOneField):
            try:
                return link.related_model, link.related_model._meta.get_field(key)
            except FieldDoesNotExist:
                continue
    return model, None


def _key_label(key, *, readable: bool = True) -> str:
    """A key's label from KEY_LABELS; else the key itself, `readable` as a label or as it is (the keys inside a
    value: an organisation's name, a filter's parameter)."""
    label = KEY_LABELS.get(key)
    if label is not None:
        return str(capfirst(str(label)))
    return str(capfirst(str(key).replace("_", " "))) if readable else str(key)


def _is_pair(value) -> bool:
    """A change "before → after" as services record it: two values, neither a list nor a dictionary."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and not isinstance(value[0], list | dict)
        and not isinstance(value[1], list | dict)
    )


def _never(value) -> bool:
    return False


def _is_pair_of_lists(value) -> bool:
    """A list field's change: two lists (or, in old entries, `str()` of two lists)."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(
            item is None or isinstance(item, list) or (isinstance(item, str) and item[:1] == "[")
            for item in value
        )
    )


def _old_list(text: str) -> list[str] | None:
    """The items of a list as `str()` wrote it into entries of before values were recorded as JSON: "[]",
    "[FieldOfAction.SENSITISATION, FieldOfAction.JOINT_TRAINING]", "['sensitisation']"; None for other text."""
    if not (text.startswith("[") and text.endswith("]")):
        return None
    inner = text[1:-1].strip()
    return [item.strip().strip("'\"") for item in inner.split(",")] if inner else []


def _as_datetime(text: str) -> datetime | None:
    """`text` as an aware datetime if it is one as `isoformat()` or `str()` wrote it ("2026-03-01T09:30:00+00:00",
    "2026-03-01 09:30:00.123456+00:00"); the look at its shape first is cheaper than parsing every text."""
    if len(text) < 19 or text[4] != "-" or text[10] not in " T" or not text[:4].isdigit():
        return None
    try:
        moment = parse_datetime(text)
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None
