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

import io
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
) -> bytes:
    """Render a template from ``templates/pdf/`` to a sealed PDF/A (A4, page numbers, letterhead and fonts for
    German, Turkish, Polish and Vietnamese come from the base layout ``pdf/base.html``). Tagged (structure
    for screen readers) unless `tagged` is False; `sealed=False` gives the PDF/A before the seal (the same
    content gives the same bytes then)."""
    html = render_to_string(template_name, house_context(context))
    return render_pdf_from_html(html, fetcher=fetcher, tagged=tagged, sealed=sealed)


def render_pdf_from_html(
    html: str, *, fetcher: StaticOnlyURLFetcher | None = None, tagged: bool = True, sealed: bool = True
) -> bytes:
    fetcher = fetcher or StaticOnlyURLFetcher()
    document = HTML(string=html, base_url=STATIC_SCHEME, url_fetcher=fetcher)
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
    tagged: bool = True,
) -> bytes:
    """Render a long document part by part and join the parts into one sealed, tagged PDF/A.

    WeasyPrint keeps the layout of every page of a document in memory until it has written the file: about
    2.5 MB per report page, so the annual report of 400 partners needed 1.5 GB in one piece. Here each part
    (a context for `template_name`; later parts get `continued`) is laid out, written to a temporary file and
    dropped before the next, so the memory needed is that of the largest part. pikepdf (qpdf) joins the files
    without loading them into Python objects. Page numbers ("Page X of Y") need the total, so the parts are
    rendered without them (`numbered_later`) and the numbers are laid over each page afterwards as artifacts,
    set in the same place and type as `pdf/base.html` sets them. The parts' outlines (headings) are carried
    over, and so are their structure trees: the elements of every part become children of one Document
    element, with the marked-content keys of later parts moved past those of earlier ones, so the joined file
    is one tagged document. Its PDF/A metadata is the first part's. qpdf holds every structure element in
    memory while it joins; with `tagged=False` the parts are rendered and joined without structure (PDF/A-3b
    needs none), for documents too long for that."""
    import tempfile

    import pikepdf

    with tempfile.TemporaryDirectory(prefix="vielfalt-pdf-") as directory:
        output = pikepdf.new()
        sources = []  # qpdf copies page content lazily: the parts stay open until the output is saved
        outline: list[tuple[str, int, list]] = []
        structure = _JoinedStructure(output)
        for number, context in enumerate(contexts):
            path = Path(directory) / f"part-{number:04d}.pdf"
            part = render_pdf(
                template_name,
                {**context, "numbered_later": True, "continued": number > 0},
                tagged=tagged,
                sealed=False,
            )
            path.write_bytes(part)
            del part
            source = pikepdf.open(path)
            sources.append(source)
            if number == 0:
                _take_catalog(output, source)
            entries = _outline_of(source, len(output.pages))
            if number and outline:
                outline[0][2].extend(entries)  # a later part continues under the document's title
            else:
                outline += entries
            first_page = len(output.pages)
            output.pages.extend(source.pages)
            structure.add(source, output.pages[first_page:])
        structure.finish()
        total = len(output.pages)
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
        numbers = pikepdf.open(numbers_path)
        sources.append(numbers)
        if len(numbers.pages) != total:
            raise RuntimeError(f"page numbering made {len(numbers.pages)} pages for {total}")
        for page, overlay in zip(output.pages, numbers.pages, strict=True):
            _stamp_artifact(output, page, overlay)
        with output.open_outline() as root:
            root.root.extend(_outline_items(outline))
        output.docinfo["/Title"] = title
        output.Root.Lang = pikepdf.String(language)
        _set_xmp_title(output, title)
        buffer = io.BytesIO()
        output.save(buffer, deterministic_id=True, min_version="1.7")
        for source in sources:
            source.close()
    return seal.seal_pdf(buffer.getvalue())


def _take_catalog(output, source) -> None:
    """The archive's and reader's entries of the document catalog and info (PDF/A output intent, XMP
    metadata, marked as tagged, show the title) come from the first part."""
    for key in ("/OutputIntents", "/Metadata", "/MarkInfo", "/ViewerPreferences"):
        if key in source.Root:
            value = source.Root[key]
            output.Root[key] = (
                output.copy_foreign(value)
                if value.is_indirect
                else output.copy_foreign(source.make_indirect(value))
            )
    for key, value in source.docinfo.items():
        output.docinfo[key] = value


