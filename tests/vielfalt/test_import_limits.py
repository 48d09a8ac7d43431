"""Bounded work for every import: a row limit, an unpacked-size limit for XLSX (zip bombs), checked in-process and
against a real gunicorn whose worker's memory is measured."""

import http.client
import io
import re
import time
import uuid
import zipfile
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from tests.conftest import need
from tests.factories import OrganisationFactory, OrgUnitFactory, hr_user
from tests.helpers import wait_until_finished
from tests.processes import CSRF_COOKIE, SECRET_KEY, SESSION_COOKIE, CeleryWorker, Gunicorn
from vielfalt.models import Employee, Job
from vielfalt.tabular import TableRefused, read_table


@pytest.fixture(autouse=True)
def _german():
    with translation.override("de"):  # the messages are checked in the portal's default language
        yield


HEADER = "Personalnummer;Nachname;Vorname;E-Mail;Organisationseinheit;Zielgruppe\r\n"


def csv_of(rows: int) -> bytes:
    lines = (f"P-{n};Name;Vorname;p{n}@stadt.example;Amt;Sonstige\r\n" for n in range(rows))
    return (HEADER + "".join(lines)).encode()


def xlsx_bomb(rows: int, *, declare: bool = True, declared_rows: int | None = None) -> bytes:
    """A real workbook whose sheet holds `rows` rows of one cell each: a few hundred KB that unpack to tens of
    MB (the sheet's XML is streamed into the archive, never held whole)."""
    book = Workbook()
    book.active.append(
        ["Personalnummer", "Nachname", "Vorname", "E-Mail", "Organisationseinheit", "Zielgruppe"]
    )
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(plain) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb,
    ):
        for item in source.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(item, source.read(item))
                continue
            info = zipfile.ZipInfo("xl/worksheets/sheet1.xml")
            info.compress_type = zipfile.ZIP_DEFLATED
            with bomb.open(info, "w") as sheet:
                declared = rows + 1 if declared_rows is None else declared_rows
                dimension = f'<dimension ref="A1:A{declared}"/>'.encode() if declare else b""
                sheet.write(
                    b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
                    b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    + dimension
                    + b"<sheetData>"
                    b'<row><c t="inlineStr"><is><t>Personalnummer</t></is></c></row>'
                )
                chunk = b"<row><c><v>1</v></c></row>" * 10_000
                for _ in range(rows // 10_000):
                    sheet.write(chunk)
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def test_csv_stops_at_the_row_limit(settings):
    settings.IMPORT_MAX_ROWS = 5
    assert len(read_table(csv_of(5)).rows) == 5
    with pytest.raises(TableRefused) as refused:
        read_table(csv_of(6))
    assert "mehr als 5 Zeilen" in str(refused.value.problems[0])


def test_xlsx_stops_at_the_row_limit(settings):
    settings.IMPORT_MAX_ROWS = 5
    assert len(read_table(xlsx_bomb(0)).rows) == 0
    with pytest.raises(TableRefused) as refused:
        read_table(xlsx_bomb(10_000))
    assert "mehr als 5 Zeilen" in str(refused.value.problems[0])


def test_xlsx_without_its_declared_size_is_refused_before_parsing(settings):
    started = time.monotonic()
    with pytest.raises(TableRefused) as refused:
        read_table(xlsx_bomb(500_000, declare=False))  # 13 MB of XML, within the unpacked-size limit
    assert time.monotonic() - started < 5  # building the file is most of it; refusing it reads 64 KB
    assert "wie viele Zeilen" in str(refused.value.problems[0])


def test_xlsx_that_lies_about_its_size_is_read_only_as_far_as_it_says(settings):
    settings.IMPORT_MAX_ROWS = 5
    assert len(read_table(xlsx_bomb(10_000, declared_rows=4)).rows) == 3


def test_xlsx_that_would_unpack_beyond_the_limit_is_refused_before_unpacking(settings):
    settings.IMPORT_MAX_UNPACKED_BYTES = 1024 * 1024
    bomb = xlsx_bomb(100_000)  # 2.6 MB of XML
    assert len(bomb) < 100_000
    started = time.monotonic()
    with pytest.raises(TableRefused) as refused:
        read_table(bomb)
    assert time.monotonic() - started < 0.5
    assert "mehr als 1 MB" in str(refused.value.problems[0])


def test_default_limits():
    assert settings.IMPORT_MAX_ROWS == 50_000
    assert settings.IMPORT_MAX_UNPACKED_BYTES == 24 * 1024 * 1024


def _session_cookie(user) -> str:
    """A logged-in session as the gunicorn (with its own secret key) reads it."""
    with override_settings(SECRET_KEY=SECRET_KEY):
        session = import_module("django.contrib.sessions.backends.db").SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "vielfalt.auth.PortalBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        return session.session_key


def _upload(server, session_key: str, name: str, content: bytes, organisation_id: int):
    https = {"X-Forwarded-Proto": "https", "Host": f"127.0.0.1:{server.port}"}
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("GET", "/employees/import/", headers={**https, "Cookie": f"{SESSION_COOKIE}={session_key}"})
    response = conn.getresponse()
    page = response.read().decode()
    assert response.status == 200, page[:500]
    csrf_cookie = re.search(rf"{CSRF_COOKIE}=([^;]+)", response.getheader("Set-Cookie")).group(1)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    boundary = "----vielfalt-test-boundary"
    body = b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{csrf}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="organisation"\r\n\r\n{organisation_id}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode(),
            content,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    started = time.monotonic()
    conn.request(
        "POST",
        "/employees/import/",
        body=body,
        headers={
            **https,
            "Cookie": f"{SESSION_COOKIE}={session_key}; {CSRF_COOKIE}={csrf_cookie}",
            "Origin": f"https://127.0.0.1:{server.port}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    return response.status, text, time.monotonic() - started


def _peak_rss_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status").read().splitlines():  # noqa: PTH123, SIM115
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@pytest.mark.django_db(transaction=True)
def test_a_real_gunicorn_refuses_huge_imports_quickly_and_stays_small(redis_url):
    """Every upload leaves the web worker within seconds and grows it by less than 100 MB: a zip bomb is refused
    in the request; a large CSV is stored and handed to a real worker (a job), whether it is 50,000 good rows or
    a million lines."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    organisation = OrganisationFactory(slug="duisburg")
    OrgUnitFactory(organisation=organisation, name="Amt")
    session_key = _session_cookie(hr_user(organisation, username="hr"))
    bomb = xlsx_bomb(1_500_000)
    million = (HEADER + "1;a;b\r\n" * 1_000_000).encode()  # 7 MB, below the upload size limit
    fifty_thousand = (
        HEADER + "".join(f"P-{n};Name;Vorname;p{n}@stadt.example;Amt;Sonstige\r\n" for n in range(50_000))
    ).encode()
    assert len(bomb) < 1024 * 1024 and len(million) < settings.EMPLOYEE_IMPORT_MAX_BYTES

    queue = f"test-import-{uuid.uuid4().hex[:8]}"
    with (
        CeleryWorker(queue=queue) as worker,
        Gunicorn(DJANGO_BEHIND_TLS_PROXY="1", REDIS_URL=redis_url, CELERY_QUEUE=queue) as server,
    ):
        worker.wait_ready()
        (web_worker,) = server.worker_pids()
        # Warm up: the import page and a small import, so that what follows measures the big files alone.
        status, _, _ = _upload(server, session_key, "small.csv", csv_of(3), organisation.pk)
        assert status == 302
        before = _peak_rss_kb(web_worker)
        jobs = {}
        for name, content in (("bomb.xlsx", bomb), ("million.csv", million), ("50000.csv", fifty_thousand)):
            status, text, seconds = _upload(server, session_key, name, content, organisation.pk)
            grown_mb = (_peak_rss_kb(web_worker) - before) / 1024
            print(
                f"{name}: {len(content) / 1e6:.1f} MB answered {status} in {seconds:.1f} s, "
                f"peak RSS +{grown_mb:.0f} MB"
            )
            if name == "bomb.xlsx":
                assert status == 422, text[:500]
                assert "mehr als 24 MB" in text
            else:
                assert status == 302, text[:500]  # to the job's page
                (jobs[name],) = Job.objects.exclude(pk__in=[job.pk for job in jobs.values()])
            assert seconds < 5
            assert grown_mb < 100
        assert server.worker_pids() == [web_worker]  # the worker was never killed

        refused = wait_until_finished(jobs["million.csv"], timeout=180)
        assert refused.status == Job.Status.FAILED, worker.log()[-2000:]
        assert refused.problems == [
            {
                "line": 1,
                "column": "",
                "message": "Die Datei hat mehr als 50.000 Zeilen. Bitte teilen Sie sie auf mehrere Dateien auf.",
            }
        ]
        imported = wait_until_finished(jobs["50000.csv"], timeout=300)
        assert imported.status == Job.Status.READY, (imported.error, worker.log()[-2000:])
    assert Employee.objects.filter(organisation=organisation).count() == 50_000


@pytest.mark.django_db
@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_an_enrolment_list_is_bounded_before_it_is_parsed(client, settings, end):
    """The enrolment upload runs inside the request: at most IMPORT_INLINE_MAX_ROWS rows, counted before parsing
    (50,000 personnel numbers took seconds of a web worker). Lines that end in a carriage return alone (as the
    CSV reader reads them, and old Mac exports write them) count too: such a file was counted as one row, and
    40,000 numbers held the worker for seconds and answered with 40,000 refusals."""
    from tests.trainings.factories import CourseDateFactory
    from trainings.models import Enrolment

    course_date = CourseDateFactory()
    client.force_login(hr_user(course_date.course.organiser))
    url = reverse("trainings:enrol", args=[course_date.pk])
    client.get(url)  # warm: templates and translations loaded, so that what follows measures the upload
    content = (f"Personalnummer{end}" + "".join(f"P-{n}{end}" for n in range(50_000))).encode()
    started = time.process_time()
    response = client.post(
        url, {"action": "upload", "file": SimpleUploadedFile("liste.csv", content, "text/csv")}
    )
    assert time.process_time() - started < 1
    assert response.status_code == 422
    assert [str(p) for p in response.context["problems"]] == [
        "Zeile 1: Eine Anmeldeliste hat höchstens 2.000 Zeilen. Bitte teilen Sie sie auf mehrere Dateien auf."
    ]
    assert Enrolment.objects.count() == 0


def _broken_sheet(change) -> bytes:
    """A workbook of four rows whose sheet's XML is `change`d (None: left out of the archive)."""
    book = Workbook()
    for row in (["Personalnummer", "Nachname", "Vorname"], ["P-1", "Aydın", "Ela"], ["P-2", "Berg", "Jan"]):
        book.active.append(row)
    book.active.append(["P-3", "Cakir", "Nur"])
    plain, out = io.BytesIO(), io.BytesIO()
    book.save(plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as broken:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = change(content)
            if content is not None:
                broken.writestr(item, content)
    return out.getvalue()


@pytest.mark.parametrize(
    "change, line",
    [
        (lambda xml: xml.replace(b'r="B3"', b'r="ZZZZZZ3"'), 3),  # a cell at an address no sheet has
        (lambda xml: None, 1),  # the sheet missing from the archive
        (lambda xml: xml[: xml.index(b'r="A4"')], None),  # cut off
    ],
    ids=["address", "missing", "cut-off"],
)
def test_a_workbook_whose_sheet_is_broken_is_refused_where_it_breaks(change, line):
    """Read-only, openpyxl reads the sheet only row by row, after the workbook opened: what broke then was a 500."""
    with pytest.raises(TableRefused) as refused:
        read_table(_broken_sheet(change))
    (problem,) = refused.value.problems
    assert problem.message == "Die XLSX-Datei kann ab hier nicht gelesen werden."
    assert line is None or problem.line == line
