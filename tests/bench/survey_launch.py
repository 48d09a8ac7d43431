"""Launch morning (issue 13): 20,000 employees answer one campaign through the real HTTP pages (the link, the
questionnaire, the POST) of a gunicorn with production settings, 32 at a time, from a bounded script; then the
same number in-process, to compare the 100th submission with the 20,000th.

Run alone, without the programme's scale data: `BENCH_ONLY=survey_launch BENCH_SKIP_SCALE=1 make bench`."""

import os
import re
import secrets
import socket
import statistics
import threading
import time
import urllib.parse
from datetime import date
from pathlib import Path

from django.db import connection

from surveys.credentials import new_code, token_hash
from surveys.models import Campaign, HeldAnswer, Invitation, Response
from surveys.services import Answers, credential_for_token, held_release, response_submit
from surveys.views import RESPONDENT_COOKIE
from vielfalt.permissions import SYSTEM

from .common import Row, SQLClock, say
from .seed import Seeded
from .server import DEPLOYED_THREADS, DEPLOYED_WORKERS, Gunicorn
from .server import WORKER_CLASS as DEPLOYED_WORKER_CLASS

ANSWERS = 20_000
CONCURRENCY = 32
# As the portal is deployed (the Dockerfile's WEB_CONCURRENCY, gunicorn.conf.py's threads): 3 gthread workers of
# 3 threads, each taking as many connections as it has threads and keeping none alive. Every response closes its
# connection and the respondent opens a new one for the next request, as the TLS proxy in front does (the run
# prints how many connections were opened: three per answer); the other respondents wait in the listen queue
# meanwhile. Taking turns on 2 cores (2026-12-05): 3 × 3 453, 454 and 428 answers/s, 2 × 4 420, 395 and 380,
# 3 × 4 320 against 3 × 3's 375 at a slower hour. Before 2026-12-03 the run used 2 × 16 threads, which cost more
# CPU per answer than 2 × 4 (244 against 291 answers/s); with connections kept alive (16 a worker, 4 threads)
# 327 answers/s: gunicorn.conf.py explains why it keeps none.
WORKERS, THREADS = (
    int(os.environ.get("BENCH_LAUNCH_WORKERS", DEPLOYED_WORKERS)),
    int(os.environ.get("BENCH_LAUNCH_THREADS", DEPLOYED_THREADS)),
)
WORKER_CLASS = os.environ.get("BENCH_LAUNCH_WORKER_CLASS", DEPLOYED_WORKER_CLASS)
P95_TARGET_MS = 100
RATE_TARGET = 200
GROWTH_TARGET = 1.5
GROWTH_SAMPLE = 50  # submissions timed around the 100th and the 20,000th
TITLE = "Benchmark: Befragung am Starttag"
FORM_KEY = re.compile(rb'name="form_key" value="([^"]+)"')
FORM = {
    "own_citizenship": "german",
    "birth_country": "germany",
    "immigration_year": "",
    "mother_citizenship": "german",
    "mother_immigrated": "no",
    "father_citizenship": "not_german",
    "father_immigrated": "no",
    "target_group": "public_facing",
    "org_unit": "na",
    "languages": "de",
}


