"""Background jobs with a real Celery worker consuming from Redis."""

import json
import threading
import time

import pytest
from celery import shared_task
from django.db import OperationalError
from django.template import Context, Template
from django.urls import reverse

from tests.factories import UserFactory, ministry_user
from tests.helpers import wait_until_finished
from tests.mailfailure import wait_for
from tests.vielfalt.test_outages import own_redis  # noqa: F401  (the fixture)
from vielfalt.jobs import QUEUE_LOST, JobError, JobTask, job_enqueue, job_store_result
from vielfalt.models import Job
from vielfalt.pdf import render_pdf_from_html

FLAKY_CALLS: dict[str, int] = {}


@shared_task(base=JobTask, name="tests.render_letter")
def task_render_letter(*, job_id, name):
    html = Template(
        '{% extends "pdf/base.html" %}{% block content %}<h1>Brief an {{ name }}</h1>{% endblock %}'
    ).render(Context({"name": name}))
    job_store_result(job_id=job_id, content=render_pdf_from_html(html), file_name="brief.pdf")


@shared_task(base=JobTask, name="tests.explode")
def task_explode(*, job_id):
    raise ValueError("internal detail that must not reach the user")


@shared_task(base=JobTask, name="tests.refuse")
def task_refuse(*, job_id):
    raise JobError("Die Vereinbarung hat keine Unterzeichnenden.")


@shared_task(base=JobTask, name="tests.flaky", retry_backoff=1, retry_jitter=False)
def task_flaky(*, job_id):
    FLAKY_CALLS[job_id] = FLAKY_CALLS.get(job_id, 0) + 1
    if FLAKY_CALLS[job_id] == 1:
        raise OperationalError("database went away")
    job_store_result(job_id=job_id, content=b"ok", file_name="ok.txt")


BOTH_RUNNING = threading.Barrier(2)


@shared_task(base=JobTask, name="tests.overlap")
def task_overlap(*, job_id):
    BOTH_RUNNING.wait(timeout=20)  # the worker's two threads run both jobs at once
    job_store_result(job_id=job_id, content=b"ok", file_name="ok.txt")


@pytest.mark.django_db(transaction=True)
def test_jobs_running_at_once_each_stop_their_own_heartbeat(celery_worker):
    """One task object serves every run of its task; with two runs at once, the first run's heartbeat was
    replaced by the second's and never stopped (a thread stamping its job, and holding a connection, for ever)."""
    BOTH_RUNNING.reset()
    jobs = [job_enqueue(task=task_overlap, kind="overlap") for _ in range(2)]
    assert [wait_until_finished(job).status for job in jobs] == [Job.Status.READY] * 2
    assert heartbeats_left(jobs) == set()


def heartbeats_left(jobs) -> set[str]:
    """The heartbeat threads of these jobs still running a few seconds after they finished (after_return runs
    just after the job is marked ready)."""
    names = {f"heartbeat-{job.pk}" for job in jobs}
    deadline = time.monotonic() + 15
    while names & {thread.name for thread in threading.enumerate()} and time.monotonic() < deadline:
        time.sleep(0.1)
    return names & {thread.name for thread in threading.enumerate()}


@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_job_to_ready(celery_worker):
    user = ministry_user()
    job = job_enqueue(task=task_render_letter, kind="letter", requested_by=user, name="Sören Link")
    assert job.status == Job.Status.WAITING
    job = wait_until_finished(job)
    assert job.status == Job.Status.READY
    assert job.attempts == 1
    assert job.started_at and job.finished_at and job.started_at <= job.finished_at
    assert job.result_name == "brief.pdf"
    assert job.result_file.read().startswith(b"%PDF-")


@pytest.mark.allow_error_log  # Celery logs the task's exception
@pytest.mark.django_db(transaction=True)
def test_a_task_that_raises_ends_failed_with_a_readable_error(celery_worker):
    job = wait_until_finished(job_enqueue(task=task_explode, kind="explode"))
    assert job.status == Job.Status.FAILED
    assert job.error == (
        "Die Hintergrundaufgabe wurde wegen eines unerwarteten Fehlers abgebrochen (ValueError). "
        "Bitte versuchen Sie es später erneut."
    )
    assert "internal detail" not in job.error


