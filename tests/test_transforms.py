"""Every transform, on small columns of text as a reader would deliver them."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from etl.datestep import DateStep
from etl.excelread import format_value
from etl.numbers import parse_numbers
from etl.numberstep import (
    COMMA,
    DASH_AMOUNT,
    DASH_ZERO,
    DOT_EITHER_WAY,
    DOT_OR_DECIMALS,
    EITHER_WAY_MESSAGE,
    FRACTION,
    LOST_SIGN,
    MONEY_IN_PIECES,
    NO_AMOUNT,
    NO_NUMBER,
    OTHER_UNIT,
    PIECES_IN_MONEY,
    SCIENTIFIC,
    SCIENTIFIC_AMOUNT,
    SPACED,
    WHOLE_COMMA,
    Number,
)
from etl.transforms import (
    Extract,
    Failure,
    Lower,
    Replace,
    Split,
    Strip,
    Upper,
    ValueMap,
    Zfill,
    map_key,
)


def col(*cells: str) -> pd.Series:
    return pd.Series(list(cells), dtype="str")


def failed_rows(failures: list[Failure]) -> list[int]:
    rows: set[int] = set()
    for failure in failures:
        rows |= set(np.flatnonzero(failure.mask).tolist())
    return sorted(rows)


def test_text_steps_keep_text() -> None:
    assert Strip().apply(col("  TS-BLK-S ", ""))[0].tolist() == ["TS-BLK-S", ""]
    assert Upper().apply(col("ts-blk-s"))[0].tolist() == ["TS-BLK-S"]
    assert Lower().apply(col("YES"))[0].tolist() == ["yes"]


def test_integer_reads_whole_numbers_written_many_ways() -> None:
    values, failures = Number(whole=True).apply(col("12", "12.0", "1,200", "12 Nos", "-3", ""))
    assert str(values.dtype) == "Int64"
    assert values.tolist()[:5] == [12, 12, 1200, 12, -3]
    assert values.isna().tolist()[5]  # blank stays missing, for validation to judge
    assert failures == []


def test_integer_refuses_fractions_and_words() -> None:
    values, failures = Number(whole=True).apply(col("12.5", "twelve", "7"))
    assert failed_rows(failures) == [0, 1]
    assert {f.code for f in failures} == {"not_integer"}
    assert messages_by_row(failures) == {0: FRACTION, 1: "not a whole number"}
    assert values.isna().tolist() == [True, True, False]


def test_decimal_reads_indian_and_western_grouping() -> None:
    values, failures = Number().apply(col("1,25,000.50", "125,000.50", "125000.5", ".5"))
    assert values.tolist() == [125000.5, 125000.5, 125000.5, 0.5]
    assert failures == []


def test_decimal_strips_currency_marks_and_units() -> None:
    cells = col("₹1,499", "Rs. 1,25,000.00", "Rs.799", "Rs 50", "INR 10", "10 INR", "500/-")
    values, failures = Number().apply(cells)
    assert values.tolist() == [1499, 125000, 799, 50, 10, 10, 500]
    assert failures == []


def test_money_in_a_quantity_and_pieces_in_a_price_are_columns_mixed_up() -> None:
    """A mapping reading Tally's "Value" column as stock, or shifted columns: refused."""
    values, failures = Number(whole=True).apply(col("Rs. 12", "₹12/-", "12 INR", "5 /-", "12 Nos"))
    assert values.isna().tolist() == [True, True, True, True, False]
    assert messages_by_row(failures) == dict.fromkeys(range(4), MONEY_IN_PIECES)
    values, failures = Number().apply(col("499 pcs", "399 Nos", "499.00 INR"))
    assert values.isna().tolist() == [True, True, False]
    assert messages_by_row(failures) == dict.fromkeys(range(2), PIECES_IN_MONEY)
    # what a mapping says it takes is taken: `units:` on a decimal, `currency:` on an integer
    assert Number(units=("box",)).apply(col("4 box"))[0].tolist() == [4.0]
    assert Number(whole=True, currency="INR").apply(col("Rs. 12"))[0].tolist() == [12]


def test_a_dash_for_zero_and_words_for_none_are_named() -> None:
    """Excel's Accounting style writes 0 as ' -   ' to a CSV: refused, and said why."""
    for step, dash, none in (
        (Number(), DASH_AMOUNT, NO_AMOUNT),  # an amount: 0 is no price either
        (Number(whole=True), DASH_ZERO, NO_NUMBER),
    ):
        _, failures = step.apply(col(" -   ", "–", "NA", "n/a", "nil", "None", "-3-"))
        said = messages_by_row(failures)
        assert [said[i] for i in range(6)] == [dash] * 2 + [none] * 4
        assert "Excel" not in said[6]


