"""The annual programme report is rendered in parts (vielfalt.pdf.render_pdf_parts) so that its memory does not
grow with the number of partners; joined, it must read as one document."""

import io
import re

import pikepdf
import pytest
from django.utils import translation
from pypdf import PdfReader

from tests.helpers import assert_archival
from vielfalt.programme import figures as programme_module
from vielfalt.programme.figures import programme, programme_report_pdf

from .conftest import make_partner

pytestmark = pytest.mark.django_db


@pytest.fixture
def seven_partners(ministry):
    return [
        make_partner(index, survey=(5, 5) if index == 3 else None, posts=(index,)) for index in range(1, 8)
    ]


def page_texts(content: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages]


def test_a_report_in_parts_has_every_partner_once_and_numbers_across_the_parts(monkeypatch, seven_partners):
    monkeypatch.setattr(programme_module, "REPORT_PARTNERS_PER_PART", 3)  # parts of 3, 3 and 1 partners
    with translation.override("en"):
        content = programme_report_pdf(year=2014)
    pages = page_texts(content)
    total = len(pages)
    for number, text in enumerate(pages, start=1):
        # Stamped on every page, counting across the parts, exactly once.
        assert re.findall(r"Page \d+ of \d+", text) == [f"Page {number} of {total}"]
    text = " ".join(pages)
    overview = programme(year=2014)
    assert f"Partners {overview.partner_count} " in text
    for partner in seven_partners:
        assert text.count(partner.name) == 1, partner.name
    assert "Annual programme report 2014" in pages[0]
    # Every part after the first starts on a new page with the running header, like any other page.
    # (The agreements' title is the same words: the header makes them appear twice on a partner's page.)
    header = "Vielfalt verbindet. Interkulturelle Öffnung als Erfolgsfaktor"
    first_of_second_part = next(page for page in pages if "Partner 004" in page)
    first_of_first_part = next(page for page in pages if "Partner 001" in page)
    assert "Partner 003" not in first_of_second_part
    assert first_of_second_part.count(header) == first_of_first_part.count(header) == 2

    document = pikepdf.open(io.BytesIO(content))
    assert str(document.docinfo["/Title"]) == "Annual programme report 2014"
    assert str(document.Root.Lang) == "en"
    with document.open_outline() as outline:
        (title,) = outline.root  # one entry for the report, every partner under it
        assert str(title.title) == "Annual programme report 2014"
        partner_entries = [
            str(item.title) for item in title.children if str(item.title).startswith("Partner ")
        ]
        assert partner_entries == [partner.name for partner in seven_partners]
    document.close()
    # The numbers stand at the foot of the page, where pdf/base.html puts them in documents of one piece.
    reader = PdfReader(io.BytesIO(content))
    for page in reader.pages:
        heights = []

        def visit(text, cm, tm, font, size, heights=heights):
            if text.startswith("Page "):
                heights.append(tm[4] * cm[1] + tm[5] * cm[3] + cm[5])

        page.extract_text(visitor_text=visit)
        assert heights and all(height < 80 for height in heights), heights  # in points from the bottom
    # Joined from three parts, and still one sealed, tagged PDF/A.
    assert_archival(content, title="Annual programme report 2014", language="en")


def test_parts_do_not_change_what_the_report_says(monkeypatch, seven_partners):
    with translation.override("de"):
        whole = " ".join(page_texts(programme_report_pdf(year=2014)))
        monkeypatch.setattr(programme_module, "REPORT_PARTNERS_PER_PART", 2)
        parted = " ".join(page_texts(programme_report_pdf(year=2014)))

    def without_page_numbers(text: str) -> str:
        return re.sub(r"Seite \d+ von \d+", "", text)

    assert without_page_numbers(whole).split() == without_page_numbers(parted).split()


def test_a_report_too_long_to_join_with_its_structure_is_still_a_sealed_pdfa(monkeypatch, seven_partners):
    """Beyond REPORT_TAGGED_MAX_PARTNERS the parts are joined without structure trees (memory), nothing else
    changes: PDF/A-3b, title and language, the portal's seal."""
    from vielfalt.seal import check_pdf

    monkeypatch.setattr(programme_module, "REPORT_PARTNERS_PER_PART", 3)
    monkeypatch.setattr(programme_module, "REPORT_TAGGED_MAX_PARTNERS", 5)
    with translation.override("en"):
        content = programme_report_pdf(year=2014)
    document = pikepdf.open(io.BytesIO(content))
    with document.open_metadata() as xmp:
        assert (xmp.get("pdfaid:part"), xmp.get("pdfaid:conformance")) == ("3", "B")
        assert xmp.get("pdfuaid:part") is None  # not claimed without tags
    assert "/StructTreeRoot" not in document.Root
    assert str(document.Root.Lang) == "en"
    assert check_pdf(content).state == "valid"
    assert len(page_texts(content)) == len(document.pages)
