"""The one PDF renderer of the portal (agreements, certificates, letters, reports).

WeasyPrint gets an URL fetcher that serves only the project's own static files, addressed as
``vielfalt-static:<path>`` (the ``{% pdf_static %}`` template tag writes them). Every other URL, ``file:``,
``http(s):``, ``data:`` or anything else, is refused, so text typed by a user can never make the renderer
read a local file or reach the network. User text is escaped by the template engine in the first place.

Every PDF is written for the archive: PDF/A-3b (sRGB output intent, embedded fonts, XMP metadata with title,
author and language), tagged and identified as PDF/UA-1 (WeasyPrint writes the structure tree), and then sealed
with the portal's certificate (`vielfalt.seal`) as an incremental update, which leaves the PDF/A revision
untouched.
"""

import logging
import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse, URLFetchingError

from . import seal

logger = logging.getLogger(__name__)

STATIC_SCHEME = "vielfalt-static:"
PDF_VARIANT = "pdf/a-3b"

# PDF/UA identification in the XMP metadata. PDF/A allows only the XMP schemas it predefines, others must be
# described by a PDF/A extension schema in the same packet: pdfuaid is not predefined.
PDFUA_XMP = b"""<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" \
xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">\
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">\
<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>\
<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>\
<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>\
<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">\
<pdfaProperty:name>part</pdfaProperty:name><pdfaProperty:valueType>Integer</pdfaProperty:valueType>\
<pdfaProperty:category>internal</pdfaProperty:category>\
<pdfaProperty:description>Part of ISO 14289 (PDF/UA) the document conforms to</pdfaProperty:description>\
</rdf:li></rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>\
<rdf:Description rdf:about="" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/" pdfuaid:part="1" />"""


class StaticOnlyURLFetcher(URLFetcher):
    """Answers `vielfalt-static:` URLs from the static files; refuses everything else."""

    def __init__(self):
        super().__init__(allowed_protocols=[])
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        if not url.startswith(STATIC_SCHEME):
            self.refused.append(url)
            raise URLFetchingError(f"Refused URL outside the portal's static files: {url[:80]}")
        relative = url.removeprefix(STATIC_SCHEME).lstrip("/")
        if not relative or ".." in Path(relative).parts:
            self.refused.append(url)
            raise URLFetchingError("Refused static path")
        path = finders.find(relative)
        if not path:
            raise URLFetchingError(f"No static file {relative}")
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return URLFetcherResponse(url, Path(path).read_bytes(), {"Content-Type": content_type})


@dataclass(frozen=True)
class Letterhead:
    """The issuing body as the letterhead prints it."""

    name: str
    address_lines: tuple[str, ...] = ()
    programme: str = "Vielfalt verbindet. Interkulturelle Öffnung als Erfolgsfaktor"


def letterhead_for(organisation=None) -> Letterhead:
    """The letterhead of `organisation` (its record: name and postal address), or of the portal's operator
    (the operator settings) when there is none or it has no address of its own but is the operator."""
    operator = settings.PORTAL_OPERATOR
    operator_lines = tuple(line.strip() for line in operator["address"].split(",") if line.strip())
    if organisation is None:
        return Letterhead(name=operator["name"], address_lines=operator_lines)
    lines = tuple(line.strip() for line in organisation.address.splitlines() if line.strip())
    if not lines and organisation.name == operator["name"]:
        lines = operator_lines
    return Letterhead(name=organisation.name, address_lines=lines)


def house_context(context: dict) -> dict:
    """What the house layout of `pdf/base.html` needs, unless the caller set it: the letterhead (default: the
    operator's), the operator for the footer, the portal's address; `document_date` and `reference` are the
    caller's."""
    return {
        "letterhead": letterhead_for(None),
        "portal_operator": settings.PORTAL_OPERATOR,
        "portal_url": settings.PORTAL_URL,
        "portal_host": settings.PORTAL_URL.split("://", 1)[-1],
        "document_date": None,
        "reference": "",
        **context,
    }


def render_pdf(
    template_name: str,
    context: dict,
    *,
    fetcher: StaticOnlyURLFetcher | None = None,
    tagged: bool = True,
    sealed: bool = True,
    beyond_one_page: dict | None = None,
) -> bytes:
    """Render a template from ``templates/pdf/`` to a sealed PDF/A (A4, page numbers, letterhead and fonts for
    German, Turkish, Polish and Vietnamese come from the base layout ``pdf/base.html``). Tagged (structure
    for screen readers) unless `tagged` is False; `sealed=False` gives the PDF/A before the seal (the same
    content gives the same bytes then).

    A document meant for one page (a certificate) gives in `beyond_one_page` what changes in its context when
    its texts are too long for that: it is then laid out again with those changes (which move what may follow
    onto a page of its own). Which layout a document gets depends on its content alone."""
    fetcher = fetcher or StaticOnlyURLFetcher()
    document = _layout(render_to_string(template_name, house_context(context)), fetcher, tagged=tagged)
    if beyond_one_page is not None and len(document.pages) > 1:
        html = render_to_string(template_name, house_context({**context, **beyond_one_page}))
        document = _layout(html, fetcher, tagged=tagged)
    return _write(document, fetcher, tagged=tagged, sealed=sealed)


