"""Codes pasted from a web page or chat carry characters nobody can see: refused, not sent.

A SKU with a zero-width space looks like the SKU Konnect knows and gets only "X404SKU";
the row is refused before sending, with the character named and where it is.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from runs import drop, results, run

from etl.mapping import apply_mapping, load_mapping
from etl.model import Problem, Sheet
from etl.readers import to_table

TODAY = date.today().isoformat()
STOCK = "feed: stock\nfields:\n  location_id: {column: Store}\n  sku: {column: SKU}\n"
STOCK += "  quantity: {column: Qty, transforms: [integer]}\n"


def problems(tmp_path: Path, skus: list[str], mapping: str = STOCK) -> list[Problem]:
    """The problems of a stock sheet with one row per SKU (rows 2, 3...)."""
    (tmp_path / "stock.yaml").write_text(mapping, encoding="utf-8")
    stores, quantities = ["DEL-WH-01"] * len(skus), ["4"] * len(skus)
    cells = pd.DataFrame(
        {0: ["Store", *stores], 1: ["SKU", *skus], 2: ["Qty", *quantities]}, dtype="str"
    )
    rows = np.arange(1, len(skus) + 2, dtype=np.int64)
    sheet = Sheet(cells, rows, tmp_path / "stock.csv", "csv")
    return apply_mapping(load_mapping(tmp_path / "stock.yaml"), to_table(sheet, 0)).problems


@pytest.mark.parametrize(
    ("char", "named"),
    [
        ("\u200b", "an invisible character (a zero-width space, after 'TS-BLK')"),
        ("\u200c", "an invisible character (a zero-width non-joiner, after 'TS-BLK')"),
        ("\u200d", "an invisible character (a zero-width joiner, after 'TS-BLK')"),
        ("\u2060", "an invisible character (a word joiner, after 'TS-BLK')"),
        ("\ufeff", "an invisible character (a zero-width no-break space, after 'TS-BLK')"),
        ("\u00ad", "an invisible character (a soft hyphen, after 'TS-BLK')"),
        ("\u200e", "an invisible character (a left-to-right mark, after 'TS-BLK')"),
        ("\u00a0", "a non-breaking space after 'TS-BLK', not an ordinary space"),
        ("\u202f", "a narrow non-breaking space after 'TS-BLK', not an ordinary space"),
        ("\u2009", "a thin space after 'TS-BLK', not an ordinary space"),
    ],
)
def test_an_invisible_character_inside_a_sku_is_named(
    tmp_path: Path, char: str, named: str
) -> None:
    (problem,) = problems(tmp_path, [f"TS-BLK{char}-S"])
    assert (problem.row, problem.column, problem.code) == (2, "SKU", "id_invisible")
    assert problem.value == f"TS-BLK{char}-S"
    assert problem.message == (
        f"SKU contains {named}: it usually comes with text copied from a web page, chat or"
        " PDF; type the SKU again rather than pasting it"
    )


@pytest.mark.parametrize(
    ("char", "named"),
    [
        ("\n", "a line break after 'TS-BLK': Alt+Enter in an Excel cell"),
        ("\r\n", "a line break after 'TS-BLK', and 1 more further on: Alt+Enter"),
        ("\t", "a tab after 'TS-BLK': it comes with cells copied from a table"),
        ("\x01", "a control character (U+0001) after 'TS-BLK': the program that wrote"),
        ("\x7f", "a control character (U+007F) after 'TS-BLK': the program that wrote"),
    ],
)
def test_a_line_break_tab_or_control_character_inside_a_sku_is_named(
    tmp_path: Path, char: str, named: str
) -> None:
    (problem,) = problems(tmp_path, [f"TS-BLK{char}-S"])
    assert (problem.row, problem.column, problem.code) == (2, "SKU", "id_invisible")
    assert problem.message.startswith(f"SKU contains {named}"), problem.message
    assert problem.message.endswith("; type the SKU again"), problem.message


def test_line_breaks_and_tabs_around_a_code_are_trimmed_like_spaces(tmp_path: Path) -> None:
    assert problems(tmp_path, ["TS-BLK-S\n", "\tTS-BLK-M", "TS-BLK-L\r\n"]) == []
    (problem,) = problems(tmp_path, ["TS-BLK-S\x01"])  # not whitespace: kept, so refused
    assert "(U+0001) at the end" in problem.message


@pytest.mark.parametrize(
    ("sku", "where"),
    [
        ("\u200bTS-BLK-S", "(a zero-width space, at the start)"),
        ("TS-BLK-S\u200b", "(a zero-width space, at the end)"),
        ("\ufeffTS\u200bBLK\u200b-S", "(a zero-width no-break space, at the start), and 2 more"),
    ],
)
def test_where_the_character_is_said_in_words(tmp_path: Path, sku: str, where: str) -> None:
    (problem,) = problems(tmp_path, [sku])
    assert where in problem.message


def test_visible_and_stripped_text_passes(tmp_path: Path) -> None:
    """Accents are real text; spaces around a code are stripped before sending anyway."""
    skus = ["CAFÉ-01", "\u00a0TS-BLK-S\u00a0", "कुर्ता-01", "TS BLK S", "TS-BLK-M"]
    assert problems(tmp_path, skus) == []


def test_an_order_id_and_every_imei_of_a_list_are_checked(tmp_path: Path) -> None:
    (tmp_path / "invoice.yaml").write_text(
        "feed: invoice\nfields:\n  orderId: {column: orderId}\n  invoiceNumber: {column: inv}\n"
        "  invoiceType: {constant: sale}\n"
        "  imeiSerialNumber: {column: imei, transforms: [split]}\n",
        encoding="utf-8",
    )
    order = ["12000000000000000001", "1200000000\u200b0000000002", "12000000000000000003"]
    imeis = ["356938035643809,\u00a0356938035643817", "", "356938035643809, 3569\u200d38035643817"]
    cells = pd.DataFrame(
        {0: ["orderId", *order], 1: ["inv", "INV-1", "INV-2", "INV-3"], 2: ["imei", *imeis]},
        dtype="str",
    )
    sheet = Sheet(cells, np.arange(1, 5, dtype=np.int64), tmp_path / "inv.csv", "csv")
    mapped = apply_mapping(load_mapping(tmp_path / "invoice.yaml"), to_table(sheet, 0))
    found = [(p.row, p.column, p.code) for p in mapped.problems]
    assert found == [(3, "orderId", "id_invisible"), (4, "imei", "id_invisible")]
    assert "(a zero-width joiner, after '3569')" in mapped.problems[1].message


def test_the_row_is_not_sent_and_the_retyped_errors_file_is(tmp_path: Path, sandbox: Any) -> None:
    drop(tmp_path, "stock.csv", [
        ["location_id", "sku", "quantity"],
        ["DEL-WH-01", "TS-BLK\u200b-S", "4"],
        ["DEL-WH-01", "TS-BLK-M", "5"],
        ["DEL-WH-01", "\u00a0TS-BLK-L\u00a0", "6"],  # spaces around a code: trimmed
    ])  # fmt: skip
    assert run(tmp_path, sandbox).exit_code == 1
    assert [e["record"]["sku"] for e in sandbox.ledger()] == ["TS-BLK-M", "TS-BLK-L"]
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-L"] == 6
    rows = results(tmp_path, "stock")
    assert [rows[n]["status"] for n in ("2", "3", "4")] == ["rejected", "ok", "ok"]
    assert "(a zero-width space, after 'TS-BLK')" in rows["2"]["message"]

    errors = tmp_path / "done" / TODAY / "stock.errors.csv"
    with errors.open(encoding="utf-8-sig", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["sku"] == "TS-BLK\u200b-S"
    fixed = errors.read_text(encoding="utf-8-sig").replace("TS-BLK\u200b-S", "TS-BLK-S")
    (tmp_path / "stock.errors.csv").write_text(fixed, encoding="utf-8-sig")  # retyped in Excel
    assert run(tmp_path, sandbox).exit_code == 0
    assert sandbox.state()["stock"]["DEL-WH-01|TS-BLK-S"] == 4


def test_an_alt_enter_sku_in_a_workbook_is_refused_and_not_sent(
    tmp_path: Path, sandbox: Any
) -> None:
    """A real .xlsx whose SKU cell was typed with Alt+Enter: the row is refused before
    sending (Konnect would answer only "X404SKU"), the other rows go."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["location_id", "sku", "quantity"], ["DEL-WH-01", "TS-BLK\n-S", 4]):
        sheet.append(row)
    sheet.append(["DEL-WH-01", "TS-BLK-M", 5])
    book.save(tmp_path / "stock.xlsx")
    assert run(tmp_path, sandbox).exit_code == 1
    assert [e["record"]["sku"] for e in sandbox.ledger()] == ["TS-BLK-M"]
    rows = results(tmp_path, "stock")
    assert [rows[n]["status"] for n in ("2", "3")] == ["rejected", "ok"]
    assert "a line break after 'TS-BLK'" in rows["2"]["message"]
