"""Large employee imports run as background jobs: the upload is stored, a Celery task imports it (all or nothing)
within a time and a memory limit, and the job's page shows the result or every problem with line and column.
Tested with a real worker: Celery's thread worker in the test process, and a prefork worker process (the limits
are enforced there, as in production)."""

import time
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from tests.factories import OrganisationFactory, OrgUnitFactory, hr_user
from tests.helpers import wait_until_finished
from tests.processes import CeleryWorker
from vielfalt.jobs import JobError
from vielfalt.models import Employee, Job
from vielfalt.services import employees_import, employees_import_for_job, employees_import_start
from vielfalt.tabular import TableRefused, read_table

HEADER = "Personalnummer;Nachname;Vorname;E-Mail;Organisationseinheit;Zielgruppe\r\n"


def csv_of(rows: int, *, bad_lines: tuple[int, ...] = ()) -> bytes:
    """`rows` employees; the data rows numbered in `bad_lines` (counting from 1) have a broken address."""
    lines = (
        f"P-{n};Name{n};Vorname;{'kein-at' if n + 1 in bad_lines else f'p{n}@stadt.example'};Amt;Sonstige\r\n"
        for n in range(rows)
    )
    return (HEADER + "".join(lines)).encode()


@pytest.fixture(autouse=True)
def _german():
    with translation.override("de"):
        yield


@pytest.fixture
def city(db):
    organisation = OrganisationFactory(slug="duisburg")
    OrgUnitFactory(organisation=organisation, name="Amt")
    return organisation


def _post(client, organisation, content: bytes, name="beschaeftigte.csv"):
    return client.post(
        reverse("employee_import"),
        {"organisation": organisation.pk, "file": SimpleUploadedFile(name, content, "text/csv")},
    )


def test_a_small_file_is_imported_inside_the_request(client, city):
    client.force_login(hr_user(city))
    response = _post(client, city, csv_of(20))
    assert response.status_code == 302
    assert response.url == reverse("employee_list")
    assert Employee.objects.filter(organisation=city).count() == 20
    assert Job.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_large_file_becomes_a_job_that_imports_it(celery_worker, client, city):
    hr = hr_user(city)
    client.force_login(hr)
    response = _post(client, city, csv_of(5000))  # 330 KB, beyond IMPORT_INLINE_MAX_BYTES
    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == job.get_absolute_url()
    assert job.requested_by == hr and job.organisation == city
    job = wait_until_finished(job, timeout=120)
    assert job.status == Job.Status.READY, job.error
    assert Employee.objects.filter(organisation=city).count() == 5000
    assert not job.input_file  # the upload (personal data) is gone once imported
    page = client.get(job.get_absolute_url()).content.decode()
    assert "Import abgeschlossen: 5000 Beschäftigte neu angelegt, 0 aktualisiert." in page
    assert f'href="{reverse("employee_list")}"' in page


@pytest.mark.django_db(transaction=True)
def test_a_refused_large_file_shows_every_problem_on_the_job_page(celery_worker, client, city):
    client.force_login(hr_user(city))
    _post(client, city, csv_of(5000, bad_lines=(17, 4999)))
    job = wait_until_finished(Job.objects.get(), timeout=120)
    assert job.status == Job.Status.FAILED
    assert job.error == "Die Datei wurde nicht importiert: 2 Probleme. Es wurde nichts gespeichert."
    # Kept with the job for weeks: where and what, never the cell's content (the upload itself is gone).
    assert job.problems == [
        {"line": 18, "column": "E-Mail", "message": "Dies ist keine gültige E-Mail-Adresse."},
        {"line": 5000, "column": "E-Mail", "message": "Dies ist keine gültige E-Mail-Adresse."},
    ]
    assert Employee.objects.count() == 0  # all or nothing
    assert not job.input_file
    page = client.get(job.get_absolute_url()).content.decode()
    assert '<td data-label="Zeile">5000</td><td data-label="Spalte">E-Mail</td>' in page
    assert "Erneut versuchen" not in page  # the same file would fail again: upload a corrected one
    assert f'href="{reverse("employee_import")}"' in page


def test_the_problems_a_job_keeps_name_line_column_and_kind_but_no_cell_content(city):
    """The upload (employees' names, addresses, personnel numbers) is deleted once the job is done; its problems
    stay with the job until the job is purged (RETENTION_JOB_FILE_DAYS): they say where and what, never what the
    cell held. Shown at once in the request (a small file), they may quote it: nothing keeps them."""
    hr = hr_user(city)
    content = (
        HEADER
        + "P-7;Muster;Erika;erika.muster(at)stadt.example;Amt 9;Chefin\r\n"
        + "P-7;Muster;Max;max.muster@stadt.example;Amt;Sonstige\r\n"
    ).encode()
    job = Job.objects.create(kind="vielfalt.employee_import", requested_by=hr, organisation=city)
    job.input_file.save("liste.upload", ContentFile(content))
    with pytest.raises(JobError):
        employees_import_for_job(job_id=job.pk, actor_id=hr.pk)
    job.refresh_from_db()
    assert [(p["line"], p["column"]) for p in job.problems] == [
        (2, "E-Mail"),
        (2, "Organisationseinheit"),
        (2, "Zielgruppe"),
        (3, "Personalnummer"),
    ]
    assert job.problems[0]["message"] == "Dies ist keine gültige E-Mail-Adresse."
    assert job.problems[3]["message"] == "Die Personalnummer kommt doppelt vor (zuerst in Zeile 2)."
    kept = repr(job.problems)
    for cell in ("erika", "Amt 9", "Chefin", "P-7"):
        assert cell not in kept

    with pytest.raises(TableRefused) as refused:  # at once (in the request): the value helps to find the cell
        employees_import(actor=hr, organisation=city, table=read_table(content))
    assert (
        refused.value.problems[0].message
        == "„erika.muster(at)stadt.example“ ist keine gültige E-Mail-Adresse."
    )


