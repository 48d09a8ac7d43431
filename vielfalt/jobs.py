"""Background jobs that every app reuses: a `Job` record the user can watch, a Celery base task that keeps
it up to date, and `job_enqueue`, which starts a task only once the surrounding transaction has committed.

A task that uses `JobTask` takes `job_id` as a keyword argument and returns nothing; it stores its result
with `job_store_result`. Transient failures (database or broker connection) are retried with backoff; any
other exception, and the last failed retry, mark the job failed with a message the user can read.
"""

import logging

from celery import Task
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerOperationalError

from .models import Job, Organisation, User
from .permissions import recorded_user

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, BrokerOperationalError, ConnectionError, TimeoutError)


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

    def before_start(self, task_id, args, kwargs):
        Job.objects.filter(pk=kwargs["job_id"]).exclude(status=Job.Status.READY).update(
            status=Job.Status.RUNNING, started_at=timezone.now(), attempts=self.request.retries + 1
        )

    def on_success(self, retval, task_id, args, kwargs):
        Job.objects.filter(pk=kwargs["job_id"]).exclude(status=Job.Status.FAILED).update(
            status=Job.Status.READY, finished_at=timezone.now(), error=""
        )

    def on_retry(self, exc, task_id, args, kwargs, einfo):
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


def job_enqueue(
    *,
    task,
    kind: str,
    description: str = "",
    requested_by: User | None = None,
    organisation: Organisation | None = None,
    origin=None,
    **task_kwargs,
) -> Job:
    """Create a job record and send `task` once the current transaction commits (at once, if none is open).

    `origin`: what the job belongs to, an object with `get_absolute_url` or a pair (url, name); the job's page
    links back to it. Without a broker the task runs eagerly in-process, so the job is already finished when
    this returns."""
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
        origin_url=origin_url,
        origin_name=str(origin_name)[:300],
    )
    transaction.on_commit(lambda: task.apply_async(kwargs={"job_id": str(job.pk), **task_kwargs}))
    return job


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
