"""A real prefork Celery worker in its own process: killing its child in the middle of a render still ends with
the job ready and exactly one stored PDF version (acks_late + reject_on_worker_lost redeliver the task, and
storing is idempotent)."""

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from partnerships.models import AgreementDocument
from partnerships.services import agreement_request_pdf
from vielfalt.models import Job

from .factories import AgreementFactory, CommitmentFactory

CELERY = Path(settings.BASE_DIR) / ".venv" / "bin" / "celery"


def _database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.allow_error_log  # the worker process reports the lost child
@pytest.mark.django_db(transaction=True)
def test_killing_the_worker_child_mid_render_leaves_exactly_one_version(
    postgres, redis_url, staff, duisburg, ministry, tmp_path
):
    if not CELERY.exists():
        pytest.skip("celery executable not found")
    agreement = AgreementFactory(partner=duisburg, state_party=ministry)
    # Enough text that the render takes a few seconds: time to kill the child while it renders.
    for number in range(250):
        CommitmentFactory(
            agreement=agreement,
            field_of_action=f"Maßnahme {number}",
            description="Beschäftigte mit Publikumskontakt werden interkulturell sensibilisiert. " * 12,
        )

    from vielfalt.celery import app

    queue = f"test-kill-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DJANGO_DEBUG": "1",
    }
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(  # noqa: S603
        [
            str(CELERY),
            "-A",
            "vielfalt",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "-Q",
            queue,
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    app.conf.task_always_eager = False
    app.conf.broker_url = redis_url
    app.conf.task_default_queue = queue
    try:
        job = agreement_request_pdf(actor=staff, agreement=agreement)

        def running():
            job.refresh_from_db()
            return job.status == Job.Status.RUNNING

        _wait_for(running, 90, "the render to start")
        time.sleep(0.3)
        children = _children(worker.pid)
        assert children, "the prefork worker has no child process"
        for child in children:
            os.kill(child, signal.SIGKILL)
        killed_before_storing = not AgreementDocument.objects.filter(agreement=agreement).exists()

        def finished():
            job.refresh_from_db()
            return job.is_finished

        _wait_for(finished, 180, "the job to finish after the redelivery")
        assert job.status == Job.Status.READY, (job.error, (tmp_path / "worker.log").read_text()[-3000:])
        assert killed_before_storing
        assert AgreementDocument.objects.filter(agreement=agreement).count() == 1
        assert AgreementDocument.objects.get(agreement=agreement).version == 1
    finally:
        app.conf.task_default_queue = "celery"
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()


@pytest.mark.allow_error_log
@pytest.mark.django_db(transaction=True)
def test_killing_the_whole_worker_mid_render_is_noticed_and_the_job_finishes(
    postgres, redis_url, staff, duisburg, ministry, tmp_path
):
    """kill -9 of the worker's main process and its children: nothing redelivers the task before the broker's
    visibility timeout (16 minutes). The job's heartbeat stops; beat's watchdog in the next worker notices and
    queues it again, and the job ends ready with exactly one PDF (here in seconds: short intervals)."""
    from tests.processes import CeleryWorker

    agreement = AgreementFactory(partner=duisburg, state_party=ministry)
    for number in range(250):
        CommitmentFactory(
            agreement=agreement,
            field_of_action=f"Maßnahme {number}",
            description="Beschäftigte mit Publikumskontakt werden interkulturell sensibilisiert. " * 12,
        )
    from vielfalt.celery import app

    queue = f"test-killall-{uuid.uuid4().hex[:8]}"
    intervals = {
        "JOB_HEARTBEAT_SECONDS": "1",
        "JOB_STALE_SECONDS": "6",
        "JOB_WATCH_SECONDS": "2",
        "CELERY_QUEUE": queue,  # where the watchdog queues the job again
    }
    app.conf.task_always_eager = False
    app.conf.broker_url = redis_url
    app.conf.task_default_queue = queue
    first = CeleryWorker(queue=queue, extra_args=("--pool=prefork",), **intervals).start()
    second = None
    try:
        first.wait_ready()
        job = agreement_request_pdf(actor=staff, agreement=agreement)

        def running():
            job.refresh_from_db()
            return job.status == Job.Status.RUNNING

        _wait_for(running, 90, "the render to start")
        time.sleep(0.5)
        first.stop(signal.SIGKILL)  # the whole process group: main process and pool children
        killed_before_storing = not AgreementDocument.objects.filter(agreement=agreement).exists()
        job.refresh_from_db()
        assert job.status == Job.Status.RUNNING  # nobody told the job

        second = CeleryWorker(
            queue=queue,
            extra_args=(
                "--pool=prefork",
                "--beat",
                "--scheduler",
                "celery.beat:Scheduler",
            ),  # no schedule file
            **intervals,
        ).start()
        second.wait_ready()

        def finished():
            job.refresh_from_db()
            return job.is_finished

        started = time.monotonic()
        try:
            _wait_for(finished, 300, "the job to finish after the watchdog")
        except AssertionError:
            raise AssertionError(second.log()[-4000:]) from None
        print(f"finished {time.monotonic() - started:.0f} s after the new worker was ready")
        assert killed_before_storing
        if job.status == Job.Status.READY:
            assert AgreementDocument.objects.filter(agreement=agreement).count() == 1
            assert job.requeues == 1
        else:
            assert job.error, second.log()[-3000:]
    finally:
        app.conf.task_default_queue = "celery"
        first.stop()
        if second is not None:
            second.stop()