def test_a_large_file_of_another_city_is_refused(client, city):
    from django.core.exceptions import PermissionDenied

    other = OrganisationFactory(slug="oberhausen")
    with pytest.raises(PermissionDenied):
        employees_import_start(actor=hr_user(other), organisation=city, data=csv_of(5000))
    assert Job.objects.count() == 0


def _prefork_import(city, content: bytes, **worker_env) -> Job:
    """Start an import job for `content` and let a prefork worker with `worker_env` run it to its end."""
    from vielfalt.celery import app

    queue = f"test-import-{uuid.uuid4().hex[:8]}"
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        with CeleryWorker(queue=queue, **worker_env) as worker:
            worker.wait_ready()
            started = time.monotonic()
            job = employees_import_start(actor=hr_user(city), organisation=city, data=content)
            job = wait_until_finished(job, timeout=180)
            print(
                f"prefork import of {len(content) / 1e6:.1f} MB: {job.status} in {time.monotonic() - started:.1f} s"
            )
            assert job.is_finished, worker.log()
            return job
    finally:
        app.conf.task_default_queue = "celery"


@pytest.mark.allow_error_log  # the worker reports the soft time limit
@pytest.mark.django_db(transaction=True)
def test_an_import_beyond_its_time_limit_stops_with_a_message_and_saves_nothing(
    postgres, redis_url, city, monkeypatch
):
    from vielfalt.tasks import task_import_employees

    # The sender's limits travel in the message (the web process and the worker read the same settings).
    monkeypatch.setattr(task_import_employees, "soft_time_limit", 1)
    monkeypatch.setattr(task_import_employees, "time_limit", 30)
    monkeypatch.setattr(task_import_employees, "_exec_options", None)
    job = _prefork_import(city, csv_of(50_000), IMPORT_SOFT_TIME_LIMIT="1", IMPORT_TIME_LIMIT="30")
    assert job.status == Job.Status.FAILED
    assert job.error == (
        "Der Import hat länger als 1 Sekunde gedauert und wurde abgebrochen; es wurde nichts gespeichert. "
        "Bitte teilen Sie die Datei in kleinere auf."
    )
    assert Employee.objects.count() == 0
    assert not job.input_file and not job.task_name


@pytest.mark.allow_error_log
@pytest.mark.django_db(transaction=True)
def test_an_import_beyond_its_memory_limit_stops_with_a_message_and_saves_nothing(postgres, redis_url, city):
    job = _prefork_import(city, csv_of(50_000), IMPORT_MAX_MEMORY_MB="16")
    assert job.status == Job.Status.FAILED
    assert job.error == (
        "Der Import hat mehr Arbeitsspeicher gebraucht als erlaubt und wurde abgebrochen; es wurde nichts "
        "gespeichert. Bitte teilen Sie die Datei in kleinere auf."
    )
    assert Employee.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_fifty_thousand_rows_import_within_the_default_limits(postgres, redis_url, city):
    job = _prefork_import(city, csv_of(50_000))
    assert job.status == Job.Status.READY, job.error
    assert Employee.objects.filter(organisation=city).count() == 50_000


@pytest.mark.django_db(transaction=True)
def test_the_job_pages_of_an_import_pass_axe(live_server, page, city):
    from tests.conftest import axe_violations, browser_login

    hr = hr_user(city)
    browser_login(page, live_server, hr)
    refused = Job.objects.create(
        kind="vielfalt.employee_import",
        description="Import von Beschäftigten: Stadt Duisburg",
        requested_by=hr,
        organisation=city,
        status=Job.Status.FAILED,
        error="Die Datei wurde nicht importiert: 1 Problem. Es wurde nichts gespeichert.",
        problems=[{"line": 18, "column": "E-Mail", "message": "Dies ist keine gültige E-Mail-Adresse."}],
        origin_url=reverse("employee_import"),
        origin_name="Beschäftigte importieren",
    )
    done = Job.objects.create(
        kind="vielfalt.employee_import",
        description="Import von Beschäftigten: Stadt Duisburg",
        requested_by=hr,
        organisation=city,
        status=Job.Status.READY,
        outcome="Import abgeschlossen: 5000 Beschäftigte neu angelegt, 0 aktualisiert.",
        result_url=reverse("employee_list"),
        result_name="Beschäftigte",
    )
    for job in (refused, done):
        page.goto(live_server.url + job.get_absolute_url())
        assert axe_violations(page) == []
    page.goto(live_server.url + refused.get_absolute_url())
    assert page.get_by_role("cell", name="Dies ist keine gültige E-Mail-Adresse.").is_visible()
    page.get_by_role("link", name="Korrigierte Datei hochladen").click()
    assert page.url.endswith(reverse("employee_import"))
