"""Background jobs that every app reuses: a `Job` record the user can watch, a Celery base task that keeps
it up to date, and `job_enqueue`, which starts a task only once the surrounding transaction has committed.

A task that uses `JobTask` takes `job_id` as a keyword argument and returns nothing; it stores its result
with `job_store_result`. Transient failures (database or broker connection) are retried with backoff; any
other exception, and the last failed retry, mark the job failed with a message the user can read.
"""

import contextlib
import logging
import resource
import smtplib
import threading
from datetime import timedelta

from celery import Task
from celery.exceptions import Ignore
from celery.signals import worker_process_init
from celery.utils import uuid
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import OperationalError, connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import RedisError

from .celery import app as celery_app
from .models import Job, Organisation, Role, User
from .permissions import may, recorded_user, role_acted_in

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, BrokerOperationalError, ConnectionError, TimeoutError)
# What handing a task to the broker raises when the broker cannot be reached.
NOT_QUEUED_ERRORS = (BrokerOperationalError, RedisError, OSError)


class JobError(Exception):
    """A failure whose message is meant for the user (already translated)."""


class JobTask(Task):
    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 5
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5
    # Failures with a message for the user are expected outcomes: the worker logs them at INFO, not as errors.
    throws = (JobError, PermissionDenied)

    def before_start(self, task_id, args, kwargs):
        if not _claim(kwargs["job_id"], task_id, attempts=self.request.retries + 1):
            # No on_success, on_failure or after_return follows: the job is left to its current attempt.
            logger.info("Job %s: a message of an earlier attempt came late and was ignored", kwargs["job_id"])
            raise Ignore
        _stop_heartbeat(task_id)  # a retry runs under the same task id
        heartbeat = _HEARTBEATS[task_id] = _Heartbeat(kwargs["job_id"])
        heartbeat.start()

    def after_return(self, status, retval, task_id, args, kwargs, einfo):
        _stop_heartbeat(task_id)

    def on_success(self, retval, task_id, args, kwargs):
        Job.objects.filter(pk=kwargs["job_id"]).exclude(status=Job.Status.FAILED).update(
            status=Job.Status.READY, finished_at=timezone.now(), error=""
        )

    def on_retry(self, exc, task_id, args, kwargs, einfo):
        # Celery calls no after_return for an attempt that is retried: its heartbeat stops here (the next
        # attempt, perhaps on another worker, starts its own).
        _stop_heartbeat(task_id)
        Job.objects.filter(pk=kwargs["job_id"]).update(status=Job.Status.WAITING)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # PermissionDenied: the user who started the job may no longer do this (the task checked again).
        if isinstance(exc, JobError | PermissionDenied):
            message = str(exc)
        else:
            # The exception's text may carry data (never show it raw); its kind says enough to act on.
            message = _("The job stopped with an unexpected error (%(kind)s). Please try again later.") % {
                "kind": type(exc).__name__
            }
        Job.objects.filter(pk=kwargs["job_id"]).update(
            status=Job.Status.FAILED, finished_at=timezone.now(), error=message
        )
        logger.warning("Job %s (%s) failed: %s", kwargs["job_id"], self.name, type(exc).__name__)


def _claim(job_id, task_id: str, *, attempts: int) -> bool:
    """Whether the message `task_id` is the job's current attempt (a Celery retry keeps its id), marking the job
    running if so. A job failed as lost (`jobs_watch`) and then retried is sent with a new id; its first
    message, which Redis may still deliver once it is back, or a redelivered one of a worker that died, is stale
    and must not run the job a second time. Checked and marked in one statement: a retry that gives the job a
    new id at the same moment either comes first (the old message is stale) or finds the job no longer failed."""
    current = Job.objects.filter(models.Q(task_id="") | models.Q(task_id=task_id), pk=job_id)
    claimed = current.exclude(status=Job.Status.READY).update(
        status=Job.Status.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now(), attempts=attempts
    )
    # A ready job's own message delivered again (acks_late) runs as before: its tasks are idempotent.
    return bool(claimed) or current.exists()


