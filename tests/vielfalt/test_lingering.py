"""vielfalt.lingering in-process, on pairs of connected sockets: the portal's end half-closes at once, is closed
when the other end closes, after the deadline or after reading its budget, and never more wait than allowed."""

import socket
import time

import pytest

from vielfalt import lingering


@pytest.fixture
def pair():
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if sock.fileno() == -1:
            return True
        time.sleep(0.01)
    return sock.fileno() == -1


def test_the_client_reads_the_end_at_once_and_the_socket_is_closed_when_the_client_closes(pair):
    server, client = pair
    started = time.monotonic()
    lingering.close_graceful(server, timeout=5)
    assert time.monotonic() - started < 0.05  # the caller does not wait
    client.settimeout(1)
    assert client.recv(10) == b""  # the portal's end is half-closed: the response is complete
    assert server.fileno() != -1  # waiting for the client
    client.sendall(b"the rest of a body nobody read")  # read and thrown away, no reset
    client.close()
    assert _closed_within(server, 1)


def test_a_client_that_keeps_its_end_open_is_closed_after_the_timeout(pair):
    server, _client = pair
    lingering.close_graceful(server, timeout=0.3)
    time.sleep(0.15)
    assert server.fileno() != -1
    assert _closed_within(server, 1)


def test_a_client_that_sends_more_than_the_budget_is_closed(pair):
    server, client = pair
    lingering.close_graceful(server, timeout=5, max_drain=1000)
    client.sendall(b"x" * 2000)
    assert _closed_within(server, 1)


def test_a_client_that_closed_already_is_closed_at_once(pair):
    server, client = pair
    client.close()
    lingering.close_graceful(server)
    assert server.fileno() == -1


def test_beyond_the_limit_a_connection_is_closed_without_waiting(monkeypatch):
    waiting = lingering.lingerer()
    monkeypatch.setattr(waiting, "limit", len(waiting.waiting) + len(waiting.incoming) + 3)
    pairs = [socket.socketpair() for _ in range(5)]
    try:
        for server, _client in pairs:
            lingering.close_graceful(server, timeout=5)
        assert [server.fileno() == -1 for server, _client in pairs] == [False, False, False, True, True]
    finally:
        for server, client in pairs:
            server.close()
            client.close()


def test_the_limit_leaves_most_file_descriptors_to_the_worker(monkeypatch):
    monkeypatch.setattr(lingering.resource, "getrlimit", lambda _which: (1024, 4096))
    assert lingering.max_lingering() == 256
    monkeypatch.setattr(lingering.resource, "getrlimit", lambda _which: (1_048_576, 1_048_576))
    assert lingering.max_lingering() == lingering.MAX_LINGERING


def test_gunicorn_workers_call_what_install_replaces(monkeypatch):
    from gunicorn import util
    from gunicorn.workers import gthread, sync

    monkeypatch.setattr(util, "close_graceful", util.close_graceful)  # gunicorn's own again afterwards
    lingering.install()
    assert util.close_graceful is lingering.close_graceful
    assert sync.util is util and gthread.util is util  # both call util.close_graceful(...)
