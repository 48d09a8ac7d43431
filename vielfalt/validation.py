"""Validation that speaks to the person filling in the form.

One place for what every model form of the portal does the same way:

- a violated database constraint appears once, at the field it concerns, in the sentence the constraint
  carries (`violation_error_message`; tests/vielfalt/test_validation.py checks that every constraint has one);
- every problem of a submission is reported at once: field errors, the model's `clean()` and the constraints
  are all checked in the same round;
- a text longer than its field's maximum is refused with a message instead of being cut off silently by the
  browser (no `maxlength` attribute; the server's length check says how long the text is);
- a one-line text (a title, a name, a place) stays on one line (`OneLineField`);
- no text holds an invisible control character (`control_character_error`; `MultiLineField` for text areas).
"""

import re
from datetime import MAXYEAR, MINYEAR, timedelta

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import router
from django.db.models import F, Q, UniqueConstraint
from django.db.models.constants import LOOKUP_SEP
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def _condition_fields(node) -> list[str]:
    """Field names a constraint's condition refers to, in the order written: the left-hand side first."""
    names = []
    if isinstance(node, Q):
        for child in node.children:
            names.extend(_condition_fields(child))
    elif isinstance(node, tuple):
        lookup, value = node
        names.append(lookup.split(LOOKUP_SEP)[0])
        names.extend(_condition_fields(value))
    elif isinstance(node, F):
        names.append(node.name.split(LOOKUP_SEP)[0])
    return names


def constraint_field(constraint, field_names) -> str | None:
    """The field among `field_names` where a violation of `constraint` is shown: for a check, the first field
    its condition names (`ends_at` for "ends_at > starts_at"); for a unique constraint, its last field (the
    personnel number, not the organisation). None: shown above the form."""
    if isinstance(constraint, UniqueConstraint):
        candidates = list(reversed(constraint.fields))
    else:
        candidates = _condition_fields(getattr(constraint, "condition", None))
    return next((name for name in candidates if name in field_names), None)


def span_error(start, end, *, days: int) -> str | None:
    """The message when `end` lies more than `days` days after `start`: a year typed wrong (2062 for 2026, or
    9999), which the form's date fields accept. None when the span is plausible or a date is missing."""
    if start is None or end is None or end - start <= timedelta(days=days):
        return None
    return _("The end lies more than %(days)s days after the start: please check the dates (the year?).") % {
        "days": days
    }


def submitted_id(value) -> int | None:
    """A submitted id (a query parameter, a select's value): a number of at most 18 digits, None for anything
    else (not whether the user may see what it names)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def submitted_year(value) -> int | None:
    """A submitted year (a query parameter): a number a date can have (1 to 9999), None for anything else."""
    year = submitted_id(value)
    return year if year is not None and MINYEAR <= year <= MAXYEAR else None


# Where a line ends for Python's str.splitlines(), with the spaces around it.
LINE_BREAKS = re.compile(r"\s*[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")


# Characters that nothing typed or pasted means: the C0 controls but tab and the line breaks (LINE_BREAKS), DEL, and
# the C1 controls but NEL (a line break). XML cannot carry the C0 ones: an XLSX export with one failed.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")


def control_character_error(text: str) -> str | None:
    """The message when `text` holds a control character (from a file, pasted from another program, or a request
    made by hand), naming it and where it is; None when it holds none."""
    match = CONTROL_CHARACTERS.search(text)
    if match is None:
        return None
    return _(
        "The text contains an invisible control character (U+%(code)s) at position %(position)s. Please remove it."
    ) % {"code": f"{ord(match.group()):04X}", "position": match.start() + 1}


class _PlainText:
    def validate(self, value):
        super().validate(value)
        if value and (message := control_character_error(value)):
            raise ValidationError(message, code="control_character")


def one_line(text: str) -> str:
    """`text` on one line: each line break, with the spaces around it, becomes one space."""
    return LINE_BREAKS.sub(" ", text)


class OneLineField(_PlainText, forms.CharField):
    """A text typed into a one-line input. A browser's input takes no line break (pasted text loses them), but a
    request made by hand can send one, and a title with a line break broke every e-mail whose subject names it
    (Python refuses a header with one): each becomes a space, as the browser's input would have made it."""

    def to_python(self, value):
        value = super().to_python(value)
        return one_line(value) if value else value


