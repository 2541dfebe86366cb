"""Day-first dates typed into a spreadsheet that reads month first (an English (US) Excel or
Calc, as on many Indian office PCs) are refused, never sent months wrong.

`07/01/2026` (7 January) becomes a date cell for 1 July; `13/01/2026` (no month 13) stays
text. That text cell proves the typist writes day first, so the column's date cells whose day
could be a month are refused; 05/05 reads the same both ways and is sent. The mirror case (an
English (India) sheet, typed month first) likewise. The fixtures were written by LibreOffice
(tests/fixtures/office/DATES.md).
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from runs import run

from etl.datestep import DateStep, SwappedCells
from etl.excelread import read_workbook_sheet
from etl.konnect import ENDPOINTS

OFFICE = Path(__file__).parent / "fixtures" / "office"
DONE = date.today().isoformat()
TYPED_DAY_FIRST = ["status_en-US_daymonth_typed.xlsx", "status_en-US_daymonth_typed.ods"]
TYPED_DAY_FIRST += ["status_en-US_daymonth_typed.xls"]


def sent(sandbox: Any, feed: str) -> dict[str, dict[str, Any]]:
    """orderId -> the record Konnect applied for `feed`."""
    path = ENDPOINTS[feed].path
    entries = sandbox.ledger()
    return {
        e["key"]: e["record"] for e in entries if e["path"] == path and e["outcome"] == "applied"
    }


def dropped(tmp_path: Path, name: str) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(OFFICE / name, inbox / name)
    return inbox


def promised(tmp_path: Path, sandbox: Any, name: str, exit_code: int) -> tuple[Path, Any]:
    """Run the status file `name` alone: its inbox, and the promised dates Konnect applied."""
    inbox = dropped(tmp_path, name)
    result = run(inbox, sandbox)
    assert result.exit_code == exit_code, result.output
    return inbox, dates_sent(sandbox)


def dates_sent(sandbox: Any) -> dict[str, str]:
    """orderId -> the promised delivery date Konnect applied."""
    return {o: r["meta"]["promised_delivery_date"] for o, r in sent(sandbox, "status").items()}


def errors_of(inbox: Path, stem: str) -> dict[str, str]:
    """The errors workbook's `error` cells by their `row`."""
    sheet = load_workbook(inbox / "done" / DONE / f"{stem}.errors.xlsx").active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    return {str(r[header.index("row")]): str(r[header.index("error")]) for r in rows[1:]}


@pytest.mark.parametrize("name", TYPED_DAY_FIRST)
def test_day_first_dates_typed_on_an_english_us_sheet_are_refused_not_sent_swapped(
    tmp_path: Path, sandbox: Any, name: str
) -> None:
    inbox, meta = promised(tmp_path, sandbox, name, exit_code=1)
    assert meta == {"13000000000000000005": "2026-01-13"}  # 1 July and 1 August never go
    errors = errors_of(inbox, Path(name).stem)
    assert set(errors) == {"2", "4"}
    first = errors["2"]
    assert "the spreadsheet holds 1 Jul 2026 here, but this column also has 13/01/2026" in first
    assert "it read 07/01/2026 month first, as a spreadsheet set to English (United" in first
    assert "Type the column's dates again as 08-Jan-2026 or 2026-01-08" in errors["4"]


def test_an_ack_date_typed_day_first_on_an_english_us_sheet_is_refused(
    tmp_path: Path, sandbox: Any
) -> None:
    name = "invoice register - en-US daymonth typed.xlsx"
    inbox = dropped(tmp_path, name)
    result = run(inbox, sandbox)
    assert result.exit_code == 1, result.output
    ack = {o: r["ackDate"] for o, r in sent(sandbox, "invoice").items()}
    assert ack == {"12000000000000000009": "2026-01-13 10:00:00"}  # not 1 May 14:30
    error = errors_of(inbox, Path(name).stem)["2"]
    assert "holds 1 May 2026 14:30 here, but this column also has 13/01/2026 10:00" in error
    assert "as 05-Jan-2026 14:30 or 2026-01-05 14:30" in error


