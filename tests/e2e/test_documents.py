"""Chromium, logged out: "Dokument prüfen" tells a sealed PDF of the portal from one changed after sealing;
axe-core finds nothing on the page before and after a check.

Screenshots land in test-artifacts/screenshots/documents-*.png (git-ignored)."""

import pytest
from django.conf import settings
from django.template import Context, Template

from tests.conftest import axe_violations, screenshot
from vielfalt.pdf import render_pdf_from_html

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = settings.BASE_DIR / "test-artifacts" / "screenshots"


def check(page, name: str) -> None:
    screenshot(page, SCREENSHOTS / f"documents-{name}.png")
    assert axe_violations(page) == [], name


def test_check_a_sealed_and_a_changed_document(live_server, page, tmp_path):
    html = Template(
        '{% extends "pdf/base.html" %}{% block title %}Bescheinigung{% endblock %}'
        "{% block content %}<h1>Bescheinigung</h1><p>Inhalt</p>{% endblock %}"
    ).render(Context({}))
    sealed = render_pdf_from_html(html)
    (tmp_path / "bescheinigung.pdf").write_bytes(sealed)
    changed = bytearray(sealed)
    changed[len(changed) // 2] ^= 1
    (tmp_path / "geaendert.pdf").write_bytes(bytes(changed))

    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Dokument prüfen").click()
    page.wait_for_url(f"{live_server.url}/documents/check/")
    check(page, "form")

    page.get_by_label("PDF-Dokument").set_input_files(str(tmp_path / "bescheinigung.pdf"))
    page.get_by_role("button", name="Prüfen").click()
    result = page.locator("#check-result")
    assert result.get_attribute("data-state") == "valid"
    assert "vom Portal ausgestellt und ist seitdem unverändert" in result.inner_text()
    check(page, "valid")

    page.get_by_label("PDF-Dokument").set_input_files(str(tmp_path / "geaendert.pdf"))
    page.get_by_role("button", name="Prüfen").click()
    result = page.locator("#check-result")
    assert result.get_attribute("data-state") != "valid"
    assert "nicht" in result.inner_text()
    check(page, "changed")