def render_pdf_from_html(
    html: str, *, fetcher: StaticOnlyURLFetcher | None = None, tagged: bool = True, sealed: bool = True
) -> bytes:
    fetcher = fetcher or StaticOnlyURLFetcher()
    return _write(_layout(html, fetcher, tagged=tagged), fetcher, tagged=tagged, sealed=sealed)


def _layout(html: str, fetcher: StaticOnlyURLFetcher, *, tagged: bool):
    return HTML(string=html, base_url=STATIC_SCHEME, url_fetcher=fetcher).render(
        pdf_identifier=b"vielfalt", pdf_tags=tagged, pdf_variant=PDF_VARIANT
    )


def _write(document, fetcher: StaticOnlyURLFetcher, *, tagged: bool, sealed: bool) -> bytes:
    # A fixed identifier and no creation date keep the same content the same file before the seal
    # (idempotent jobs, stable SHA-256 of the sealed revision).
    pdf = document.write_pdf(
        pdf_identifier=b"vielfalt",
        pdf_tags=tagged,
        pdf_variant=PDF_VARIANT,
        finisher=partial(_finish, tagged=tagged),
    )
    if fetcher.refused:
        logger.info("PDF renderer refused %d URL(s)", len(fetcher.refused))
    return seal.seal_pdf(pdf) if sealed else pdf


def _finish(document, pdf, *, tagged: bool) -> None:
    """Last touches to the PDF's objects before WeasyPrint writes them (a `write_pdf` finisher).

    Tagged documents get the PDF/UA identification in the XMP packet WeasyPrint wrote for PDF/A. The info
    dictionary loses /Producer: the seal's incremental update names its own producer in the XMP packet only,
    and PDF/A wants the two to agree wherever both have an entry."""
    if tagged:
        reference = int(bytes(pdf.catalog["Metadata"]).split()[0])
        stream = pdf.objects[reference]
        stream.stream = [_with_pdfua(b"".join(stream.stream))]
    pdf.info.pop("Producer", None)


def _with_pdfua(xmp: bytes) -> bytes:
    if b"pdfuaid:part" in xmp:
        return xmp
    head, found, tail = xmp.rpartition(b"</rdf:RDF>")
    if not found:
        raise RuntimeError("XMP packet without rdf:RDF")
    return head + PDFUA_XMP + found + tail


# --- Long documents ----------------------------------------------------------------------------------------

PAGE_NUMBERS_HTML = """<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 25mm 20mm 25mm 25mm;
  @bottom-right {{ content: "{page} " counter(page) " {of} " counter(pages);
                   font: 8pt "DejaVu Sans", sans-serif; color: #444; }} }}
div + div {{ break-before: page; }}
</style></head><body>{pages}</body></html>"""


def render_pdf_parts(
    template_name: str,
    contexts: Iterable[dict],
    *,
    title: str,
    language: str,
    page_label: str,
    of_label: str,
) -> bytes:
    """Render a long document part by part and join the parts into one sealed, tagged PDF/A.

    WeasyPrint keeps the layout of every page of a document in memory until it has written the file: about
    2.5 MB per report page, so the annual report of 400 partners needed 1.5 GB in one piece. Here each part
    (a context for `template_name`; later parts get `continued`) is laid out, written tagged to a temporary
    file and dropped before the next, so the memory needed is that of the largest part. Page numbers ("Page X
    of Y") need the total, so the parts are rendered without them (`numbered_later`) and the numbers, set in
    the same place and type as `pdf/base.html` sets them, are laid over each page as artifacts while
    `vielfalt.pdfjoin` joins the parts one at a time into one structure tree (see there: joining them in qpdf
    held every part's structure elements in memory at once)."""
    import tempfile

    import pikepdf

    from .pdfjoin import join_tagged

    with tempfile.TemporaryDirectory(prefix="vielfalt-pdf-") as directory:
        paths = []
        total = 0
        for number, context in enumerate(contexts):
            path = Path(directory) / f"part-{number:04d}.pdf"
            path.write_bytes(
                render_pdf(
                    template_name,
                    {**context, "numbered_later": True, "continued": number > 0},
                    sealed=False,
                )
            )
            with pikepdf.open(path) as part:
                total += len(part.pages)
            paths.append(path)
        numbers_path = Path(directory) / "page-numbers.pdf"
        numbers_path.write_bytes(
            render_pdf_from_html(
                PAGE_NUMBERS_HTML.format(
                    language=language, page=page_label, of=of_label, pages="<div></div>" * total
                ),
                tagged=False,
                sealed=False,
            )
        )
        joined = Path(directory) / "joined.pdf"
        join_tagged(paths, numbers_path, joined, title=title, language=language)
        return seal.seal_pdf(joined.read_bytes())
