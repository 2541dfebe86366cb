"""Rows Konnect refused point at the cell to fix, as our own checks do: in the XLSX reports
the source cell of the field a code names (`etl.konnect.CODE_FIELDS`) is filled red with the
explanation as its comment; CSV reports carry the explanation in the `error` column only."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from runs import oid, run

from etl import xlsxreport
from etl.bodies import Chunk
from etl.chunkresult import ChunkResult
from etl.feeds import FEEDS
from etl.konnect import (
    CODE_EXPLANATIONS,
    CODE_FIELDS,
    DATE_HINT,
    LOST_ZEROS_HINT,
    MESSAGE_FIELDS,
    explain,
)
from etl.lookalike import look_alike_hint
from etl.model import Sheet, Table
from etl.refusals import note_refused
from etl.report import RowOutcomes, source_columns, write_reports
from etl.validation import Validated

TODAY = date.today().isoformat()
RED = "FFC7CE"
UNKNOWN_SKU = "X404SKU - Konnect does not know this SKU"
UNKNOWN_LOCATION = "X404LOC - Konnect does not know this location"


def drop_xlsx(inbox: Path, name: str, rows: list[list[Any]], sheet: str = "Sheet1") -> None:
    inbox.mkdir(exist_ok=True)
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(row)
    book.save(inbox / name)


def report(inbox: Path, name: str) -> Any:
    sheet = load_workbook(inbox / "done" / TODAY / name).active
    assert sheet is not None
    return sheet


def cells(sheet: Any) -> dict[tuple[str, str], Any]:
    """(report row number as text, header) -> the openpyxl cell."""
    header = [c.value for c in sheet[1]]
    found = {}
    for line in sheet.iter_rows(min_row=2):
        row = str(line[header.index("row")].value)
        found.update({(row, str(h)): c for h, c in zip(header, line, strict=True)})
    return found


def highlighted(cell: Any) -> bool:
    return bool(cell.fill.fill_type) and str(cell.fill.fgColor.rgb).endswith(RED)


def comment(cell: Any) -> str | None:
    return None if cell.comment is None else str(cell.comment.text)


def plain(cell: Any) -> bool:
    return not highlighted(cell) and cell.comment is None


def mapping_of(inbox: Path, stem: str) -> str:
    summary = json.loads((inbox / "done" / TODAY / f"{stem}.summary.json").read_text())
    return str(summary["mapping"])


# --- end to end, against the emulator's strict catalogue ---


def test_unknown_sku_and_location_cells_are_highlighted_with_konnects_explanation(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    drop_xlsx(inbox, "stock.xlsx", [
        ["location_id", "sku", "quantity"],
        ["DEL-WH-01", "TS-BLK-M", 4],
        ["DEL-WH-01", "NO-SUCH-SKU", 1],    # X404SKU
        ["NOWHERE-01", "TS-BLK-S", 2],      # X404LOC
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    for name in ("stock.errors.xlsx", "stock.result.xlsx"):
        at = cells(report(inbox, name))
        assert highlighted(at[("3", "sku")]) and comment(at[("3", "sku")]) == UNKNOWN_SKU
        assert highlighted(at[("4", "location_id")])
        assert comment(at[("4", "location_id")]) == UNKNOWN_LOCATION
        assert all(plain(at[c]) for c in [("3", "location_id"), ("4", "sku"), ("4", "quantity")])
    errors = cells(report(inbox, "stock.errors.xlsx"))
    assert errors[("3", "error")].value == UNKNOWN_SKU  # the row's message is unchanged


def test_the_highlighted_cell_is_the_column_the_mapping_read(tmp_path: Path, sandbox: Any) -> None:
    """A shipped ERP mapping (Ginesys: Site Code, Item Code), columns in the ERP's order."""
    inbox = tmp_path / "inbox"
    drop_xlsx(inbox, "ginesys_closing_stock.xlsx", [
        ["Item Name", "Item Code", "Site Code", "Closing Stock"],
        ["T-shirt", "TS-BLK-M", "DEL-WH-01", 4],
        ["Mystery", "ZZ-404", "DEL-WH-01", 1],    # X404SKU
        ["T-shirt", "TS-BLK-S", "PUN-ST-09", 2],  # X404LOC: not this account's location
        ["Total", "", "Total", 7],
    ], sheet="Closing Stock")  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    assert mapping_of(inbox, "ginesys_closing_stock") == "ginesys/stock"
    at = cells(report(inbox, "ginesys_closing_stock.errors.xlsx"))
    assert highlighted(at[("3", "Item Code")]) and comment(at[("3", "Item Code")]) == UNKNOWN_SKU
    assert highlighted(at[("4", "Site Code")])
    assert comment(at[("4", "Site Code")]) == UNKNOWN_LOCATION
    untouched = [("3", "Item Name"), ("3", "Site Code"), ("4", "Item Code"), ("4", "Item Name")]
    assert all(plain(at[c]) for c in untouched)