def job_enqueue(
    *,
    task,
    kind: str,
    description: str = "",
    requested_by: User | None = None,
    organisation: Organisation | None = None,
    role: str | tuple[str, ...] = "",
    origin=None,
    input_file: tuple[str, bytes] | None = None,
    **task_kwargs,
) -> Job:
    """Create a job record and send `task` once the current transaction commits (at once, if none is open).

    `origin`: what the job belongs to, an object with `get_absolute_url` or a pair (url, name); the job's page
    links back to it. `input_file`: (name, content) of a file the task reads (`job.input_file`), stored before
    the task is sent. `role`: the role the job is started in, or the roles the service allowed (the first the
    requester holds for `organisation` is kept); the requester sees the job and its file while they hold it
    there (`JobQuerySet.visible_to`). Without a broker the task runs eagerly in-process, so the job is already
    finished when this returns."""
    origin_url, origin_name = (
        origin
        if isinstance(origin, tuple)
        else (origin.get_absolute_url(), str(origin))
        if origin
        else ("", "")
    )
    job = Job.objects.create(
        kind=kind,
        description=description[:300],
        requested_by=recorded_user(requested_by),
        organisation=organisation,
        role=role_acted_in(requested_by, role, organisation),
        task_name=task.name,
        task_kwargs=task_kwargs,
        task_id=uuid(),
        origin_url=origin_url,
        origin_name=str(origin_name)[:300],
    )
    if input_file is not None:
        name, content = input_file
        job.input_file.save(name, ContentFile(content), save=False)
        job.save(update_fields=["input_file"])
    transaction.on_commit(lambda: _send(job))
    return job


def job_input_discard(*, job_id, keep_retry: bool = False) -> None:
    """The task is done with its input (a result, or a failure that a retry with the same file would repeat):
    delete the stored upload; without it the job offers no retry (the user uploads a corrected file)."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not job.input_file:
        return
    job.input_file.delete(save=False)
    fields = {"input_file": ""} if keep_retry else {"input_file": "", "task_name": ""}
    Job.objects.filter(pk=job_id).update(**fields)


_in_pool_process = False


@worker_process_init.connect
def _mark_pool_process(**kwargs):
    """Sent in each process of Celery's prefork pool (never in the web process, nor in a thread pool that shares
    its process with other work): only there may a task lower its own process's memory limit."""
    global _in_pool_process
    _in_pool_process = True


@contextlib.contextmanager
def memory_cap(megabytes: int):
    """Let the work inside allocate at most `megabytes` of address space on top of what the process holds now
    (RLIMIT_AS): beyond it, allocations fail with MemoryError, which the task turns into a message, instead of
    the machine swapping or the kernel killing the worker. Applies only in a prefork pool process; the limit is
    lifted again afterwards."""
    if not _in_pool_process or not megabytes:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:  # noqa: PTH123
        size = int(statm.read().split()[0]) * resource.getpagesize()
    cap = size + megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# Stored untranslated on the job (shown in the reader's language by the job page).
NOT_QUEUED = gettext_noop(
    "The job could not be queued: the background service is not reachable. Please try again in a few minutes."
)
WORKER_LOST = gettext_noop("The job stopped because the worker processing it was lost. Please try again.")
QUEUE_LOST = gettext_noop(
    "The job was not started: the background service lost it (for instance in a restart). Please try again."
)