def test_digits_grouped_with_spaces_are_named_not_guessed() -> None:
    """`1 200` (a space as thousands separator) is refused as before, now saying why; a space
    that groups nothing (`1 2`) is just not a number."""
    for step in (Number(), Number(whole=True)):
        values, failures = step.apply(col("1 200", "12 50 000", "1\u00a0999.50", "1 2", "7"))
        assert values.isna().tolist() == [True, True, True, True, False]
        said = messages_by_row(failures)
        assert [said[i] for i in range(3)] == [SPACED] * 3 and said[3] != SPACED


def test_a_rupee_sign_lost_in_a_cp1252_csv_is_named() -> None:
    _, failures = Number().apply(col("?499", "? 1,299.00", "499?"))
    said = messages_by_row(failures)
    assert said[0] == said[1] == LOST_SIGN and said[2] == "not a number"


def test_a_column_in_several_arrow_chunks_reads_as_one() -> None:
    """A big file's column arrives in Arrow chunks: every step that looks at the raw text
    (bytes, RE2 shapes, the decimal-comma rule) must take it as one column."""
    cells = ["12", "1,200 Nos", "8.90123E+12", "Rs. 5", "", "(-)3 Nos", "1,23,456", "x"]
    chunked = pd.Series(
        pa.chunked_array([cells[:3], cells[3:]], type=pa.large_string()), dtype="str"
    )
    for step in (Number(whole=True), Number(), Number(decimal_comma=True)):
        values, failures = step.apply(chunked)
        plain_values, plain_failures = step.apply(col(*cells))
        assert values.equals(plain_values) and messages_by_row(failures) == messages_by_row(
            plain_failures
        )


def test_scientific_notation_is_never_read_as_a_number() -> None:
    """Excel writes a long number it shortened as 8.90123E+12: the dropped digits are lost."""
    for step in (Number(), Number(whole=True), Number(decimal_comma=True)):
        values, failures = step.apply(col("8.90123E+12", "1e3", "1.2E+03", "12", "Rs. 1 E3"))
        assert values.isna().tolist() == [True, True, True, False, True]
        said = messages_by_row(failures)
        meant = SCIENTIFIC if step.whole else SCIENTIFIC_AMOUNT  # an amount is no barcode
        assert [said[i] for i in range(4) if i in said] == [meant] * 3


def test_decimal_refuses_inconsistent_grouping_rather_than_guess() -> None:
    values, failures = Number().apply(col("1,2,3", "12,5", "1.2.3", "inf", "12 kg", "5"))
    assert failed_rows(failures) == [0, 1, 2, 3, 4]
    assert failures[0].code == "not_number"
    assert values.tolist()[5] == 5.0


def test_decimal_comma_reads_european_numbers() -> None:
    values, failures = Number(decimal_comma=True).apply(col("1.234,50", "12,5", "7"))
    assert values.tolist() == [1234.5, 12.5, 7.0]
    assert failures == []


def test_custom_units_extend_the_defaults() -> None:
    values, failures = Number(whole=True, units=("box",)).apply(col("4 box", "4 Nos"))
    assert values.tolist() == [4, 4]
    assert failures == []


def test_integer_after_decimal_works_on_numbers() -> None:
    numbers, _ = Number().apply(col("12.0", "3"))
    values, failures = Number(whole=True).apply(numbers)
    assert values.tolist() == [12, 3]
    assert failures == []


@given(st.integers(min_value=0, max_value=10**13), st.integers(min_value=0, max_value=99))
def test_indian_and_western_grouping_give_the_same_value(whole: int, paise: int) -> None:
    western = f"{whole:,}.{paise:02d}"
    digits = str(whole)
    head, tail = digits[:-3], digits[-3:]
    pairs = [head[max(0, i - 2) : i] for i in range(len(head), 0, -2)][::-1]
    indian = ",".join([*pairs, tail]) + f".{paise:02d}"
    values, bad = parse_numbers(col(western, indian, f"Rs. {indian}"))
    assert not bad.any()
    assert values[0] == values[1] == values[2] == float(f"{whole}.{paise:02d}")


