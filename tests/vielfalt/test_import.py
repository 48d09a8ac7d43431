"""Employee import: German Excel CSV, Windows-1252, commas, XLSX; all or nothing; re-import updates."""

import datetime
import io

import openpyxl
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from tests.factories import OrganisationFactory, OrgUnitFactory, hr_user
from vielfalt.models import AuditEntry, Employee, TargetGroup
from vielfalt.permissions import SYSTEM
from vielfalt.privacy import employees_due
from vielfalt.services import employees_import_file
from vielfalt.tabular import TableRefused

pytestmark = pytest.mark.django_db

SAMPLE = settings.BASE_DIR / "vielfalt" / "fixtures" / "employees-duisburg.csv"
SAMPLE_UNITS = [
    "Amt für Personal und Organisation",
    "Ausländerbehörde",
    "Bürgerservice Hamborn",
    "Feuerwehr",
    "Jugendamt",
    "Ordnungsamt",
    "Stadtbibliothek",
]
HEADER = "Personalnummer;Nachname;Vorname;E-Mail;Organisationseinheit;Zielgruppe\r\n"


@pytest.fixture
def duisburg():
    organisation = OrganisationFactory(slug="duisburg", name="Stadt Duisburg")
    for name in SAMPLE_UNITS:
        OrgUnitFactory(organisation=organisation, name=name)
    return organisation


def test_sample_imports_with_every_letter_intact(duisburg):
    result = employees_import_file(actor=SYSTEM, organisation=duisburg, data=SAMPLE.read_bytes())
    assert (result.created, result.updated) == (120, 0)
    assert Employee.objects.filter(organisation=duisburg).count() == 120
    yilmaz = Employee.objects.get(organisation=duisburg, personnel_number="DU-10002")
    assert (yilmaz.last_name, yilmaz.first_name) == ("Yılmaz", "Zülfiye")
    assert yilmaz.org_unit.name == "Feuerwehr"
    assert yilmaz.target_group == TargetGroup.MANAGER
    assert Employee.objects.get(personnel_number="DU-10005").first_name == "Łukasz"
    assert Employee.objects.get(personnel_number="DU-10019").last_name == "Trần"
    assert Employee.objects.get(personnel_number="DU-10010").target_group == TargetGroup.PUBLIC_FACING
    assert Employee.objects.get(personnel_number="DU-10003").target_group == TargetGroup.TRAINEE
    entry = AuditEntry.objects.get(action=AuditEntry.Action.IMPORT)
    assert entry.changes == {"created": 120, "updated": 0, "unchanged": 0}


def test_windows_1252_input(duisburg):
    text = HEADER + "DU-1;Schäfer;Jürgen;j.schaefer@duisburg.example;Ausländerbehörde;Führungskraft\r\n"
    employees_import_file(actor=SYSTEM, organisation=duisburg, data=text.encode("cp1252"))
    employee = Employee.objects.get(personnel_number="DU-1")
    assert (employee.last_name, employee.first_name, employee.org_unit.name) == (
        "Schäfer",
        "Jürgen",
        "Ausländerbehörde",
    )


@pytest.mark.parametrize(
    "data",
    [
        # Excel's "CSV UTF-8" (with its BOM), one letter broken in the second data line.
        (HEADER + "DU-1;Schäfer;Jürgen;;Feuerwehr;Führungskraft\r\nDU-2;Gü").encode("utf-8-sig")
        + b"\xed\xa0\x80"
        + "l;Ayşe;;Jugendamt;Auszubildende\r\n".encode(),
        # UTF-8 without a BOM, cut off inside its last "ü" (read as Windows-1252, "Schäfer" became "SchÃ¤fer").
        (HEADER + "DU-1;Schäfer;Jürgen;;Feuerwehr;Führungskraft\r\nDU-2;Gü").encode() + "lü".encode()[:-1],
    ],
    ids=["bom", "cut-off"],
)
def test_a_utf8_file_with_a_broken_letter_is_refused_where_it_breaks(client, duisburg, data):
    with pytest.raises(TableRefused) as refused:
        employees_import_file(actor=SYSTEM, organisation=duisburg, data=data)
    assert [(p.line, p.column) for p in refused.value.problems] == [(3, "Nachname")]
    assert "nicht gültiges UTF-8" in refused.value.problems[0].message
    client.force_login(hr_user(duisburg))
    upload = SimpleUploadedFile("beschaeftigte.csv", data, content_type="text/csv")
    response = client.post(reverse("employee_import"), {"organisation": duisburg.pk, "file": upload})
    assert response.status_code == 422 and "nicht gültiges UTF-8" in response.text
    assert [(p.line, p.column) for p in response.context["problems"]] == [(3, "Nachname")]
    assert Employee.objects.count() == 0


