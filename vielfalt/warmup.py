"""What Django would otherwise load on the first request that needs it, loaded at once: gunicorn's master calls
`warm_up()` after it loaded the application and before it forks its workers (gunicorn.conf.py), so that every
worker starts with it and its first request costs what the second one does.

Nothing here is kept that a request could change: compiled templates, URL patterns and the regular
expressions reverse() checks them with, translation catalogues, format settings, the static files' manifest,
the primary keys of content types and PostgreSQL's type ids, and what one request to the login page sets up.
The database connection used on the way is closed again before the fork (a connection must not be shared by
processes).

`warm_worker()` then runs in each new worker (gunicorn's post_worker_init), for what belongs to a worker: its
threads' database connections, and its own copy of the memory a request writes to."""

import contextlib
import datetime
import logging
import threading
from concurrent.futures import Executor, wait
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
        _regular_expressions()
        _public_page()
    finally:
        connections.close_all()


def _languages() -> None:
    """Translation catalogues, the URL resolver's per-language reverse dictionary, format settings."""
    from django.conf import settings
    from django.urls import NoReverseMatch, URLResolver, get_resolver, reverse
    from django.utils import formats, translation

    def populate(resolver: URLResolver, namespace: str = "") -> None:
        # Each resolver fills its reverse dictionary per language on the first reverse() in that language, and
        # reverse() of a namespaced name builds (and fills) a resolver of its own per namespace. Every name is
        # reversed once with the arguments it takes: reverse() checks its result against a regular expression
        # of the pattern, which Python compiles on first use (about 0.1 ms each, 20 to 30 on a page).
        for name in [name for name in resolver.reverse_dict if isinstance(name, str)]:
            for possibilities, _pattern, _defaults, _converters in resolver.reverse_dict.getlist(name):
                for _result, params in possibilities:
                    # A converter may refuse "1" (NoReverseMatch): the resolvers are filled all the same.
                    with contextlib.suppress(NoReverseMatch):
                        reverse(f"{namespace}{name}", kwargs=dict.fromkeys(params, "1"))
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


def _regular_expressions() -> None:
    """The regular expressions Django and the libraries compile on first use (django.utils.regex_helper's
    `_lazy_re_compile`: validators, the template engine's filters, the CSRF and HTML utilities)."""
    import gc

    from django.utils.functional import SimpleLazyObject, empty

    for candidate in gc.get_objects():
        if (
            isinstance(candidate, SimpleLazyObject)
            and candidate._wrapped is empty
            and getattr(candidate._setupfunc, "__qualname__", "") == "_lazy_re_compile.<locals>._compile"
        ):
            candidate._setup()


def _public_page() -> None:
    """One request through the whole application, in-process: the login page, which anyone may open (nothing
    is written: no session, no log line). What no list of lazy objects names is set up on the way: the
    middleware's and the forms' first use, the type checks Python caches per class (a filter form's choices
    took 2 ms of a first request for them), the layout's rendering."""
    import io
    import sys

    from django.conf import settings
    from django.shortcuts import resolve_url

    from vielfalt.wsgi import application

    host = next((host.lstrip(".") for host in settings.ALLOWED_HOSTS if host != "*"), "localhost")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": resolve_url(settings.LOGIN_URL),
        "QUERY_STRING": "",
        "SERVER_NAME": host,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "HTTP_X_FORWARDED_PROTO": "https",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }
    statuses = []
    response = application(environ, lambda status, headers, exc_info=None: statuses.append(status))
    try:
        b"".join(response)
    finally:
        response.close()
    if not statuses or not statuses[0].startswith("200"):
        logger.warning("warm-up: the login page answered %s", statuses[0] if statuses else "nothing")


def freeze() -> None:
    """In the master, after warm_up and before it forks the workers: the garbage collector no longer looks at
    what the master has loaded (gc.freeze)."""
    import gc

    gc.collect()
    gc.freeze()