def test_an_all_digit_unknown_sku_says_excel_may_have_dropped_its_zeros(
    tmp_path: Path, sandbox: Any
) -> None:
    """Tally mapping (Particulars -> sku; two lines of one item are added up): both lines of
    the refused item are highlighted; only the all-digit SKU gets the hint."""
    inbox = tmp_path / "inbox"
    drop_xlsx(inbox, "tally_stock.xlsx", [
        ["Particulars", "Godown", "Closing Qty"],
        [12345, "Bandra Store", "3 Nos"],          # was 00012345 in the ERP
        ["GIFT-WRAP", "Bandra Store", "1 Nos"],    # unknown, but not digits
        [12345, "Bandra Store", "2 Nos"],          # same item, another batch: summed
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    assert mapping_of(inbox, "tally_stock") == "tally/stock"
    at = cells(report(inbox, "tally_stock.errors.xlsx"))
    hinted = f"{UNKNOWN_SKU}; {LOST_ZEROS_HINT}"
    for row in ("2", "4"):
        assert highlighted(at[(row, "Particulars")]) and comment(at[(row, "Particulars")]) == hinted
        assert LOST_ZEROS_HINT in str(at[(row, "error")].value)
        assert not highlighted(at[(row, "Godown")])
    assert comment(at[("3", "Particulars")]) == UNKNOWN_SKU
    assert at[("3", "error")].value == UNKNOWN_SKU


def test_a_csv_errors_file_names_the_cause_in_its_error_column(
    tmp_path: Path, sandbox: Any
) -> None:
    """CSV has no highlights: as for our own problems, the `error` column says it all."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.csv").write_text(
        "location_id,sku,quantity\nDEL-WH-01,12345,1\nNOWHERE-01,TS-BLK-S,2\n", encoding="utf-8"
    )
    assert run(inbox, sandbox).exit_code == 1
    path = inbox / "done" / TODAY / "stock.errors.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["sku"], r["error"]) for r in rows] == [
        ("12345", f"{UNKNOWN_SKU}; {LOST_ZEROS_HINT}"),
        ("TS-BLK-S", UNKNOWN_LOCATION),
    ]


def test_an_unknown_sku_in_small_letters_says_how_it_would_read_in_capitals(
    tmp_path: Path, sandbox: Any
) -> None:
    """Konnect tells codes apart by case: `cap-red` is not CAP-RED. Sent as it is; when
    Konnect does not know it the row says so, and a code in capitals gets no such hint."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.csv").write_text(
        "location_id,sku,quantity\nDEL-WH-01,cap-red,1\nDEL-WH-01,NO-SUCH-SKU,2\n",
        encoding="utf-8",
    )
    assert run(inbox, sandbox).exit_code == 1
    path = inbox / "done" / TODAY / "stock.errors.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        small, capitals = list(csv.DictReader(handle))
    assert small["error"] == (
        f"{UNKNOWN_SKU}; Konnect tells codes apart by case and this SKU has small letters;"
        " if the SKU is CAP-RED, type it so"
    )
    assert capitals["error"] == UNKNOWN_SKU


def test_an_unknown_sku_with_a_look_alike_dash_names_it_and_the_usual_spelling(
    tmp_path: Path, sandbox: Any
) -> None:
    """AutoCorrect's en dash: sent as it is (a catalogue may hold it), and when Konnect does
    not know it the row says which character it is and how the SKU reads with the usual one."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock.csv").write_text(
        "location_id,sku,quantity\nDEL-WH-01,TS\u2013BLK\u2013S,1\nDEL-WH-01,TS-BLK-S,2\n",
        encoding="utf-8",
    )
    assert run(inbox, sandbox).exit_code == 1
    path = inbox / "done" / TODAY / "stock.errors.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["sku"] == "TS\u2013BLK\u2013S"
    assert row["error"] == f"{UNKNOWN_SKU}; {look_alike_hint(row['sku'])}"
    assert "an en dash (\u2013) instead of '-'" in row["error"]
    assert row["error"].endswith("if the SKU is TS-BLK-S, type it so")


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("TS\u2010BLK\u2014S", "a Unicode hyphen (\u2010) instead of '-' and an em dash"),
        ("Levi\u2019s-501", 'a curly quote (\u2019) instead of "\'"'),
        ("\uff34\uff33\uff0d\uff11", "full-width letters or digits"),
    ],
)
def test_look_alikes_are_named(code: str, said: str) -> None:
    hint = look_alike_hint(code)
    assert said in hint and hint.endswith("type it so")


@pytest.mark.parametrize("code", ["TS-BLK-S", "Caf\u00e9\u20131", "\u0422S-1", "12345"])
def test_no_look_alike_hint_for_usual_or_other_codes(code: str) -> None:
    """Plain ASCII, or a code with other non-ASCII letters besides (an accent, Cyrillic): no
    guess at what was meant."""
    assert look_alike_hint(code) == ""


def test_refused_orders_highlight_the_order_item_or_invoice_cell(
    tmp_path: Path, sandbox: Any
) -> None:
    """ERP invoice register (Order ID, Invoice No, Item ID): each code points at its column,
    on every row of the refused order; a credit note refused for the order's state (no
    accepted return) at its Order ID, not at its number."""
    inbox = tmp_path / "inbox"
    drop_xlsx(inbox, "invoices.xlsx", [
        ["Order ID", "Invoice No", "Invoice Type", "Item ID", "Qty"],
        [oid(12, 2), "INV/26/0101", "Sale", f"{oid(12, 2)}-1", 1],
        [oid(12, 3), "INV/26/0102", "Sale", "NO-SUCH-ITEM", 1],      # IN400
        [oid(21, 1), "INV/26/0103", "Sale", f"{oid(21, 1)}-1", 1],   # cancelled: IN401
        [oid(12, 4), "CN/26/0001", "Credit Note", f"{oid(12, 4)}-1", 1],  # no return: IN422
        [oid(12, 4), "CN/26/0001", "Credit Note", f"{oid(12, 4)}-2", 1],
    ])  # fmt: skip
    assert run(inbox, sandbox).exit_code == 1
    assert mapping_of(inbox, "invoices") == "erp/invoice"
    at = cells(report(inbox, "invoices.errors.xlsx"))
    expected = {"3": ("Item ID", "IN400"), "4": ("Order ID", "IN401")}
    expected |= {"5": ("Order ID", "IN422"), "6": ("Order ID", "IN422")}
    no_return = "a credit note needs an accepted return"  # Konnect's words on rows 5 and 6
    for row, (column, code) in expected.items():
        assert str(at[(row, "error")].value).startswith(code)
        said = str(comment(at[(row, column)]))  # ours, then for IN400/IN422 Konnect's words
        ours = explain(code, no_return) if code == "IN422" else explain(code)
        assert highlighted(at[(row, column)]) and said.startswith(ours)
        others = {"Order ID", "Invoice No", "Item ID", "Qty"} - {column}
        assert not any(highlighted(at[(row, c)]) for c in others), row


# --- the table, and the marking on its own ---


def test_every_code_named_field_is_a_canonical_column_and_every_code_is_explained() -> None:
    columns = {c for feed in FEEDS.values() for c in feed.columns}
    assert {f for fields in CODE_FIELDS.values() for f in fields} <= columns
    assert {field for _, field in MESSAGE_FIELDS} <= columns
    assert set(CODE_FIELDS) <= set(CODE_EXPLANATIONS)
    for code in ("X400", "X413", "HTTP429", "UNAVAILABLE", "Q999"):  # whole requests, unknown
        assert code not in CODE_FIELDS


def marked(code: str, state: str = "acknowledged", sku: str = "A-1", n: int = 1) -> RowOutcomes:
    """`n` stock rows refused with `code`; the file's columns are Site, Item, Qty."""
    frame = pd.DataFrame({"location_id": ["DEL"] * n, "sku": [sku] * n, "quantity": [1] * n})
    validated = Validated(frame, np.arange(n), np.arange(n) + 2, [])
    out = RowOutcomes(status=np.array(["failed"] * n, dtype=object), message=[explain(code)] * n)
    out.field_columns = source_columns(
        ["Site", "Item", "Qty"], {"location_id": "site", "sku": " ITEM ", "quantity": "Qty"}
    )
    refused = dict.fromkeys(range(n), (code, "Konnect's own words"))
    result = ChunkResult(0, state, None, refused, [], "whole chunk")
    note_refused(out, validated, [Chunk(0, b"[]", range(n))], [result])
    return out