def test_a_byte_that_windows_1252_does_not_define_is_refused_not_replaced(duisburg):
    data = (HEADER + "DU-1;Schäfer;Jürgen;;Feuerwehr;Führungskraft\r\n").encode("cp1252")
    data += b"DU-2;M\x81ller;Kai;;Jugendamt;Auszubildende\r\nDU-3;Ok;Kai;;Jugendamt;Auszubildende\r\n"
    with pytest.raises(TableRefused) as refused:
        employees_import_file(actor=SYSTEM, organisation=duisburg, data=data)
    assert [(p.line, p.column) for p in refused.value.problems] == [(3, "Nachname")]
    assert "weder UTF-8 noch Windows-1252" in refused.value.problems[0].message
    assert Employee.objects.count() == 0


def test_comma_separated_utf8_with_english_headers(duisburg):
    text = "personnel_number,last_name,first_name,email,org_unit,target_group\nDU-2,Öztürk,Ayşe,,Jugendamt,trainee\n"
    employees_import_file(actor=SYSTEM, organisation=duisburg, data=text.encode())
    employee = Employee.objects.get(personnel_number="DU-2")
    assert (employee.last_name, employee.first_name, employee.email, employee.target_group) == (
        "Öztürk",
        "Ayşe",
        "",
        TargetGroup.TRAINEE,
    )


