from django import template
from django.middleware.csrf import get_token
from django.template.context import RequestContext
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from vielfalt.caching import fill_csrf, render_shared
from vielfalt.context_processors import plain_url
from vielfalt.pdf import STATIC_SCHEME

register = template.Library()


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


@register.simple_tag
def portal_url(name: str) -> str:
    """`{% url name %}` for an URL without arguments, reversed once per process: the layout of every page
    needs several."""
    return plain_url(name)


# What the header of a page depends on besides the request's CSRF token and path: the same for every page a
# user sees in one language and section, so it is rendered once per process for each such combination.
_HEADER_PATH = "__portal-header-next-path__"
_HEADER_CACHE_SIZE = 2048
_headers: dict[tuple, str] = {}


@register.simple_tag(takes_context=True)
def portal_header(context) -> str:
    """The page header (navigation, language switch, account links) of templates/includes/header.html.

    Rendering it costs about as much as a cached page's whole content; it depends only on the language, the
    user's name and their navigation (roles and the section they are in), plus two per-request values that
    go in as placeholders and are replaced here: the CSRF token and the current path."""
    request = context["request"]
    user = context["user"]
    navigation = context.get("navigation", [])
    language = get_language()
    key = (
        language,
        user.get_username() if user.is_authenticated else None,
        tuple((item["url"], str(item["label"]), item["active"]) for item in navigation),
    )
    html = _headers.get(key)
    if html is None:
        html = render_shared(
            "includes/header.html",
            {
                "user": user,
                "navigation": navigation,
                "language_choices": context["language_choices"],
                "LANGUAGE_CODE": language,
                "next_path": _HEADER_PATH,
            },
        )
        if len(_headers) >= _HEADER_CACHE_SIZE:
            _headers.clear()
        _headers[key] = html
    return mark_safe(  # noqa: S308  (our own template's output; the path is escaped here)
        fill_csrf(html, _csrf_token(context, request)).replace(
            _HEADER_PATH, conditional_escape(request.get_full_path())
        )
    )


def _csrf_token(context, request) -> str:
    """The page's CSRF token: the one the csrf context processor made for this render (masking a fresh one
    costs 32 random draws), else a fresh one."""
    token = context.get("csrf_token") if isinstance(context, RequestContext) else None
    return str(token) if token else get_token(request)


@register.filter
def readable_changes(entry) -> list[tuple[str, str]]:
    """An audit entry's `changes` in words: a field's label instead of its name, a choice's label instead of
    its stored value ("nicht erschienen", not "no_show"), "before → after" for a change."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.exceptions import FieldDoesNotExist
    from django.utils.text import capfirst

    model = (
        ContentType.objects.get_for_id(entry.content_type_id).model_class() if entry.content_type_id else None
    )
    rows = []
    for key, value in (entry.changes or {}).items():
        try:
            field = model._meta.get_field(key) if model else None
        except FieldDoesNotExist:
            field = None
        choices = dict(field.flatchoices) if getattr(field, "choices", None) else {}

        def show(item, choices=choices):
            if isinstance(item, dict | list):
                return (
                    ", ".join(f"{k}: {v}" for k, v in item.items()) if isinstance(item, dict) else str(item)
                )
            return str(choices.get(item, item))

        label = (
            capfirst(str(field.verbose_name)) if field is not None and hasattr(field, "verbose_name") else key
        )
        if isinstance(value, list) and len(value) == 2 and not any(isinstance(v, dict | list) for v in value):
            text = f"{show(value[0])} → {show(value[1])}"
        else:
            text = show(value)
        rows.append((label.replace("_", " "), text))
    return rows
