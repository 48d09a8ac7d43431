"""A gunicorn serving the portal on loopback with production settings, and wrk to load it."""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .common import say
from .environment import BASE_DIR, SERVER_ENV, VENV_BIN

HERE = Path(__file__).resolve().parent
# Issue 11's figures name their gunicorn: 2 workers × 4 threads (one process per core), which give the 8
# concurrent requests of the benchmark a thread each. The same server answers the trivial view and the page under
# test. The deployment itself runs 3 × 3 (DEPLOYED_*, below), which the launch morning measures.
WORKERS = int(os.environ.get("BENCH_WORKERS", 2))
THREADS = int(os.environ.get("BENCH_THREADS", 4))
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "gthread")
# The portal as deployed (the Dockerfile's WEB_CONCURRENCY, gunicorn.conf.py's default threads), for the figures
# that measure the deployment rather than a configuration an issue names (tests/vielfalt/test_gunicorn_config.py).
DEPLOYED_WORKERS, DEPLOYED_THREADS = 3, 3
# A gthread worker accepts every connection it can get: wrk's 8 keep-alive connections, opened at once, were
# seen to land all on one worker while the other core idled. Capping each worker at as many connections as it
# has threads leaves the rest in the listen queue for the other worker (as the Dockerfile runs it).
WORKER_CONNECTIONS = THREADS
CONNECTIONS = 8
WRK_THREADS = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """`with Gunicorn() as server:` starts it, waits for /healthz and always stops it again."""

    def __init__(
        self,
        *,
        workers: int = WORKERS,
        threads: int = THREADS,
        connections: int | None = None,
        worker_class: str = WORKER_CLASS,
        **env_overrides: str,
    ):
        self.env = {**SERVER_ENV, **env_overrides}
        self.workers, self.threads, self.worker_class = workers, threads, worker_class
        self.connections = connections or threads  # per worker
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115

    def __enter__(self):
        command = [
            str(VENV_BIN / "gunicorn"),
            "vielfalt.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--worker-class", self.worker_class,
            "--threads", str(self.threads),
            "--worker-connections", str(self.connections),
            "--log-level", "warning",
            "--error-logfile", "-",
        ]  # fmt: skip
        say(f"starting gunicorn on {self.base_url} ({self.workers} workers × {self.threads} threads)")
        self.process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                status, _body = self.get("/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout} s:\n{self.log_text()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # its own session: the master and its workers
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def workers_cpu_seconds(self) -> float:
        """User + system CPU time of the master's workers so far (Linux /proc)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        total = 0.0
        for pid in children:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def get(self, path: str, *, cookie: str = "", timeout: float = 10) -> tuple[int, bytes]:
        """One request on a new connection, without following redirects: (status, body). http.client itself, not
        urllib's opener: building an opener creates an SSL context, which loads the system's certificates (about
        20 ms of the client's time in every timed request, more than most pages cost)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


@dataclass
class Load:
    requests: int
    seconds: float
    bytes: int
    errors: int  # connect, read, write, timeout
    bad_status: int  # "Non-2xx or 3xx responses"
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @classmethod
    def combine(cls, loads: list["Load"]) -> "Load":
        """Several runs against one URL as one: totals summed, percentiles those of the worst run."""
        return cls(
            requests=sum(load.requests for load in loads),
            seconds=sum(load.seconds for load in loads),
            bytes=sum(load.bytes for load in loads),
            errors=sum(load.errors for load in loads),
            bad_status=sum(load.bad_status for load in loads),
            p50_ms=max(load.p50_ms for load in loads),
            p95_ms=max(load.p95_ms for load in loads),
            p99_ms=max(load.p99_ms for load in loads),
        )

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def bytes_per_response(self) -> float:
        return self.bytes / self.requests if self.requests else 0.0


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    return path


def wrk(url: str, *, seconds: int, cookie: str = "", timeout: int = 10) -> Load:
    command = [
        wrk_path(),
        "-t", str(WRK_THREADS),
        "-c", str(CONNECTIONS),
        "-d", f"{seconds}s",
        "--timeout", f"{timeout}s",
        "-s", str(HERE / "wrk_report.lua"),
    ]  # fmt: skip
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    values = {}
    for line in output.splitlines():
        if line.startswith("BENCH "):
            key, _, value = line[len("BENCH ") :].partition("=")
            values[key] = float(value)
    return Load(
        requests=int(values["requests"]),
        seconds=values["duration_us"] / 1e6,
        bytes=int(values["bytes"]),
        errors=int(sum(values[f"errors_{kind}"] for kind in ("connect", "read", "write", "timeout"))),
        bad_status=int(values["errors_status"]),
        p50_ms=values["p50_us"] / 1000,
        p95_ms=values["p95_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
    )
