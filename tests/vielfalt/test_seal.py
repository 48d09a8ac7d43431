"""The portal's electronic seal (vielfalt/seal.py) and the public page that checks a PDF for it."""

import io
import ipaddress
import shutil
import subprocess
import uuid

import pytest
from django.template import Context, Template
from django.urls import reverse

from tests.helpers import assert_archival
from vielfalt import seal
from vielfalt.pdf import render_pdf_from_html

DOCUMENT = Template(
    '{% extends "pdf/base.html" %}{% block title %}{{ title }}{% endblock %}'
    "{% block content %}<h1>{{ title }}</h1><p>{{ text }}</p>{% endblock %}"
)


def render(title="Bescheinigung", text="Inhalt", **options) -> bytes:
    return render_pdf_from_html(DOCUMENT.render(Context({"title": title, "text": text})), **options)


def test_every_pdf_is_a_sealed_tagged_pdfa():
    assert_archival(render(title="Bescheinigung"), title="Bescheinigung", language="de")


def test_the_seal_is_an_incremental_update_that_keeps_the_pdfa_revision():
    unsealed = render(sealed=False)
    sealed = seal.seal_pdf(unsealed)
    assert sealed.startswith(unsealed)
    assert seal.check_pdf(unsealed).state == "unsealed"
    check = seal.check_pdf(sealed)
    assert (check.state, check.issued_by_portal, check.timestamped) == ("valid", True, False)
    assert check.signed_at is not None


def test_pdfsig_and_pdfinfo_see_a_valid_seal_and_pdfa(tmp_path):
    tools = shutil.which("pdfsig") and shutil.which("pdfinfo")
    if not tools:
        pytest.skip("poppler-utils not installed")
    path = tmp_path / "sealed.pdf"
    path.write_bytes(render())
    signatures = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Signature Field Name: PortalSeal" in signatures
    assert "Signature Validation: Signature is Valid." in signatures
    assert "Total document signed" in signatures
    meta = subprocess.run(["pdfinfo", "-meta", str(path)], capture_output=True, text=True, check=True).stdout
    assert 'pdfaid:part="3"' in meta
    assert 'pdfaid:conformance="B"' in meta


@pytest.mark.parametrize("where", [0.3, 0.6, -0.05])
def test_one_changed_byte_makes_it_a_document_the_portal_did_not_issue(where):
    sealed = bytearray(render())
    position = int(len(sealed) * where)
    sealed[position] = (sealed[position] + 1) % 256
    assert seal.check_pdf(bytes(sealed)).issued_by_portal is False


