"""The benchmarks that measure the portal as deployed run gunicorn as the Dockerfile and gunicorn.conf.py deploy
it: the launch morning's figure (issue 13) is a figure of the deployment, not of a configuration of its own."""

import re
import runpy
from pathlib import Path

from tests.bench import survey_launch
from tests.bench.server import DEPLOYED_THREADS, DEPLOYED_WORKERS

ROOT = Path(__file__).resolve().parents[2]


def test_the_deployment_the_benchmarks_assume_is_the_one_deployed():
    workers = re.search(r"\bWEB_CONCURRENCY=(\d+)", (ROOT / "Dockerfile").read_text())
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))  # as tests/vielfalt/test_warmup.py reads it
    assert workers
    assert (int(workers.group(1)), config["threads"]) == (DEPLOYED_WORKERS, DEPLOYED_THREADS)
    assert config["worker_class"] == survey_launch.WORKER_CLASS == "gthread"


def test_the_launch_morning_runs_the_deployment():
    assert (survey_launch.WORKERS, survey_launch.THREADS) == (DEPLOYED_WORKERS, DEPLOYED_THREADS)
