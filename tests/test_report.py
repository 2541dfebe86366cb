"""Report files: what a user opens in Excel after a run, and drops back into the inbox."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from openpyxl import load_workbook

from etl.atomic import atomic_write, atomic_write_bytes
from etl.droppedback import own_positions, row_column
from etl.model import Sheet, Table
from etl.outbox import write_sheet
from etl.readers import read_sheet
from etl.report import RowOutcomes, extra_names, write_reports
from etl.reportsheet import is_risky

HEADER = ["Site", "Item Code", "Closing Qty"]


def make_table(rows: list[list[str]], header: list[str] | None = None, first: int = 2) -> Table:
    header = header or HEADER
    cells = pd.DataFrame(
        {j: pd.Series([r[j] for r in rows], dtype="str") for j in range(len(header))}
    )
    numbers = np.arange(first, first + len(rows), dtype=np.int64)
    sheet = Sheet(cells, numbers, Path("stock.xlsx"), "xlsx", sheet_name="Stock")
    return Table(header, cells, numbers, first - 1, sheet)


def make_summary(**changes: Any) -> dict[str, Any]:
    rows = {"total": 3, "ok": 1, "rejected": 1, "failed": 1, "unknown": 0}
    summary = {
        "input": "stock.csv",
        "feed": "stock",
        "mapping": "generic/stock",
        "outcome": "partial",
        "rows": rows,
        "chunks": {"total": 1, "acknowledged": 1},
        "ack_ids": ["ack-1"],
        "started_at": "2025-01-31T10:00:00",
        "finished_at": "2025-01-31T10:00:05",
        "file_errors": [],
    }
    return summary | changes


@pytest.fixture
def table() -> Table:
    return make_table(
        [
            ["BLR-1", "SKU1", "12"],
            ["BLR-1", "SKU2", "-3"],
            ["", "", ""],
            ["BLR-1", "SKU3", "=SUM(A1)"],
            ["Grand Total", "", "9"],
        ]
    )


@pytest.fixture
def outcomes() -> RowOutcomes:
    return RowOutcomes(
        status=np.array(["ok", "rejected", "ok", "failed", "ok"], dtype=object),
        message=["", "'-3' - stock cannot be negative", "", "unknown SKU", ""],
        include=np.array([True, True, False, True, False]),
        cell_problems={(1, 2): "stock cannot be negative"},
    )


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline=""), delimiter=","))


def read_xlsx(path: Path) -> Any:
    return load_workbook(path).active


def test_result_csv_has_every_data_row_with_row_status_message(
    tmp_path: Path, table: Table, outcomes: RowOutcomes
) -> None:
    write_reports(tmp_path, "stock", "csv", table, outcomes, make_summary())
    rows = read_csv(tmp_path / "stock.result.csv")
    assert rows[0] == [*HEADER, "row", "status", "message"]
    assert rows[1] == ["BLR-1", "SKU1", "12", "2", "ok", ""]
    assert rows[2] == ["BLR-1", "SKU2", "-3", "3", "rejected", "'-3' - stock cannot be negative"]
    assert rows[3] == ["BLR-1", "SKU3", "'=SUM(A1)", "5", "failed", "unknown SKU"]
    assert len(rows) == 4  # the blank row and the total row are not data


def test_errors_csv_keeps_original_columns_and_adds_error_and_row(
    tmp_path: Path, table: Table, outcomes: RowOutcomes
) -> None:
    paths = write_reports(tmp_path, "stock", "csv", table, outcomes, make_summary())
    assert [p.name for p in paths] == [
        "stock.result.csv",
        "stock.errors.csv",
        "stock.summary.json",
    ]
    rows = read_csv(tmp_path / "stock.errors.csv")
    assert rows == [
        [*HEADER, "error", "row"],
        ["BLR-1", "SKU2", "-3", "'-3' - stock cannot be negative", "3"],
        ["BLR-1", "SKU3", "'=SUM(A1)", "unknown SKU", "5"],
    ]


def test_csv_round_trip_gives_back_the_original_cells(tmp_path: Path) -> None:
    cells = [["a;b", 'say "hi"', "line\nbreak"], ["₹1,299.00", "Café", " spaced "]]
    table = make_table(cells, header=["Name", "Note", "Text;x"])
    out = RowOutcomes(status=["rejected", "failed"], message=["bad", "worse"])
    write_reports(tmp_path, "f", "csv", table, out, make_summary(), delimiter=";")
    raw = (tmp_path / "f.errors.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw[3:].decode("utf-8")
    assert text.splitlines()[0] == 'Name;Note;"Text;x";error;row'
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert [r[:3] for r in rows[1:]] == cells
    assert rows[0] == ["Name", "Note", "Text;x", "error", "row"]


def test_formula_cells_are_neutralised_in_csv_but_plain_numbers_are_kept(tmp_path: Path) -> None:
    cells = [["=SUM(A1)", "-3", "+91 98765 43210"], ["@cmd", "+919876543210", "-2+3"]]
    cells += [["\tx", "-0.5", "=HYPERLINK(1)"]]
    table = make_table(cells)
    out = RowOutcomes(status=["rejected"] * 3, message=["=1+1", "-", "fine"])
    write_reports(tmp_path, "f", "csv", table, out, make_summary())
    rows = read_csv(tmp_path / "f.errors.csv")
    assert rows[1][:4] == ["'=SUM(A1)", "-3", "'+91 98765 43210", "'=1+1"]
    assert rows[2][:4] == ["'@cmd", "+919876543210", "'-2+3", "'-"]
    assert rows[3][:3] == ["'\tx", "-0.5", "'=HYPERLINK(1)"]


@pytest.mark.parametrize(
    "code",
    ["00123", "12345678901234567890", "356938035643809", "123456789012", "MAR-01", "Sept2",
     "1-Mar", "01 March 2026", "1-2", "12/10", "2026-01-05", "10:30", "9:05 pm", "12E3", "1.5e-3",
     "2026-11-06 10:00:00", "06/11/2026 10:00", "6-Nov-2026 9:05 pm", "2026-11-06T10:00:00.250",
     "2345678901232.0", "2,345,678,901,237"],
)  # fmt: skip
def test_codes_excel_would_change_are_kept_in_csv_and_read_back_as_they_were(
    tmp_path: Path, code: str
) -> None:
    """00123 would open in Excel as 123, MAR-01 as a date, 12E3 as 12000, a long code with
    `.0` or thousands separators (refused as such, to be fixed) as 2.34568E+12: written ="..."."""
    table = make_table([["DEL-WH-01", code, "5"]])
    write_reports(tmp_path, "f", "csv", table, RowOutcomes(["rejected"], ["x"]), make_summary())
    raw = (tmp_path / "f.errors.csv").read_bytes().decode("utf-8-sig").splitlines()
    assert raw[1].startswith(f'DEL-WH-01,"=""{code}""",5,')
    back = read_sheet(tmp_path / "f.errors.csv")  # dropped back in as it is
    assert back.cells.to_numpy().tolist()[1][:3] == ["DEL-WH-01", code, "5"]
    result = (tmp_path / "f.result.csv").read_bytes().decode("utf-8-sig").splitlines()
    as_was = f'"{code}"' if "," in code else code  # for programs: the value as it was
    assert result[1].startswith(f"DEL-WH-01,{as_was},5,")


