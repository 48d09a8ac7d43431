"""The portal's electronic seal (vielfalt/seal.py) and the public page that checks a PDF for it."""

import io
import shutil
import subprocess

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


def upload(client, content: bytes, name="dokument.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("document_check"), {"file": SimpleUploadedFile(name, content, "application/pdf")}
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