def _send(job: Job) -> None:
    """Hand the job to the broker; if it cannot be reached, the job fails at once with a message and a retry
    button instead of the request hanging or answering an error page."""
    if job.task_name not in celery_app.tasks:
        # A task module is imported where its service starts the job (some import WeasyPrint: seconds). A retry
        # can come to a web process that never did (another gunicorn worker, or after a restart): import them
        # all, as the worker does at its start, instead of NotRegistered leaving the job "waiting" for ever.
        celery_app.loader.import_default_modules()
    try:
        # The registered task (not send_task): without a broker it runs eagerly, in-process.
        celery_app.tasks[job.task_name].apply_async(
            kwargs={"job_id": str(job.pk), **job.task_kwargs}, task_id=job.task_id or None
        )
    except NOT_QUEUED_ERRORS as exc:
        logger.warning("Job %s (%s) could not be queued: %s", job.pk, job.task_name, type(exc).__name__)
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED, finished_at=timezone.now(), error=NOT_QUEUED
        )
        job.status, job.error = Job.Status.FAILED, NOT_QUEUED


# An e-mail task: delivered once the mail server takes it, retried with backoff while it does not.
MAIL_TASK = {
    "ignore_result": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (*TRANSIENT_ERRORS, smtplib.SMTPException),
    "retry_backoff": 5,
    "max_retries": 5,
}


class MarkedMailTask(Task):
    """An e-mail task that marks the rows it tells of (`marked_rows`, their `mail_failed_at`) when its e-mail did
    not get through: after the last retry, or when it could not be queued at all (`send_after_commit` calls
    `on_failure`). Whoever looks at them sees "e-mail not delivered" instead of the e-mail vanishing with a log
    line; one that gets through clears the mark."""

    def marked_rows(self, kwargs) -> models.QuerySet:
        raise NotImplementedError

    def on_success(self, retval, task_id, args, kwargs):
        self.marked_rows(kwargs).filter(mail_failed_at__isnull=False).update(mail_failed_at=None)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        self.marked_rows(kwargs).update(mail_failed_at=timezone.now())


def send_after_commit(task, *, on_not_queued=None, on_queued=None, **kwargs) -> None:
    """For tasks without a job (e-mails): sent once the transaction commits; an unreachable broker is logged
    and does not turn the user's completed change into an error page. The task's own failure hook records it
    as it records a failure in the worker (an e-mail marked "not delivered" on its enrolment, registration or
    answer, shown on their pages): a mail that never reached a worker did not reach anyone either.
    `on_not_queued()`: called then, for a caller that tells the user (the administrator who sent a link);
    `on_queued()`: called once the broker took it, for a caller that records that it did (an audit entry)."""

    def send():
        try:
            task.apply_async(kwargs=kwargs)
        except NOT_QUEUED_ERRORS as exc:
            logger.warning("Task %s could not be queued: %s", task.name, type(exc).__name__)
            task.on_failure(exc, None, (), kwargs, None)
            if on_not_queued is not None:
                on_not_queued()
        else:
            if on_queued is not None:
                on_queued()

    transaction.on_commit(send)


def job_retry(*, actor: User, job: Job) -> Job:
    """Start a failed job again (the retry button): who asked for it, or an administrator."""
    if actor is None:
        raise TypeError("job_retry needs an actor")
    if job.requested_by_id != actor.pk and not may(actor, Role.ADMIN):
        raise PermissionDenied
    if job.status != Job.Status.FAILED or not job.task_name:
        return job
    # heartbeat_at of a waiting job: when it was (last) handed to the broker (jobs_watch). A new task id: a
    # message of the failed attempt that is still delivered (Redis back after the job was failed as lost) is
    # stale and does not run it again (`_claim`). Only while still failed: a second click, or the late message
    # that started the job meanwhile, leaves it alone.
    retried = Job.objects.filter(pk=job.pk, status=Job.Status.FAILED).update(
        status=Job.Status.WAITING,
        error="",
        finished_at=None,
        started_at=None,
        heartbeat_at=timezone.now(),
        task_id=uuid(),
    )
    job.refresh_from_db()
    if retried:
        transaction.on_commit(lambda: _send(job))
    return job