def test_source_columns_find_the_header_as_mappings_compare_it() -> None:
    header = ["Site", "Item", "Qty", "item"]
    sources = {"location_id": "site", "sku": " ITEM ", "quantity": "", "orderId": "Gone"}
    assert source_columns(header, sources) == {"location_id": 0, "sku": 1}


@pytest.mark.parametrize(
    ("code", "cell"), [("X404SKU", (0, 1)), ("X404LOC", (0, 0)), ("X409", None), ("Q999", None)]
)
def test_only_a_code_naming_a_field_of_the_file_marks_a_cell(
    code: str, cell: tuple[int, int] | None
) -> None:
    out = marked(code)
    assert out.cell_problems == ({} if cell is None else {cell: explain(code)})
    assert out.message == [explain(code)]


def test_a_request_refused_as_a_whole_marks_no_cell() -> None:
    assert marked("X404SKU", state="failed").cell_problems == {}


@pytest.mark.parametrize(
    ("sku", "hinted"), [("12345", True), ("00012345", True), ("A12345", False), ("１２", False)]
)
def test_the_leading_zeros_hint_is_for_all_digit_skus_only(sku: str, hinted: bool) -> None:
    out = marked("X404SKU", sku=sku)
    assert (LOST_ZEROS_HINT in out.message[0]) is hinted
    assert (LOST_ZEROS_HINT in out.cell_problems[(0, 1)]) is hinted
    assert marked("X404LOC", sku=sku).message == [explain("X404LOC")]