@pytest.mark.allow_error_log
@pytest.mark.django_db(transaction=True)
def test_a_job_error_reaches_the_user_as_written(celery_worker):
    job = wait_until_finished(job_enqueue(task=task_refuse, kind="refuse"))
    assert (job.status, job.error) == (Job.Status.FAILED, "Die Vereinbarung hat keine Unterzeichnenden.")


@pytest.mark.django_db(transaction=True)
def test_transient_failures_are_retried(celery_worker):
    job = wait_until_finished(job_enqueue(task=task_flaky, kind="flaky"), timeout=60)
    assert (job.status, job.attempts) == (Job.Status.READY, 2)
    assert FLAKY_CALLS[str(job.pk)] == 2
    assert (
        heartbeats_left([job]) == set()
    )  # the first attempt's heartbeat stopped too (no after_return for it)


@pytest.mark.django_db
def test_without_a_broker_tasks_run_eagerly_once_the_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = job_enqueue(task=task_render_letter, kind="letter", name="Guntram Schneider")
        assert job.status == Job.Status.WAITING  # nothing is sent before the commit
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == Job.Status.READY


@pytest.mark.django_db
def test_status_fragment_polls_until_finished(client):
    user = ministry_user()
    client.force_login(user)
    job = Job.objects.create(kind="letter", description="Brief", requested_by=user)
    fragment = client.get(reverse("job_detail", args=[job.pk]), headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in fragment.text
    assert "<html" not in fragment.text
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error="Kaputt.")
    fragment = client.get(reverse("job_detail", args=[job.pk]), headers={"HX-Request": "true"})
    assert "hx-trigger" not in fragment.text
    assert "Kaputt." in fragment.text
    page = client.get(reverse("job_detail", args=[job.pk]))
    assert "<html" in page.text


