"""Write the error-cell fixtures: formulas that fail, computed and saved by LibreOffice Calc.

Each workbook is first written as an .xlsx with openpyxl (formulas only, no cached values),
then LibreOffice opens it, computes every formula and saves it as .xls (BIFF8) and .ods - so
the error cells in the fixtures are the ones an office suite really writes:

- na_quantity: a stock sheet whose quantity is a VLOOKUP that finds nothing (#N/A), whose
  item code divides by zero (#DIV/0!), and one MID(...) LibreOffice shows as Err:502 (in
  .xls it is saved as an Excel error code); one row has a really empty quantity.
- na_awb_manifest: a courier manifest whose AWB number, courier name and Auto Dispatch cells
  are failed VLOOKUPs.
- errors_beside_merged_cells: a table that starts at B2, beside a merged cell (covered
  cells take a column), with errors in adjacent cells of one row.

    apt-get install -y -q libreoffice-calc
    python tests/data/errors/make_fixtures.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
NOT_FOUND = '=VLOOKUP("NO-SUCH-CODE",$A$1:$A$2,1,FALSE)'  # #N/A
BAD_ARGUMENT = '=MID("abc",0,1)'  # LibreOffice: Err:502; Excel: #VALUE!


def na_quantity() -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Stock"
    sheet.append(["Store", "Item Code", "Qty"])
    sheet.append(["DEL-WH-01", "TS-BLK-M", 7])
    sheet.append(["DEL-WH-01", "TS-BLK-S", NOT_FOUND])
    sheet.append(["DEL-WH-01", "=1/0", 3])
    sheet.append(["DEL-WH-01", "TS-BLK-L", None])  # really empty: the mapping default applies
    sheet.append(["DEL-WH-01", "TS-WHT-M", BAD_ARGUMENT])
    return book


def na_awb_manifest() -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Manifest"
    sheet.append(["Order No", "AWB No", "Courier", "Auto Dispatch"])
    sheet.append(["13000000000000000001", "5012345678", "Blue Dart", "Yes"])
    sheet.append(["13000000000000000002", NOT_FOUND, "Blue Dart", "No"])
    sheet.append(["13000000000000000003", "5012345680", NOT_FOUND, "Yes"])
    sheet.append(["13000000000000000004", "5012345681", "Blue Dart", NOT_FOUND])
    return book


def errors_beside_merged_cells() -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Layout"
    for column, header in zip("BCDEF", ["a", "b", "c", "d", "e"], strict=True):
        sheet[f"{column}2"] = header
    sheet["B3"] = "merged"
    sheet.merge_cells("B3:C4")
    sheet["D3"] = "=NA()"
    sheet["D4"] = "plain"
    sheet["B5"], sheet["C5"], sheet["D5"], sheet["E5"] = "row", "=NA()", "=1/0", "=NA()"
    sheet["F5"] = "end"
    sheet["B6"], sheet["C6"] = "other", BAD_ARGUMENT
    return book


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        for name, make in [
            ("na_quantity", na_quantity),
            ("na_awb_manifest", na_awb_manifest),
            ("errors_beside_merged_cells", errors_beside_merged_cells),
        ]:
            source = folder / f"{name}.xlsx"
            make().save(source)
            for kind in ("xls", "ods"):
                subprocess.run(
                    ["soffice", "--headless", "--convert-to", kind, "--outdir", work, source],
                    check=True,
                    capture_output=True,
                )
                shutil.copy(folder / f"{name}.{kind}", HERE / f"{name}.{kind}")


if __name__ == "__main__":
    main()