def test_decimal_looking_codes_are_kept_in_a_column_of_codes_only(tmp_path: Path) -> None:
    """SKU `4711.10` would open in Excel as 4711.1 and `(123)` as -123, and go back so: in
    a column a code field reads they are written ="..."; a quantity `10.50` is not a code."""
    table = make_table([["DEL-WH-01", "4711.10", "10.50"], ["DEL-WH-01", "(123)", "5"]])
    out = RowOutcomes(["rejected"] * 2, ["x", "y"], field_columns={"sku": 1, "quantity": 2})
    write_reports(tmp_path, "f", "csv", table, out, make_summary())
    raw = (tmp_path / "f.errors.csv").read_bytes().decode("utf-8-sig").splitlines()
    assert raw[1].startswith('DEL-WH-01,"=""4711.10""",10.50,')
    assert raw[2].startswith('DEL-WH-01,"=""(123)""",5,')
    back = read_sheet(tmp_path / "f.errors.csv")
    assert [row[1] for row in back.cells.to_numpy().tolist()[1:]] == ["4711.10", "(123)"]


@pytest.mark.parametrize(
    ("header", "row", "ours"),
    [
        (["location_id", "sku", "quantity", "error", "row"], 4, [3, 4]),
        (["error", "location_id", "sku", "quantity", "row"], 4, [0, 4]),
        (["location_id", "sku", "quantity", " row"], 3, [3]),
        # the export had a `row` of its own: ours is `row (konnect-etl)`, `error` deleted
        (["location_id", "sku", "row", "quantity", "row (konnect-etl)"], 4, [4]),
        (["location_id", "sku", "quantity"], None, []),
    ],
)
def test_our_columns_are_found_in_an_errors_file_as_the_user_left_it(
    header: list[str], row: int | None, ours: list[int]
) -> None:
    assert row_column(header) == row
    assert own_positions("stock.errors.csv", header) == ours
    assert own_positions("stock.csv", header) == (ours if header[-2:] == ["error", "row"] else [])


