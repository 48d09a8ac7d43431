from celery import shared_task

from .jobs import jobs_watch


@shared_task(name="vielfalt.watch_jobs", ignore_result=True)
def task_watch_jobs() -> dict[str, int]:
    """Every JOB_WATCH_SECONDS (Celery beat): jobs whose worker died are re-queued once, then failed."""
    return jobs_watch()
