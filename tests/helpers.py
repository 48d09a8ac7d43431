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


def assert_archival(pdf: bytes, *, title: str | None = None, language: str = "de") -> None:
    """A PDF as the portal issues it for the archive: PDF/A-3b and PDF/UA-1 in its XMP metadata, tagged (one
    structure tree whose parent tree knows every page), title and language set, sealed by the portal with the
    PDF/A revision untouched before the seal."""
    import pikepdf

    from vielfalt.seal import check_pdf

    document = pikepdf.open(io.BytesIO(pdf))
    with document.open_metadata() as xmp:
        assert (xmp.get("pdfaid:part"), xmp.get("pdfaid:conformance")) == ("3", "B")
        assert xmp.get("pdfuaid:part") == "1"
        if title is not None:
            assert xmp.get("dc:title") == title
    assert "/OutputIntents" in document.Root
    assert bool(document.Root.MarkInfo.Marked) is True
    assert str(document.Root.Lang) == language
    if title is not None:
        assert str(document.docinfo["/Title"]) == title
    root = document.Root.StructTreeRoot
    nums = root.ParentTree.Nums
    keys = {int(nums[index]) for index in range(0, len(nums), 2)}
    pages = {page.objgen for page in document.pages}
    for page in document.pages:
        assert int(page.obj.StructParents) in keys
    (top,) = root.K
    assert pikepdf.Name.Document == top.S
    for element in top.K:
        if "/Pg" in element:
            assert element.Pg.objgen in pages
    document.close()
    check = check_pdf(pdf)
    assert check.state == "valid", check
