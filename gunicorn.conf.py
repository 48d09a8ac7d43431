"""gunicorn's configuration, read by gunicorn from the working directory (`gunicorn vielfalt.wsgi:application`
in the project folder, as the Dockerfile runs it). Every value can be overridden on the command line.

The access log goes to stdout, with every secret that travels in a URL redacted (vielfalt.logging.redact):
survey invitation tokens, password-reset links, token-like path segments, secret query parameters, also in
the Referer header (a page under /surveys/t/<token>/ sends its own URL as the referrer of its stylesheets)."""

import os
import traceback

from gunicorn.glogging import Logger, SafeAtoms

from vielfalt import lingering
from vielfalt.logging import redact

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Workers: WEB_CONCURRENCY (gunicorn reads it by itself; 3 in the Dockerfile), each with 3 threads, so that a
# request waiting for PostgreSQL or Redis does not hold up the others. On 2 cores, 3 workers × 3 threads served
# more than 3 × 4 or 2 × 4 and cost less CPU a request (fewer threads per interpreter lock, more processes):
# the launch morning 453, 454 and 428 answers/s against 420, 395 and 380 (2 × 4), 375 against 320 (3 × 4); the
# mixed load 426.7 req/s, p95 57 ms against 370.3 and 366.0 req/s, p95 62 and 72 ms (README, 2026-12-05).
# A worker takes at most as many connections as it has threads, and keeps none alive (gthread keeps at most
# worker_connections - threads idle): each response closes its connection, and the next request goes to
# whichever worker accepts it first, so that requests spread over all workers instead of piling up on the one
# that took a pool of kept connections. The TLS proxy in front keeps the browsers' connections; a new connection
# from it costs a worker about 0.06 ms (/healthz through gunicorn: 0.55 against 0.48 ms of CPU with keep-alive).
# `keepalive = 0` says so outright: gunicorn no longer warns at every start that "No keepalived connections can
# be handled".
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "3"))
worker_connections = threads
keepalive = 0
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# The application is loaded once, in the master, and what Django loads lazily on first use (templates, URL
# resolvers, translations, …) is loaded there too before the workers are forked (vielfalt.warmup), so that a
# new worker is ready at once; each new worker then opens its connections and takes its own copy of the memory
# a request writes to before it accepts one (post_worker_init): its first request costs what its second does.
# Before it forks, the master freezes what it has loaded (gc.freeze): a worker's garbage collector looks only at
# the worker's own objects, and a full collection no longer holds all its threads for ~190 ms (280,000 objects).
preload_app = True
# A connection is closed without waiting for its client to close its end: gunicorn waited for it in the worker's
# main loop, so that one client keeping its end open held up every request of the worker (vielfalt.lingering).
lingering.install()


def when_ready(server):
    from vielfalt.warmup import freeze, warm_up

    warm_up()
    freeze()


def post_worker_init(worker):
    """A new worker, before it accepts a request: its own copy of the memory a request writes to, and each
    thread's database connection (vielfalt.warmup.warm_worker). GUNICORN_PREFAULT_MEMORY=0 keeps more memory
    shared with the master (about 60 MB per worker), at the price of a slower first request."""
    from vielfalt.warmup import warm_worker

    warm_worker(
        getattr(worker, "tpool", None),  # gthread's pool of threads; a sync worker serves in this thread
        worker.cfg.threads,
        copy_memory=os.environ.get("GUNICORN_PREFAULT_MEMORY", "1") != "0",
    )


accesslog = "-"
errorlog = "-"
# No user agent and no referrer in the access log: neither is needed to run the portal.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'


class RedactingAtoms(SafeAtoms):
    """The atoms of one access-log line, each redacted when the format asks for it: the format uses a handful
    of the dozens of atoms (every request and response header is one), so redacting them all up front cost
    about 0.3 ms of every request's CPU."""

    def __getitem__(self, key):
        value = super().__getitem__(key)
        return redact(value) if isinstance(value, str) else value


class RedactingLogger(Logger):
    atoms_wrapper_class = RedactingAtoms

    def access(self, resp, req, environ, request_time):
        """The line of access_log_format above, written directly. gunicorn's general way builds a dictionary of
        every header and environment variable, escapes each and formats the line from it: about 160 µs of
        every request's CPU on the bench machine, where this takes about 60 µs. The same line, also escaped
        (`"` as `\\"`) and redacted; another format (--access-logformat) takes gunicorn's general way."""
        if not self.access_log_enabled:
            return
        if self.cfg.access_log_format != access_log_format:
            super().access(resp, req, environ, request_time)
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        request_line = f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
        try:
            self.access_log.info(
                '%s - %s %s "%s" %s %s %sms',
                _safe(environ.get("REMOTE_ADDR", "-")),
                _safe(self._get_user(environ) or "-"),
                self.now(),
                _safe(request_line),
                status,
                "-" if sent is None else sent,
                request_time.seconds * 1000 + request_time.microseconds // 1000,
            )
        except Exception:
            self.error(traceback.format_exc())


def _safe(value: str) -> str:
    """An atom as SafeAtoms and RedactingAtoms give it: quotes escaped, secrets redacted."""
    return redact(value.replace('"', '\\"'))


logger_class = RedactingLogger
