"""The annual programme report is rendered in parts (vielfalt.pdf.render_pdf_parts) so that its memory does not
grow with the number of partners; joined, it must read as one document."""

import io
import re
import shutil
import subprocess
import sys

import pikepdf
import pytest
from django.conf import settings
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
    # One day for both renderings: a run at midnight dated them 05.12. and 06.12.
    today = programme_module.timezone.localdate()
    monkeypatch.setattr(programme_module.timezone, "localdate", lambda *args, **kwargs: today)
    with translation.override("de"):
        whole = " ".join(page_texts(programme_report_pdf(year=2014)))
        monkeypatch.setattr(programme_module, "REPORT_PARTNERS_PER_PART", 2)
        parted = " ".join(page_texts(programme_report_pdf(year=2014)))

    def without_page_numbers(text: str) -> str:
        return re.sub(r"Seite \d+ von \d+", "", text)

    assert without_page_numbers(whole).split() == without_page_numbers(parted).split()


def test_a_report_of_any_length_stays_tagged(monkeypatch, seven_partners, tmp_path):
    """There is no length beyond which the parts are joined without their structure trees (the join holds one
    part at a time in memory, see test_joining_holds_one_part_in_memory)."""
    monkeypatch.setattr(programme_module, "REPORT_PARTNERS_PER_PART", 3)
    monkeypatch.setattr(programme_module, "REPORT_TAGGED_MAX_PARTNERS", 5, raising=False)  # the old limit
    with translation.override("en"):
        content = programme_report_pdf(year=2014)
    assert_archival(content, title="Annual programme report 2014", language="en")
    document = pikepdf.open(io.BytesIO(content))
    # Every marked-content sequence of every page belongs to an element of the one structure tree: the parent
    # tree entry of each page lists, per MCID, an element on that page whose parents lead to the Document.
    # (Not every such element is among its parent's kids: WeasyPrint tags the running header and footer as
    # Divs that name the Document as parent without being its kids, in a document of one piece too.)
    root = document.Root.StructTreeRoot
    (top,) = root.K
    nums = root.ParentTree.Nums
    tree = {int(nums[index]): nums[index + 1] for index in range(0, len(nums), 2)}
    assert int(root.ParentTreeNextKey) == max(tree) + 1
    for page in document.pages:
        mcids = {int(found) for found in re.findall(rb"/MCID (\d+)", page.obj.Contents[1].read_bytes())}
        entry = tree[int(page.obj.StructParents)]
        assert mcids and len(entry) == len(mcids)
        for mcid in mcids:
            element = entry[mcid]
            assert element.Pg.objgen == page.obj.objgen
            while element.objgen != top.objgen:
                element = element.P
            assert element.P.objgen == root.objgen
    document.close()
    qpdf = shutil.which("qpdf")
    if qpdf:
        (tmp_path / "report.pdf").write_bytes(content)
        checked = subprocess.run(
            [qpdf, "--check", str(tmp_path / "report.pdf")], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


JOIN_CODE = """
import resource, sys
from pathlib import Path
from vielfalt.pdfjoin import join_tagged
part, numbers, output, count = sys.argv[1:]
join_tagged([Path(part)] * int(count), Path(numbers), Path(output), title="T", language="de")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_joining_holds_one_part_in_memory(tmp_path):
    """Peak memory of joining 12 tagged parts is that of joining 2: qpdf held every part's structure elements
    (about 3 KB each) until the joined file was written, 685 MB for the report of 400 partners."""
    from vielfalt.pdf import render_pdf_from_html

    cells = "".join(f"<tr><td>{row}</td>" + "<td>Zelle</td>" * 9 + "</tr>" for row in range(600))
    part = render_pdf_from_html(
        f'<html lang="de"><head><title>T</title></head><body><table>{cells}</table></body></html>',
        sealed=False,
    )
    pages = len(pikepdf.open(io.BytesIO(part)).pages)
    (tmp_path / "part.pdf").write_bytes(part)
    peaks = {}
    for count in (2, 12):
        numbers = render_pdf_from_html(
            "<div style='break-after: page'>x</div>" * (pages * count), tagged=False, sealed=False
        )
        (tmp_path / "numbers.pdf").write_bytes(numbers)
        run = subprocess.run(
            [
                sys.executable,
                "-c",
                JOIN_CODE,
                *(str(tmp_path / name) for name in ("part.pdf", "numbers.pdf", "out.pdf")),
                str(count),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=settings.BASE_DIR,
        )
        peaks[count] = int(run.stdout.split()[-1]) * 1024
        joined = pikepdf.open(tmp_path / "out.pdf")
        assert len(joined.pages) == pages * count
        joined.close()
    elements = len(re.findall(rb"/StructElem", part))  # a lower bound: most sit in object streams
    assert peaks[12] - peaks[2] < 20 * 2**20, (peaks, elements)


def test_the_first_partner_follows_the_overview_on_its_last_page(seven_partners):
    """The overview's last page was left half empty: every partner started a new page, the first too."""
    with translation.override("en"):
        pages = page_texts(programme_report_pdf(year=2014))
    last_chart = next(
        index for index, page in enumerate(pages) if "anonymised procedures, per method" in page
    )
    assert "Partner 001" in pages[last_chart]
    # The others still start a page each, under the running header.
    for partner in seven_partners[1:]:
        (start,) = [page for page in pages if partner.name in page]
        assert start.index(partner.name) < start.index("Employees trained")


def test_a_partner_report_says_in_plain_german_that_there_was_no_agreement_in_the_year(seven_partners):
    from tests.factories import OrganisationFactory
    from vielfalt.programme.figures import partner_report_pdf

    newcomer = OrganisationFactory(slug="wesel", name="Kreis Wesel", article="der")
    with translation.override("de"):
        text = " ".join(page_texts(partner_report_pdf(organisation=newcomer, year=2014)))
    assert (
        "Im Jahr 2014 hatte der Kreis Wesel keine gültige oder in Vorbereitung befindliche Partnervereinbarung; "
        "dieser Bericht enthält daher keine Zahlen."
    ) in text


def test_a_partner_report_does_not_repeat_the_partner_as_a_heading(seven_partners):
    """The title names the partner already ("Tätigkeitsbericht 2014: Partner 001")."""
    from vielfalt.programme.figures import partner_report_pdf

    with translation.override("de"):
        content = partner_report_pdf(organisation=seven_partners[0], year=2014)
    document = pikepdf.open(io.BytesIO(content))
    with document.open_outline() as outline:
        titles = [str(item.title) for item in outline.root]
        titles += [str(child.title) for item in outline.root for child in item.children]
    assert "Partner 001" not in titles
    assert titles[0] == "Tätigkeitsbericht 2014: Partner 001"
    document.close()
