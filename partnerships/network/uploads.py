"""Checking uploaded documents by their content (never by name or declared type alone): PDF, DOCX, ODT and
XLSX, bounded in size, number of zip members and decompressed size."""

import hashlib
import io
import logging
import os
import re
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from pypdf import PdfReader
from pypdf.errors import PyPdfError

logger = logging.getLogger(__name__)

MAX_BYTES = getattr(settings, "NETWORK_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
ZIP_MAX_MEMBERS = 2000
ZIP_MAX_UNCOMPRESSED = 100 * 1024 * 1024
ZIP_MAX_RATIO = 200  # a zip bomb expands far more than an office document

ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
OOXML_MAIN = {
    "docx": ("word/document.xml", b"wordprocessingml.document.main+xml"),
    "xlsx": ("xl/workbook.xml", b"spreadsheetml.sheet.main+xml"),
}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class CheckedFile:
    content: bytes
    name: str
    kind: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


def _refuse(message: str, code: str = "invalid"):
    raise ValidationError(message, code=code)


def _not_accepted():
    _refuse(_("The file is not a PDF, DOCX, ODT or XLSX document."), "type")


def _check_pdf(content: bytes) -> None:
    if b"%%EOF" not in content[-2048:]:
        _not_accepted()
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if len(reader.pages) < 1:
            _not_accepted()
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        _refuse(_("The PDF document cannot be read."), "broken")


def _check_zip(content: bytes) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        _not_accepted()
    if not members or len(members) > ZIP_MAX_MEMBERS:
        _not_accepted()
    expanded = sum(m.file_size for m in members)
    compressed = max(sum(m.compress_size for m in members), 1)
    if expanded > ZIP_MAX_UNCOMPRESSED or expanded / compressed > ZIP_MAX_RATIO:
        _refuse(_("The document expands to too much data."), "too_large")
    names = {m.filename for m in members}
    try:
        if (
            members[0].filename == "mimetype"
            and "content.xml" in names
            and archive.read("mimetype").strip() == ODT_MIMETYPE
        ):
            return "odt"
        if "[Content_Types].xml" in names:
            types = archive.read("[Content_Types].xml")
            for kind, (main, content_type) in OOXML_MAIN.items():
                if main in names and content_type in types:
                    return kind
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, NotImplementedError):
        _not_accepted()
    _not_accepted()


def check_document(upload) -> CheckedFile:
    """Read and check an uploaded file; returns its content, a safe name, its type and SHA-256."""
    if upload.size > MAX_BYTES:
        _refuse(_("The file is larger than %(limit)s.") % {"limit": filesizeformat(MAX_BYTES)}, "too_large")
    upload.seek(0)
    content = upload.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        _refuse(_("The file is larger than %(limit)s.") % {"limit": filesizeformat(MAX_BYTES)}, "too_large")
    if not content:
        _refuse(_("The file is empty."), "empty")
    if content.startswith(b"%PDF-"):
        _check_pdf(content)
        kind = "pdf"
    elif content.startswith(b"PK\x03\x04"):
        kind = _check_zip(content)
    else:
        _not_accepted()
    stem = os.path.splitext(os.path.basename(str(upload.name or "")))[0]
    stem = get_valid_filename(stem)[:150] if re.search(r"\w", stem) else "dokument"
    return CheckedFile(
        content=content, name=f"{stem}.{kind}", kind=kind, sha256=hashlib.sha256(content).hexdigest()
    )