def _campaign(seeded: Seeded, title: str, count: int) -> tuple[Campaign, list[str]]:
    """An open campaign of bench-stadt with `count` pooled invitations (no employee needed), whose tokens are
    kept by the benchmark (the portal only ever stores their hashes)."""
    old = Campaign.objects.filter(organisation=seeded.big, title=title)
    Response.objects.filter(campaign__in=old).delete()
    Invitation.objects.filter(campaign__in=old)._raw_delete(using="default")
    old.delete()
    campaign = Campaign.objects.create(
        organisation=seeded.big,
        title=title,
        opens_on=date(2025, 1, 1),
        closes_on=date(2099, 12, 31),
        purpose="Benchmark",
        legal_basis="Benchmark",
        dpo_contact="datenschutz@example.org",
        status=Campaign.Status.OPEN,
        offered_unit_ids=[],
    )
    tokens = [secrets.token_urlsafe(32) for _ in range(count)]
    Invitation.objects.bulk_create(
        [
            Invitation(
                campaign=campaign,
                org_unit=seeded.units[n % len(seeded.units)],
                token_hash=token_hash(token),
                code_hash=new_code()[1],
            )
            for n, token in enumerate(tokens)
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE surveys_invitation")
    return campaign, tokens


def _remove(campaign: Campaign) -> None:
    Response.objects.filter(campaign=campaign)._raw_delete(using="default")
    Invitation.objects.filter(campaign=campaign)._raw_delete(using="default")
    campaign.delete()


class HTTPError(Exception):
    pass


class RespondentConnection:
    """A respondent's HTTP/1.1 connection, with just what the respondents need: a request, its status, its
    Set-Cookie values and its body (by Content-Length, which Django's CommonMiddleware sets on every page);
    opened again for the next request when the server closed it.
    http.client parses each response's headers with the e-mail package: the 32 respondents of the benchmark
    spent more CPU on that than the portal's PostgreSQL, on the same two cores as the server under test."""

    def __init__(self, host: str, port: int, timeout: float = 30):
        self.address, self.timeout = (host, port), timeout
        self.host_header = f"Host: {host}:{port}\r\n".encode()
        self.socket: socket.socket | None = None
        self.buffer = b""
        self.connects = 0

    def _connect(self) -> None:
        self.socket = socket.create_connection(self.address, timeout=self.timeout)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.connects += 1

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
            self.socket = None

    def _fill(self) -> None:
        chunk = self.socket.recv(65536)
        if not chunk:
            raise HTTPError("connection closed by the server")
        self.buffer += chunk

    def request(self, method: str, path: str, *, cookie: str = "", body: bytes | None = None):
        """(status, [Set-Cookie values], body). As a browser does, a connection the server closes after its
        response ("Connection: close": a gthread worker keeps only so many idle connections) is opened again
        for the next request."""
        if self.socket is None:
            self._connect()
        head = [f"{method} {path} HTTP/1.1\r\n".encode(), self.host_header]
        if cookie:
            head.append(f"Cookie: {cookie}\r\n".encode())
        if body is not None:
            head.append(
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                + f"Content-Length: {len(body)}\r\n".encode()
            )
        self.socket.sendall(b"".join(head) + b"\r\n" + (body or b""))
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        lines = self.buffer[:end].decode("latin-1").split("\r\n")
        self.buffer = self.buffer[end + 4 :]
        status = int(lines[0].split(" ", 2)[1])
        length, cookies, close = None, [], False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.lower()
            if name == "content-length":
                length = int(value)
            elif name == "set-cookie":
                cookies.append(value.strip())
            elif name == "connection":
                close = value.strip().lower() == "close"
            elif name == "transfer-encoding":
                raise HTTPError(f"unexpected Transfer-Encoding: {value.strip()}")
        if length is None:
            raise HTTPError(f"{status} without Content-Length")
        while len(self.buffer) < length:
            self._fill()
        content, self.buffer = self.buffer[:length], self.buffer[length:]
        if close:
            self.close()
        return status, cookies, content


def _store(jar: dict[str, str], cookies: list[str]) -> None:
    """Set-Cookie values into the jar, as a browser keeps them (the portal sets each for the paths asked)."""
    for value in cookies:
        name, _, rest = value.split(";", 1)[0].partition("=")
        if "max-age=0" in value.lower():  # deleted
            jar.pop(name.strip(), None)
        else:
            jar[name.strip()] = rest


def _header(jar: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


class Respondents:
    """32 threads, each a respondent with its own connection, taking the next token until none is left."""

    def __init__(self, server: Gunicorn, tokens: list[str]):
        self.host, self.port = "127.0.0.1", server.port
        self.tokens = tokens
        self.next = 0
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.accepted = 0
        self.connects = 0  # TCP connections opened: one per request when the server closes each

    def _take(self) -> str | None:
        with self.lock:
            if self.next >= len(self.tokens):
                return None
            self.next += 1
            return self.tokens[self.next - 1]

    def _answer(self, connection: RespondentConnection, token: str) -> None:
        """A respondent's browser: each response's cookies replace those it had (the questionnaire's response
        adds the campaign to the respondent's state, which the POST then need not look up)."""
        jar: dict[str, str] = {}
        status, cookies, _ = connection.request("GET", f"/surveys/t/{token}/")
        _store(jar, cookies)
        if status != 302 or RESPONDENT_COOKIE not in jar:
            raise HTTPError(f"link: {status}")
        status, cookies, body = connection.request("GET", "/surveys/answer/", cookie=_header(jar))
        _store(jar, cookies)
        match = FORM_KEY.search(body)
        if status != 200 or match is None:
            raise HTTPError(f"page: {status}")
        form = urllib.parse.urlencode({**FORM, "form_key": match.group(1).decode()}).encode()
        status, _, _ = connection.request("POST", "/surveys/answer/", cookie=_header(jar), body=form)
        if status != 302:
            raise HTTPError(f"post: {status}")

    def _run(self) -> None:
        connection = RespondentConnection(self.host, self.port)
        while (token := self._take()) is not None:
            started = time.perf_counter()
            try:
                self._answer(connection, token)
            except Exception as error:  # noqa: BLE001  (counted and reported)
                connection.close()  # and the next request opens a new connection
                with self.lock:
                    self.errors.append(f"{type(error).__name__}: {error}")
                continue
            with self.lock:
                self.latencies.append(time.perf_counter() - started)
                self.accepted += 1
        connection.close()
        with self.lock:
            self.connects += connection.connects

    def run(self) -> float:
        threads = [threading.Thread(target=self._run) for _ in range(CONCURRENCY)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started


def _backends_cpu(exclude: set[int]) -> dict[int, float]:
    """User + system CPU seconds so far of the PostgreSQL backends of this database but those in `exclude` and
    the asking connection's own, by pid (Linux /proc: PostgreSQL runs on this machine)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall() if pid not in exclude]
    cpu = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        cpu[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return cpu


class BackendsCPU:
    """The CPU of the server's PostgreSQL backends over a run, sampled every half second: the portal closes a
    connection after CONN_MAX_AGE, and a backend gone between two samples would take its CPU with it.

    The benchmark's own connection is left out by every sample, not only by those it takes itself: the sampler
    thread has a connection of its own, and saw the benchmark's, with all the CPU the in-process benchmarks
    before had given it, as a backend that was not there at the start. That added 1–2 ms to every answer's
    "PostgreSQL" (2.2–2.7 ms reported in full runs, 0.9 ms measured alone)."""

    def __init__(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.own = {cursor.fetchone()[0]}
        self.before = _backends_cpu(self.own)
        self.seen: dict[int, float] = dict(self.before)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        from django.db import connection as own

        while not self.stopped.wait(0.5):
            self.seen.update(_backends_cpu(self.own))
        own.close()

    def stop(self) -> float:
        self.stopped.set()
        self.thread.join()
        self.seen.update(_backends_cpu(self.own))
        return sum(cpu - self.before.get(pid, 0.0) for pid, cpu in self.seen.items())


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _answers() -> Answers:
    return Answers(
        own_citizenship="german",
        birth_country="germany",
        immigration_year=None,
        mother_citizenship="german",
        father_citizenship="not_german",
        mother_immigrated="no",
        father_immigrated="no",
        target_group="public_facing",
        org_unit=None,
        org_unit_other=False,
        languages=("de",),
    )


def bench_launch_http(seeded: Seeded) -> list[Row]:
    campaign, tokens = _campaign(seeded, TITLE, ANSWERS)
    with Gunicorn(workers=WORKERS, threads=THREADS, worker_class=WORKER_CLASS) as server:
        for _ in range(8):  # every worker imports and connects before the clock starts
            server.get("/surveys/answer/")
        respondents = Respondents(server, tokens)
        say(f"launch morning: {ANSWERS:,} answers through HTTP at concurrency {CONCURRENCY}")
        workers_before, backends = server.workers_cpu_seconds(), BackendsCPU()
        generator_before = time.process_time()
        seconds = respondents.run()
        generator_cpu = time.process_time() - generator_before  # the sampler's share is small
        workers_cpu = server.workers_cpu_seconds() - workers_before
        backends_cpu = backends.stop()
        # Replays: 200 used links submitted again must change nothing.
        replay = Respondents(server, tokens[:200])
        replay.run()
        log = server.log_text()
    held = HeldAnswer.objects.filter(campaign=campaign).count()
    used = Invitation.objects.filter(campaign=campaign, used=True).count()
    started = time.perf_counter()
    released = held_release(actor=SYSTEM, campaign=campaign)
    release_seconds = time.perf_counter() - started
    responses = Response.objects.filter(campaign=campaign).count()
    errors = len(respondents.errors)
    p50 = _percentile(respondents.latencies, 0.5) * 1000 if respondents.latencies else float("nan")
    p95 = _percentile(respondents.latencies, 0.95) * 1000 if respondents.latencies else float("nan")
    rate = respondents.accepted / seconds
    per_answer = {
        name: cpu * 1000 / max(respondents.accepted, 1)
        for name, cpu in (
            ("gunicorn", workers_cpu),
            ("PostgreSQL", backends_cpu),
            ("generator", generator_cpu),
        )
    }
    load = os.getloadavg()[0]
    say(
        f"launch morning: {respondents.accepted:,} in {seconds:.1f} s = {rate:.1f}/s, p50 {p50:.0f} ms, "
        f"p95 {p95:.0f} ms, {errors} errors {respondents.errors[:3]}; {respondents.connects:,} connections; held {held:,}, used {used:,}, "
        f"released {released:,} in {release_seconds:.1f} s, responses {responses:,}"
    )
    if "Traceback" in log or "Error" in log:
        say(f"gunicorn log:\n{log}")
    _remove(campaign)
    return [
        Row(
            figure=f"Launch morning: {ANSWERS:,} answers through the real pages (link, questionnaire, POST), "
            f"gunicorn {WORKERS}×{THREADS} threads, {CONCURRENCY} respondents at once: p95 of a whole answer",
            value=f"{p95:.0f} ms (p50 {p50:.0f} ms)",
            target=f"≤ {P95_TARGET_MS} ms",
            passed=p95 <= P95_TARGET_MS,
        ),
        Row(
            figure="Launch morning: submissions per second",
            value=f"{rate:.1f}/s ({respondents.accepted:,} in {seconds:.0f} s)",
            target=f"≥ {RATE_TARGET}/s",
            passed=rate >= RATE_TARGET,
        ),
        Row(
            figure="Launch morning: CPU per whole answer during the HTTP run (gunicorn workers, their PostgreSQL "
            "backends, the load generator; 2 cores = 10 ms for 200/s), and the machine's load",
            value=", ".join(f"{name} {ms:.1f} ms" for name, ms in per_answer.items())
            + f"; load {load:.1f}; {respondents.connects:,} connections opened",
        ),
        Row(
            figure="Launch morning: errors (any status but the expected, or a broken connection)",
            value=str(errors + len(replay.errors)),
            target="0",
            passed=errors + len(replay.errors) == 0,
        ),
        Row(
            figure="Launch morning: none lost, none twice (200 used links replayed): invitations used, "
            "answers moved by one release",
            value=f"{used:,} used, {responses:,} responses (release of {released:,} in {release_seconds:.1f} s)",
            target=f"{ANSWERS:,} and {ANSWERS:,}",
            passed=used == responses == ANSWERS,
        ),
    ]


def bench_launch_in_process(seeded: Seeded) -> list[Row]:
    """The cost of one submission at the 20,000th answer of one campaign against the 100th of another of the same
    size, taking turns (median of 50 each): measured at the same time, so that the machine's drift (its speed was
    seen to change by a quarter within a minute) falls on both alike. Run one after the other, the 100th and the
    20,000th of one campaign lay 40 s apart, and the ratio moved between 0.95 and 1.65 from run to run."""
    campaign, tokens = _campaign(seeded, TITLE + " (in-process)", ANSWERS)
    fresh, fresh_tokens = _campaign(seeded, TITLE + " (in-process, the 100th)", ANSWERS)
    answers = _answers()

    def submit(token: str) -> float:
        credential = credential_for_token(token)
        started = time.perf_counter()
        response_submit(credential=credential, answers=answers)
        return time.perf_counter() - started

    for token in tokens[: ANSWERS - GROWTH_SAMPLE]:
        submit(token)
    for token in fresh_tokens[: 100 - GROWTH_SAMPLE // 2]:
        submit(token)
    early, late = [], []
    for fresh_token, token in zip(
        fresh_tokens[100 - GROWTH_SAMPLE // 2 : 100 + GROWTH_SAMPLE // 2],
        tokens[ANSWERS - GROWTH_SAMPLE :],
        strict=True,
    ):
        early.append(submit(fresh_token))
        late.append(submit(token))
    early, late = statistics.median(early), statistics.median(late)
    say(f"in-process: 100th {early * 1000:.2f} ms, 20,000th {late * 1000:.2f} ms")
    for each in (campaign, fresh):
        held_release(actor=SYSTEM, campaign=each)
        _remove(each)
    return [
        Row(
            figure=f"Submission in-process (response_submit), the {ANSWERS:,}th answer of a campaign against the "
            f"100th of another of the same size, taking turns (median of {GROWTH_SAMPLE} around each)",
            value=f"{late * 1000:.2f} ms",
            baseline=f"{early * 1000:.2f} ms (the 100th)",
            ratio=f"{late / early:.2f} ×",
            target=f"≤ {GROWTH_TARGET} ×",
            passed=late / early <= GROWTH_TARGET,
        )
    ]


COST_SAMPLE = 500


def bench_answer_cost_in_process(seeded: Seeded) -> list[Row]:
    """What one whole answer (link, page, POST) costs the portal, in-process through Django's handler with the
    production middleware: CPU time of this process and time spent in SQL, medians over COST_SAMPLE respondents.
    On a shared machine this is the figure to compare; wall-clock rates depend on everybody else's load."""
    from django.test import Client

    campaign, tokens = _campaign(seeded, TITLE + " (cost)", COST_SAMPLE + 20)
    client = Client(HTTP_HOST="127.0.0.1")
    samples = []
    for number, token in enumerate(tokens):
        client.cookies.clear()
        with SQLClock() as clock:
            started = time.process_time()
            assert client.get(f"/surveys/t/{token}/").status_code == 302
            page = client.get("/surveys/answer/")
            form = urllib.parse.urlencode(
                {**FORM, "form_key": FORM_KEY.search(page.content).group(1).decode()}
            )
            posted = client.post("/surveys/answer/", form, content_type="application/x-www-form-urlencoded")
            cpu = time.process_time() - started
        assert page.status_code == 200 and posted.status_code == 302
        sql, statements = clock.seconds, clock.count
        if number >= 20:  # the first ones warm up templates and connections
            samples.append((cpu, sql, statements))
    cpu = statistics.median(sample[0] for sample in samples) * 1000
    sql = statistics.median(sample[1] for sample in samples) * 1000
    statements = statistics.median(sample[2] for sample in samples)
    load = os.getloadavg()[0]
    say(
        f"answer cost in-process: CPU {cpu:.1f} ms, SQL {sql:.1f} ms in {statements:.0f} statements, load {load:.1f}"
    )
    held_release(actor=SYSTEM, campaign=campaign)
    HeldAnswer.objects.filter(campaign=campaign).delete()
    _remove(campaign)
    return [
        Row(
            figure="Launch morning, in-process: one whole answer (link, page, POST) through Django with the "
            f"production middleware, median of {COST_SAMPLE}: CPU of the web process, and SQL (wall time of the "
            "statements, besides the submission's BEGIN and COMMIT)",
            value=f"CPU {cpu:.1f} ms, SQL {sql:.1f} ms ({statements:.0f} statements), load {load:.1f}",
        )
    ]


BENCHMARKS = [bench_answer_cost_in_process, bench_launch_in_process, bench_launch_http]