def test_date_with_explicit_formats_and_iso_and_excel_serials() -> None:
    step = DateStep(formats=("%d-%m-%Y", "%d/%m/%Y"))
    cells = col("21-01-2025", "21/01/2025", "2025-01-21", "45678", "2025-01-21T10:30:00", "")
    values, failures = step.apply(cells)
    assert values.tolist() == ["2025-01-21"] * 5 + [""]
    assert failures == []


def test_datetime_keeps_the_time_of_an_excel_serial() -> None:
    values, _ = DateStep(with_time=True, output="%Y-%m-%dT%H:%M:%S").apply(col("45678.5"))
    assert values.tolist() == ["2025-01-21T12:00:00"]


def test_a_workbook_time_with_a_fraction_of_a_second_is_a_date_and_time() -> None:
    """A date cell holding 12:40:00.25 (=NOW(), an ERP's milliseconds) reads as
    '2026-01-05 12:40:00.250000' (etl.excelread): a date and time, not refused."""
    cell = format_value(datetime(2026, 1, 5, 12, 40, 0, 250000))
    assert cell == "2026-01-05 12:40:00.250000"
    step = DateStep(with_time=True, output="%Y-%m-%d %H:%M:%S")
    values, failures = step.apply(col(cell))
    assert values.tolist() == ["2026-01-05 12:40:00"] and failures == []


def test_a_time_with_am_or_pm_is_read_on_the_24_hour_clock() -> None:
    """Many exports write `27-Nov-2026 2:30 PM`; an hour above 12 with AM/PM is no time."""
    step = DateStep(with_time=True, output="%Y-%m-%d %H:%M:%S", order="day")
    cells = col("27-Nov-2026 2:30 PM", "27/11/2026 12:05 AM", "27-11-2026 12:30 pm",
                "Nov 27, 2026 9:15 a.m.", "27/11/2026 13:30 PM", "05-01-2026 14:30")  # fmt: skip
    values, failures = step.apply(cells)
    assert values.tolist() == [
        "2026-11-27 14:30:00", "2026-11-27 00:05:00", "2026-11-27 12:30:00",
        "2026-11-27 09:15:00", "", "2026-01-05 14:30:00",
    ]  # fmt: skip
    assert [f.mask.nonzero()[0].tolist() for f in failures] == [[4]]


def test_unreadable_date_names_the_expected_format() -> None:
    values, failures = DateStep(formats=("%d-%m-%Y",)).apply(col("31-02-2025", "soon"))
    assert failed_rows(failures) == [0, 1]
    assert failures[0].code == "not_date"
    assert failures[0].message == "not a date (expected dd-mm-yyyy)"
    assert values.tolist() == ["", ""]


def test_excel_serials_can_be_turned_off() -> None:
    _, failures = DateStep(excel_serial=False).apply(col("45678"))
    assert failed_rows(failures) == [0]


def test_a_serial_typed_as_text_is_read_only_near_today() -> None:
    """'050126' (5 Jan 26 without separators) is no day count 50126 (27-03-2037): a text
    serial is read from 2000 to two years ahead, never with a leading zero; a workbook's number
    cell keeps Excel's whole range (etl.invoice_checks refuses a future ack date)."""
    step = DateStep(today=date(2026, 1, 7))
    cells = col("050126", "50126", "46027", "10126", "046027")
    values, failures = step.apply(cells)
    assert values.tolist() == ["", "", "2026-01-05", "", ""]
    assert messages_by_row(failures)[0] == (
        "'{value}' could be a date written without separators or an Excel date number, so it"
        " is not read: write the date as dd-mm-yyyy, the year in full (05-01-2026)"
    )
    assert failed_rows(failures) == [0, 1, 3, 4]
    numbers = np.array([False, True, False, True, False])
    values, _ = step.apply_typed(cells, numbers)
    assert values.tolist() == ["", "2037-03-27", "2026-01-05", "1927-09-21", ""]


def test_value_map_ignores_case_and_spacing() -> None:
    step = ValueMap(table={map_key("Main Godown"): "DEL-WH-01"})
    values, failures = step.apply(col("Main Godown", "MAIN  godown ", ""))
    assert values.tolist() == ["DEL-WH-01", "DEL-WH-01", ""]
    assert failures == []