# The heartbeat of each running task, by task id. A task object is one per worker process, shared by every run
# of its task: a worker with a thread pool runs several at once, and a heartbeat kept on the task object was
# replaced by the next run's, never stopped, stamping its job for ever (and holding a database connection).
_HEARTBEATS: dict[str, "_Heartbeat"] = {}


def _stop_heartbeat(task_id) -> None:
    heartbeat = _HEARTBEATS.pop(task_id, None)
    if heartbeat is not None:
        heartbeat.stop()


class _Heartbeat:
    """While a worker runs a job, a thread beside it stamps `heartbeat_at` every JOB_HEARTBEAT_SECONDS; when the
    worker dies (kill -9, a lost machine) the stamps stop, which is how `task_watch_jobs` notices."""

    def __init__(self, job_id):
        self.job_id = job_id
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def start(self):
        if not celery_app.conf.task_always_eager:
            self.thread.start()

    def stop(self):
        """Stop stamping and wait for the thread: no stamp after the job ended, and its database connection
        closed before the task returns."""
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)

    def _run(self):
        try:
            while not self.stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        except Exception:  # noqa: BLE001  (a missed heartbeat only makes the watchdog look sooner)
            logger.warning("Heartbeat of job %s stopped", self.job_id)
        finally:
            connections.close_all()  # this thread's own connections (per thread): none left open behind it


def jobs_watch() -> dict[str, int]:
    """Running jobs whose heartbeat stopped lost their worker: re-queue each once, then fail it with a message
    (the job page offers a retry). Jobs waiting longer than JOB_QUEUE_LOST_SECONDS since they were (last)
    queued were lost by the broker: Redis keeps no data on disk, so a restart empties the queue. They fail with
    a message and the retry button, not re-sent: one that is merely late in a long queue would run twice."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    lost_before = now - timedelta(seconds=settings.JOB_QUEUE_LOST_SECONDS)
    counts = {"requeued": 0, "failed": 0}
    # A waiting job's heartbeat_at: when it was queued again (retry, re-queue, Celery's own retry); else created.
    counts["lost"] = (
        Job.objects.filter(status=Job.Status.WAITING)
        .filter(
            models.Q(heartbeat_at__lt=lost_before)
            | models.Q(heartbeat_at__isnull=True, created_at__lt=lost_before)
        )
        .update(status=Job.Status.FAILED, finished_at=now, error=QUEUE_LOST)
    )
    if counts["lost"]:
        logger.warning("%d waiting job(s) lost by the broker: failed", counts["lost"])
    lost = Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=stale)
    for job in lost:
        if job.requeues < 1 and job.task_name:
            updated = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, heartbeat_at__lt=stale).update(
                status=Job.Status.WAITING,
                requeues=job.requeues + 1,
                heartbeat_at=timezone.now(),
                task_id=uuid(),
            )
            if updated:
                job.refresh_from_db()
                logger.warning("Job %s (%s) lost its worker: queued again", job.pk, job.task_name)
                _send(job)
                counts["requeued"] += 1
        else:
            updated = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, heartbeat_at__lt=stale).update(
                status=Job.Status.FAILED, finished_at=timezone.now(), error=WORKER_LOST
            )
            if updated:
                logger.warning("Job %s (%s) lost its worker again: failed", job.pk, job.task_name)
                counts["failed"] += 1
    return counts


def job_store_result(*, job_id, content: bytes, file_name: str, url: str = "") -> None:
    """Attach the finished file to the job; a repeated run replaces it, so a retried task stays idempotent."""
    job = Job.objects.get(pk=job_id)
    if job.result_file:
        job.result_file.delete(save=False)
    job.result_file.save(file_name, ContentFile(content), save=False)
    job.result_name = file_name
    job.result_url = url
    job.save(update_fields=["result_file", "result_name", "result_url"])


def job_link_result(*, job_id, url: str, name: str = "") -> None:
    """For jobs whose result lives elsewhere (a stored document): where the user finds it."""
    Job.objects.filter(pk=job_id).update(result_url=url, result_name=name)