def test_codes_excel_leaves_alone_are_written_plain(tmp_path: Path) -> None:
    cells = [["0", "0.50", "123"], ["98765432101", "MARKET-1", "SKU-0001"], ["4.5", "DEC", "ab"]]
    table = make_table(cells)
    out = RowOutcomes(status=["rejected"] * 3, message=["x", "y", "z"])
    write_reports(tmp_path, "f", "csv", table, out, make_summary())
    assert [row[:3] for row in read_csv(tmp_path / "f.errors.csv")[1:]] == cells


@pytest.mark.parametrize(
    ("value", "risky"),
    [("=1", True), ("-3", False), ("+3.5", False), ("-", True), ("-1,234", True), ("", False)],
)
def test_the_neutralising_rule(value: str, risky: bool) -> None:
    assert is_risky(value) is risky


def test_result_xlsx_highlights_problem_cells_and_colours_status(
    tmp_path: Path, table: Table, outcomes: RowOutcomes
) -> None:
    write_reports(tmp_path, "stock", "xlsx", table, outcomes, make_summary())
    ws = read_xlsx(tmp_path / "stock.result.xlsx")
    assert ws.title == "Stock"
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == [*HEADER, "row", "status", "message"]
    assert all(c.font.b for c in ws[1])
    bad = ws["C3"]  # row position 1 = second report row, column "Closing Qty"
    assert bad.value == "-3"
    assert bad.fill.fgColor.rgb.endswith("FFC7CE")
    assert bad.comment.text == "stock cannot be negative"
    assert ws["C2"].comment is None
    assert ws["C2"].fill.fill_type is None
    assert ws["E2"].fill.fgColor.rgb.endswith("C6EFCE")  # ok
    assert ws["E3"].fill.fgColor.rgb.endswith("FFC7CE")  # rejected
    assert [ws.cell(r, 4).value for r in (2, 3, 4)] == [2, 3, 5]
    assert ws.max_row == 4