def test_month_first_dates_typed_on_an_english_india_sheet_are_refused_too(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox, meta = promised(tmp_path, sandbox, "status_en-IN_monthday_typed.xlsx", exit_code=1)
    assert meta == {"13000000000000000009": "2026-05-05"}  # the same both ways
    errors = errors_of(inbox, "status_en-IN_monthday_typed")
    assert "also has 01/13/2026, a date written month first" in errors["2"]
    assert "it read 01/07/2026 day first, as a spreadsheet set to English (India)" in errors["2"]
    assert "day and month may be swapped" in errors["3"]  # the text cell: refused as before


def test_the_csv_saved_from_the_same_sheet_goes_through_as_before(
    tmp_path: Path, sandbox: Any
) -> None:
    _, meta = promised(tmp_path, sandbox, "status_en-US_daymonth_typed.csv", exit_code=0)
    assert meta == {
        "13000000000000000004": "2026-01-07",  # the CSV writes 07/01/26: read day first
        "13000000000000000005": "2026-01-13",
        "13000000000000000006": "2026-01-08",
    }


def test_the_errors_file_with_the_dates_typed_again_is_sent(tmp_path: Path, sandbox: Any) -> None:
    inbox, _ = promised(tmp_path, sandbox, "status_en-US_daymonth_typed.xlsx", exit_code=1)
    book = load_workbook(inbox / "done" / DONE / "status_en-US_daymonth_typed.errors.xlsx")
    sheet = book.active
    assert sheet is not None
    sheet["C2"], sheet["C3"] = datetime(2026, 1, 7), datetime(2026, 1, 8)  # typed 07-Jan-2026
    book.save(inbox / "status_en-US_daymonth_typed.errors.xlsx")
    result = run(inbox, sandbox)
    assert result.exit_code == 0, result.output
    assert dates_sent(sandbox) == {
        "13000000000000000004": "2026-01-07",
        "13000000000000000005": "2026-01-13",
        "13000000000000000006": "2026-01-08",
    }


def read_column(tmp_path: Path, cells: list[object]) -> tuple[pd.Series, np.ndarray]:
    """One column of an openpyxl workbook as the reader gives it: text, and its number mask."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for cell in ["promised_delivery_date", *cells]:
        sheet.append([cell])
    book.save(tmp_path / "dates.xlsx")
    read = read_workbook_sheet(tmp_path / "dates.xlsx", "xlsx")
    assert read.numeric is not None
    return read.cells[0].iloc[1:].reset_index(drop=True), read.numeric[1:, 0]


def refused(tmp_path: Path, cells: list[object], step: DateStep | None = None) -> list[str]:
    values, numbers = read_column(tmp_path, cells)
    out, failures = (step or DateStep(order="day")).apply_typed(values, numbers)
    swapped = [f for f in failures if isinstance(f, SwappedCells)]
    mask = swapped[0].mask if swapped else np.zeros(len(values), dtype=bool)
    assert (out[mask] == "").all()
    return [str(v) for v in values[mask]]


def test_the_step_refuses_exactly_the_date_cells_a_month_first_reading_could_swap(
    tmp_path: Path,
) -> None:
    cells = [datetime(2026, 7, 1), "13/01/2026", datetime(2026, 5, 5), datetime(2026, 1, 20)]
    cells += [46023, datetime(2026, 3, 4, 9, 15)]  # a number cell: a serial, not a date cell
    assert refused(tmp_path, cells) == ["2026-07-01", "2026-03-04 09:15:00"]
    assert refused(tmp_path, cells, DateStep()) == ["2026-07-01", "2026-03-04 09:15:00"]


@pytest.mark.parametrize(
    "cells",
    [
        [datetime(2026, 7, 1), datetime(2026, 8, 1)],  # date cells alone: what the sheet says
        [datetime(2026, 7, 1), "07/01/2026"],  # text that reads both ways proves nothing
        [datetime(2026, 7, 1), "13/01/2026", "01/13/2026"],  # both orders typed: neither shown
        [datetime(2026, 7, 1), "2026-01-13", "13-Jan-2026"],  # no numeric date in the text
    ],
)
def test_a_column_that_proves_nothing_is_read_as_the_spreadsheet_holds_it(
    tmp_path: Path, cells: list[object]
) -> None:
    assert refused(tmp_path, cells) == []


def test_text_read_from_a_csv_is_never_refused_so() -> None:
    values = pd.Series(["2026-07-01", "13/01/2026"])
    out, failures = DateStep(order="day").apply_typed(values, None)
    assert out.tolist() == ["2026-07-01", "2026-01-13"] and failures == []


def test_the_message_names_the_date_as_the_spreadsheet_holds_it(tmp_path: Path) -> None:
    values, numbers = read_column(tmp_path, [datetime(2026, 5, 1, 14, 30), "13.01.2026 10:00"])
    _, [failure] = DateStep(order="day", with_time=True).apply_typed(values, numbers)
    assert failure.said("2026-05-01 14:30:00") == (
        "the spreadsheet holds 1 May 2026 14:30 here, but this column also has 13.01.2026 10:00,"
        " a date written day first, which the spreadsheet kept as text: it read 05.01.2026 14:30"
        " month first, as a spreadsheet set to English (United States) does. Type the column's"
        " dates again as 05-Jan-2026 14:30 or 2026-01-05 14:30 (or format the column as Text"
        " first) and send the file again"
    )