@pytest.mark.parametrize(
    ("sku", "hinted"), [("1-Mar", True), ("01-Mar-26", True), ("Mar-01", True), ("MAR-X1", False)]
)
def test_an_unknown_sku_that_looks_like_a_date_says_excel_may_have_made_it(
    sku: str, hinted: bool
) -> None:
    assert (DATE_HINT in marked("X404SKU", sku=sku).message[0]) is hinted


def test_past_the_comment_budget_cells_are_highlighted_without_a_comment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file refused as a whole must not carry a million comments (XlsxWriter's cost): past
    the budget, refused cells - like cells our own checks refused - are only filled."""
    monkeypatch.setattr(xlsxreport, "MAX_COMMENTS", 2)
    out = marked("X404LOC", n=3)
    assert set(out.cell_problems.values()) == {explain("X404LOC")}  # every cell is marked
    cells_ = pd.DataFrame({0: ["DEL"] * 3, 1: ["A-1"] * 3, 2: ["1"] * 3}, dtype="str")
    numbers = np.arange(2, 5, dtype=np.int64)
    table = Table(
        ["Site", "Item", "Qty"], cells_, numbers, 1, Sheet(cells_, numbers, Path("s.xlsx"), "xlsx")
    )
    summary = {
        "input": "s.xlsx", "feed": "stock", "mapping": "m", "outcome": "failed",
        "rows": {"total": 3, "ok": 0, "rejected": 0, "failed": 3, "unknown": 0},
        "chunks": {"total": 1, "acknowledged": 1}, "ack_ids": [], "started_at": "",
        "finished_at": "", "file_errors": [],
    }  # fmt: skip
    write_reports(tmp_path, "s", "xlsx", table, out, summary)
    sheet = load_workbook(tmp_path / "s.errors.xlsx").active
    assert sheet is not None
    assert [comment(sheet[f"A{r}"]) for r in (2, 3, 4)] == [explain("X404LOC")] * 2 + [None]
    assert all(highlighted(sheet[f"A{r}"]) for r in (2, 3, 4))


def test_a_code_that_names_only_the_kind_keeps_konnects_words() -> None:
    """'Konnect refused the value' alone does not say which: Konnect's message does."""
    said = explain("X422", "item 1-2: quantity must be 1..2, got 5")
    assert said == "X422 - Konnect refused the value: item 1-2: quantity must be 1..2, got 5"
    assert explain("X404SKU", "unknown sku A-1") == "X404SKU - Konnect does not know this SKU"
    assert explain("Q999", "something new") == "Q999 - something new"
