"""The programme at full scale (`manage.py seed_scale`) for the benchmarks of partnerships, surveys and the
programme overview, and what those benchmarks share: logged-in users, query counts and throughput against
the trivial view under gunicorn."""

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from vielfalt.models import Organisation, User
from vielfalt.programme.management.commands.seed_scale import (
    ADMIN_USER,
    HR_USER,
    MINISTRY_USER,
    ORGANISER_USER,
    PARTNER_PREFIX,
    STATE_SLUG,
)

from .common import Row, SQLClock, say, timed
from .employees import pass_second_factor
from .environment import BASE_DIR, PROCESS_ENV
from .server import CONNECTIONS, THREADS, WORKERS, Gunicorn, Load, wrk

ROUNDS = 2
ROUND_SECONDS = 8
WARM_UP_SECONDS = 3


def ensure_scale_data() -> None:
    """Run `seed_scale` against the bench database; it does nothing when a previous run left the data."""
    say("seed_scale (reused when complete)")
    seconds, result = timed(
        lambda: subprocess.run(
            [sys.executable, str(BASE_DIR / "manage.py"), "seed_scale", "--force"],
            env=PROCESS_ENV,
            capture_output=True,
            text=True,
        )
    )
    for line in (result.stdout + result.stderr).splitlines():
        say(f"  seed_scale: {line}")
    if result.returncode != 0:
        raise RuntimeError(f"seed_scale failed:\n{result.stderr[-2000:]}")
    say(f"seed_scale done in {seconds:.1f} s")
    vacuum_analyze()


def vacuum_analyze() -> None:
    """VACUUM (ANALYZE) the bench database, as autovacuum keeps a production database: planner statistics, and
    visibility maps that let index-only scans skip the heap. Some servers (this kind of machine among them) run
    with autovacuum off, so that freshly seeded tables had no statistics at all and every page was measured
    against a database no production server would have. Quick when nothing changed since the last run."""
    seconds, _ = timed(lambda: _vacuum())
    say(f"VACUUM (ANALYZE) done in {seconds:.1f} s")


def _vacuum() -> None:
    import psycopg

    from .environment import DATABASE_URL

    with psycopg.connect(DATABASE_URL, autocommit=True) as vacuum_connection:
        vacuum_connection.execute("VACUUM (ANALYZE)")


@dataclass
class Scale:
    ministry: User
    hr: User  # HR of the first partner
    organiser: User
    admin: User
    first_partner: Organisation
    state: Organisation


def scale() -> Scale:
    return Scale(
        ministry=User.objects.get(username=MINISTRY_USER),
        hr=User.objects.get(username=HR_USER),
        organiser=User.objects.get(username=ORGANISER_USER),
        admin=User.objects.get(username=ADMIN_USER),
        first_partner=Organisation.objects.filter(slug__startswith=PARTNER_PREFIX).order_by("slug").first(),
        state=Organisation.objects.get(slug=STATE_SLUG),
    )


def logged_in(user) -> Client:
    """A client logged in as `user`, past the second factor where the user owes one (ministry staff and
    administrators always do): what a completed login leaves."""

    client = Client()
    client.force_login(user, backend="vielfalt.auth.PortalBackend")
    session = client.session
    pass_second_factor(session, user)
    session.save()
    return client


@dataclass
class PageCost:
    cpu: float  # seconds of this process's CPU (time.process_time) for the whole request
    sql: float  # seconds spent waiting for the database's answers
    queries: int

    @property
    def total(self) -> float:
        return self.cpu + self.sql

    def text(self) -> str:
        return f"{self.total * 1000:.0f} ms ({self.cpu * 1000:.0f} ms CPU + {self.sql * 1000:.0f} ms SQL, {self.queries} queries)"


