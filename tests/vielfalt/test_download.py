"""The one download response of every CSV/XLSX export: formulas neutralised in both formats."""

import io

import openpyxl

from vielfalt.tabular import download


def test_xlsx_download_is_written_by_openpyxl_with_formulas_neutralised():
    response = download("xlsx", ["Name", "=Kopf"], [["=1+1", 3]], filename="liste", title="Liste")
    assert response["Content-Disposition"] == 'attachment; filename="liste.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["Liste"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["Name", "'=Kopf"], ["'=1+1", 3]]
    assert sheet["A1"].font.bold


def test_csv_download_carries_further_tables_after_a_blank_line_and_one_byte_order_mark():
    response = download("csv", ["A"], [["-x"]], filename="bericht", more=[("Mehr", ["B"], [["y"]])])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.decode() == "\ufeffA\r\n'-x\r\n\r\nB\r\ny\r\n"


def test_streamed_csv_download():
    response = download("csv", ["A"], iter([["1"]]), filename="gross", stream=True)
    assert b"".join(response.streaming_content).decode() == "\ufeffA\r\n1\r\n"
