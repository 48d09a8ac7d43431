"""No request body larger than any upload the portal takes is read (vielfalt.middleware.RequestSizeMiddleware):
refused at once with a page in the user's language, in-process and through a real gunicorn."""

import socket
import time

import pytest
from django.conf import settings
from django.db import connection
from django.test.client import MULTIPART_CONTENT, FakePayload
from django.urls import reverse
from django.utils import translation

from partnerships.network.uploads import MAX_BYTES as NETWORK_UPLOAD_MAX_BYTES
from partnerships.services import SIGNED_COPY_MAX_BYTES
from tests.conftest import need
from tests.factories import OrganisationFactory, hr_user
from tests.processes import Gunicorn
from vielfalt.models import Employee

# What a form around a file adds to it: its other fields, the multipart boundaries and headers.
FORM_MARGIN = 64 * 1024


def test_every_upload_the_portal_takes_fits_the_limit():
    for limit in (
        settings.EMPLOYEE_IMPORT_MAX_BYTES,
        settings.SEAL_CHECK_MAX_BYTES,
        SIGNED_COPY_MAX_BYTES,
        NETWORK_UPLOAD_MAX_BYTES,
    ):
        assert limit + FORM_MARGIN <= settings.REQUEST_MAX_BYTES


@pytest.mark.django_db
def test_an_upload_larger_than_any_the_portal_takes_is_refused_unread(client):
    """The body claims more than the limit: the page says so in German, and nothing of the body was read
    (the test client's payload would fail a read beyond the little it holds)."""
    organisation = OrganisationFactory()
    client.force_login(hr_user(organisation))
    body = b"--BoUnDaRy\r\n" + b"x" * 1024
    with translation.override("de"):
        response = client.generic(
            "POST",
            reverse("employee_import"),
            data=body,
            content_type=MULTIPART_CONTENT,
            CONTENT_LENGTH=str(settings.REQUEST_MAX_BYTES + 1),
            HTTP_ACCEPT_LANGUAGE="de",
        )
    assert response.status_code == 413
    page = response.content.decode()
    assert "Die Datei ist zu groß" in page
    assert "größer als 21,0\xa0MB ist" in page
    assert not Employee.objects.exists()


@pytest.mark.django_db
def test_a_body_within_the_limit_reaches_the_form(client, settings):
    """At the limit the request goes on as before: the form itself judges the file."""
    settings.REQUEST_MAX_BYTES = 4096
    organisation = OrganisationFactory()
    client.force_login(hr_user(organisation))
    response = client.post(reverse("employee_import"), {"organisation": organisation.pk})
    assert response.status_code == 200  # the form again, asking for a file
    assert response.context["form"].errors


@pytest.mark.django_db(transaction=True)
def test_a_real_gunicorn_answers_a_huge_upload_before_it_arrives():
    """2 GB announced, 64 KB sent: the portal answers 413 without waiting for the rest (before, Django's
    multipart parser waited for every byte, to write them to a temporary file, before any form saw the size),
    and goes on serving."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    with Gunicorn() as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
            head = (
                "POST /accounts/login/ HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{server.port}\r\n"
                "Content-Type: multipart/form-data; boundary=BoUnDaRy\r\n"
                "Content-Length: 2000000000\r\n"
                "Accept-Language: de\r\n"
                "\r\n"
            )
            started = time.monotonic()
            sock.sendall(head.encode() + b"--BoUnDaRy\r\n" + b"x" * 64 * 1024)
            answer = b""
            while b"</html>" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
            seconds = time.monotonic() - started
        status_line = answer.split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.1 413"), (answer[:300], server.log()[-2000:])
        assert "Die Datei ist zu groß".encode() in answer
        assert seconds < 5
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")


def test_fake_payload_refuses_reads_beyond_its_content():
    """What the in-process test above relies on to tell that the body was not read."""
    payload = FakePayload(b"abc")
    with pytest.raises(AssertionError):
        payload.read(4)
