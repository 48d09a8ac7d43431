"""`{% load portal_i18n %}`: Django's `i18n` tag library, every tag and filter of it, with one change: a
`{% translate "constant text" %}` keeps its translation per catalogue. The portal's templates load it instead of
`i18n` (a test keeps it so); templates of Django and of other apps keep Django's own library.

Django's `{% translate %}` looks the message up in the catalogue, localises, escapes and un-doubles its percent
signs on every render: 6 µs a tag against 0.9 µs, and a page of the portal's layout has 20 to 35 of them (A/B in
one process: 6–10 % less CPU on the employee list and on the start page). For a constant message without
filters or a context the result depends only on the active catalogue and on autoescaping, so a tag keeps it
per (catalogue, autoescape): two languages, four entries at most. A catalogue reloaded in development (a changed
.mo file) is a new catalogue object, and so a new key. Everything else (a variable, filters, `context`, `noop`,
`{% blocktranslate %}`) is Django's tag as it is.

Its own label rather than replacing `i18n` in TEMPLATES' "libraries": two modules under one label is what
`manage.py check --deploy` warns about (templates.W003)."""

from django import template
from django.conf import settings
from django.templatetags import i18n
from django.utils.translation import trans_real

register = template.Library()
register.tags.update(i18n.register.tags)
register.filters.update(i18n.register.filters)


class ConstantTranslateNode(i18n.TranslateNode):
    def __init__(self, node: i18n.TranslateNode):
        super().__init__(node.filter_expression, node.noop, node.asvar, node.message_context)
        self.token = getattr(node, "token", None)
        self.origin = getattr(node, "origin", None)
        self.translations: dict = {}

    def render(self, context):
        key = (trans_real.catalog(), context.autoescape)
        value = self.translations.get(key)
        if value is None:
            if self.asvar:
                super().render(context)
                value = context[self.asvar]
            else:
                value = super().render(context)
            self.translations[key] = value
        if self.asvar:
            context[self.asvar] = value
            return ""
        return value


def _constant(node: i18n.TranslateNode) -> bool:
    expression = node.filter_expression
    return (
        settings.USE_I18N
        and not node.noop
        and node.message_context is None
        and not expression.filters
        and isinstance(expression.var, template.Variable)
        and isinstance(expression.var.literal, str)
    )


@register.tag("translate")
@register.tag("trans")
def do_translate(parser, token):
    node = i18n.do_translate(parser, token)
    return ConstantTranslateNode(node) if _constant(node) else node
