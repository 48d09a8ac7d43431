"""What every benchmark shares: the row it reports, timing helpers and progress output.

Progress goes to stderr, so that stdout carries nothing but the table of figures."""

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Row:
    """One line of the table. `passed` is None for a figure without a target."""

    figure: str
    value: str
    baseline: str = "–"
    ratio: str = "–"
    target: str = "–"
    passed: bool | None = None

    @property
    def result(self) -> str:
        if self.passed is None:
            return "–"
        return "PASS" if self.passed else "FAIL"


class SQLClock:
    """`with SQLClock() as clock:` the statements Django's default connection runs meanwhile: how many
    (`count`) and their wall-clock seconds at perf_counter resolution (`seconds`); not a transaction's BEGIN
    and COMMIT, which do not pass through the cursor. CaptureQueriesContext keeps
    each statement's time rounded to whole milliseconds (a page of sub-millisecond statements read 0.0 ms), and
    its debug cursor formats every statement, which the page then seemed to cost."""

    def __init__(self):
        self.times: list[float] = []

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.times.append(time.perf_counter() - start)

    def __enter__(self):
        from django.db import connection

        self._wrapping = connection.execute_wrapper(self)
        self._wrapping.__enter__()
        return self

    def __exit__(self, *exc):
        return self._wrapping.__exit__(*exc)

    @property
    def count(self) -> int:
        return len(self.times)

    @property
    def seconds(self) -> float:
        return sum(self.times)


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def timed(function: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def median_time(function: Callable[[], object], *, repeat: int, reset: Callable[[], None]) -> list[float]:
    """Run `function` `repeat` times, each after `reset()`; return the sorted times in seconds."""
    times = []
    for _ in range(repeat):
        reset()
        seconds, _result = timed(function)
        times.append(seconds)
    reset()
    return sorted(times)


def median(values: list[float]) -> float:
    return statistics.median(values)


def seconds_text(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def markdown_table(rows: list[Row]) -> str:
    header = ["Figure", "Value", "Baseline (same run)", "Ratio", "Target", "Result"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "---:", "---:", "---:", "---", "---"]) + "|",
    ]
    for row in rows:
        cells = [row.figure, row.value, row.baseline, row.ratio, row.target, row.result]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)