def test_a_change_appended_after_the_seal_is_seen():
    """An incremental update leaves the sealed revision intact, but the file is no longer what was issued."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(render()))
    writer.root["/Lang"] = generic.TextStringObject("en")
    writer.update_root()
    changed = io.BytesIO()
    writer.write(changed)
    assert seal.check_pdf(changed.getvalue()).state == "changed"


def test_a_pdf_sealed_with_another_certificate_is_not_the_portals(settings, tmp_path):
    settings.SEAL_PKCS12_PATH = str(seal.create_self_signed_seal(tmp_path / "other.p12", common_name="Fremd"))
    settings.SEAL_PKCS12_PASSWORD = ""
    foreign = render()
    settings.SEAL_PKCS12_PATH = str(tmp_path / "ours.p12")
    seal.create_self_signed_seal(tmp_path / "ours.p12")
    assert seal.check_pdf(foreign).state == "foreign"


def test_without_a_seal_pdfs_are_issued_unsealed_with_a_warning(settings, caplog):
    settings.SEAL_PKCS12_PATH = ""  # and nothing under MEDIA_ROOT
    pdf = render()
    assert b"/ByteRange" not in pdf
    assert "PDF issued without seal" in caplog.text
    assert seal.check_pdf(pdf).state == "unknown"


# --- The page "Dokument prüfen" -----------------------------------------------------------------------------


def _address() -> str:
    """An address of its own (the throttle's counts live in the shared cache across test runs)."""
    return str(ipaddress.IPv6Address(uuid.uuid4().int))


def upload(client, content: bytes, name="dokument.pdf", address=None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("document_check"),
        {"file": SimpleUploadedFile(name, content, "application/pdf")},
        REMOTE_ADDR=address or _address(),
    )


@pytest.mark.django_db
def test_check_page_says_when_the_portal_issued_a_document(client):
    response = upload(client, render())
    assert response.status_code == 200
    assert response.context["check"].state == "valid"
    assert "wurde am" in response.content.decode()
    assert "vom Portal ausgestellt" in response.content.decode()


@pytest.mark.django_db
def test_check_page_reports_a_document_changed_by_one_byte_as_not_issued(client):
    sealed = bytearray(render())
    middle = len(sealed) // 2
    sealed[middle] = (sealed[middle] + 1) % 256
    response = upload(client, bytes(sealed))
    assert response.status_code == 200
    assert response.context["check"].issued_by_portal is False
    assert 'data-state="valid"' not in response.content.decode()


@pytest.mark.django_db
def test_check_page_refuses_large_uploads_before_reading_them(client, settings):
    settings.SEAL_CHECK_MAX_BYTES = 1024
    response = upload(client, b"%PDF-1.7\n" + b"0" * 200_000)
    assert response.status_code == 413
    assert "check" not in response.context


@pytest.mark.django_db
def test_check_page_says_so_for_something_that_is_not_a_pdf(client):
    response = upload(client, b"kein PDF", name="brief.pdf")
    assert response.context["check"].state == "unreadable"


@pytest.mark.django_db
def test_check_page_limits_the_checks_of_one_client_address(client, settings):
    """Each check costs the portal up to SEAL_CHECK_TIMEOUT_SECONDS of work for a file anyone may send: one
    address had any number of them."""
    settings.SEAL_CHECK_LIMIT = 2
    address, pdf = _address(), render(sealed=False)
    for _ in range(2):
        assert upload(client, pdf, address=address).status_code == 200
    refused = upload(client, pdf, address=address)
    assert refused.status_code == 429
    assert "check" not in refused.context
    assert (
        "Sie haben in kurzer Zeit viele Dokumente prüfen lassen. Bitte versuchen Sie es in 15 Minuten noch einmal."
        in refused.content.decode()
    )
    assert upload(client, pdf).status_code == 200  # another address is not affected


def _many_objects(count: int) -> bytes:
    """A one-page PDF of about 1.5 MB with `count` small objects (in compressed object streams): cheap to make,
    slow to parse."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.Junk = pikepdf.Array([pdf.make_indirect(pikepdf.Dictionary()) for _ in range(count)])
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


@pytest.mark.django_db
def test_check_page_bounds_the_time_of_a_check_of_a_hostile_pdf(client, settings):
    """Anyone may send a file to this page: a 1.5 MB PDF with 200,000 objects held the web worker for about
    9 s. The check is stopped at its time limit, and the page says that the file could not be checked."""
    import time

    settings.SEAL_CHECK_TIMEOUT_SECONDS = 2
    hostile = _many_objects(200_000)
    started = time.monotonic()
    response = upload(client, hostile)
    assert time.monotonic() - started < 4
    assert response.status_code == 200
    assert response.context["check"].state == "limit"
    assert "konnte nicht rechtzeitig geprüft werden" in response.content.decode()


def test_a_bounded_check_answers_like_the_check_in_the_process(settings):
    sealed = render()
    changed = bytearray(sealed)
    changed[len(changed) // 2] ^= 1
    for content in (sealed, bytes(changed), render(sealed=False), b"kein PDF"):
        assert seal.check_pdf_bounded(content) == seal.check_pdf(content)


def test_a_bounded_check_that_runs_out_of_memory_could_not_be_checked(settings):
    settings.SEAL_CHECK_MEMORY_BYTES = 32 * 1024 * 1024  # less than the interpreter needs to start
    assert seal.check_pdf_bounded(render()).state == "limit"


# --- A trusted timestamp (RFC 3161) from a time-stamping authority over HTTP --------------------------------


def _certificate(subject: str, key, *, issuer=None, issuer_key=None, tsa: bool = False):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=not tsa, path_length=None), critical=True)
    )
    if tsa:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


@pytest.fixture
def time_stamping_authority(tmp_path):
    """A real RFC 3161 time-stamping authority over HTTP on 127.0.0.1: pyHanko's own timestamper answering
    `application/timestamp-query` POSTs in a thread, with a TSA certificate issued by a root of its own.
    Yields (URL, path of the root certificate in PEM, list of the requests it answered)."""
    import asyncio
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from asn1crypto import keys, tsp, x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _certificate("Test-Zeitstempel-Wurzel", root_key)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa = _certificate("Test-Zeitstempeldienst", tsa_key, issuer=root, issuer_key=root_key, tsa=True)
    stamper = DummyTimeStamper(
        tsa_cert=x509.Certificate.load(tsa.public_bytes(serialization.Encoding.DER)),
        tsa_key=keys.PrivateKeyInfo.load(
            tsa_key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
    )
    answered = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers["Content-Type"] != "application/timestamp-query":
                self.send_error(415)
                return
            request = tsp.TimeStampReq.load(body)
            reply = asyncio.run(stamper.async_request_tsa_response(request)).dump()
            answered.append(request)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 8351), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    root_path = tmp_path / "tsa-root.pem"
    root_path.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa", root_path, answered
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_with_a_tsa_configured_the_seal_carries_a_valid_trusted_timestamp(
    settings, time_stamping_authority, tmp_path
):
    import concurrent.futures
    import datetime

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    url, root_path, answered = time_stamping_authority
    settings.SEAL_TSA_URL = url
    settings.SEAL_TSA_ROOTS = str(root_path)
    before = datetime.datetime.now(datetime.UTC)
    sealed = render()
    assert answered  # the seal asked the authority (pyHanko asks once more to size the signature)

    # pyHanko's own validation: the signature is the portal's, the timestamp token is intact, valid and
    # chains to the authority's root, and it dates the seal to now.
    (signature,) = PdfFileReader(io.BytesIO(sealed)).embedded_signatures
    from asn1crypto import pem, x509

    _, _, root_der = pem.unarmor(root_path.read_bytes())
    context = ValidationContext(
        trust_roots=[seal.portal_certificate(), x509.Certificate.load(root_der)], allow_fetching=False
    )
    # In its own thread: pyHanko calls asyncio.run(), and Playwright's sync API (the browser tests earlier in
    # the suite) leaves an event loop running in the main thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        status = pool.submit(validate_pdf_signature, signature, context).result()
    assert status.bottom_line, status.pretty_print_details()
    timestamp = status.timestamp_validity
    assert timestamp is not None and (timestamp.intact, timestamp.valid, timestamp.trusted) == (
        True,
        True,
        True,
    )
    assert (
        before - datetime.timedelta(seconds=5) <= timestamp.timestamp <= datetime.datetime.now(datetime.UTC)
    )

    # The portal's check says so too, with the authority's time as the time of issue.
    check = seal.check_pdf(sealed)
    assert (check.state, check.timestamped, check.signed_at) == ("valid", True, timestamp.timestamp)

    if shutil.which("pdfsig"):
        path = tmp_path / "timestamped.pdf"
        path.write_bytes(sealed)
        listing = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=True).stdout
        assert "Signature Validation: Signature is Valid." in listing
        assert "Total document signed" in listing


def test_a_timestamp_of_an_authority_the_portal_does_not_trust_is_not_counted(
    settings, time_stamping_authority
):
    """Without the authority's root the seal is still the portal's, but its time is the one the portal
    reported, not a trusted timestamp."""
    url, _root_path, answered = time_stamping_authority
    settings.SEAL_TSA_URL = url
    settings.SEAL_TSA_ROOTS = ""
    check = seal.check_pdf(render())
    assert answered
    assert (check.state, check.timestamped) == ("valid", False)
    assert check.signed_at is not None


def test_a_tsa_that_does_not_answer_fails_the_seal_loudly(settings):
    """A configured authority that cannot be reached must not yield a PDF that silently lacks its timestamp."""
    settings.SEAL_TSA_URL = "http://127.0.0.1:8352/tsa"  # nothing listens there
    with pytest.raises(Exception):  # noqa: B017, PT011 — pyHanko's or requests' connection error
        render()
