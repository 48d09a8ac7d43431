from collections.abc import Callable
from functools import lru_cache
from html import escape as html_escape
from operator import itemgetter
from string import Formatter

from django import template
from django.forms import BaseForm, BaseFormSet
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django_filters.filterset import BaseFilterSet

from vielfalt import widgets
from vielfalt.audit import ChangeReader, actor_text
from vielfalt.formats import escape_text
from vielfalt.pdf import STATIC_SCHEME

register = template.Library()


class RowFormatNode(template.Node):
    def __init__(self, rows: template.base.FilterExpression, nodelist: template.NodeList):
        self.rows = rows
        self.nodelist = nodelist

    def render(self, context) -> str:
        rows = self.rows.resolve(context)
        if not rows:
            return ""
        fill = _filler(self.nodelist.render(context))
        return mark_safe(  # noqa: S308 - the pattern is the template's (autoescaped), the values escaped here
            "".join([fill([_escape(value) for value in row]) for row in rows])
        )


@lru_cache(maxsize=256)
def _filler(pattern: str) -> Callable[[list[str]], str]:
    """`pattern.format(*values)` as a function of the values, the pattern read once: `str.format` reads it anew
    for every row, which for a row of a dozen lines and fields costs more than the row's values do. Fields
    other than plain `{0}`, `{1}`, ... are left to `str.format`. A table's pattern is the same in every request
    (in each language): remembered."""
    literals, fields = [], []
    for literal, field, spec, conversion in Formatter().parse(pattern):
        literals.append(literal.replace("%", "%%"))
        if field is None:
            continue
        if not (field.isascii() and field.isdigit()) or spec or conversion:
            return lambda values: pattern.format(*values)
        literals.append("%s")
        fields.append(int(field))
    percent = "".join(literals)
    if len(fields) > 1:
        pick = itemgetter(*fields)
        return lambda values: percent % pick(values)
    if fields:
        field = fields[0]
        return lambda values: percent % (values[field],)
    text = percent % ()
    return lambda values: text


def _escape(value) -> str:
    """`conditional_escape(value)` (the same text) without its wrappers, which cost more than escaping a cell:
    a long table has hundreds. Most cells hold none of the characters to escape, and looking is cheaper than
    replacing."""
    if value.__class__ is str:
        return escape_text(value)
    if value.__class__ is SafeString:
        return value
    if value.__class__ is int:
        return str(value)
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html_escape(str(value))


@register.tag
def rowformat(parser, token):
    """`{% rowformat rows %}<tr><td>{0}</td><td>{1}</td></tr>{% endrowformat %}`: the markup between the tags
    once per row of `rows` (sequences of values), with `{0}`, `{1}`, ... the row's values, escaped.

    For the long tables of list pages: a `{% for %}` loop costs the template engine a context push per row and
    a lookup, localisation and escaping per `{{ variable }}` (most of such a page's work); here the markup is
    rendered once (tags and variables in it, e.g. `{% translate %}`, are the same for every row) and each row is
    one `str.format` of it (read once for all rows). Values are shown as `str()` of them: format numbers and dates
    for the locale before (`django.utils.formats`, `vielfalt.formats`). The markup may hold no literal braces (`str.format` would read them)."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("'rowformat' takes one argument: the rows")
    nodelist = parser.parse(("endrowformat",))
    parser.delete_first_token()
    return RowFormatNode(parser.compile_filter(bits[1]), nodelist)


@register.simple_tag
def pdf_static(path: str) -> str:
    """A static file as the PDF renderer's fetcher serves it."""
    return STATIC_SCHEME + path.lstrip("/")


@register.simple_tag
def qr_svg(data: str, label: str, module_mm: float = 0.8) -> str:
    """`data` as a QR code, inline SVG for the PDF renderer (which fetches no data: URLs), `label` its text
    alternative."""
    import segno

    svg = segno.make(data, error="m").svg_inline(scale=module_mm, unit="mm", title=label, svgclass="qr-code")
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{conditional_escape(label)}" ', 1))  # noqa: S308


@register.simple_tag(takes_context=True)
def query_transform(context, **kwargs) -> str:
    """The current query string with some parameters replaced (for pagination and sorting links)."""
    query = context["request"].GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()


@register.filter
def actor(entry) -> str:
    """Who made an audit entry, as a reader sees it (vielfalt.audit.actor_text: the system actor translated)."""
    return actor_text(entry.actor_name, entry.actor_id)


@register.filter
def readable_changes(entry) -> list[tuple[str, str]]:
    """An audit entry's `changes` in words (ChangeReader, for one entry)."""
    return ChangeReader()(entry.content_type_id, entry.changes)


@register.simple_tag
def check_options(field, inline_class=""):
    """A field's check boxes or radio buttons in one pass (vielfalt.widgets.check_options)."""
    return widgets.check_options(field, inline_class)


# Lists of messages that a page shows instead of a form's errors (an import's refused rows).
_ERROR_LISTS = ("problems", "errors")


@register.simple_tag(takes_context=True)
def shows_errors(context) -> bool:
    """Whether the page shows errors in what was submitted: a bound form, formset or filter set in the context
    that did not validate, or a non-empty list of `problems` or `errors`. The layouts then begin the <title>
    with "Error:" (WCAG 2.4.2), the first thing a screen reader says of the page answered to a submission.

    Values are told by their type, not by `isinstance`: that would load a lazy object (the request's user)."""
    for layer in context.dicts:
        for name, value in layer.items():
            kind = type(value)
            if issubclass(kind, BaseForm):
                failed = value.is_bound and bool(value.errors)
            elif issubclass(kind, BaseFormSet):
                failed = value.is_bound and not value.is_valid()
            elif issubclass(kind, BaseFilterSet):
                failed = value.is_bound and bool(value.form.errors)
            else:
                failed = name in _ERROR_LISTS and kind in (list, tuple) and bool(value)
            if failed:
                return True
    return False