def _set_xmp_title(output, title: str) -> None:
    import re
    from xml.sax.saxutils import escape

    if "/Metadata" not in output.Root:
        return
    xmp = output.Root.Metadata.read_bytes()
    xmp = re.sub(
        rb'(<rdf:li xml:lang="x-default">).*?(</rdf:li></rdf:Alt></dc:title>)',
        lambda match: match.group(1) + escape(title).encode() + match.group(2),
        xmp,
        count=1,
        flags=re.S,
    )
    output.Root.Metadata.write(xmp)


def _stamp_artifact(output, page, overlay) -> None:
    """Lay `overlay` (a page of the same size) over `page` as an artifact: in a tagged PDF, content outside
    the structure tree (here: page numbers) must say that it is not part of the text."""
    import pikepdf

    form = output.copy_foreign(overlay.as_form_xobject())
    name = page.add_resource(form, pikepdf.Name.XObject, prefix="Num")
    # WeasyPrint's page content leaves its coordinate transformation in force: fence it in q … Q first.
    page.contents_add(pikepdf.Stream(output, b"q\n"), prepend=True)
    stamp = b"\nQ\n/Artifact BMC q " + bytes(name) + b" Do Q EMC\n"
    page.contents_add(pikepdf.Stream(output, stamp), prepend=False)


class _JoinedStructure:
    """Joins the structure trees of the parts (see render_pdf_parts)."""

    def __init__(self, output):
        import pikepdf

        self.output = output
        self.document = output.make_indirect(
            pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Document, K=pikepdf.Array())
        )
        self.nums = pikepdf.Array()
        self.next_key = 0

    def add(self, source, pages) -> None:
        import pikepdf

        if "/StructTreeRoot" not in source.Root:
            return
        # Copied from the same source as its pages, so /Pg references point at the pages already copied.
        root = self.output.copy_foreign(source.Root.StructTreeRoot)
        offset = self.next_key
        for page in pages:
            if "/StructParents" in page.obj:
                page.obj.StructParents = int(page.obj.StructParents) + offset
            for annotation in page.obj.get("/Annots", []):
                if "/StructParent" in annotation:
                    annotation.StructParent = int(annotation.StructParent) + offset
        nums = root.ParentTree.Nums
        for index in range(0, len(nums), 2):
            key = int(nums[index]) + offset
            self.nums.extend([key, nums[index + 1]])
            self.next_key = max(self.next_key, key + 1)
        kids = root.K if isinstance(root.K, pikepdf.Array) else pikepdf.Array([root.K])
        for kid in kids:
            # A part's own Document element gives its children to the joined one.
            children = kid.K if kid.get("/S") == pikepdf.Name.Document else [kid]
            if not isinstance(children, pikepdf.Array) or any(
                not isinstance(child, pikepdf.Dictionary) for child in children
            ):
                children = [kid]
            for child in children:
                child.P = self.document
                self.document.K.append(child)

    def finish(self) -> None:
        import pikepdf

        if not len(self.document.K):
            return
        self.output.Root.StructTreeRoot = self.output.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.StructTreeRoot,
                K=pikepdf.Array([self.document]),
                ParentTree=self.output.make_indirect(pikepdf.Dictionary(Nums=self.nums)),
                ParentTreeNextKey=self.next_key,
            )
        )
        self.document.P = self.output.Root.StructTreeRoot


def _outline_of(source, offset: int) -> list[tuple[str, int, list]]:
    """(title, page index in the joined document, children) of a part's outline."""

    def walk(items):
        entries = []
        for item in items:
            destination = item.destination
            index = None
            if isinstance(destination, pikepdf.Array) and len(destination):
                index = source.pages.index(pikepdf.Page(destination[0]))
            entries.append((str(item.title), offset + (index or 0), walk(item.children)))
        return entries

    import pikepdf

    with source.open_outline() as outline:
        return walk(outline.root)


def _outline_items(entries):
    from pikepdf import OutlineItem

    items = []
    for title, index, children in entries:
        item = OutlineItem(title, index)
        item.children.extend(_outline_items(children))
        items.append(item)
    return items
