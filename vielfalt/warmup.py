"""What Django would otherwise load on the first request that needs it, loaded at once: gunicorn's master calls
`warm_up()` after it loaded the application and before it forks its workers (gunicorn.conf.py), so that every
worker starts with it and its first request costs what the second one does.

Nothing here is kept that a request could change: compiled templates, URL patterns, translation catalogues,
format settings, the static files' manifest, the primary keys of content types and PostgreSQL's type ids. The
database connection used on the way is closed again before the fork (a connection must not be shared by
processes)."""

import contextlib
import datetime
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

TEMPLATE_SUFFIXES = {".html", ".txt", ".xml", ".svg"}


def warm_up() -> None:
    from django.db import connections

    try:
        _languages()
        _templates()
        _imports()
        _static_files()
        _database()
    finally:
        connections.close_all()


def _languages() -> None:
    """Translation catalogues, the URL resolver's per-language reverse dictionary, format settings."""
    from django.conf import settings
    from django.urls import NoReverseMatch, URLResolver, get_resolver, reverse
    from django.utils import formats, translation

    def populate(resolver: URLResolver, namespace: str = "") -> None:
        # Each resolver fills its reverse dictionary per language on the first reverse() in that language, and
        # reverse() of a namespaced name builds (and fills) a resolver of its own per namespace: one reverse()
        # of a name in every namespace does both.
        names = [name for name in resolver.reverse_dict if isinstance(name, str)]
        if names:
            # A name that takes arguments raises NoReverseMatch: the resolvers are filled all the same.
            with contextlib.suppress(NoReverseMatch):
                reverse(f"{namespace}{names[0]}")
        for child_namespace, (_prefix, child) in resolver.namespace_dict.items():
            populate(child, f"{namespace}{child_namespace}:")

    now = datetime.datetime.now(tz=datetime.UTC)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            populate(get_resolver())
            for format_name in (
                "DATE_FORMAT",
                "SHORT_DATE_FORMAT",
                "DATETIME_FORMAT",
                "SHORT_DATETIME_FORMAT",
            ):
                formats.date_format(now, format_name)
            formats.number_format(1234.5, 1, use_l10n=True, force_grouping=True)
            formats.get_format("DATE_INPUT_FORMATS")


def _template_names(directory: Path):
    for path in directory.rglob("*"):
        if path.suffix in TEMPLATE_SUFFIXES and path.is_file():
            yield path.relative_to(directory).as_posix()


def _templates() -> None:
    """Every template of the project and its apps compiled into the cached loaders, those of the form renderer
    (widgets) too."""
    from django.forms.renderers import get_default_renderer
    from django.template import TemplateSyntaxError, engines
    from django.template.utils import get_app_template_dirs

    for engine in engines.all():
        directories = [Path(d) for d in engine.engine.dirs] + [
            Path(d) for d in get_app_template_dirs("templates")
        ]
        for directory in directories:
            for name in _template_names(directory):
                try:
                    engine.get_template(name)
                except (TemplateSyntaxError, UnicodeDecodeError) as error:
                    # A library's template for a tag library that is not installed, say: not ours to use.
                    logger.debug("warm-up: %s not compiled (%s)", name, error)
    renderer = get_default_renderer()
    for directory in [Path(d) for d in renderer.engine.engine.dirs]:  # django/forms/templates
        for name in _template_names(directory):
            renderer.get_template(name)


def _imports() -> None:
    """What Django imports on first use: context processors, authentication backends, the message storage, the
    session serializer."""
    from django.conf import settings
    from django.contrib.auth import get_backends
    from django.template import engines
    from django.utils.module_loading import import_string

    for engine in engines.all():
        engine.engine.template_context_processors  # noqa: B018
    get_backends()
    import_string(settings.MESSAGE_STORAGE)
    import_string(settings.SESSION_SERIALIZER)


def _static_files() -> None:
    from django.contrib.staticfiles.storage import staticfiles_storage

    with contextlib.suppress(ValueError):  # no collectstatic yet (development)
        staticfiles_storage.url("css/portal.css")  # reads the manifest of hashed names


def _database() -> None:
    """The content types' cache and PostgreSQL's type ids (django.contrib.postgres asks for them on every new
    connection until it has them)."""
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType
    from django.db import DatabaseError

    try:
        ContentType.objects.get_for_models(*apps.get_models())
    except DatabaseError as error:
        logger.warning("warm-up: no database (%s)", type(error).__name__)