def test_value_map_unmatched_is_an_error_naming_where_to_add_it() -> None:
    step = ValueMap(table={"main godown": "DEL-WH-01"}, source="lookups/tally_godowns.csv")
    values, failures = step.apply(col("Bandra Store", "Main Godown"))
    assert failed_rows(failures) == [0]
    assert failures[0].code == "unmapped"
    message = failures[0].message.replace("{value}", "Bandra Store")
    assert message == (
        "'Bandra Store' is not in lookups/tally_godowns.csv — if it is a new one, have it added"
        " there (a running watcher reads it when it starts: restart it after adding)"
    )
    assert values.tolist() == ["", "DEL-WH-01"]
    table = {"tax invoice": "sale", "credit note": "return"}
    short = ValueMap(table=table, choices=("Tax Invoice", "Credit Note")).apply(col("Bill"))
    assert short[1][0].message.replace("{value}", "Bill") == (
        "'Bill' is not in the mapping's value map: write one of 'Tax Invoice', 'Credit Note',"
        " or, if it is a new one, have it added there (a running watcher reads it when it"
        " starts: restart it after adding)"
    )


def test_value_map_can_keep_unmatched_values() -> None:
    step = ValueMap(table={"yes": "true"}, unmatched="keep")
    assert step.apply(col("Yes", "maybe"))[0].tolist() == ["true", "maybe"]


def test_split_makes_a_list_per_cell() -> None:
    values, _ = Split().apply(col("356938035643809; 356938035643817,\n356938035643825", "", "X1"))
    assert values.tolist() == [
        ["356938035643809", "356938035643817", "356938035643825"],
        [],
        ["X1"],
    ]


def test_regex_extracts_the_first_group() -> None:
    values, failures = Extract(pattern=r"SKU-(\d+)").apply(col("code SKU-0042 x", "none", ""))
    assert values.tolist() == ["0042", "", ""]
    assert failed_rows(failures) == [1]
    assert failures[0].code == "no_match"


def test_regex_without_group_keeps_the_whole_match_and_can_keep_unmatched() -> None:
    step = Extract(pattern=r"[A-Z]+-\d+", unmatched="keep")
    assert step.apply(col("item AB-12 red", "plain"))[0].tolist() == ["AB-12", "plain"]


def test_zfill_pads_only_numeric_codes() -> None:
    assert Zfill(width=8).apply(col("12345", "CAP-RED", ""))[0].tolist() == [
        "00012345",
        "CAP-RED",
        "",
    ]


def test_replace_rewrites_with_a_pattern() -> None:
    assert Replace(pattern=r"^WH_", replacement="").apply(col("WH_DEL"))[0].tolist() == ["DEL"]


def test_integer_refuses_numbers_too_large_to_hold_exactly() -> None:
    values, failures = Number(whole=True).apply(col("1" + "0" * 30, "5"))
    assert [f.message for f in failures] == ["too large a number"]
    assert values.isna().tolist() == [True, False]


def test_tally_negative_quantities_read_as_negative() -> None:
    values, failures = Number(whole=True).apply(col("(-)5 Nos", "(-) 12", "5"))
    assert values.tolist() == [-5, -12, 5]
    assert failures == []
    assert Number().apply(col("Rs. (-)3"))[0].tolist() == [-3.0]
    # SAP writes the minus after the number: a negative stock, not "not a whole number"
    sap = Number(whole=True).apply(col("5.000-", "12-", "1,200- Nos", "-3-"))[0]
    assert sap.tolist()[:3] == [-5, -12, -1200] and sap.isna().tolist()[3]
    numbers, bad = parse_numbers(col("(-)1,200.50", "(-)"))
    assert numbers[0] == -1200.5 and bad.tolist() == [False, True]
    # Excel's Accounting style writes a negative in brackets: (5) is -5, half a bracket nothing
    numbers, bad = parse_numbers(col("(5)", "( 1,200.50 )", "Rs. (12)", "(5", "5)", "-(5)"))
    assert numbers[:3].tolist() == [-5, -1200.5, -12] and bad.tolist() == [False] * 3 + [True] * 3


def messages_by_row(failures: list[Failure]) -> dict[int, str]:
    """Each failed row's message; a row must fail once, so the mapper's pick is the only one."""
    found: dict[int, str] = {}
    for failure in failures:
        for row in np.flatnonzero(failure.mask).tolist():
            assert row not in found, f"row {row} failed twice"
            found[row] = failure.message
    return found


def test_unreadable_amounts_name_the_likely_cause() -> None:
    values, failures = Number().apply(col("$12", "€5", "12 USD", "1.999,50", "12,5", "abc", "7"))
    foreign = "'{value}' has a currency sign other than ₹/Rs; amounts are in rupees"
    comma = COMMA
    assert messages_by_row(failures) == {
        0: foreign,
        1: foreign,
        2: foreign,
        3: comma,
        4: comma,
        5: "not a number",
    }
    assert {f.code for f in failures if f.message == foreign} == {"wrong_currency"}
    assert values.isna().tolist() == [True] * 6 + [False]