# The longest text the lists' search fields take: more than any name, personnel number or title typed to find
# one. Unbounded, a word of thousands of characters became one trigram LIKE as long over the whole table.
SEARCH_MAX_LENGTH = 100


class SearchField(OneLineField):
    """The search field of a list (its filter set's `q`, the enrolment page's employee search): one line of at
    most SEARCH_MAX_LENGTH characters, saying so in words a user understands when longer."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", SEARCH_MAX_LENGTH)
        kwargs["error_messages"] = {
            "max_length": gettext_lazy(
                "Please search with at most %(limit_value)d characters (you entered %(show_value)d)."
            ),
            **kwargs.get("error_messages", {}),
        }
        super().__init__(**kwargs)


class MultiLineField(_PlainText, forms.CharField):
    """A text typed into a text area: any line breaks, no control characters."""


def is_one_line_text(field) -> bool:
    """A plain text field with a one-line input (not a text area, an e-mail address or a choice)."""
    return type(field) is forms.CharField and isinstance(field.widget, forms.TextInput)


class ModelForm(forms.ModelForm):
    """Base of the portal's model forms (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.pop("maxlength", None)
            if is_one_line_text(field):  # a model's CharField: the form's copy, made per form
                field.__class__ = OneLineField
            elif type(field) is forms.CharField:  # a model's TextField, or a CharField with a text area
                field.__class__ = MultiLineField

    def validate_constraints(self):
        exclude = self._get_validation_exclusions()
        instance = self.instance
        using = router.db_for_write(type(instance), instance=instance)
        for model_class, constraints in instance.get_constraints():
            for constraint in constraints:
                try:
                    constraint.validate(model_class, instance, exclude=exclude, using=using)
                except ValidationError as error:
                    field = constraint_field(constraint, self.fields)
                    if field is None or field not in self.errors:
                        self.add_error(field, error)
                    # else: the field already shows a problem (often the same one in other words)


def add_errors(form, error: ValidationError) -> None:
    """Show a service's ValidationError on `form`: at its fields where the form has them, above it otherwise."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields and name != NON_FIELD_ERRORS else None, errors)
    else:
        form.add_error(None, error)


# --- What an event keeps once it has begun ---------------------------------------------------------------------
# A course date and a network meeting are records from their start: their start and deadlines no longer move
# (moved into the future, a held date's attendance and certificates, a meeting's registrations and minutes would
# belong to one to come).


def refuse_moving(instance, fields: dict, names, message) -> None:
    """In a service, for an `instance` that has begun: ValidationError at each of `names` that `fields` would
    change."""
    moved = [name for name in names if name in fields and fields[name] != getattr(instance, name)]
    if moved:
        raise ValidationError(dict.fromkeys(moved, message))


class KeptOnceBegunMixin:
    """A model form of an event (`instance.has_begun`) whose `kept_once_begun` fields are shown disabled once it
    has begun, and keep the instance's values (the initial values of a disabled date field lose their
    microseconds, so they would read as a change)."""

    kept_once_begun: tuple[str, ...] = ()
    kept_once_begun_help = ""

    def keep_once_begun(self) -> None:
        if self.instance.pk is not None and self.instance.has_begun:
            for name in self.kept_once_begun:
                self.fields[name].disabled = True
                self.fields[name].help_text = self.kept_once_begun_help

    def clean(self):
        cleaned_data = super().clean()
        for name in self.kept_once_begun:
            if self.fields[name].disabled:
                cleaned_data[name] = getattr(self.instance, name)
        return cleaned_data