def warm_worker(pool: Executor | None, threads: int, *, copy_memory: bool = True, timeout: float = 5) -> None:
    """In a new worker, before it accepts its first request (gunicorn's post_worker_init).

    **Its own copy of the memory.** A forked worker shares the master's memory until it writes to it; its
    first write to a page of that memory costs a copy, and Python writes to every object it touches (the
    reference count). A first request to the agreement list took about 2,700 such copies, 10 ms of the
    kernel's time, where later requests take a few dozen. So the worker requests the login page once more,
    and (copy_memory) lists every object the garbage collector tracks, which writes to each of them: about
    17,000 pages, 60 ms at the worker's start, after which a first request takes about 500 copies. The price:
    about 60 MB per worker that is no longer shared with the master (PSS 75 → 106 MB per worker on the bench
    machine); gunicorn.conf.py turns it off with GUNICORN_PREFAULT_MEMORY=0.

    **Its threads' database connections.** Each of the threads that will serve requests opens its database
    connection, and PostgreSQL's new backend behind it reads the catalogue entries of the portal's tables.
    Otherwise the first request on each thread pays for both: the connection (about 5 ms) and a new
    backend's catalogue look-ups on its first statements. A barrier holds every task until all have started,
    so that the pool starts a thread for each (a thread pool reuses an idle thread before it starts another).
    A sync worker (no pool) serves its requests in the thread that runs this: it connects here, as its first
    request would have. Without persistent connections (CONN_MAX_AGE = 0) a connection is closed after each request: there is
    nothing to keep.

    Nothing here may keep the worker from serving: a failure is logged, the whole takes at most `timeout`, and
    the first request then does what was not done here."""
    import gc

    from django.db import connections

    try:
        _public_page()
    except Exception as error:
        logger.warning("warm-up of a worker: the login page failed (%s)", type(error).__name__)
    if copy_memory:
        # The list takes a reference to each object and drops it again: two writes to each. It lists the
        # objects the collector looks at, not those frozen in the master (freeze): let it look at them for so long.
        gc.unfreeze()
        gc.get_objects()
        gc.freeze()
    if connections["default"].settings_dict.get("CONN_MAX_AGE") == 0:
        return
    if pool is None:  # a sync worker serves its requests in the thread that runs this
        try:
            _warm_thread(None, timeout)
        except Exception as error:
            logger.warning("warm-up of a worker: its database connection failed (%s)", type(error).__name__)
        return
    barrier = threading.Barrier(threads)
    futures = [pool.submit(_warm_thread, barrier, timeout) for _ in range(threads)]
    # At most `timeout` in all, well within gunicorn's worker timeout: a database that does not answer must
    # not keep the worker from starting (a thread still connecting goes on in the background).
    done, not_done = wait(futures, timeout=timeout)
    failed = [type(future.exception()).__name__ for future in done if future.exception() is not None]
    if failed:
        logger.warning("warm-up of a worker: %d of %d threads failed (%s)", len(failed), threads, failed[0])
    if not_done:
        logger.warning("warm-up of a worker: %d threads still connecting after %g s", len(not_done), timeout)


def warm_collation() -> str:
    from .collation import NAMES_SQL

    return f"SELECT 'a' < 'b' COLLATE {NAMES_SQL}"


def _warm_thread(barrier: threading.Barrier | None, timeout: float) -> None:
    from django.apps import apps
    from django.db import connections

    if barrier is not None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout)
    connection = connections["default"]
    connection.ensure_connection()
    if connection.vendor != "postgresql":
        return
    tables = sorted({model._meta.db_table for model in apps.get_models(include_auto_created=True)})
    with connection.cursor() as cursor:
        # Only the tables this role may read (vielfalt.dbroles grants it every table today): a refused statement
        # would be an ERROR in PostgreSQL's log at every worker's start.
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relkind IN ('r', 'p')"
            " AND pg_table_is_visible(oid) AND has_table_privilege(oid, 'SELECT') ORDER BY relname",
            [tables],
        )
        for (table,) in cursor.fetchall():
            # Planning opens the table and its indexes, which loads them into the backend's caches; nothing
            # is read.
            cursor.execute(f"EXPLAIN SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (models)
        # The collation every sort by text names (vielfalt.collation): a backend opens ICU's collator on its
        # first comparison in it, 1–2 ms that the first sorted list on this connection would otherwise pay.
        cursor.execute(warm_collation())
