"""Form widgets written at a fraction of the template engine's cost.

Django writes a select through a template and two more templates per option (`select_option.html`, which
includes `attrs.html`), after building a dictionary of eleven keys per option (`Select.optgroups`): 20–30 µs an
option. A form naming one of the programme's 400 partners, or one of their org units, spent most of its time
there (the agreement form at full scale: 580 ms for 6,100 options). `Select` writes the same markup in one pass.
"""

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from .formats import escape_text


def _attributes(attrs: dict) -> str:
    """`django/forms/widgets/attrs.html`: False leaves an attribute out, True writes its name alone."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        name = escape_text(str(name))
        parts.append(f" {name}" if value is True else f' {name}="{escape_text(str(value))}"')
    return "".join(parts)


class Select(forms.Select):
    """`forms.Select` with the markup of Django's templates (`select.html`, `select_option.html`), the same
    options selected, written in one pass. Choices in groups are left to Django's templates."""

    def render(self, name, value, attrs=None, renderer=None):
        # Through iter(): list() would ask a ModelChoiceIterator for its length first, a COUNT query.
        choices = list(iter(self.choices))
        if any(isinstance(label, list | tuple) for _value, label in choices):
            return super().render(name, value, attrs, renderer)
        attrs = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            attrs["multiple"] = True
        chosen = set(self.format_value(value))
        parts = [f'<select name="{escape_text(str(name))}"{_attributes(attrs)}>']
        found = False
        for option_value, label in choices:
            text = "" if option_value is None else str(option_value)
            # As Select.optgroups: only the first option of the value, unless several may be chosen.
            selected = text in chosen and (self.allow_multiple_selected or not found)
            found = found or selected
            parts.append(
                f'  <option value="{escape_text(text)}"{" selected" if selected else ""}>'
                f"{conditional_escape(label)}</option>"
            )
        parts.append("</select>")
        return mark_safe("\n".join(parts))  # noqa: S308 (every value and label escaped above)


def one_pass(widget: forms.Widget) -> forms.Widget:
    """`widget` as the one-pass `Select` when it is a plain `forms.Select` (not a subclass with markup of its
    own), with everything it holds (attributes, choices, required); else `widget` itself."""
    if type(widget) is not forms.Select:
        return widget
    fast = Select.__new__(Select)
    fast.__dict__ = widget.__dict__.copy()
    return fast
