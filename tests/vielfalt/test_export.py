import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from tests.factories import EmployeeFactory, OrganisationFactory, hr_user
from vielfalt.models import AuditEntry
from vielfalt.tabular import neutralise

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://evil.example")', "+1+2", "-2+3", "@SUM(A1)", "\t=1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_neutralise_prefixes_formulas(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["Müller", "DU-1", "a=b", "", None, 42])
def test_neutralise_leaves_plain_values(value):
    assert neutralise(value) == ("" if value is None else str(value))


@pytest.fixture
def hr_client(client):
    city = OrganisationFactory(slug="duisburg")
    for index, name in enumerate(HOSTILE):
        EmployeeFactory(organisation=city, personnel_number=f"DU-{index}", last_name=name, first_name="Çağla")
    client.force_login(hr_user(city))
    return client


def test_csv_export_is_excel_friendly_and_neutralised(hr_client):
    response = hr_client.get(reverse("employee_export", args=["csv"]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeffPersonalnummer;Nachname;Vorname")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert sorted(row[1] for row in rows[1:]) == sorted("'" + v for v in HOSTILE)
    assert {row[2] for row in rows[1:]} == {"Çağla"}
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert entry.object_repr == "Beschäftigte (CSV)"


def test_xlsx_export_is_neutralised(hr_client):
    response = hr_client.get(reverse("employee_export", args=["xlsx"]))
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = workbook.active
    values = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(values) == sorted("'" + v for v in HOSTILE)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_export_respects_filters(hr_client):
    response = hr_client.get(reverse("employee_export", args=["csv"]) + "?q=DU-1")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.count("\r\n") == 2  # header and DU-1


@pytest.mark.parametrize(
    "query, status",
    [
        ("q=%00", 400),
        ("q=a%00b", 400),
        ("org_unit=%00", 400),
        ("target_group=nobody", 302),
        ("is_active=maybe", 302),
    ],
)
@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_export_with_a_filter_the_list_cannot_read_exports_nothing(hr_client, query, status, export_format):
    """A NUL character in the search was a server error (PostgreSQL refuses it in the audit entry's JSON); a
    filter django-filter cannot read was left out, so that the file held everybody. Now nothing is exported: a NUL,
    which nothing typed makes, is a bad request (vielfalt.middleware.NulInAddressMiddleware), and for another
    filter the list, with the same query, says what is wrong."""
    response = hr_client.get(reverse("employee_export", args=[export_format]) + "?" + query)
    assert response.status_code == status
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()
    if status == 400:
        assert "Die Anfrage konnte nicht verarbeitet werden" in response.text
        return
    assert response.url == reverse("employee_list") + "?" + query
    page = hr_client.get(response.url)
    assert "Es wurde nichts exportiert" in page.content.decode()
    assert page.context["filter"].errors


def test_export_audits_only_the_list_filters(hr_client):
    response = hr_client.get(reverse("employee_export", args=["csv"]) + "?q=DU-1&utm_source=%3Cx%3E&page=3")
    b"".join(response.streaming_content)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert entry.changes == {"filters": {"q": "DU-1"}}


def test_a_name_saved_with_a_control_character_does_not_break_the_xlsx_export(client):
    """Forms and imports refuse control characters now (tests/vielfalt/test_validation.py, test_import.py); a name
    saved before still holds one, and openpyxl refused to write it: the whole export was a 500."""
    city = OrganisationFactory()
    EmployeeFactory(
        organisation=city, personnel_number="DU-1", last_name="Bel\x07l", first_name="Esc\x1b[31m"
    )
    client.force_login(hr_user(city))
    response = client.get(reverse("employee_export", args=["xlsx"]))
    assert response.status_code == 200
    row = next(
        openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(min_row=2, values_only=True)
    )
    assert row[:3] == ("DU-1", "Bel\ufffdl", "Esc\ufffd[31m")