def test_xlsx_input(duisburg):
    workbook = openpyxl.Workbook()
    workbook.active.append(["Personalnummer", "Nachname", "Vorname", "E-Mail", "Organisationseinheit"])
    workbook.active.append([10001, "Nguyễn", "Thị Lan", "lan@duisburg.example", "Stadtbibliothek"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    employees_import_file(actor=SYSTEM, organisation=duisburg, data=buffer.getvalue())
    employee = Employee.objects.get(organisation=duisburg)
    assert (employee.personnel_number, employee.last_name, employee.first_name) == (
        "10001",
        "Nguyễn",
        "Thị Lan",
    )


def test_a_cell_written_on_several_lines_is_one_name_or_unit(duisburg):
    """Alt+Enter in Excel breaks a cell's text onto a second line: the unit was not found ("Amt für Personal und
    Organisation" written over two lines), a name was stored with the line break."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["Personalnummer", "Nachname", "Vorname", "E-Mail", "Organisationseinheit"])
    workbook.active.append(["DU-7", "Schmidt", "Anna\nMaria", "", "Amt für Personal\nund Organisation"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    employees_import_file(actor=SYSTEM, organisation=duisburg, data=buffer.getvalue())
    employee = Employee.objects.get(personnel_number="DU-7")
    assert (employee.first_name, employee.org_unit.name) == (
        "Anna Maria",
        "Amt für Personal und Organisation",
    )


def test_reimport_updates_by_personnel_number(duisburg):
    employees_import_file(actor=SYSTEM, organisation=duisburg, data=SAMPLE.read_bytes())
    text = HEADER + "DU-10001;Nowak-Demir;Fatma;fatma.nowak@duisburg.example;Jugendamt;Publikumsverkehr\r\n"
    text += "DU-99999;Neu;Nina;;Feuerwehr;Auszubildende\r\n"
    result = employees_import_file(actor=SYSTEM, organisation=duisburg, data=text.encode("utf-8-sig"))
    assert (result.created, result.updated) == (1, 1)
    assert Employee.objects.filter(organisation=duisburg).count() == 121
    fatma = Employee.objects.get(personnel_number="DU-10001")
    assert (fatma.last_name, fatma.org_unit.name, fatma.target_group) == (
        "Nowak-Demir",
        "Jugendamt",
        TargetGroup.PUBLIC_FACING,
    )


def test_a_record_the_file_repeats_unchanged_is_not_written(duisburg, settings):
    """A leaver's record is pseudonymised once it has been inactive and unchanged for the retention period. Every
    import rewrote every record of the file, so a yearly export that repeats the leaver as "nein" made it
    "changed" again each year: its period never ended, and the person's name stayed for good."""
    text = HEADER.replace("\r\n", ";Aktiv\r\n")
    text += "DU-1;Schäfer;Jürgen;j.schaefer@duisburg.example;Ausländerbehörde;Führungskraft;nein\r\n"
    text += "DU-2;Yılmaz;Zülfiye;;Feuerwehr;Auszubildende;ja\r\n"
    employees_import_file(actor=SYSTEM, organisation=duisburg, data=text.encode("utf-8"))
    long_ago = timezone.now() - datetime.timedelta(days=settings.RETENTION_PERIODS["employee"] + 1)
    Employee.objects.update(updated_at=long_ago)

    again = text + "DU-3;Neu;Nina;;Feuerwehr;Auszubildende;ja\r\n"
    again = again.replace("Zülfiye;;Feuerwehr", "Zülfiye;;Jugendamt")
    result = employees_import_file(actor=SYSTEM, organisation=duisburg, data=again.encode("utf-8"))
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    assert (
        result.summary()
        == "Import abgeschlossen: 1 beschäftigte Person neu angelegt, 1 aktualisiert, 1 unverändert."
    )
    stamps = dict(Employee.objects.values_list("personnel_number", "updated_at"))
    assert stamps["DU-1"] == long_ago  # the leaver's retention period runs on
    assert stamps["DU-2"] > long_ago and stamps["DU-3"] > long_ago
    assert [e.personnel_number for e in employees_due(now=timezone.now())] == ["DU-1"]
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT).order_by("pk").last()
    assert entry.changes == {"created": 1, "updated": 1, "unchanged": 1}


def test_faulty_file_is_refused_whole_with_line_and_column(duisburg):
    text = (
        HEADER
        + "DU-1;Gut;Gerda;gerda@duisburg.example;Feuerwehr;Führungskraft\r\n"  # line 2: fine
        + ";Ohne;Nummer;;Feuerwehr;Auszubildende\r\n"  # line 3
        + "DU-1;Doppelt;Dora;;Feuerwehr;Auszubildende\r\n"  # line 4
        + "DU-3;;Namenlos;;Feuerwehr;Auszubildende\r\n"  # line 5
        + "DU-4;Kaputt;Karl;kein-mail;Feuerwehr;Auszubildende\r\n"  # line 6
        + "DU-5;Fremd;Frieda;;Finanzamt;Auszubildende\r\n"  # line 7
        + "DU-6;Falsch;Fritz;;Feuerwehr;Praktikant\r\n"  # line 8
    )
    with pytest.raises(TableRefused) as refused:
        employees_import_file(actor=SYSTEM, organisation=duisburg, data=text.encode("utf-8-sig"))
    problems = [(p.line, p.column) for p in refused.value.problems]
    assert problems == [
        (3, "Personalnummer"),
        (4, "Personalnummer"),
        (5, "Nachname"),
        (6, "E-Mail"),
        (7, "Organisationseinheit"),
        (8, "Zielgruppe"),
    ]
    assert Employee.objects.count() == 0
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT).exists()
    messages = [str(p) for p in refused.value.problems]
    assert messages[1] == (
        "Zeile 4, Spalte „Personalnummer“: Die Personalnummer DU-1 kommt doppelt vor (zuerst in Zeile 2)."
    )


def test_missing_columns_are_named(duisburg):
    with pytest.raises(TableRefused) as refused:
        employees_import_file(actor=SYSTEM, organisation=duisburg, data=b"Name;E-Mail\nX;x@example.org\n")
    assert [(p.line, p.column) for p in refused.value.problems] == [(1, "Personalnummer"), (1, "Vorname")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Die Datei ist leer."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "alten Excel-Format (.xls)"),
        (b"%PDF-1.7\n\x00\x00\x00binary", "weder eine CSV- noch eine XLSX-Datei"),
        (b"PK\x03\x04not really a zip", "XLSX-Datei kann nicht gelesen werden"),
    ],
)
def test_files_of_the_wrong_type_are_refused(duisburg, data, message):
    with pytest.raises(TableRefused) as refused:
        employees_import_file(actor=SYSTEM, organisation=duisburg, data=data)
    assert message in str(refused.value.problems[0])


def test_command_imports_and_reports(duisburg, capsys):
    call_command("import_employees", "--organisation", "duisburg", str(SAMPLE))
    assert "120" in capsys.readouterr().out
    assert Employee.objects.count() == 120