def test_a_column_with_a_declared_currency_keeps_its_own_message() -> None:
    _, failures = Number(currency="INR").apply(col("$12", "₹12"))
    assert messages_by_row(failures) == {
        0: "marked in another currency, but this column is in INR; check the price"
    }


def test_unreadable_quantities_name_the_likely_cause() -> None:
    values, failures = Number(whole=True).apply(col("12,0", "1.200 Nos", "12.5", "twelve", "3"))
    assert messages_by_row(failures) == {
        0: WHOLE_COMMA,
        1: EITHER_WAY_MESSAGE.replace("{example}", "12,0"),  # 1 or 1200, with 12,0 above
        2: FRACTION,
        3: "not a whole number",
    }
    assert {f.code for f in failures} == {"not_integer"}
    assert values.tolist()[4] == 3
    _, failures = Number(whole=True).apply(col("1.200 Nos", "3"))
    assert messages_by_row(failures) == {
        0: "not a whole number: if the '.' in '{value}' separates thousands, remove it"
    }


def test_a_quantity_in_a_unit_that_is_not_pieces_says_so() -> None:
    """'4 Box' is 4 of something: "not a whole number" would puzzle; the unit is the issue."""
    values, failures = Number(whole=True).apply(col("4 Box", "12 Dozen", "5 Nos", "twelve"))
    assert messages_by_row(failures) == {0: OTHER_UNIT, 1: OTHER_UNIT, 3: "not a whole number"}
    assert values.tolist()[2] == 5
    values, failures = Number(whole=True, units=("box",)).apply(col("4 Box"))
    assert failures == [] and values.tolist() == [4]


def test_a_column_whose_dots_separate_thousands_refuses_its_whole_looking_dotted_cells() -> None:
    """A European-locale export writes 1200 as "1.200" and 3000 as "3.000" beside a plain
    "45": "3.000" is not read as 3 pieces. A column with three decimals on every cell (SAP,
    Tally "12.000 Nos") still reads "3.000" as 3."""
    values, failures = Number(whole=True).apply(col("1.200", "3.000", "45", "2.500"))
    said = messages_by_row(failures)
    assert said[1] == DOT_EITHER_WAY.replace("{example}", "1.200")
    assert set(said) == {0, 1, 3} and values.tolist()[2] == 45
    values, failures = Number(whole=True).apply(col("12.000 Nos", "3.000", "1.500", "2.000"))
    assert set(messages_by_row(failures)) == {2}
    assert [values.tolist()[i] for i in (0, 1, 3)] == [12, 3, 2]


def test_dotted_counts_beside_small_plain_ones_are_refused_as_3_or_3000() -> None:
    """A European "#.##0" export writes 3000 as "3.000" and 250 as "250": with no "1.200" to
    give it away, "3.000" is still not read as 3 pieces. Evidence that the dots are decimals
    keeps the old reading: a "1500" or a "1,200" in the column, three decimals on every cell
    but a zero or a hand-typed cell in 100 or more, or with a unit word, a file with one
    cell."""
    values, failures = Number(whole=True).apply(col("3.000", "12.000", "250", ""))
    said = messages_by_row(failures)
    assert said == {0: DOT_OR_DECIMALS.replace("{example}", "250"), 1: said[0]}
    assert values.tolist()[2] == 250 and values.isna().tolist() == [True, True, False, True]
    for cells in [
        ("3.000", "250", "1500"),
        ("3.000", "250", "1,200"),
        ("12.000 Nos", "3.000", "0", "2.000"),
        (*["12.000 Nos"] * 150, "5"),
        ("12.000 Nos", "4.000 Nos", "5"),  # three decimals with a unit word: Tally's
        ("3.000",),
    ]:
        values, failures = Number(whole=True).apply(col(*cells))
        assert failures == [] and values.tolist()[0] == float(cells[0].split()[0])


