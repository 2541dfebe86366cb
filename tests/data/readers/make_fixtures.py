"""Write the reader fixtures in this folder. Run it from anywhere: `python make_fixtures.py`.

Each file is tiny and named after the defect or feature it exercises. The generated files are
committed; this script documents how they were made and rebuilds them. encrypted.xls is not
made here: LibreOffice 7.4 saved it (a CSV opened, stored with the "MS Excel 97" filter and
the password 'secret').
"""

from __future__ import annotations

import codecs
import datetime as dt
import struct
from pathlib import Path

import openpyxl
import xlwt

HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2026, 1, 1)


def write_text_fixtures() -> None:
    files = {
        "utf8-bom.csv": codecs.BOM_UTF8 + "sku,qty,name\nA-1,5,Crème brûlée\n".encode(),
        "utf8-no-bom.csv": "sku,qty,name\nA-1,5,Crème brûlée\n".encode(),
        "cp1252-semicolon.csv": "Artikel;Menge;Preis\r\nCafé;5;1,50\r\n€uro;3;2,00\r\n".encode(
            "cp1252"
        ),
        # 0x81 is one of the five bytes Windows-1252 leaves undefined
        "latin1-undefined-byte.csv": b"sku,name\nA,caf\xe9\x81\n",
        "utf16-bom-tab.csv": "sku\tqty\tname\r\nA-1\t5\tकुर्ता\r\n".encode("utf-16"),
        "utf16be-bom.csv": codecs.BOM_UTF16_BE + "sku,qty\nA-1,5\n".encode("utf-16-be"),
        "pipe.csv": b"sku|qty\nA|1\nB|2\n",
        "semicolons-inside-quotes.csv": b'name,qty\n"Smith; John",1\n"Doe; Jane; Jr",2\n',
        "blank-lines.csv": b'sku,qty,note\r\n\r\nA,1,"two\r\nlines"\r\n\r\nB,2,x\r\n',
        "ragged.csv": b"sku,qty,note\nA,1\nB,2,x,extra\nC,3,y\n",
        "na-strings.csv": b'sku,qty,flag\nNA,null,N/A\n0012,,1e5\n  padded  ,"",#N/A\n',
        "binary-junk.csv": b"\x00\x01\x02garbage\x00\xff" * 10,
        "empty.csv": b"",
        "not-excel.xlsx": b"sku,qty\nA,1\n",
    }
    for name, data in files.items():
        (HERE / name).write_bytes(data)


def _workbook() -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = FIXED_TIME
    return book


def write_title_rows() -> None:
    """Title rows above the header: the header is on Excel row 4, data from row 5."""
    book = _workbook()
    sheet = book.active
    sheet.title = "Stock"
    sheet["A1"] = "Closing stock report"
    sheet["A2"] = "Generated 2026-11-26"
    sheet.append([])  # row 3 stays blank
    sheet.append(["Location", "SKU", "Qty", "MRP", "Updated", "Active"])
    sheet.append(["DEL-01", "0012", 5, 499.5, dt.date(2026, 11, 26), True])
    sheet.append(["BOM-02", "SKU-2", 12.0, 0.1, dt.datetime(2026, 11, 26, 14, 30), False])
    prices = book.create_sheet("Prices")
    prices.append(["sku", "mrp"])
    prices.append(["A", 10])
    book.save(HERE / "title-rows.xlsx")


def write_leading_empty() -> None:
    """Data starts at C3: two empty rows and two empty columns before it."""
    book = _workbook()
    sheet = book.active
    sheet["C3"], sheet["D3"] = "sku", "qty"
    sheet["C4"], sheet["D4"] = "A", 1
    sheet["C5"], sheet["D5"] = "B", 2
    book.save(HERE / "leading-empty.xlsx")


def write_cell_types() -> None:
    """One row of every kind of cell value, and an error cell, under a header."""
    book = _workbook()
    sheet = book.active
    values = {
        "int": 12,
        "whole float": 12.0,
        "tenth": 0.1,
        "negative": -3.25,
        "15 digits": 123456789012345,
        "1e15": 1e15,
        "tiny": 1.5e-7,
        "date": dt.date(2026, 11, 26),
        "datetime": dt.datetime(2026, 11, 26, 14, 30),
        "midnight": dt.datetime(2026, 11, 26),
        "time": dt.time(14, 30),
        "true": True,
        "false": False,
        "text": "0012",
        "error": "#N/A",
        "empty": None,
        "after empty": "x",
    }
    sheet.append(list(values))
    sheet.append(list(values.values()))
    book.save(HERE / "cell-types.xlsx")


