"""The launch morning's benchmark (tests/bench/survey_launch.py) measures what it says: the CPU its row calls
"PostgreSQL" is that of the server's backends during the run, not of the benchmark's own connection."""

import time

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_backends_cpu_leaves_the_benchmarks_own_connection_out(postgres):
    from tests.bench.survey_launch import BackendsCPU

    # The benchmark's own connection has worked before the run (as the in-process benchmarks before it have).
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM generate_series(1, 3000000)")
    backends = BackendsCPU()
    time.sleep(1.2)  # the sampler looks twice; nothing else uses the database meanwhile
    assert backends.stop() < 0.05
