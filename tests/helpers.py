"""Small helpers shared by the test modules of every app."""

import io
import time

from pypdf import PdfReader

from vielfalt.models import Job


def pdf_text(pdf: bytes) -> str:
    """The text of every page of a PDF, read back as a reader would."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def wait_until_finished(job: Job, timeout: float = 60) -> Job:
    """Poll a background job until the worker marks it ready or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job still {job.status} after {timeout} s")
