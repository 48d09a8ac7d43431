"""Closing a client's connection without waiting for the client (gunicorn.conf.py installs `close_graceful`).

gunicorn closes a connection as RFC 9112 § 9.6 asks: it half-closes its end (the response is complete) and
then reads, until the client closes its end or 2 s have passed, whatever the client still sends, so that data
arriving after the close does not make the kernel answer with a reset that would cut off the response. It
waits for that in the worker's only thread (sync workers) or in a gthread worker's main loop, which accepts
connections and hands requests to the threads. So every request held the whole worker until its client closed:
a round trip of a phone's network, and 2 s for a client that reads its response and keeps its end open. Four
such clients, without sending anything else, held the portal at 5 s a request (tests/vielfalt/test_gunicorn_close.py).

Here the half-close and the reading of what is already there happen at once, as gunicorn does them; a
connection whose client has not closed yet is left to one thread per worker process, which reads and closes
it when the client closes, after `timeout` or after `max_drain` bytes, as gunicorn would, and never blocks:
the worker goes on with the next request at once. At most MAX_LINGERING connections wait at a time (fewer
where the process may open few files); beyond that a connection is closed without waiting (what gunicorn did
before version 26)."""

import contextlib
import logging
import os
import resource
import selectors
import socket
import ssl
import threading
import time
from collections import deque

logger = logging.getLogger(__name__)

MAX_LINGERING = 1024  # and at most a quarter of the file descriptors the process may open (max_lingering)
_CHUNK = 4096


def max_lingering() -> int:
    """How many connections may wait at once: a worker must keep descriptors for the connections it serves,
    its database connection and its files (a container's limit is often 1,024)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_LINGERING
    return max(0, min(MAX_LINGERING, soft // 4))


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


def _drain(sock: socket.socket, budget: int) -> tuple[bool, int]:
    """Reads what is there without waiting: (whether the client has closed its end or the socket failed,
    bytes read)."""
    read = 0
    while read < budget:
        try:
            data = sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return False, read
        except OSError:
            return True, read
        if not data:
            return True, read
        read += len(data)
    return False, read


class Lingerer:
    """The connections of one worker process that wait for their client to close, and the thread that looks at
    them TICK seconds apart: a thread woken for each connection's end took the interpreter's lock from the
    worker a thousand times a second (a sync worker served a tenth fewer survey answers), where looking at all
    of them together costs a few system calls each. A connection is closed at most TICK after its client
    closed its end."""

    TICK = 0.05

    def __init__(self):
        self.pid = os.getpid()
        self.limit = max_lingering()
        self.incoming: deque[tuple[socket.socket, float, int]] = deque()
        # fd → (socket, deadline, bytes it may still read); every connection waits as long, so the order of
        # arrival is the order of the deadlines.
        self.waiting: dict[int, tuple[socket.socket, float, int]] = {}
        self.selector = selectors.DefaultSelector()
        self.busy = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lingering-close", daemon=True)
        self.thread.start()

    def add(self, sock: socket.socket, deadline: float, budget: int) -> bool:
        if len(self.waiting) + len(self.incoming) >= self.limit:
            return False
        self.incoming.append((sock, deadline, budget))
        if not self.busy.is_set():
            self.busy.set()
        return True

    def _run(self) -> None:
        while True:
            self.busy.wait()
            time.sleep(self.TICK)
            try:
                self._once()
            except Exception:  # never let the thread die: the connections would stay open
                logger.exception("lingering close")
            if not self.waiting and not self.incoming:
                self.busy.clear()
                if self.incoming:  # one arrived between the test and the clear
                    self.busy.set()

    def _once(self) -> None:
        while self.incoming:
            sock, deadline, budget = self.incoming.popleft()
            try:
                self.selector.register(sock, selectors.EVENT_READ)
            except (OSError, ValueError, KeyError):  # closed meanwhile, or its number registered still
                _close(sock)
                continue
            self.waiting[sock.fileno()] = (sock, deadline, budget)
        if not self.waiting:
            return
        for key, _events in self.selector.select(0):
            sock, deadline, budget = self.waiting[key.fd]
            closed, read = _drain(sock, budget)
            if closed or read >= budget:
                self._forget(key.fd)
            else:
                self.waiting[key.fd] = (sock, deadline, budget - read)
        now = time.monotonic()
        while self.waiting:
            fd, (_sock, deadline, _budget) = next(iter(self.waiting.items()))
            if deadline > now:
                break
            self._forget(fd)

    def _forget(self, fd: int) -> None:
        sock, _deadline, _budget = self.waiting.pop(fd)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.selector.unregister(sock)
        _close(sock)


_gunicorns = None  # gunicorn's own close_graceful, once install() has replaced it
_lingerer: Lingerer | None = None
_lock = threading.Lock()


def lingerer() -> Lingerer:
    """This process's lingerer, started on first use: after gunicorn forked the worker (a thread started in
    the master would not exist in the workers)."""
    global _lingerer
    with _lock:
        if _lingerer is None or _lingerer.pid != os.getpid():
            _lingerer = Lingerer()
        return _lingerer


def close_graceful(sock: socket.socket, timeout: float = 2.0, max_drain: int = 65536) -> None:
    """gunicorn.util.close_graceful's signature and contract (half-close, read until the client closes, at most
    `timeout` and `max_drain`, then close), without waiting in the caller's thread."""
    # gunicorn's own TLS (here a proxy in front does TLS): gunicorn's way.
    if isinstance(sock, ssl.SSLSocket) and _gunicorns is not None:
        _gunicorns(sock, timeout=timeout, max_drain=max_drain)
        return
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:  # not connected any more
        _close(sock)
        return
    try:
        sock.setblocking(False)
    except OSError:
        _close(sock)
        return
    closed, read = _drain(sock, max_drain)
    if closed or read >= max_drain or not lingerer().add(sock, time.monotonic() + timeout, max_drain - read):
        _close(sock)


def install() -> None:
    """Replaces gunicorn's close_graceful, which its sync and gthread workers call as `util.close_graceful`
    (gunicorn.conf.py, in the master before it forks)."""
    global _gunicorns
    from gunicorn import util

    if util.close_graceful is not close_graceful:
        _gunicorns = util.close_graceful
        util.close_graceful = close_graceful
