"""`make bench`: run every benchmark and print one Markdown table of figures.

Each figure is measured beside a baseline taken in the same run on the same machine, so that the ratio
means something on any hardware. Runs against PostgreSQL (database `vielfalt_bench`, created if missing;
BENCH_DATABASE_URL overrides postgres://postgres@127.0.0.1:5432/vielfalt_bench) with production settings.
Progress goes to stderr, the table to stdout; the exit status is 1 when a figure misses its target.

A benchmark is a function taking the seeded data and returning table rows; later issues add theirs to
BENCHMARK_MODULES."""

import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import environment  # noqa: E402
from tests.bench.common import Row, markdown_table, say  # noqa: E402

BENCHMARK_MODULES = [
    "tests.bench.employees",
    "tests.bench.partnerships",
    "tests.bench.surveys",
    "tests.bench.survey_launch",
    "tests.bench.programme",
    "tests.bench.network",
    "tests.bench.pages",
]
# Run only when BENCH_ONLY names them: they take minutes and check rather than measure.
OPT_IN_MODULES = [
    "tests.bench.report_agrees",  # issue 14: the reports agree with the dashboard at full scale
]


def main() -> int:
    started = time.monotonic()
    environment.prepare()

    import django

    django.setup()

    from importlib import import_module

    from tests.bench.scale import ensure_scale_data
    from tests.bench.seed import seed

    seeded = seed()
    if not os.environ.get("BENCH_SKIP_SCALE"):  # e.g. BENCH_ONLY=survey_launch needs no scale data
        ensure_scale_data()  # the programme at full scale (manage.py seed_scale), reused when complete
    rows: list[Row] = []
    only = os.environ.get("BENCH_ONLY", "")  # e.g. BENCH_ONLY=surveys,programme: just these modules
    for module_name in BENCHMARK_MODULES + OPT_IN_MODULES:
        selected = module_name.rpartition(".")[2] in only.split(",")
        if (only and not selected) or (module_name in OPT_IN_MODULES and not selected):
            continue
        for benchmark in import_module(module_name).BENCHMARKS:
            say(f"running {benchmark.__name__}")
            try:
                rows.extend(benchmark(seeded))
            except Exception as error:
                traceback.print_exc()
                rows.append(Row(figure=benchmark.__name__, value=f"error: {error}"[:300], passed=False))
    say(f"done in {time.monotonic() - started:.0f} s")
    print(markdown_table(rows))
    return 1 if any(row.passed is False for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
