"""Form widgets (and crispy-forms' lists of check boxes) written at a fraction of the template engine's cost.

Django writes a select through a template and two more templates per option (`select_option.html`, which
includes `attrs.html`), after building a dictionary of eleven keys per option (`Select.optgroups`): 20–30 µs an
option. A form naming one of the programme's 400 partners, or one of their org units, spent most of its time
there (the agreement form at full scale: 580 ms for 6,100 options). `Select` writes the same markup in one pass.
crispy-bootstrap5 writes a list of check boxes or radio buttons through a template loop with an include per
option (the meeting form's 400 invited organisations: 60–90 ms); `check_options` writes the same options in one
pass, for the project's copy of its template (templates/bootstrap5/layout/radio_checkbox_select.html).

Every form of the portal writes its selects through `Select`: the project's form renderer (`FormRenderer`,
settings.FORM_RENDERER) gives each form fields (`BoundField`) that render a plain `forms.Select` as `Select`,
whatever the form's class (a model form, a plain form, a filter form).
"""

from crispy_forms.templatetags.crispy_forms_filters import optgroups
from django import forms
from django.forms.boundfield import BoundField as DjangoBoundField
from django.forms.renderers import DjangoTemplates
from django.template.loader import get_template
from django.utils.formats import localize
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


class BoundField(DjangoBoundField):
    """A form's field that writes a plain `forms.Select` in one pass (`one_pass`), as `str(field)`, crispy-forms
    and `{{ form }}` render it."""

    def as_widget(self, widget=None, attrs=None, only_initial=False):
        return super().as_widget(one_pass(widget or self.field.widget), attrs, only_initial)


class FormRenderer(DjangoTemplates):
    """Django's default renderer, whose forms' fields are `BoundField`s (settings.FORM_RENDERER)."""

    bound_field_class = BoundField


def check_options(field, inline_class: str = "") -> str:
    """The options of a bound field rendered as check boxes or radio buttons, as crispy-bootstrap5's
    `radio_checkbox_select.html` writes them (its loop over `field|optgroups`, each value and label
    `unlocalize`d and escaped, the field's errors after the last option unless inline), in one pass."""
    invalid = " is-invalid" if field.errors else ""
    inline = " form-check-inline" if inline_class else ""
    name = escape_text(str(field.html_name))
    groups = optgroups(field)
    parts = []
    for number, (group, options, _index) in enumerate(groups):
        if group:
            parts.append(f"<strong>{conditional_escape(group)}</strong>")
        for position, option in enumerate(options):
            value = escape_text(str(localize(option["value"], use_l10n=False)))
            label = conditional_escape(str(localize(option["label"], use_l10n=False)))
            parts.append(
                f'<div class="form-check{inline}">'
                f'<input type="{option["type"]}" class="form-check-input{invalid}" name="{name}" value="{value}"'
                f"{_attributes(option['attrs'])}>"
                f'<label for="{escape_text(str(option["attrs"].get("id", "")))}" class="form-check-label">{label}</label>'
            )
            if (
                field.errors
                and not inline_class
                and position == len(options) - 1
                and number == len(groups) - 1
            ):
                parts.append(
                    get_template("bootstrap5/layout/field_errors_block.html").render({"field": field})
                )
            parts.append("</div>")
    return mark_safe("\n".join(parts))  # noqa: S308 (every value and label escaped above)