@pytest.mark.django_db
def test_jobs_of_others_answer_404(client):
    job = Job.objects.create(kind="letter", requested_by=UserFactory())
    client.force_login(UserFactory())
    assert client.get(reverse("job_detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("job_download", args=[job.pk])).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_browser_sees_the_job_finish_without_reloading(celery_worker, live_server, page):
    """htmx polls the status fragment: the page flips from waiting to ready by itself."""
    from tests.conftest import browser_login

    user = ministry_user()
    browser_login(page, live_server, user)
    job = Job.objects.create(kind="letter", description="Brief an Zülfiye Kaykin", requested_by=user)
    page.goto(live_server.url + reverse("job_detail", args=[job.pk]))
    assert page.locator(".job-status").get_attribute("data-status") == "waiting"
    task_render_letter.apply_async(kwargs={"job_id": str(job.pk), "name": "Zülfiye Kaykin"})
    page.wait_for_selector('.job-status[data-status="ready"]', timeout=20_000)
    assert page.get_by_role("link", name="brief.pdf").is_visible()


@shared_task(base=JobTask, name="tests.nothing")
def task_nothing(*, job_id):
    job_store_result(job_id=job_id, content=b"ok", file_name="ok.txt")


@pytest.mark.django_db
def test_job_page_links_back_to_what_it_belongs_to_and_the_polling_page_reloads_when_done(client):
    from tests.trainings.factories import CourseDateFactory

    user = ministry_user()
    course_date = CourseDateFactory()
    job = job_enqueue(task=task_nothing, kind="nothing", requested_by=user, origin=course_date)
    client.force_login(user)
    html = client.get(job.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert f'href="{course_date.get_absolute_url()}"' in html
    assert f"Zurück zu „{course_date}“" in html
    assert "HX-Refresh" not in client.get(job.get_absolute_url(), HTTP_HX_REQUEST="true")  # still waiting
    Job.objects.filter(pk=job.pk).update(status=Job.Status.READY)
    fragment = client.get(job.get_absolute_url(), HTTP_HX_REQUEST="true")
    assert (
        fragment["HX-Refresh"] == "true"
    )  # the page polling reloads: an agreement's documents table shows it


@pytest.mark.django_db
def test_htmx_attributes_are_valid_html(client):
    """The Nu HTML checker knows no `hx-*` attribute; htmx reads the same with a `data-` prefix."""
    user = ministry_user()
    job = Job.objects.create(kind="waiting", requested_by=user)
    client.force_login(user)
    html = client.get(job.get_absolute_url()).content.decode()
    assert " hx-" not in html
    assert 'data-hx-headers=\'{"X-CSRFToken": ' in html and "data-hx-get=" in html


@pytest.mark.django_db
def test_a_job_s_file_stays_with_the_office_its_requester_left(client):
    """A clerk of Duisburg's HR exported the staff, then moved to another city's office (or lost the role): the
    job page and its file, with every colleague's name, still opened for them for as long as the file was kept.
    Likewise a ministry export for someone no longer ministry staff."""
    from django.core.files.base import ContentFile

    from tests.factories import OrganisationFactory, hr_user
    from vielfalt.models import Membership, Role

    duisburg, oberhausen = OrganisationFactory(), OrganisationFactory()
    clerk = hr_user(duisburg)
    job = Job.objects.create(kind="test", requested_by=clerk, organisation=duisburg, status=Job.Status.READY)
    job.result_file.save("beschaeftigte.csv", ContentFile(b"Personalnummer;Name\n1;Aylin Demir\n"))
    official = ministry_user()
    export = Job.objects.create(kind="test", requested_by=official, status=Job.Status.READY, result_url="/")
    client.force_login(clerk)
    assert client.get(reverse("job_download", args=[job.pk])).status_code == 200

    Membership.objects.filter(user=clerk).update(organisation=oberhausen)  # moved to Oberhausen's HR office
    assert client.get(reverse("job_detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("job_download", args=[job.pk])).status_code == 404
    Membership.objects.filter(user=official).delete()
    client.force_login(official)
    assert client.get(reverse("job_detail", args=[export.pk])).status_code == 404

    administrator = UserFactory(roles=[(duisburg, Role.ADMIN)])
    client.force_login(administrator)
    assert client.get(reverse("job_detail", args=[job.pk])).status_code == 200


@pytest.mark.django_db
def test_a_job_s_file_stays_with_the_role_it_was_made_in(client, django_capture_on_commit_callbacks):
    """A clerk of Duisburg, HR and course organiser there, made the Art. 15 export of a colleague; then the HR
    role was withdrawn and only the organiser's kept. The job page and its PDF, with everything the portal holds
    about the colleague, still opened for them: a job was theirs while they held any role in its organisation."""
    from django.core.files.base import ContentFile

    from tests.factories import EmployeeFactory, OrganisationFactory
    from vielfalt.models import Membership, Role

    duisburg = OrganisationFactory()
    clerk = UserFactory(roles=[(duisburg, Role.HR), (duisburg, Role.ORGANISER)])
    employee = EmployeeFactory(organisation=duisburg, is_active=False)
    client.force_login(clerk)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("employee_access", args=[employee.pk]))
    job = Job.objects.get(kind="access_export_pdf")
    job.result_file.save("auskunft.pdf", ContentFile(b"%PDF-1.7 Auskunft"), save=False)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.READY, result_file=job.result_file.name)
    assert client.get(reverse("job_download", args=[job.pk])).status_code == 200

    Membership.objects.filter(user=clerk, role=Role.HR).delete()
    assert client.get(reverse("job_detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("job_download", args=[job.pk])).status_code == 404


def test_every_job_the_apps_start_names_the_role_it_is_started_in():
    """A job without a role would open for its requester in any role they keep in the organisation."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    missing = []
    for app in ("vielfalt", "partnerships", "trainings", "surveys"):
        for path in (root / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", getattr(node.func, "attr", None)) == "job_enqueue"
                    and "role" not in {keyword.arg for keyword in node.keywords}
                ):
                    missing.append(f"{path.relative_to(root)}:{node.lineno}")
    assert missing == []


RUNS: dict[str, int] = {}


@shared_task(base=JobTask, name="tests.count_runs")
def task_count_runs(*, job_id):
    RUNS[job_id] = RUNS.get(job_id, 0) + 1
    job_store_result(job_id=job_id, content=b"ok", file_name="ok.txt")


@pytest.mark.django_db(transaction=True)
def test_a_job_retried_after_redis_lost_it_runs_once_when_the_old_message_comes_back(
    celery_worker,
    own_redis,  # noqa: F811  (the imported fixture)
    settings,
):
    """A job queued while Redis "lost" it (here: queued into another Redis, which the worker does not read) is
    failed by the watchdog after JOB_QUEUE_LOST_SECONDS and retried; the retry runs it. Then the lost message
    turns up after all (Redis back with its data, a worker's unacknowledged message restored): it is the
    earlier attempt's and must not run the job a second time."""
    import redis

    from tests.helpers import point_celery_at
    from vielfalt.jobs import job_retry, jobs_watch

    staff = ministry_user()
    point_celery_at(celery_worker, own_redis.url)
    try:
        job = job_enqueue(task=task_count_runs, kind="tests.count_runs", requested_by=staff)
    finally:
        point_celery_at(celery_worker, settings.CELERY_BROKER_URL)
    lost = redis.Redis.from_url(own_redis.url)
    (queue,) = [key for key in lost.keys("*") if lost.type(key) == b"list"]
    assert lost.llen(queue) == 1  # the first attempt's message, where no worker reads it

    settings.JOB_QUEUE_LOST_SECONDS = 0
    jobs_watch()
    job.refresh_from_db()
    assert (job.status, job.error) == (Job.Status.FAILED, QUEUE_LOST)
    job = wait_until_finished(job_retry(actor=staff, job=job))
    assert job.status == Job.Status.READY, job.error
    assert RUNS[str(job.pk)] == 1

    # The lost message is delivered after all, to the worker's queue.
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    message = lost.rpop(queue)
    tag = json.loads(message)["properties"]["delivery_tag"]
    broker.lpush(queue, message)
    wait_for(
        lambda: broker.llen(queue) == 0 and not broker.hexists("unacked", tag),
        what="the worker to take and acknowledge the late message",
    )
    time.sleep(0.5)
    job.refresh_from_db()
    assert RUNS[str(job.pk)] == 1
    assert (job.status, job.attempts) == (Job.Status.READY, 1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status", [Job.Status.READY, Job.Status.FAILED])
def test_the_page_reloaded_for_a_finished_job_takes_the_focus_to_its_status(live_server, page, status):
    """WCAG 4.1.3: a job that finishes while its page polls reloads the page; the reloaded page began at its top
    and nothing told a screen reader's user that the job was done, or that it failed. Its status (a live region)
    now has the focus, so that it is read out, and the Tab key goes on to what it offers. A page loaded later
    (the link in another tab, the back button) leaves the focus where it is."""
    from tests.conftest import browser_login

    user = ministry_user()
    browser_login(page, live_server, user)
    job = Job.objects.create(kind="letter", description="Brief an Zülfiye Kaykin", requested_by=user)
    page.goto(live_server.url + job.get_absolute_url())
    assert page.locator(".job-status").get_attribute("data-status") == "waiting"
    assert page.evaluate("document.activeElement === document.body")
    Job.objects.filter(pk=job.pk).update(
        status=status, outcome="12 Bescheinigungen erstellt.", error="Der Drucker streikt."
    )
    page.wait_for_selector(f'.job-status[data-status="{status}"]', timeout=20_000)
    page.wait_for_load_state()
    focused = page.evaluate(
        "() => { const el = document.activeElement; return [el.className, el.getAttribute('role'), el.innerText]; }"
    )
    assert focused[:2] == ["job-status", "status"]
    assert (
        "12 Bescheinigungen erstellt." if status == Job.Status.READY else "Der Drucker streikt."
    ) in focused[2]
    page.reload()
    assert page.evaluate("document.activeElement === document.body")
