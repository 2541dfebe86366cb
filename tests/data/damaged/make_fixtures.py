"""Write the damaged-spreadsheet fixtures with a real office suite (LibreOffice Calc).

Each fixture is first written as a flat OpenDocument spreadsheet (.fods) that says exactly
which cells are numbers, dates or text and how they are formatted, then LibreOffice converts
it to .xlsx or .csv - so the damage in the fixtures is the damage the office suite really
does (15 significant digits, scientific notation in CSV, dropped leading zeros, dates saved
as the text the cell shows).

    apt-get install -y --no-install-recommends libreoffice-calc
    python tests/data/damaged/make_fixtures.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
<office:automatic-styles>
 <number:number-style style:name="N_SCI"><number:scientific-number number:decimal-places="5"
  number:min-integer-digits="1" number:min-exponent-digits="2"/></number:number-style>
 <number:date-style style:name="N_DMY"><number:day number:style="long"/><number:text>/</number:text>
  <number:month number:style="long"/><number:text>/</number:text><number:year number:style="long"/>
 </number:date-style>
 <style:style style:name="sci" style:family="table-cell" style:data-style-name="N_SCI"/>
 <style:style style:name="dmy" style:family="table-cell" style:data-style-name="N_DMY"/>
</office:automatic-styles>
<office:body><office:spreadsheet><table:table table:name="Sheet1">
"""
TAIL = "</table:table></office:spreadsheet></office:body></office:document>\n"

# A cell is text (str), a number (float/int: what typing it into a cell stores), a date
# ("date:2026-01-05", shown as DD/MM/YYYY), or a number shown in scientific notation ("sci:").
Cell = str | int | float


def cell_xml(value: Cell) -> str:
    if isinstance(value, int | float):
        return f'<table:table-cell office:value-type="float" office:value="{value!r}"/>'
    if value.startswith("date:"):
        day = value[5:]
        return (
            f'<table:table-cell table:style-name="dmy" office:value-type="date" '
            f'office:date-value="{day}"/>'
        )
    if value.startswith("sci:"):
        return (
            f'<table:table-cell table:style-name="sci" office:value-type="float" '
            f'office:value="{value[4:]}"/>'
        )
    text = f"<text:p>{escape(value)}</text:p>"
    return f'<table:table-cell office:value-type="string">{text}</table:table-cell>'


def fods(rows: list[list[Cell]]) -> str:
    body = "".join(
        "<table:table-row>" + "".join(cell_xml(c) for c in row) + "</table:table-row>\n"
        for row in rows
    )
    return HEAD + body + TAIL


# A 20-digit Fynd shipment id typed into a cell as a number keeps 15 significant digits.
AWB_ORDER_ID_AS_NUMBER: list[list[Cell]] = [
    ["Order No", "AWB No", "Courier"],
    [13000000000000000001.0, "AWB1001", "Delhivery"],  # stored as 1.3E+19
    ["13000000000000000002", 1234567890123, "Delhivery"],  # 13 digits: exact as a number
    ["13000000000000000003", "AWB1003", "Delhivery"],
]
# AWB numbers shown in scientific notation, then saved to CSV as shown.
AWB_SCIENTIFIC: list[list[Cell]] = [
    ["orderId", "awbNumber", "courierName"],
    ["13000000000000000004", "sci:780012345678", "Delhivery"],
    ["13000000000000000005", "sci:780012345679", "Delhivery"],
    ["13000000000000000006", "AWB1006", "Delhivery"],
]
# SKU 00012345 typed as a number becomes 12345; a long code shown in scientific notation.
STOCK_SKU_ZEROS: list[list[Cell]] = [
    ["Store", "Item Code", "Qty"],
    ["DEL-WH-01", 12345, 4],
    ["MUM-ST-02", "00012345", 5],
    ["DEL-WH-01", "TS-BLK-S", 6],
    ["BLR-ST-03", "sci:780012345678", 7],
]
# Dates saved to CSV as DD/MM/YYYY text: with every day <= 12 the column cannot tell
# day from month; one day above 12 decides it.
DATES_AMBIGUOUS: list[list[Cell]] = [
    ["orderId", "orderStatus", "promised_delivery_date"],
    ["16000000000000000001", "delivery_done", "date:2026-01-05"],
    ["16000000000000000002", "delivery_done", "date:2026-02-07"],
]
DATES_UNAMBIGUOUS: list[list[Cell]] = [
    ["orderId", "orderStatus", "promised_delivery_date"],
    ["16000000000000000003", "delivery_done", "date:2026-01-05"],
    ["16000000000000000004", "delivery_done", "date:2026-01-25"],
]

FIXTURES: dict[str, list[list[Cell]]] = {
    "awb-order-id-as-number.xlsx": AWB_ORDER_ID_AS_NUMBER,
    "awb-scientific.csv": AWB_SCIENTIFIC,
    "stock-sku-lost-zeros.xlsx": STOCK_SKU_ZEROS,
    "stock-sku-lost-zeros.csv": STOCK_SKU_ZEROS,
    "status-dates-ambiguous.csv": DATES_AMBIGUOUS,
    "status-dates-unambiguous.csv": DATES_UNAMBIGUOUS,
    "status-dates.xlsx": DATES_AMBIGUOUS,
}
FILTERS = {"xlsx": "xlsx:Calc MS Excel 2007 XML", "csv": "csv:Text - txt - csv (StarCalc):44,34,76"}


def convert(source: Path, kind: str, out_dir: Path) -> Path:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        raise SystemExit("LibreOffice is not installed (apt-get install libreoffice-calc)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [office, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
             FILTERS[kind], "--outdir", str(out_dir), str(source)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    return out_dir / f"{source.stem}.{kind}"


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        for name, rows in FIXTURES.items():
            stem, kind = name.rsplit(".", 1)
            source = Path(work) / f"{stem}.fods"
            source.write_text(fods(rows), encoding="utf-8")
            made = convert(source, kind, Path(work))
            shutil.move(made, HERE / name)
            print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
