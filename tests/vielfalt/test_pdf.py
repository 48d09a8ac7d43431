"""The one PDF renderer: hostile text stays text, and nothing outside the static files is ever fetched."""

import io

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string
from pypdf import PdfReader

from tests.helpers import pdf_text
from vielfalt.pdf import StaticOnlyURLFetcher, house_context, render_pdf_from_html

DOCUMENT = Template(
    '{% extends "pdf/base.html" %}{% block title %}{{ title }}{% endblock %}'
    "{% block content %}<h1>{{ title }}</h1><p>{{ text }}</p>{% endblock %}"
)


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.css"
    path.write_text("body::after { content: 'READ-FROM-DISK'; }")
    return path


def test_user_text_is_rendered_as_text(local_http_server, secret_file):
    hostile = (
        f'<img src="file:///etc/passwd"><link rel="stylesheet" href="{local_http_server}/evil.css">'
        f'<link rel="stylesheet" href="file://{secret_file}">'
    )
    html = DOCUMENT.render(Context({"title": "Vereinbarung mit Duisburg", "text": hostile}))
    pdf = render_pdf_from_html(html)
    text = pdf_text(pdf)
    assert "Vereinbarung mit Duisburg" in text
    assert '<img src="file:///etc/passwd">' in text.replace("\n", "")
    assert local_http_server.requests == []
    assert "root:" not in text


@pytest.mark.allow_error_log  # WeasyPrint logs every refused URL as an error
def test_raw_html_cannot_fetch_files_or_network(local_http_server, secret_file):
    """Even if markup reached the renderer unescaped, the fetcher refuses every URL but static files."""
    html = (
        "<html><head>"
        f'<link rel="stylesheet" href="{local_http_server}/evil.css">'
        f'<link rel="stylesheet" href="file://{secret_file}">'
        '<link rel="stylesheet" href="vielfalt-static:css/pdf.css">'
        "</head><body><p>Inhalt</p>"
        '<img src="file:///etc/passwd" alt="x">'
        f'<img src="{local_http_server}/tracker.png" alt="y">'
        '<img src="data:image/svg+xml;base64,PHN2Zy8+" alt="z">'
        '<iframe src="file:///etc/hostname"></iframe>'
        "</body></html>"
    )
    fetcher = StaticOnlyURLFetcher()
    text = pdf_text(render_pdf_from_html(html, fetcher=fetcher))
    assert "Inhalt" in text
    assert "FETCHED-FROM-NETWORK" not in text
    assert "READ-FROM-DISK" not in text
    assert local_http_server.requests == []
    refused = set(fetcher.refused)
    assert f"{local_http_server}/evil.css" in refused
    assert f"file://{secret_file}" in refused
    assert "file:///etc/passwd" in refused
    assert f"{local_http_server}/tracker.png" in refused
    assert any(url.startswith("data:") for url in refused)


@pytest.mark.allow_error_log
def test_static_paths_cannot_escape_the_static_folders():
    fetcher = StaticOnlyURLFetcher()
    html = '<link rel="stylesheet" href="vielfalt-static:../../../etc/passwd"><p>x</p>'
    render_pdf_from_html(html, fetcher=fetcher)
    assert fetcher.refused == ["vielfalt-static:../../../etc/passwd"]


def test_letters_of_our_users_names_survive(settings):
    names = "Zülfiye Kaykın · Łukasz Wiśniewski · Trần Thị Thủy · Ayşe Öztürk · Groß"
    pdf = render_pdf_from_html(DOCUMENT.render(Context({"title": "Namen", "text": names})))
    assert names in pdf_text(pdf)


def test_a4_with_page_numbers():
    long_text = " ".join(["Interkulturelle Öffnung als Erfolgsfaktor."] * 600)
    pdf = render_pdf_from_html(DOCUMENT.render(Context({"title": "Lang", "text": long_text})))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    assert f"Seite 2 von {len(reader.pages)}" in reader.pages[1].extract_text()


def test_same_content_same_bytes():
    html = DOCUMENT.render(Context({"title": "Gleich", "text": "Gleicher Inhalt"}))
    assert render_pdf_from_html(html, sealed=False) == render_pdf_from_html(html, sealed=False)


HOUSE_DOCUMENT = Template(
    '{% extends "pdf/base.html" %}{% block content %}<div style="height: {{ filler }}mm"></div>'
    "<table><caption>Tabelle ZZZ</caption><thead><tr><th>Kopf YYY</th></tr></thead>"
    "<tbody><tr><td>1</td></tr><tr><td>2</td></tr><tr><td>3</td></tr></tbody></table>{% endblock %}"
)


def test_a_table_caption_never_ends_a_page_without_its_table():
    """Wherever a table falls, its caption goes over to the next page with its header row."""
    for filler in range(200, 216, 2):
        html = HOUSE_DOCUMENT.render(Context({"filler": filler}))
        pages = [
            page.extract_text()
            for page in PdfReader(io.BytesIO(render_pdf_from_html(html, sealed=False))).pages
        ]
        for page in pages:
            assert "ZZZ" not in page or "YYY" in page, (filler, pages)


def test_the_reference_in_the_letterhead_is_never_split():
    reference = "K4RC-CXQQ-KW5E-TB-2026-DUISBURG"
    html = render_to_string("pdf/base.html", house_context({"reference": reference}))
    lines = pdf_text(render_pdf_from_html(html, sealed=False)).splitlines()
    assert any(reference in line for line in lines), lines