def test_command_exits_non_zero_and_prints_every_problem(duisburg, tmp_path, capsys):
    faulty = tmp_path / "faulty.csv"
    faulty.write_text(HEADER + "DU-1;;Ohne;;Feuerwehr;Auszubildende\r\nDU-2;X;Y;@;Feuerwehr;Azubi\r\n")
    with pytest.raises(CommandError) as error:
        call_command("import_employees", "--organisation", "duisburg", str(faulty))
    assert "2" in str(error.value)
    err = capsys.readouterr().err
    assert "Zeile 2, Spalte „Nachname“" in err
    assert "Zeile 3, Spalte „E-Mail“" in err
    assert Employee.objects.count() == 0


def test_command_exit_code_in_a_real_process(duisburg, tmp_path, django_db_blocker):
    """The command's exit status, as a shell script sees it."""
    import subprocess
    import sys

    faulty = tmp_path / "faulty.csv"
    faulty.write_text(HEADER + "DU-1;;Ohne;;Feuerwehr;Auszubildende\r\n")
    result = subprocess.run(
        [sys.executable, "manage.py", "import_employees", "--organisation", "no-such-org", str(faulty)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0


def test_browser_upload_shows_every_problem_and_saves_nothing(client, duisburg):
    client.force_login(hr_user(duisburg))
    faulty = HEADER + "DU-1;Gut;Gerda;;Feuerwehr;Führungskraft\r\nDU-2;;Ohne;;Feuerwehr;Auszubildende\r\n"
    upload = SimpleUploadedFile("beschaeftigte.csv", faulty.encode("utf-8-sig"), content_type="text/csv")
    response = client.post(reverse("employee_import"), {"organisation": duisburg.pk, "file": upload})
    assert response.status_code == 422
    assert [(p.line, p.column) for p in response.context["problems"]] == [(3, "Nachname")]
    assert "Der Nachname fehlt." in response.text
    assert Employee.objects.count() == 0


def test_browser_upload_imports_the_sample(client, duisburg):
    client.force_login(hr_user(duisburg))
    upload = SimpleUploadedFile("employees.csv", SAMPLE.read_bytes(), content_type="text/csv")
    response = client.post(
        reverse("employee_import"), {"organisation": duisburg.pk, "file": upload}, follow=True
    )
    assert response.status_code == 200
    assert Employee.objects.filter(organisation=duisburg).count() == 120
    assert "120" in response.text


def test_browser_upload_size_is_limited(client, duisburg, settings):
    settings.EMPLOYEE_IMPORT_MAX_BYTES = 1000
    client.force_login(hr_user(duisburg))
    upload = SimpleUploadedFile("big.csv", b"x" * 1001, content_type="text/csv")
    response = client.post(reverse("employee_import"), {"organisation": duisburg.pk, "file": upload})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["Die Datei ist größer als 1000\xa0Bytes."]


def test_sample_has_the_layout_we_parse():
    """The fixture copy must stay what German Excel writes: BOM, semicolons, CRLF."""
    data = SAMPLE.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfPersonalnummer;Nachname;Vorname")
    assert b"\r\n" in data
    assert io.BytesIO(data).read().count(b"\r\n") == 121


def test_a_control_character_anywhere_in_the_file_is_refused_at_its_cell(client, duisburg):
    """The NUL test looked at the first 4 KB only: a NUL further down reached PostgreSQL (a 500), and any other
    control character went into the names, where it broke every XLSX export after."""
    rows = "".join(f"DU-{n};Name{n};Kai;;Jugendamt;Auszubildende\r\n" for n in range(200))  # past 4 KB
    text = (
        HEADER
        + rows
        + "DU-900;Na\x00me;Kai;;Jugendamt;Auszubildende\r\nDU-901;Ok;K\x1b[31mai;;Jugendamt;\r\n"
    )
    with pytest.raises(TableRefused) as refused:
        employees_import_file(actor=SYSTEM, organisation=duisburg, data=text.encode("utf-8-sig"))
    assert [(p.line, p.column) for p in refused.value.problems] == [(202, "Nachname"), (203, "Vorname")]
    assert "Stelle 3 ein unsichtbares Steuerzeichen" in refused.value.problems[0].message
    client.force_login(hr_user(duisburg))
    upload = SimpleUploadedFile("beschaeftigte.csv", text.encode(), content_type="text/csv")
    response = client.post(reverse("employee_import"), {"organisation": duisburg.pk, "file": upload})
    assert response.status_code == 422 and "U+001B" in response.text
    assert Employee.objects.count() == 0