def test_errors_xlsx_has_header_on_row_one_and_the_comment(
    tmp_path: Path, table: Table, outcomes: RowOutcomes
) -> None:
    write_reports(tmp_path, "stock", "xlsx", table, outcomes, make_summary())
    ws = read_xlsx(tmp_path / "stock.errors.xlsx")
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values == [
        [*HEADER, "error", "row"],
        ["BLR-1", "SKU2", "-3", "'-3' - stock cannot be negative", 3],
        ["BLR-1", "SKU3", "=SUM(A1)", "unknown SKU", 5],
    ]
    assert ws["C2"].comment.text == "stock cannot be negative"
    assert ws["D2"].fill.fgColor.rgb.endswith("FFC7CE")


def test_xlsx_never_holds_a_formula_or_error_value(tmp_path: Path) -> None:
    cells = [["=SUM(A1)", "#N/A", "-3"], ["=1+1", "ctrl\x01char", "@x"]]
    table = make_table(cells, header=["=H", "Item Code", "Closing Qty"])
    out = RowOutcomes(status=["ok", "unknown"], message=["", "=HYPERLINK(2)"])
    write_reports(tmp_path, "f", "xlsx", table, out, make_summary())
    ws = read_xlsx(tmp_path / "f.result.xlsx")
    cells_read = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells_read if c.data_type in ("f", "e")]
    assert ws["A1"].value == "=H"
    assert ws["A2"].value == "=SUM(A1)"
    assert ws["A2"].quotePrefix
    assert ws["B2"].value == "#N/A"
    assert ws["C2"].value == "-3"
    assert not ws["C2"].quotePrefix
    assert ws["B3"].value == "ctrlchar"  # a control character XML cannot hold is dropped
    assert ws["F3"].value == "=HYPERLINK(2)"
    assert ws["E3"].fill.fgColor.rgb.endswith("FFEB9C")  # unknown


def test_xlsx_cells_are_text_so_a_code_retyped_in_excel_keeps_its_zeros(tmp_path: Path) -> None:
    """Plain, highlighted and quote-prefixed cells, and the empty cells below, are Text."""
    table = make_table([["BLR-1", "00012345", "-3"], ["BLR-1", "=1", "4"]])
    out = RowOutcomes(status=["rejected", "ok"], message=["'-3' - negative", ""])
    out.cell_problems[(0, 2)] = "stock cannot be negative"
    write_reports(tmp_path, "f", "xlsx", table, out, make_summary())
    ws = read_xlsx(tmp_path / "f.errors.xlsx")
    assert [c.number_format for c in ws[2]] == ["@"] * ws.max_column
    assert ws["C2"].fill.fgColor.rgb.endswith("FFC7CE")  # the highlighted one too
    assert ws.column_dimensions["B"].number_format == "@"  # rows the user adds below
    result = read_xlsx(tmp_path / "f.result.xlsx")
    assert result["B3"].number_format == "@" and result["B3"].quotePrefix


def test_all_ok_writes_no_errors_file_and_removes_a_stale_one(tmp_path: Path) -> None:
    table = make_table([["BLR-1", "SKU1", "1"]])
    (tmp_path / "f.errors.csv").write_text("stale")
    paths = write_reports(tmp_path, "f", "csv", table, RowOutcomes(["ok"], [""]), make_summary())
    assert [p.name for p in paths] == ["f.result.csv", "f.summary.json"]
    assert not (tmp_path / "f.errors.csv").exists()


def test_summary_json_is_the_dict_given(tmp_path: Path, table: Table) -> None:
    summary = make_summary(extra={"header_row": 1})
    write_reports(tmp_path, "f", "csv", None, None, summary)
    text = (tmp_path / "f.summary.json").read_text()
    assert orjson.loads(text) == summary
    assert text.startswith('{\n  "input"')


@pytest.mark.parametrize("missing", ["outcome", "ack_ids", "file_errors"])
def test_summary_without_a_required_key_is_a_programming_error(
    tmp_path: Path, missing: str
) -> None:
    summary = make_summary()
    del summary[missing]
    with pytest.raises(ValueError, match=missing):
        write_reports(tmp_path, "f", "csv", None, None, summary)
    assert list(tmp_path.iterdir()) == []