def test_a_column_with_a_decimal_comma_refuses_what_it_would_read_otherwise() -> None:
    """A German-format SAP export: "12,000" is 12 there, not 12000; "1.500" is 1500."""
    cells = col("12,000", "1.500,000", "3,000", "7", "1.000", "1,23,456")
    values, failures = Number(whole=True).apply(cells)
    said = messages_by_row(failures)
    either = EITHER_WAY_MESSAGE.replace("{example}", "1.500,000")
    assert [said.get(i) for i in range(6)] == [either, WHOLE_COMMA, either, None, either, None]
    assert values.tolist()[3] == 7 and values.tolist()[5] == 123456
    prices, failures = Number().apply(col("499,50", "2,500", "1,999", "12.50"))
    assert set(messages_by_row(failures)) == {0, 1, 2} and prices.tolist()[3] == 12.5
    # one typed "12,5" among many "1,200": that cell is refused, not the column
    values, failures = Number(whole=True).apply(col(*["1,200"] * 150, "12,5"))
    assert list(messages_by_row(failures)) == [150] and values.tolist()[0] == 1200
    # without a decimal comma anywhere, grouping is read as ever
    assert Number(whole=True).apply(col("12,000", "3,000", "1.000"))[0].tolist() == [12000, 3000, 1]
    assert Number(decimal_comma=True).apply(col("499,50", "2.500"))[0].tolist() == [499.5, 2500]


def test_an_amount_column_with_a_decimal_comma_throughout_is_read_so() -> None:
    """A price list saved as CSV by a spreadsheet set to German: `799,00`, `1.299,00` on
    every cell can be read one way only, without `decimal_comma`. One cell that is not
    (`1,299.00`, `2,500`, `799`) and each is judged alone, as before; counts never."""
    values, failures = Number().apply(col("799,00", "1.299,00", " 599,50", "", "-12,00"))
    assert values.tolist()[:3] == [799.0, 1299.0, 599.5] and values.tolist()[4] == -12
    assert not failures
    for other in ("1,299.00", "2,500", "799", "599,5", "12.345,678"):
        values, failures = Number().apply(col("799,00", other))
        assert 0 in messages_by_row(failures), other
    assert set(messages_by_row(Number(whole=True).apply(col("12,00", "3,00"))[1])) == {0, 1}


def test_decimal_comma_columns_get_no_decimal_comma_hint() -> None:
    values, failures = Number(decimal_comma=True).apply(col("1.299", "1,2,3"))
    assert values.tolist()[0] == 1299.0
    assert messages_by_row(failures) == {1: "not a number"}


def test_a_serial_a_hair_before_a_whole_second_is_that_second() -> None:
    """46353.99999999 in a CSV or a General cell, written by a program: Excel shows midnight
    of the 28th; dropping the fraction would make it 23:59:59 on the 27th."""
    cells = pd.Series(["46353.99999999", "46353.5", "46353.5000029"], dtype="str")
    out, failures = DateStep(with_time=True, output="%Y-%m-%dT%H:%M:%S").apply(cells)
    assert failures == []
    assert out.tolist() == ["2026-11-28T00:00:00", "2026-11-27T12:00:00", "2026-11-27T12:00:00"]


def test_a_serial_with_six_decimals_is_the_second_excel_shows() -> None:
    """46353.604166 (a tool's serial, or typed): 14:29:59.94, which Excel shows as 14:30."""
    cells = pd.Series(["46353.604166", "46353.6041666667", "46353.604155"], dtype="str")
    out, failures = DateStep(with_time=True, output="%Y-%m-%dT%H:%M:%S").apply(cells)
    assert failures == []
    assert out.tolist() == ["2026-11-27T14:30:00", "2026-11-27T14:30:00", "2026-11-27T14:29:59"]


def test_a_good_date_with_no_time_of_day_says_the_time_is_wrong() -> None:
    """`28/11/2026 24:00` is no "not a date": the day is right, 24:00 is the next day's 00:00."""
    cells = pd.Series(["28/11/2026 24:00", "31/02/2026", "28/11/2026 10:00"], dtype="str")
    wrong_time = (
        "the date is right but the time is no time of day: hours run from 00 to 23 and minutes"
        " from 00 to 59 (24:00 is 00:00 of the next day)"
    )
    # the column's order declared, decided by the column, or an explicit format: the same
    for step, other in (
        (DateStep(with_time=True, order="day"), "not a date when read day first (dd/mm/yyyy)"),
        (DateStep(with_time=True), "not a date and time"),
        (DateStep(formats=("%d/%m/%Y %H:%M",), with_time=True), "not a date and time (expected"
         " dd/mm/yyyy hh:mm)"),
    ):  # fmt: skip
        said = {f.message: f.mask.tolist() for f in step.apply(cells)[1]}
        assert said == {wrong_time: [True, False, False], other: [False, True, False]}
