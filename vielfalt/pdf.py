"""The one PDF renderer of the portal (agreements, certificates, letters, reports).

WeasyPrint gets an URL fetcher that serves only the project's own static files, addressed as
``vielfalt-static:<path>`` (the ``{% pdf_static %}`` template tag writes them). Every other URL, ``file:``,
``http(s):``, ``data:`` or anything else, is refused, so text typed by a user can never make the renderer
read a local file or reach the network. User text is escaped by the template engine in the first place.
"""

import logging
import mimetypes
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


def render_pdf(template_name: str, context: dict, *, fetcher: StaticOnlyURLFetcher | None = None) -> bytes:
    """Render a template from ``templates/pdf/`` to PDF bytes (A4, page numbers, fonts for German,
    Turkish, Polish and Vietnamese come from the base layout ``pdf/base.html``)."""
    html = render_to_string(template_name, context)
    return render_pdf_from_html(html, fetcher=fetcher)


def render_pdf_from_html(html: str, *, fetcher: StaticOnlyURLFetcher | None = None) -> bytes:
    fetcher = fetcher or StaticOnlyURLFetcher()
    document = HTML(string=html, base_url=STATIC_SCHEME, url_fetcher=fetcher)
    # A fixed creation date keeps the same content the same file (idempotent jobs, stable SHA-256).
    pdf = document.write_pdf(pdf_identifier=b"vielfalt", pdf_tags=True)
    if fetcher.refused:
        logger.info("PDF renderer refused %d URL(s)", len(fetcher.refused))
    return pdf