def test_summary_rows_need_every_count(tmp_path: Path) -> None:
    rows = {"total": 1, "ok": 1, "rejected": 0, "failed": 0}
    with pytest.raises(ValueError, match=r"rows\.unknown"):
        write_reports(tmp_path, "f", "csv", None, None, make_summary(rows=rows))


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_whole_file_failure_lists_the_file_errors(tmp_path: Path, kind: Any) -> None:
    errors = ["No mapping matches 'stock.csv'", "the header row has no 'sku' column"]
    summary = make_summary(outcome="failed", file_errors=errors)
    paths = write_reports(tmp_path, "f", kind, None, None, summary)
    assert [p.name for p in paths] == [f"f.errors.{kind}", "f.summary.json"]
    if kind == "csv":
        rows = read_csv(tmp_path / "f.errors.csv")
    else:
        rows = [[c.value for c in r] for r in read_xlsx(tmp_path / "f.errors.xlsx").iter_rows()]
    assert rows == [["error"], *([e] for e in errors)]


def test_extra_columns_do_not_collide_with_the_files_own(tmp_path: Path) -> None:
    table = make_table([["x", "y", "z"]], header=["Error", "Row", "status"])
    out = RowOutcomes(["rejected"], ["bad"])
    write_reports(tmp_path, "f", "csv", table, out, make_summary())
    assert read_csv(tmp_path / "f.result.csv")[0] == [
        *["Error", "Row", "status"],
        *["row (konnect-etl)", "status (konnect-etl)", "message"],
    ]
    assert extra_names(["error", "error (konnect-etl)"], ["error"]) == ["error (konnect-etl 2)"]


def test_a_redropped_errors_file_gets_fresh_error_columns_not_stacked(tmp_path: Path) -> None:
    table = make_table([["BLR-1", "SKU2", "-3", "old reason", "3"]], [*HEADER, "error", "row"])
    out = RowOutcomes(["rejected"], ["new reason"])
    write_reports(tmp_path, "f", "csv", table, out, make_summary())
    rows = read_csv(tmp_path / "f.errors.csv")
    assert rows == [[*HEADER, "error", "row"], ["BLR-1", "SKU2", "-3", "new reason", "2"]]


def test_duplicate_and_blank_headers_are_kept_by_position(tmp_path: Path) -> None:
    table = make_table([["1", "2", "3"]], header=["Qty", "", "Qty"])
    write_reports(tmp_path, "f", "csv", table, RowOutcomes(["failed"], ["x"]), make_summary())
    assert read_csv(tmp_path / "f.errors.csv") == [
        ["Qty", "", "Qty", "error", "row"],
        ["1", "2", "3", "x", "2"],
    ]


def test_outcomes_of_the_wrong_length_are_refused(tmp_path: Path, table: Table) -> None:
    with pytest.raises(ValueError, match="one status"):
        write_reports(tmp_path, "f", "csv", table, RowOutcomes(["ok"], [""]), make_summary())


def test_a_failing_writer_leaves_neither_final_nor_temp_file(tmp_path: Path) -> None:
    def broken(temp: Path) -> None:
        temp.write_bytes(b"half a rep")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(tmp_path / "r.csv", broken)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_writer_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "r.csv"
    atomic_write_bytes(target, b"complete")

    def broken(temp: Path) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, broken)
    assert target.read_bytes() == b"complete"
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_a_report_that_fails_midway_leaves_no_file(
    tmp_path: Path, table: Table, outcomes: RowOutcomes, monkeypatch: pytest.MonkeyPatch
) -> None:
    import etl.report

    def explode(path: Path, sheet: Any) -> None:
        path.write_bytes(b"PK partial zip")
        raise RuntimeError("crash")

    monkeypatch.setattr(etl.report, "write_xlsx", explode)
    with pytest.raises(RuntimeError):
        write_reports(tmp_path, "stock", "xlsx", table, outcomes, make_summary())
    assert list(tmp_path.iterdir()) == []


