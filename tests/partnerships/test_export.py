"""The export ZIP: it opens, its index matches its files, and every SHA-256 in the index is right."""

import csv
import datetime
import hashlib
import io
import zipfile

import pytest
from django.core.management import call_command
from django.utils import timezone

from partnerships.models import Agreement
from partnerships.services import agreements_export_zip
from vielfalt.models import AuditEntry
from vielfalt.permissions import SYSTEM

from .conftest import make_signed
from .factories import AgreementFactory, SignatoryFactory

pytestmark = pytest.mark.django_db


def read_export(path_or_bytes):
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with zipfile.ZipFile(source) as archive:
        assert archive.testzip() is None
        index = archive.read("index.csv").decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(index), delimiter=";"))
        files = {name: archive.read(name) for name in archive.namelist() if name != "index.csv"}
    return rows, files


def test_command_exports_signed_agreements_with_a_matching_index(tmp_path, agreement, oberhausen, ministry):
    make_signed(agreement)
    # Signed, but no signed copy was uploaded: the export renders the final PDF afresh.
    without_scan = AgreementFactory(
        partner=oberhausen, state_party=ministry, signed_on=datetime.date(2014, 5, 1)
    )
    SignatoryFactory(agreement=without_scan, name="Klaus Wehling")
    # Signed after its signatories were added: a signed agreement's signatories no longer change.
    Agreement.objects.filter(pk=without_scan.pk).update(status="signed")
    AgreementFactory(partner=oberhausen, state_party=ministry)  # a draft: not exported
    out = tmp_path / "export.zip"
    call_command("export_agreements", "--status", "signed", "--out", str(out))

    rows, files = read_export(out)
    assert [row["Partner"] for row in rows] == ["Stadt Duisburg", "Stadt Oberhausen"]
    assert sorted(row["Datei"] for row in rows) == sorted(files)
    for row in rows:
        assert hashlib.sha256(files[row["Datei"]]).hexdigest() == row["SHA-256"]
        assert files[row["Datei"]].startswith(b"%PDF-")
    duisburg_row = rows[0]
    assert duisburg_row["Unterzeichnet am"] == "2013-03-07"
    assert "Sören Link (Oberbürgermeister)" in duisburg_row["Unterzeichnende"]
    assert duisburg_row["SHA-256"] == agreement.documents.get(kind="signed").sha256
    assert rows[1]["Datei"] == f"oberhausen-{without_scan.pk}-vereinbarung.pdf"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).count() == 1
    assert not list(tmp_path.glob("*.part"))
    # Every entry is dated like its document (ZIP's default would be 1980-01-01; ZIP counts in 2 seconds).
    with zipfile.ZipFile(out) as archive:
        dates = {entry.filename: entry.date_time for entry in archive.infolist()}
    signed_copy = agreement.documents.get(kind="signed")
    assert dates[duisburg_row["Datei"]][:5] == timezone.localtime(signed_copy.created_at).timetuple()[:5]
    without_scan.refresh_from_db()
    assert dates[rows[1]["Datei"]][:5] == timezone.localtime(without_scan.updated_at).timetuple()[:5]


def test_export_writes_to_a_file_as_it_goes(tmp_path, agreement):
    make_signed(agreement)
    with (tmp_path / "x.zip").open("wb") as out:
        count = agreements_export_zip(
            actor=SYSTEM, agreements=Agreement.objects.filter(status="signed"), out=out
        )
    assert count == 1
    rows, files = read_export((tmp_path / "x.zip").read_bytes())
    assert len(rows) == len(files) == 1


def test_empty_export_still_has_an_index(tmp_path):
    out = tmp_path / "empty.zip"
    call_command("export_agreements", "--out", str(out))
    rows, files = read_export(out)
    assert (rows, files) == ([], {})


def test_the_index_neutralises_what_a_spreadsheet_would_run_as_a_formula(tmp_path, agreement):
    """index.csv is opened in Excel (`;`, BOM): a title or a signatory's name typed as a formula must stay text, as
    in every other export of the portal (vielfalt.tabular.neutralise)."""
    Agreement.objects.filter(pk=agreement.pk).update(title='=HYPERLINK("https://evil.example";"Klick")')
    agreement.signatories.filter(name="Sören Link").update(name="@SUM(1+1)")
    make_signed(agreement)
    with (tmp_path / "x.zip").open("wb") as out:
        agreements_export_zip(actor=SYSTEM, agreements=Agreement.objects.filter(status="signed"), out=out)
    (row,), _files = read_export((tmp_path / "x.zip").read_bytes())
    assert row["Titel"] == '\'=HYPERLINK("https://evil.example";"Klick")'
    assert row["Unterzeichnende"].startswith("'@SUM(1+1) (Oberbürgermeister)")