def write_hidden_first() -> None:
    book = _workbook()
    book.active.title = "Hidden"
    book.active["A1"] = "secret"
    book.active.sheet_state = "hidden"
    book.create_sheet("Visible")["A1"] = "shown"
    book.save(HERE / "hidden-first.xlsx")


def write_old_format() -> None:
    """An XLS (BIFF8) workbook: a title row, the header on row 3, two sheets."""
    book = xlwt.Workbook()
    sheet = book.add_sheet("Stock")
    sheet.write(0, 0, "Stock as on 26.11.2026")
    for col, text in enumerate(["sku", "qty", "mrp", "updated"]):
        sheet.write(2, col, text)
    date_style = xlwt.easyxf(num_format_str="DD-MM-YYYY")
    rows = [("0012", 5, 499.5, dt.datetime(2026, 11, 26)), ("B", 1e15, 0.1, None)]
    for offset, row in enumerate(rows):
        for col, value in enumerate(row):
            if value is not None:
                style = date_style if isinstance(value, dt.datetime) else xlwt.Style.default_style
                sheet.write(3 + offset, col, value, style)
    book.add_sheet("Other").write(0, 0, "x")
    book.save(str(HERE / "old-format.xls"))


def write_damaged() -> None:
    whole = (HERE / "title-rows.xlsx").read_bytes()
    (HERE / "truncated.xlsx").write_bytes(whole[: len(whole) // 2])
    (HERE / "encrypted.xlsx").write_bytes(_encrypted_container())


def _encrypted_container() -> bytes:
    """The shape of a password-protected XLSX: an OLE2 compound file holding the streams
    'EncryptionInfo' and 'EncryptedPackage' (content is filler; readers must refuse it)."""
    sector = 512
    stream = 4096  # at the mini-stream cutoff, so both streams live in regular sectors
    header = bytearray(sector)
    header[:8] = bytes.fromhex("d0cf11e0a1b11ae1")
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIII", header, 40, 0, 1, 1, 0, stream, 0xFFFFFFFE, 0, 0xFFFFFFFE)
    struct.pack_into("<I", header, 72, 0)
    difat = [0] + [0xFFFFFFFF] * 108
    struct.pack_into("<109I", header, 76, *difat)
    per_stream = stream // sector
    fat = [0xFFFFFFFD, 0xFFFFFFFE]  # sector 0: the FAT itself; sector 1: the directory
    for first in (2, 2 + per_stream):
        fat += [*range(first + 1, first + per_stream), 0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (128 - len(fat))
    entries = [
        _dir_entry("Root Entry", 5, child=1, start=0xFFFFFFFE, size=0),
        _dir_entry("EncryptionInfo", 2, right=2, start=2, size=stream),
        _dir_entry("EncryptedPackage", 2, start=2 + per_stream, size=stream),
        _dir_entry("", 0, start=0, size=0),
    ]
    body = struct.pack("<128I", *fat) + b"".join(entries)
    return bytes(header) + body + b"\x5a" * (2 * stream)


def _dir_entry(
    name: str, kind: int, *, child: int = 0xFFFFFFFF, right: int = 0xFFFFFFFF, start: int, size: int
) -> bytes:
    encoded = name.encode("utf-16-le") + b"\x00\x00" if name else b""
    entry = bytearray(128)
    entry[: len(encoded)] = encoded
    struct.pack_into("<HBB", entry, 64, len(encoded), kind, 1)
    struct.pack_into("<III", entry, 68, 0xFFFFFFFF, right, child)
    struct.pack_into("<IQ", entry, 116, start, size)
    return bytes(entry)


def main() -> None:
    write_text_fixtures()
    write_title_rows()
    write_leading_empty()
    write_cell_types()
    write_hidden_first()
    write_old_format()
    write_damaged()


if __name__ == "__main__":
    main()
