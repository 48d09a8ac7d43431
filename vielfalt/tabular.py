"""Reading and writing tables as HR offices exchange them: CSV from German Excel (`;`, UTF-8 with BOM or
Windows-1252), plain `,`/UTF-8 CSV, and XLSX. Reused by every import and export of the portal."""

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from .validation import CONTROL_CHARACTERS, control_character_error

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
NOT_ASCII = re.compile("[^\\x00-\\x7f\ufffd]")  # nor the replacement of a broken byte
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
# How HR exports name the personnel number column (normalised: see `normalise_header`); the employee import
# and the enrolment upload read the same names.
PERSONNEL_NUMBER_COLUMNS = ("personalnummer", "persnr", "personalnr", "personnelnumber")


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    message: str
    # The message without the cell's content where `message` quotes it (an e-mail address, a personnel number):
    # what a record kept beyond the upload says (a job's problems, `kept_message`); line and column find the cell.
    general: str = ""

    @property
    def kept_message(self) -> str:
        return self.general or self.message

    def __str__(self):
        if self.column:
            return _("Line %(line)s, column “%(column)s”: %(message)s") % {
                "line": self.line,
                "column": self.column,
                "message": self.message,
            }
        return _("Line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


class TableRefused(Exception):
    """The file cannot be taken; `problems` says every reason, with line and column."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number in the file, cells)


def normalise_header(name: str) -> str:
    """'E-Mail' → 'email', 'Organisations-Einheit' → 'organisationseinheit'."""
    name = unicodedata.normalize("NFC", name).casefold()
    return "".join(ch for ch in name if ch.isalnum())


def listed_twice(first_line_of: dict[str, int], number: str, line: int) -> str | None:
    """None the first time a file lists `number` (its line is remembered in `first_line_of`); the refusal when
    the number comes again."""
    if number in first_line_of:
        return _("The personnel number %(number)s appears twice (first in line %(line)s).") % {
            "number": number,
            "line": first_line_of[number],
        }
    first_line_of[number] = line
    return None


def _too_many_rows() -> TableRefused:
    return TableRefused(
        [
            Problem(
                1,
                "",
                _("The file has more than %(limit)s rows. Please split it into several files.")
                % {"limit": number_format(settings.IMPORT_MAX_ROWS, force_grouping=True)},
            )
        ]
    )


def read_table(data: bytes) -> Table:
    """Parse CSV or XLSX bytes, recognised by their content, not their file name.

    The work is bounded whatever the file: rows are read one at a time and reading stops after
    IMPORT_MAX_ROWS data rows; an XLSX (a zip archive) is refused before anything is unpacked when its members
    would expand to more than IMPORT_MAX_UNPACKED_BYTES (a zip bomb of 1 MB can hold millions of rows)."""
    if not data.strip():
        raise TableRefused([Problem(1, "", _("The file is empty."))])
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data)  # XML carries no control characters (openpyxl leaves "_x0007_" as it is)
    if data.startswith(OLE_MAGIC):
        raise TableRefused(
            [Problem(1, "", _("This is an old Excel file (.xls). Please save it as .xlsx or .csv."))]
        )
    if data.startswith(UTF16_BOMS):
        text = _decode_utf16(data)
    elif b"\x00" in data[:4096]:
        raise _neither_csv_nor_xlsx()
    else:
        text = _decode(data)
    table = _read_csv(text)
    if CONTROL_CHARACTERS.search(text):  # once over the text; cell by cell only to say where
        _refuse_control_characters(table)
    return table


def _refuse_control_characters(table: Table) -> None:
    """Every cell holding a control character, with its line and column: a NUL reached the database, which
    refuses it (a 500), any other went into the names and broke every XLSX export after (XML cannot carry it)."""
    problems = []
    for line, cells in [(1, table.header), *table.rows]:
        for index, text in enumerate(cells):
            if message := control_character_error(text):
                column = table.header[index] if index < len(table.header) and line > 1 else ""
                problems.append(Problem(line, column, message))
    if problems:
        raise TableRefused(problems)


def _neither_csv_nor_xlsx() -> TableRefused:
    return TableRefused([Problem(1, "", _("The file is neither a CSV nor an XLSX file."))])


def _decode_utf16(data: bytes) -> str:
    """The text of Excel's "Unicode Text" (UTF-16 with its byte order mark, tab-separated), which many HR offices
    export: it was refused as no CSV at all."""
    try:
        return data.decode("utf-16")
    except UnicodeDecodeError:
        raise _neither_csv_nor_xlsx() from None


def _decode(data: bytes) -> str:
    """The text of a CSV: UTF-8 (with the BOM of Excel's "CSV UTF-8" or without), or else Windows-1252 (German
    Excel's plain "CSV"). A file that is neither is refused at each line where it breaks: reading a UTF-8 file
    with one broken byte (a file cut off inside a letter, two files put together) as Windows-1252 turned every
    "ü" of it into "Ã¼", and the import then renamed everyone."""
    body = data.removeprefix(UTF8_BOM)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Letters of more than one byte that are valid UTF-8 say that the file is UTF-8 where it breaks; Windows-1252
    # text hardly ever forms them ("Ã¼" would).
    utf8 = data.startswith(UTF8_BOM) or bool(NOT_ASCII.search(body.decode("utf-8", errors="replace")))
    encoding, message = (
        (
            "utf-8",
            _(
                "This character is not valid UTF-8, although the rest of the file is UTF-8. Please save the file "
                "as “CSV UTF-8” and upload it again."
            ),
        )
        if utf8
        else (
            "cp1252",
            _(
                "This character is neither UTF-8 nor Windows-1252. Please save the file as “CSV UTF-8” and upload "
                "it again."
            ),
        )
    )
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        pass
    lines = body.splitlines()
    delimiter = _delimiter(lines[0].decode(encoding, errors="replace"))
    header = next(csv.reader([lines[0].decode(encoding, errors="replace")], delimiter=delimiter), [])
    problems = []
    for number, line in enumerate(lines, start=1):
        try:
            line.decode(encoding)
        except UnicodeDecodeError as error:
            before = line[: error.start].decode(encoding, errors="replace")
            index = len(next(csv.reader([before], delimiter=delimiter), [""])) - 1
            column = header[index].strip() if 0 <= index < len(header) else ""
            problems.append(Problem(number, column, message))
    raise TableRefused(problems)


def _delimiter(first_line: str) -> str:
    return max([";", ",", "\t"], key=first_line.count)


def _read_csv(text: str) -> Table:
    delimiter = _delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows = []
    limit = settings.IMPORT_MAX_ROWS
    try:
        for cells in reader:
            if header is None:
                header = [c.strip() for c in cells]
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= limit:
                raise _too_many_rows()
            rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise TableRefused(
            [
                Problem(
                    reader.line_num,
                    "",
                    _("The CSV file is malformed here (for example an unclosed quotation mark)."),
                )
            ]
        ) from exc
    return Table(header=header or [], rows=rows)


DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]{1,3}(\d+)(?::[A-Z]{1,3}(\d+))?\"")


def estimated_rows(data: bytes) -> int:
    """About how many rows a file holds, found cheaply (no parsing): a CSV's line breaks, an XLSX's declared sheet
    size (after the archive checks of `read_table`, which refuse a zip bomb here already). Decides whether an
    import runs inside the request or as a background job."""
    if data.startswith(XLSX_MAGIC):
        return _check_archive(data)
    # A CSV's lines end as the CSV reader ends them: in a line feed, or in a carriage return alone (old Mac
    # exports), which counted as no break at all let a file of 40,000 rows pass for one.
    return max(data.count(b"\n"), data.count(b"\r")) + 1


def runs_inline(data: bytes) -> bool:
    """Whether an import of `data` is small enough to run inside the web request (IMPORT_INLINE_MAX_BYTES and
    IMPORT_INLINE_MAX_ROWS); a larger one runs as a background job. Raises `TableRefused` for an XLSX that
    would unpack beyond the limits."""
    if len(data) > settings.IMPORT_INLINE_MAX_BYTES:
        return False
    return estimated_rows(data) <= settings.IMPORT_INLINE_MAX_ROWS + 1


def _check_archive(data: bytes) -> int:
    """Bound the work before openpyxl unpacks anything. From the archive's directory: its members must not
    unpack to more than IMPORT_MAX_UNPACKED_BYTES (zipfile also stops a member that unpacks to more than it
    declares). From the first 64 KB of each sheet: its declared size (`<dimension ref="A1:F120">`, which Excel,
    LibreOffice and openpyxl write) must be there and within IMPORT_MAX_ROWS; openpyxl then reads no row past it,
    where without it openpyxl would parse the whole sheet just to learn its size. Returns the largest declared
    number of rows."""
    declared_rows = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            limit = settings.IMPORT_MAX_UNPACKED_BYTES
            if len(members) > 1000 or sum(member.file_size for member in members) > limit:
                raise TableRefused(
                    [
                        Problem(
                            1,
                            "",
                            _(
                                "The XLSX file would unpack to more than %(size)s MB. Please split it into "
                                "several files or save it as CSV."
                            )
                            % {"size": number_format(limit // (1024 * 1024), force_grouping=True)},
                        )
                    ]
                )
            for member in members:
                if not re.fullmatch(r"xl/worksheets/[^/]+\.xml", member.filename):
                    continue
                with archive.open(member) as sheet:
                    head = sheet.read(64 * 1024)
                dimension = DIMENSION.search(head)
                if dimension is None:
                    raise TableRefused(
                        [
                            Problem(
                                1,
                                "",
                                _(
                                    "The XLSX file does not say how many rows it has. Please save it again with "
                                    "Excel or LibreOffice, or as CSV."
                                ),
                            )
                        ]
                    )
                rows = int(dimension.group(2) or dimension.group(1))
                if rows > settings.IMPORT_MAX_ROWS + 1:
                    raise _too_many_rows()
                declared_rows = max(declared_rows, rows)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise TableRefused([Problem(1, "", _("The XLSX file cannot be read."))]) from exc
    return declared_rows


def _read_xlsx(data: bytes) -> Table:
    _check_archive(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise TableRefused([Problem(1, "", _("The XLSX file cannot be read."))]) from exc
    header: list[str] | None = None
    rows = []
    line = 0  # the last row read
    try:
        # Read-only, openpyxl reads the sheet only here, row by row: a broken sheet (cut off, missing from the
        # archive, a cell at an address no sheet has) shows only now.
        for line, values in enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if header is None:
                header = [c.strip() for c in cells]
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= settings.IMPORT_MAX_ROWS:
                raise _too_many_rows()
            rows.append((line, cells))
    except TableRefused:
        raise
    except Exception as exc:
        raise TableRefused([Problem(line + 1, "", _("The XLSX file cannot be read from here on."))]) from exc
    finally:
        workbook.close()
    return Table(header=header or [], rows=rows)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def neutralise(value) -> str:
    """A cell as text that no spreadsheet will execute as a formula (OWASP: CSV injection)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV as German Excel opens it (`;`, UTF-8 with BOM), streamed line by line, formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    yield "\ufeff"
    for row in _chain(header, rows):
        writer.writerow([neutralise(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _chain(header, rows):
    yield header
    yield from rows


def xlsx_bytes(
    header: list[str],
    rows: Iterable[Iterable],
    *,
    title: str = "Export",
    more: Iterable[tuple[str, list[str], Iterable[Iterable]]] = (),
) -> bytes:
    """A worksheet per table (this one, then each of `more`: title, header, rows), written row by row (openpyxl
    write-only), header bold, formulas neutralised, numbers kept as numbers (as text, Excel neither summed nor
    sorted them)."""
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet_title, sheet_header, sheet_rows in [(title, header, rows), *more]:
        sheet = workbook.create_sheet(title=sheet_title[:31])
        head = []
        for name in sheet_header:
            cell = WriteOnlyCell(sheet, value=neutralise(name))
            cell.font = bold
            head.append(cell)
        sheet.append(head)
        for row in sheet_rows:
            sheet.append([_xlsx_value(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(value):
    """A number as it is (a number is never a formula), anything else as neutralised text."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    return _xml_text(neutralise(value))


def _xml_text(text: str) -> str:
    """`text` as a worksheet can hold it: a control character that a text saved before the portal refused them
    still holds (openpyxl refuses to write one: the whole export failed) shows as "\ufffd"."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def download(
    export_format: str,
    header: list[str],
    rows: Iterable[Iterable],
    *,
    filename: str,
    title: str = "Export",
    more: Iterable[tuple[str, list[str], Iterable[Iterable]]] = (),
    stream: bool = False,
):
    """The response of every CSV/XLSX export: `export_format` is "xlsx" or "csv", `filename` without extension.

    `more` are further (title, header, rows) tables: the XLSX holds each in a worksheet of that title, the CSV
    carries them after a blank line each; `stream` sends a large CSV line by line."""
    if export_format == "xlsx":
        response = HttpResponse(
            xlsx_bytes(header, rows, title=title, more=more), content_type=XLSX_CONTENT_TYPE
        )
    else:
        lines = _csv_sections(
            header, rows, [(extra_header, extra_rows) for _title, extra_header, extra_rows in more]
        )
        if stream:
            response = StreamingHttpResponse(lines, content_type=CSV_CONTENT_TYPE)
        else:
            response = HttpResponse("".join(lines), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.{export_format}"'
    return response


def _csv_sections(header, rows, more):
    yield from csv_lines(header, rows)
    for extra_header, extra_rows in more:
        yield "\r\n"
        lines = csv_lines(extra_header, extra_rows)
        next(lines)  # one byte order mark per file
        yield from lines
