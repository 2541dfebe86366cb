"""Write the hostile-file corpus in this folder: `python make_hostile.py`.

Each file is small and named after its defect. The generated files are committed; this
script documents how they were made and rebuilds them. Files that cannot be committed (a
50 MB line, a symlink, a file that vanishes) are made by tests/test_hostile.py at test time.
Every data-bearing file uses the generic stock columns, so a run tries to upload it.
"""

from __future__ import annotations

import io
import shutil
import struct
import zipfile
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
HEADER = "location_id,sku,quantity\n"
GOOD = "DEL-WH-01,TS-BLK-S,5\n"

OOXML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="' + OOXML + '.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="' + OOXML + '.worksheet+xml"/>'
    "</Types>"
)  # fmt: skip
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="' + REL + '/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)  # fmt: skip
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>{doctype}'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Stock" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="' + REL + '/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)  # fmt: skip
SHEET = (
    '<?xml version="1.0" encoding="UTF-8"?>{doctype}'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "<sheetData>{rows}</sheetData>{padding}</worksheet>"
)


def inline_row(number: int, values: list[str]) -> str:
    cells = "".join(
        f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
        for i, v in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'


STOCK_ROWS = inline_row(1, ["location_id", "sku", "quantity"]) + inline_row(
    2, ["DEL-WH-01", "TS-BLK-S", "5"]
)


def hand_made_xlsx(
    rows: str = STOCK_ROWS,
    doctype: str = "",
    padding: str = "",
    workbook_doctype: str = "",
    part: str = "worksheets/sheet1.xml",
) -> bytes:
    """A minimal workbook written part by part, so the XML can carry what we want; `part`:
    where in xl/ the sheet is (its relationship says so)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml", CONTENT_TYPES.replace("worksheets/sheet1.xml", part)
        )
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK.format(doctype=workbook_doctype))
        archive.writestr(
            "xl/_rels/workbook.xml.rels", WORKBOOK_RELS.replace("worksheets/sheet1.xml", part)
        )
        sheet = SHEET.format(doctype=doctype, rows=rows, padding=padding)
        archive.writestr(f"xl/{part}", sheet)
    return buffer.getvalue()


def lying_sizes(data: bytes) -> bytes:
    """Rewrite every declared uncompressed size to 100 bytes (local and central headers)."""
    raw = bytearray(data)
    at = raw.find(b"PK\x03\x04")
    while at >= 0:
        struct.pack_into("<I", raw, at + 22, 100)
        at = raw.find(b"PK\x03\x04", at + 4)
    at = raw.find(b"PK\x01\x02")
    while at >= 0:
        struct.pack_into("<I", raw, at + 24, 100)
        at = raw.find(b"PK\x01\x02", at + 4)
    return bytes(raw)


BILLION_LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)
EXTERNAL_ENTITY = '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def openpyxl_book(rows: list[list[object]], path: Path) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return book


def text_files() -> dict[str, bytes]:
    mixed = (HEADER + GOOD).encode() + "DEL-WH-01,CAFÉ-MUG,2\n".encode("cp1252")
    mixed += "MUM-ST-02,CAFÉ-CUP,3\n".encode()
    utf16 = (HEADER + GOOD).encode("utf-16-le")
    return {
        "empty.csv": b"",
        "bom-only.csv": b"\xef\xbb\xbf",
        "header-only.csv": HEADER.encode(),
        "blank-lines-only.csv": b"\n\n\r\n\n",
        "binary-junk.csv": bytes(range(256)) * 8,
        "binary-junk-named-xlsx.xlsx": bytes(reversed(range(256))) * 8,
        "text-named.xlsx": (HEADER + GOOD).encode(),
        "html-named.xls": b"<html><body><table><tr><td>sku</td></tr></table></body></html>",
        "utf16-without-bom.csv": utf16,
        "mixed-encodings.csv": mixed,
        "nul-bytes-in-text.csv": (HEADER + "DEL-WH-01,TS-BLK-S\x00,5\n").encode(),
        "ragged-rows.csv": (
            HEADER + GOOD + "DEL-WH-01,TS-BLK-M\nMUM-ST-02,CAP-RED,1,extra\n"
        ).encode(),
        "duplicate-headers.csv": b"location_id,sku,sku,quantity\nDEL-WH-01,TS-BLK-S,X,5\n",
        "blank-headers.csv": b"location_id,,quantity\nDEL-WH-01,TS-BLK-S,5\n",
        "unclosed-quote.csv": (HEADER + 'DEL-WH-01,"TS-BLK-S,5\nMUM-ST-02,CAP-RED,1\n').encode(),
        "formula-cells.csv": (
            HEADER + 'DEL-WH-01,=HYPERLINK("http://x"),5\n+MUM-ST-02,@SUM(A1),1\n'
            "-BLR-ST-03,\tTS-BLK-S,2\nDEL-WH-01,\rCAP-RED,3\n"
        ).encode(),
        "control-characters.csv": (
            HEADER + "DEL-WH-01,TS-BLK-S\u202e,5\nDEL-WH-01,\x1b[31mCAP-RED,1\n"
        ).encode(),
        "too-many-columns.csv": (",".join(f"c{i}" for i in range(600)) + "\n").encode()
        + (",".join("1" for _ in range(600)) + "\n").encode(),
        "cell-too-long.csv": (HEADER + "DEL-WH-01," + "X" * 40_000 + ",5\n").encode(),
        "exponent-and-words.csv": (
            HEADER + "DEL-WH-01,TS-BLK-S,1e5\nDEL-WH-01,CAP-RED,five\n"
        ).encode(),
        **markup_files(),
    }


def xml_2003(rows: str, doctype: str = "") -> bytes:
    """An XML Spreadsheet 2003 file (what older ERPs export as .xls) with `rows` in its table."""
    return (
        '<?xml version="1.0"?>\n' + doctype + '<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">'
        f'<Worksheet ss:Name="Stock"><Table>{rows}</Table></Worksheet></Workbook>'
    ).encode()


def xml_row(*cells: str, index: str = "") -> str:
    at = f' ss:Index="{index}"' if index else ""
    return (
        f"<Row{at}>"
        + "".join(f'<Cell><Data ss:Type="String">{c}</Data></Cell>' for c in cells)
        + "</Row>"
    )


def markup_files() -> dict[str, bytes]:
    """Web pages and XML spreadsheets named .xls: one good, the others hostile."""
    header = xml_row("location_id", "sku", "quantity")
    table = "".join(
        f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>"
        for a, b, c in [("location_id", "sku", "quantity"), ("DEL-WH-01", "TS-BLK-S", "5"),
                        ("DEL-WH-01", "&nbsp;", "1")]
    )  # fmt: skip
    laughs = BILLION_LAUGHS.replace("worksheet", "Workbook")
    xxe = EXTERNAL_ENTITY.replace("worksheet", "Workbook")
    return {
        "web-page-export.xls": f"<html><body><h2>Stock – Café</h2><table>{table}</table></body>"
        "</html>".encode("cp1252"),
        "html-huge-colspan.xls": b'<table><tr><td colspan="9999">x</td></tr></table>',
        "xml-2003-entity-expansion.xls": xml_2003(
            header + xml_row("DEL-WH-01", "&lol9;", "5"), laughs
        ),
        "xml-2003-external-entity.xls": xml_2003(header + xml_row("DEL-WH-01", "&xxe;", "5"), xxe),
        "xml-2003-sparse-rows.xls": xml_2003(header + xml_row("x", index="5000000")),
        "xml-2003-unclosed.xls": xml_2003(header)[:-40],
    }


def zip_files() -> dict[str, bytes]:
    valid = hand_made_xlsx()
    padding = "<!--" + " " * (30 * 1024 * 1024) + "-->"  # 30 MB of spaces: ~30 KB zipped
    bomb = hand_made_xlsx(padding=padding)
    laughs_row = (
        inline_row(1, ["location_id", "sku", "quantity"])
        + '<row r="2"><c r="A2" t="inlineStr"><is><t>DEL-WH-01</t></is></c>'
        '<c r="B2" t="inlineStr"><is><t>&lol9;</t></is></c>'
        '<c r="C2" t="inlineStr"><is><t>5</t></is></c></row>'
    )
    xxe_row = laughs_row.replace("&lol9;", "&xxe;")
    sparse = inline_row(1, ["location_id", "sku", "quantity"]) + (
        '<row r="200000"><c r="KZ200000" t="inlineStr"><is><t>x</t></is></c></row>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return {
        "truncated.xlsx": valid[: len(valid) // 2],
        "zip-bomb.xlsx": bomb,
        "zip-bomb-lying-sizes.xlsx": lying_sizes(hand_made_xlsx(padding=padding[: 8 << 20])),
        "entity-expansion.xlsx": hand_made_xlsx(laughs_row, doctype=BILLION_LAUGHS),
        "entity-expansion-in-workbook.xlsx": hand_made_xlsx(workbook_doctype=BILLION_LAUGHS),
        "external-entity.xlsx": hand_made_xlsx(xxe_row, doctype=EXTERNAL_ENTITY),
        "sparse-huge-grid.xlsx": hand_made_xlsx(sparse),
        # the same, its attributes in single quotes, or its sheet outside xl/worksheets/
        "sparse-single-quotes.xlsx": hand_made_xlsx(sparse.replace('"', "'")),
        "sparse-sheet-elsewhere.xlsx": hand_made_xlsx(sparse, part="data/stock.xml"),
        "zip-without-workbook.xlsx": buffer.getvalue(),
    }


def workbooks() -> None:
    openpyxl_book([["location_id", "sku", "quantity"]], HERE / "header-only-workbook.xlsx")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Stock", None, None])
    sheet.append(["location_id", "sku", "quantity"])
    sheet.append(["DEL-WH-01", "TS-BLK-S", 5])
    sheet.merge_cells("A1:C1")  # a merged title above the header
    sheet.merge_cells("A4:B4")  # a merged data cell: B4 reads as empty
    sheet["A4"] = "DEL-WH-01"
    sheet["C4"] = 2
    book.save(HERE / "merged-cells.xlsx")

    book = openpyxl.Workbook()
    hidden = book.active
    hidden.title = "Old"
    hidden.append(["location_id", "sku", "quantity"])
    hidden.append(["DEL-WH-01", "TS-BLK-S", 999])
    hidden.sheet_state = "hidden"
    visible = book.create_sheet("Current")
    visible.append(["location_id", "sku", "quantity"])
    visible.append(["DEL-WH-01", "TS-BLK-S", 7])
    book.save(HERE / "hidden-sheet.xlsx")

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["location_id", "sku", "quantity"])
    sheet.append(["DEL-WH-01", "TS-BLK-S", "=2+3"])  # no cached value: reads empty
    sheet.append(["DEL-WH-01", '=HYPERLINK("http://evil","CAP-RED")', 1])
    book.save(HERE / "formulas.xlsx")


def xls_cell_past_the_sheet() -> bytes:
    """An .xls of one good row and one number cell moved to column 20,000 (BIFF8 sheets
    have 256): python-calamine asked for 42 GB for it and aborted the process."""
    import xlwt  # a dev dependency

    book = xlwt.Workbook()
    sheet = book.add_sheet("Stock")
    for j, cell in enumerate(["location_id", "sku", "quantity"]):
        sheet.write(0, j, cell)
    for j, cell in enumerate(["DEL-WH-01", "TS-BLK-S", 5]):
        sheet.write(1, j, cell)
    sheet.write(2, 0, 987654.321)  # a NUMBER record, found by its value and moved
    buffer = io.BytesIO()
    book.save(buffer)
    data = bytearray(buffer.getvalue())
    at = data.find(struct.pack("<d", 987654.321))
    assert struct.unpack_from("<HH", data, at - 10) == (0x0203, 14)  # type, length
    struct.pack_into("<HH", data, at - 6, 2, 20000)  # row, column
    return bytes(data)


def ods_repeated_cells() -> bytes:
    """An .ods of 1 KB whose last row, 495 cells of 'x' written once, repeats 200,000 times:
    python-calamine built the 99-million-cell grid and aborted the process at 6 GB."""
    table = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    text = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"

    def row(*cells: str, repeat: int = 1, width: int = 1) -> str:
        many = f' table:number-columns-repeated="{width}"' if width > 1 else ""
        each = "".join(f'<table:table-cell office:value-type="string"{many}>'
                       f"<text:p>{c}</text:p></table:table-cell>" for c in cells)  # fmt: skip
        rows = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
        return f"<table:table-row{rows}>{each}</table:table-row>"

    rows = row("location_id", "sku", "quantity") + row("DEL-WH-01", "TS-BLK-S", "5")
    rows += row("x", repeat=200_000, width=495)
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="{office}"'
        f' xmlns:table="{table}" xmlns:text="{text}" office:version="1.2"><office:body>'
        f'<office:spreadsheet><table:table table:name="Stock">{rows}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        mimetype = "application/vnd.oasis.opendocument.spreadsheet"
        archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def main() -> None:
    (HERE / "xls-cell-past-the-sheet.xls").write_bytes(xls_cell_past_the_sheet())
    (HERE / "ods-repeated-cells.ods").write_bytes(ods_repeated_cells())
    for name, data in {**text_files(), **zip_files()}.items():
        (HERE / name).write_bytes(data)
    shutil.copy(HERE.parent / "readers" / "encrypted.xlsx", HERE / "password-protected.xlsx")
    workbooks()


if __name__ == "__main__":
    main()
