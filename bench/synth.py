"""Synthetic stock and price files: canonical headers, 40 stores, distinct (store, SKU) keys.

CSV is written column-wise with pyarrow (a million rows in about a second); XLSX with
XlsxWriter in constant-memory mode, every cell as text like an ERP export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import xlsxwriter

STORES = 40


def columns(feed: str, rows: int) -> dict[str, list[str]]:
    """The cells of a `feed` file with `rows` data rows, as text, column by column."""
    i = np.arange(rows)
    per_store = rows // STORES + 1
    location = np.char.add("ST-", np.char.zfill((i // per_store).astype(str), 3))
    sku = np.char.add("SKU-", np.char.zfill((i % per_store).astype(str), 7))
    cells = {"location_id": location.tolist(), "sku": sku.tolist()}
    if feed == "stock":
        cells["quantity"] = (i % 97).astype(str).tolist()
    else:
        mrp = 199 + (i % 50) * 100
        cells["mrp"] = mrp.astype(str).tolist()
        cells["esp"] = np.char.add((mrp - 50).astype(str), ".50").tolist()
        cells["currency"] = ["INR"] * rows
    return cells


def write_csv(path: Path, feed: str, rows: int) -> Path:
    table = pa.table(columns(feed, rows))
    options = pacsv.WriteOptions(quoting_style="none")
    pacsv.write_csv(table, path, write_options=options)
    return path


def write_xlsx(path: Path, feed: str, rows: int) -> Path:
    cells = columns(feed, rows)
    with xlsxwriter.Workbook(path, {"constant_memory": True}) as book:
        sheet = book.add_worksheet("Stock" if feed == "stock" else "Price")
        names = list(cells)
        for j, name in enumerate(names):
            sheet.write_string(0, j, name)
        for r, values in enumerate(zip(*cells.values(), strict=True), start=1):
            for j, value in enumerate(values):
                sheet.write_string(r, j, value)
    return path


def make(folder: Path, feed: str, rows: int, kind: str) -> Path:
    """`folder/<feed>-<rows>.<kind>`, reused when it already exists."""
    path = folder / f"{feed}-{rows}.{kind}"
    if not path.exists():
        (write_csv if kind == "csv" else write_xlsx)(path, feed, rows)
    return path