def page_cost(client: Client, path: str, *, repeat: int = 5) -> tuple[PageCost, list[PageCost]]:
    """What one request of `path` costs in-process, cold: Django's cache is emptied before each request, so
    nothing the page might cache is reused. CPU time rather than wall-clock (the machine is shared); the
    SQL time is the wall-clock time of each query's round trip. Returns the median by total and all runs."""
    from django.core.cache import cache

    response = client.get(path)  # warm-up: imports, templates, per-process state
    if response.status_code != 200:
        raise AssertionError(f"{path} answered {response.status_code}")
    runs = []
    for _ in range(repeat):
        cache.clear()
        with SQLClock() as clock:
            cpu = time.process_time()
            response = client.get(path)
            cpu = time.process_time() - cpu
        if response.status_code != 200:
            raise AssertionError(f"{path} answered {response.status_code}")
        runs.append(PageCost(cpu=cpu, sql=clock.seconds, queries=clock.count))
    return sorted(runs, key=lambda run: run.total)[len(runs) // 2], runs


def query_count(client: Client, path: str) -> int:
    client.get(path)  # warm-up: per-process caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    if response.status_code != 200:
        raise AssertionError(f"{path} answered {response.status_code}")
    return len(queries)


def delete_session(cookie: str) -> None:
    Session.objects.filter(session_key=cookie.partition("=")[2]).delete()


def throughput_vs_trivial(
    path: str, cookie: str, *, marker: bytes = b"", seconds: int = ROUND_SECONDS, timeout: int = 10
) -> tuple[Load, Load, list[str]]:
    """(trivial /healthz, the page, problems): gunicorn as in the foundation's benchmark, the trivial view and
    the page taking turns so that a change in the machine's load hits both alike."""
    problems = []
    with Gunicorn() as server:
        status, page = server.get(path, cookie=cookie, timeout=max(timeout, 60))
        if status != 200 or (marker and marker not in page):
            raise AssertionError(f"{path} under gunicorn answered {status} without the expected content")
        wrk(server.base_url + "/healthz", seconds=WARM_UP_SECONDS)
        wrk(server.base_url + path, seconds=WARM_UP_SECONDS, cookie=cookie, timeout=timeout)
        trivial, loads = [], []
        for number in range(1, ROUNDS + 1):
            trivial.append(wrk(server.base_url + "/healthz", seconds=seconds))
            loads.append(wrk(server.base_url + path, seconds=seconds, cookie=cookie, timeout=timeout))
            say(f"round {number}: /healthz {trivial[-1].rps:.0f}/s, {path} {rps_text(loads[-1].rps)}/s")
        status_after, _page = server.get(path, cookie=cookie, timeout=max(timeout, 60))
    trivial_load, load = Load.combine(trivial), Load.combine(loads)
    for name, measured in (("/healthz", trivial_load), (path, load)):
        if measured.errors or measured.bad_status:
            problems.append(f"{name}: {measured.errors} socket errors, {measured.bad_status} non-2xx/3xx")
    # wrk counts a 302 to the login page as success: the responses must have been the whole page.
    if load.bytes_per_response < 0.9 * len(page) or status_after != 200:
        problems.append(f"{path}: {load.bytes_per_response:.0f} B/response, the page has {len(page)} B")
    return trivial_load, load, problems


def throughput_row(
    figure: str,
    path: str,
    cookie: str,
    *,
    target_ratio: float | None = None,
    seconds: int = ROUND_SECONDS,
    timeout: int = 10,
) -> Row:
    try:
        trivial, load, problems = throughput_vs_trivial(path, cookie, seconds=seconds, timeout=timeout)
    finally:
        delete_session(cookie)
    say(
        f"throughput {path}: {rps_text(load.rps)}/s (p50 {load.p50_ms:.0f} ms, p95 {load.p95_ms:.0f} ms, "
        f"p99 {load.p99_ms:.0f} ms); /healthz {trivial.rps:.0f}/s"
    )
    ratio = load.rps / trivial.rps
    setup = (
        f"gunicorn {WORKERS} workers × {THREADS} threads, wrk -c {CONNECTIONS}, {ROUNDS} × {seconds} s "
        f"each, taking turns, wrk timeout {timeout} s"
    )
    target = (f"≥ {target_ratio:.0%}, " if target_ratio else "") + "no errors"
    return Row(
        figure=f"{figure} vs. trivial view /healthz: requests/s, p95 of the worse round ({setup})",
        value=f"{rps_text(load.rps)} req/s (p95 {load.p95_ms:.0f} ms)",
        baseline=f"{trivial.rps:,.0f} req/s (p95 {trivial.p95_ms:.0f} ms)",
        ratio=f"{ratio:.1%}" if ratio >= 0.01 else f"{ratio:.3%}",
        target=target + ("; " + "; ".join(problems) if problems else ""),
        passed=(target_ratio is None or ratio >= target_ratio) and not problems,
    )


def rps_text(rps: float) -> str:
    return f"{rps:,.0f}" if rps >= 10 else f"{rps:.2f}"


def run_measured(args: list[str], *, timeout: float = 600) -> tuple[float, int, str]:
    """Run `manage.py *args` as a child process: (wall seconds, peak RSS in bytes, its output). The peak is
    the child's own (os.wait4), not the maximum over every child this process ever had. Killed after
    `timeout` seconds (RuntimeError)."""
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(BASE_DIR / "manage.py"), *args],
            env=PROCESS_ENV,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                high_water = _high_water_mark(process.pid)
                process.kill()
                os.wait4(process.pid, 0)
                raise RuntimeError(
                    f"did not finish within {timeout:.0f} s (killed; peak memory by then {high_water / 2**20:.0f} MB)"
                )
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} exited with {process.returncode}:\n{output[-2000:]}")
    # ru_maxrss is in kilobytes on Linux.
    return seconds, usage.ru_maxrss * 1024, output


def _high_water_mark(pid: int) -> int:
    """The peak resident memory of a running process so far (Linux), in bytes; 0 if unknown."""
    try:
        for line in open(f"/proc/{pid}/status").read().splitlines():  # noqa: SIM115
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
