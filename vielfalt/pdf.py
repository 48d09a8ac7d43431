"""The one PDF renderer of the portal (agreements, certificates, letters, reports).

WeasyPrint gets an URL fetcher that serves only the project's own static files, addressed as
``vielfalt-static:<path>`` (the ``{% pdf_static %}`` template tag writes them). Every other URL, ``file:``,
``http(s):``, ``data:`` or anything else, is refused, so text typed by a user can never make the renderer
read a local file or reach the network. User text is escaped by the template engine in the first place.
"""

import io
import logging
import mimetypes
from collections.abc import Iterable
from pathlib import Path

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse, URLFetchingError

logger = logging.getLogger(__name__)

STATIC_SCHEME = "vielfalt-static:"


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


def render_pdf(
    template_name: str, context: dict, *, fetcher: StaticOnlyURLFetcher | None = None, tagged: bool = True
) -> bytes:
    """Render a template from ``templates/pdf/`` to PDF bytes (A4, page numbers, fonts for German,
    Turkish, Polish and Vietnamese come from the base layout ``pdf/base.html``). Tagged (structure for
    screen readers) unless `tagged` is False."""
    html = render_to_string(template_name, context)
    return render_pdf_from_html(html, fetcher=fetcher, tagged=tagged)


def render_pdf_from_html(
    html: str, *, fetcher: StaticOnlyURLFetcher | None = None, tagged: bool = True
) -> bytes:
    fetcher = fetcher or StaticOnlyURLFetcher()
    document = HTML(string=html, base_url=STATIC_SCHEME, url_fetcher=fetcher)
    # A fixed creation date keeps the same content the same file (idempotent jobs, stable SHA-256).
    pdf = document.write_pdf(pdf_identifier=b"vielfalt", pdf_tags=tagged)
    if fetcher.refused:
        logger.info("PDF renderer refused %d URL(s)", len(fetcher.refused))
    return pdf


# --- Long documents ----------------------------------------------------------------------------------------

PAGE_NUMBERS_HTML = """<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 25mm 20mm 25mm 25mm;
  @bottom-right {{ content: "{page} " counter(page) " {of} " counter(pages);
                   font: 8pt "DejaVu Sans", sans-serif; color: #444; }} }}
div + div {{ break-before: page; }}
</style></head><body>{pages}</body></html>"""


def render_pdf_parts(
    template_name: str, contexts: Iterable[dict], *, title: str, language: str, page_label: str, of_label: str
) -> bytes:
    """Render a long document part by part and join the parts into one PDF.

    WeasyPrint keeps the layout of every page of a document in memory until it has written the file: about
    2.5 MB per report page, so the annual report of 400 partners needed 1.5 GB in one piece. Here each part
    (a context for `template_name`; later parts get `continued`) is laid out, written to a temporary file and
    dropped before the next, so the memory needed is that of the largest part. pikepdf (qpdf) joins the files
    without loading them into Python objects. Page numbers ("Page X of Y") need the total, so the parts are
    rendered without them (`numbered_later`) and the numbers are laid over each page afterwards, set in the
    same place and type as `pdf/base.html` sets them. The parts' outlines (headings) are carried over.

    The joined file is not a tagged PDF: no PDF library merges the structure trees of several documents
    (documents rendered in one piece by `render_pdf` stay tagged)."""
    import tempfile

    import pikepdf

    with tempfile.TemporaryDirectory(prefix="vielfalt-pdf-") as directory:
        output = pikepdf.new()
        sources = []  # qpdf copies page content lazily: the parts stay open until the output is saved
        outline: list[tuple[str, int, list]] = []
        for number, context in enumerate(contexts):
            path = Path(directory) / f"part-{number:04d}.pdf"
            # Untagged: the structure would be lost in joining anyway, and it makes up most of a part's objects.
            part = render_pdf(
                template_name, {**context, "numbered_later": True, "continued": number > 0}, tagged=False
            )
            path.write_bytes(part)
            del part
            source = pikepdf.open(path)
            sources.append(source)
            entries = _outline_of(source, len(output.pages))
            if number and outline:
                outline[0][2].extend(entries)  # a later part continues under the document's title
            else:
                outline += entries
            output.pages.extend(source.pages)
        total = len(output.pages)
        numbers_path = Path(directory) / "page-numbers.pdf"
        numbers_path.write_bytes(
            render_pdf_from_html(
                PAGE_NUMBERS_HTML.format(
                    language=language, page=page_label, of=of_label, pages="<div></div>" * total
                ),
                tagged=False,
            )
        )
        numbers = pikepdf.open(numbers_path)
        sources.append(numbers)
        if len(numbers.pages) != total:
            raise RuntimeError(f"page numbering made {len(numbers.pages)} pages for {total}")
        for page, overlay in zip(output.pages, numbers.pages, strict=True):
            page.add_overlay(overlay)
        with output.open_outline() as root:
            root.root.extend(_outline_items(outline))
        output.docinfo["/Title"] = title
        output.docinfo["/Producer"] = "Vielfalt verbindet (WeasyPrint, qpdf)"
        output.Root.Lang = pikepdf.String(language)
        buffer = io.BytesIO()
        output.save(buffer, deterministic_id=True)
        for source in sources:
            source.close()
        return buffer.getvalue()


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
