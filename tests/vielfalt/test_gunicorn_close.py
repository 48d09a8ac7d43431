"""A client that does not close its end after the response must not hold up anybody else.

gunicorn (since 26) closes a connection per RFC 9112 § 9.6: it half-closes, then reads until the client
closes its end or 2 s have passed. It does so in the worker's only thread (sync) or in a gthread worker's main
loop, the one that accepts connections and hands requests to the threads: a client that keeps its end open
after reading the response held the whole worker for 2 s."""

import contextlib
import os
import socket
import statistics
import threading
import time
from pathlib import Path

import pytest

from tests.processes import Gunicorn

pytestmark = pytest.mark.django_db(transaction=True)


def _request(port: int) -> tuple[socket.socket, bytes]:
    """A request to /healthz and its whole response ("ok"); the connection is left open (the caller closes it)."""
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    response = b""
    while b"\r\n\r\n" not in response or not response.endswith(b"ok"):
        chunk = client.recv(65536)
        if not chunk:
            break
        response += chunk
    return client, response


def test_a_client_keeping_its_end_open_holds_up_no_other_request():
    with Gunicorn(workers=2) as server:
        stop = threading.Event()
        kept: list[socket.socket] = []

        def holder():
            while not stop.is_set():
                client, _ = _request(server.port)
                kept.append(client)  # read, and never closed until the test ends

        holders = [threading.Thread(target=holder) for _ in range(4)]
        for thread in holders:
            thread.start()
        time.sleep(0.5)
        latencies = []
        try:
            for _ in range(20):
                started = time.perf_counter()
                client, response = _request(server.port)
                latencies.append(time.perf_counter() - started)
                client.close()
                assert response.startswith(b"HTTP/1.1 200")
        finally:
            stop.set()
            for thread in holders:
                thread.join()
            for client in kept:
                client.close()
    assert max(latencies) < 0.5, f"median {statistics.median(latencies):.3f} s, max {max(latencies):.3f} s"
    assert len(kept) > 20


def _open_sockets(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        for fd in fds.iterdir():
            with contextlib.suppress(OSError):
                total += os.readlink(fd).startswith("socket:")
    return total


def _settled_sockets(pids: list[int]) -> int:
    """The workers' sockets once the count no longer changes: the first request's server end may still be in the
    lingering thread, which notices its client's close a moment later on a busy machine."""
    count = _open_sockets(pids)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        time.sleep(0.25)
        again = _open_sockets(pids)
        if again == count:
            break
        count = again
    return count


def test_a_connection_whose_client_keeps_its_end_open_is_closed_after_two_seconds():
    """What gunicorn's own close did, without waiting in the worker: none of the workers' sockets is left."""
    with Gunicorn(workers=1) as server:
        _request(server.port)[0].close()
        workers = server.worker_pids()
        before = _settled_sockets(workers)
        kept = [_request(server.port)[0] for _ in range(20)]
        try:
            assert _open_sockets(workers) >= before + 20  # the worker waits for those clients
            for client in kept:
                client.settimeout(1)
                assert client.recv(10) == b""  # the response is complete: the server half-closed
            time.sleep(2.5)
            assert _open_sockets(workers) <= before
        finally:
            for client in kept:
                client.close()


def test_a_request_body_the_portal_does_not_read_does_not_cut_off_its_response():
    """RFC 9112 § 9.6, why gunicorn lingers: a body still arriving after the server closed its socket would make
    the kernel answer with a reset, which can discard the response before the client has read it. The body
    arriving after the response is read and thrown away until the client closes."""
    with Gunicorn(workers=1) as server:
        for _ in range(5):
            client = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            try:
                client.sendall(
                    f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Length: 40000\r\n\r\n".encode()
                    + b"x" * 30000  # more than the portal reads with the request's head
                )
                time.sleep(0.3)  # the portal has answered and closed its end meanwhile
                client.sendall(b"x" * 10000)
                time.sleep(0.3)
                response = b""
                while chunk := client.recv(65536):
                    response += chunk
            finally:
                client.close()
            assert response.startswith(b"HTTP/1.1 200") and response.endswith(b"ok")