def test_report_files_are_readable_by_others(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "r.json", b"{}")
    assert (tmp_path / "r.json").stat().st_mode & 0o044  # not mkstemp's owner-only 0600


def test_csv_from_chunked_and_object_columns_over_several_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import etl.reportsheet

    monkeypatch.setattr(etl.reportsheet, "CSV_BATCH", 2)
    first = pd.Series(["a", "=b"], dtype="str")
    rest = pd.Series(["", "-3", "x,y"], dtype="str")
    cells = pd.DataFrame(
        {
            0: pd.concat([first, rest], ignore_index=True),  # several Arrow chunks
            1: pd.Series(["1", None, "c", "d", 'e"'], dtype=object),
        }
    )
    numbers = np.arange(2, 7, dtype=np.int64)
    table = Table(["A", "B"], cells, numbers, 1, Sheet(cells, numbers, Path("f.csv"), "csv"))
    out = RowOutcomes(["ok"] * 5, [""] * 5)
    write_reports(tmp_path, "f", "csv", table, out, make_summary())
    assert [r[:3] for r in read_csv(tmp_path / "f.result.csv")] == [
        ["A", "B", "row"],
        ["a", "1", "2"],
        ["'=b", "", "3"],
        ["", "c", "4"],
        ["-3", "d", "5"],
        ["x,y", 'e"', "6"],
    ]


def test_an_erp_import_file_keeps_digits_plain(tmp_path: Path) -> None:
    """The pull side's CSV is for an ERP to import, not for Excel: no ="..." there."""
    write_sheet(tmp_path / "orders.csv", ["orderId", "pincode"], [["000123", "012345"]])
    assert read_csv(tmp_path / "orders.csv")[1] == ["000123", "012345"]


def test_an_erp_import_file_keeps_phones_and_addresses_but_not_formula_attacks(
    tmp_path: Path,
) -> None:
    """A customer's address comes from a marketplace: '=HYPERLINK(...)' or a DDE payload is
    neutralised even in a file for an ERP; '+91 98123 45678' and '- Near...' are data."""
    kept = ["+91 98123 45678", "+91 98123 45678 (home)", "- Near Hanuman Mandir", "-",
            "- Opp. Bus Stand (Main Rd)", "-5 (returned)"]  # fmt: skip
    attacks = ["=HYPERLINK(\"x\")", "+cmd|' /C calc'!A0", "@SUM(A1)", "+SUM(A1:A3)",
               "-2+3+cmd|' /C calc'!A0", "-HYPERLINK(\"x\")"]  # fmt: skip
    write_sheet(tmp_path / "orders.csv", ["address"], [[v] for v in kept + attacks])
    assert [row[0] for row in read_csv(tmp_path / "orders.csv")[1:]] == kept + [
        f"'{value}" for value in attacks
    ]


def test_reports_of_a_tab_separated_file_are_comma_separated(tmp_path: Path) -> None:
    """Excel's "Unicode Text" (UTF-16, tabs): Excel opens a .csv split at its list separator
    only, so the errors file is written with commas, and reads back the same."""
    from typer.testing import CliRunner

    from etl.cli import app

    source = tmp_path / "stock.txt"
    text = "location_id\tsku\tquantity\r\nDEL-WH-01\tA, B\t-3\r\nDEL-WH-01\tC\t2\r\n"
    source.write_bytes(text.encode("utf-16"))
    assert CliRunner().invoke(app, ["validate", str(source)]).exit_code == 1
    errors = tmp_path / "stock.errors.csv"
    lines = errors.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "location_id,sku,quantity,error,row"
    again = read_sheet(errors)
    assert again.delimiter == ","
    assert list(again.cells.iloc[1])[:3] == ["DEL-WH-01", "A, B", "-3"]
