"""Invoice cells that read fine but cannot be true, refused before anything is sent.

- An ack date after today: an e-invoice is acknowledged on or before the day the register is
  made, so a later one is a year typo (06-01-2027) or a number read as a date. Konnect keeps
  what it is sent, and an invoice cannot be corrected from a file afterwards.
- A package of under 10 g with its sizes: kilograms written in the grams column (1.2 for
  1.2 kg). Courier charges are worked out from this weight; a box or a pouch alone weighs
  more than that.
- A tax invoice and a credit note of one order in one register (sale Monday, return Friday):
  two documents, which Konnect takes one at a time (the credit note only once the return is
  accepted). Said once, in place of "invoice number must be the same on every row" and "an
  item is one row - write one row with quantity 2", which would make a wrong invoice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from etl.cells import BoolArray
from etl.feeds import PACKAGE_FIELDS
from etl.findings import Finding
from etl.flatten import IST, IST_FORMAT
from etl.model import IntArray
from etl.wording import number_text, row_list

ACK_DATE_SLACK = timedelta(days=1)  # a register made just after midnight, a clock a bit ahead
LIGHTEST_PACKAGE_GMS = 10.0
_SIZES = PACKAGE_FIELDS[:3]
# What other checks say of such an order's rows, and that the one finding replaces.
_SUPERSEDED = frozenset({"duplicate", "order_conflict", "order_incomplete"})


def invoice_findings(work: pd.DataFrame, now: datetime | None = None) -> list[Finding]:
    """Rows of an invoice frame (`work`, typed) with an impossible ack date or weight."""
    return _future_ack_dates(work, now or datetime.now(IST)) + _light_packages(work)


def _future_ack_dates(work: pd.DataFrame, now: datetime) -> list[Finding]:
    if "ackDate" not in work.columns:
        return []
    when = pd.to_datetime(work["ackDate"], format=IST_FORMAT, errors="coerce")
    latest = now.astimezone(IST).replace(tzinfo=None) + ACK_DATE_SLACK
    late = np.flatnonzero((when > latest).to_numpy(dtype=bool, na_value=False))
    days = when.dt.strftime("%d-%m-%Y").tolist()
    return [Finding(int(i), "ackDate", "ack_date_future", _future_said(days[i])) for i in late]


def _future_said(day: str) -> str:
    return (
        f"acknowledgement date {day} is after today: an invoice is acknowledged on or"
        " before the day it is made - check the year, and write the date as dd-mm-yyyy"
        " (05-01-2026)"
    )


def _light_packages(work: pd.DataFrame) -> list[Finding]:
    if not set(PACKAGE_FIELDS) <= set(work.columns):
        return []
    weight = pd.to_numeric(work["packageWeightGms"], errors="coerce").to_numpy(dtype=float)
    sizes = work[list(_SIZES)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    boxed = np.nan_to_num(sizes).min(axis=1) > 0
    light = np.flatnonzero((weight > 0) & (weight < LIGHTEST_PACKAGE_GMS) & boxed)
    return [
        Finding(int(i), "packageWeightGms", "package_too_light", _light_said(weight[i], sizes[i]))
        for i in light
    ]


def _light_said(grams: float, sizes: npt.NDArray[np.float64]) -> str:
    box = "x".join(number_text(float(size)) for size in sizes)
    return (
        f"{number_text(float(grams))} g for a {box} cm package: if this is kilograms, write"
        f" {number_text(round(float(grams) * 1000, 3))} (the weight is in grams)"
    )


def sale_and_credit_note(
    work: pd.DataFrame, findings: list[Finding], rows: IntArray, lost: BoolArray | None = None
) -> list[Finding]:
    """`findings`, with the rows of an order that has both a `sale` and a `return` row told
    so once, instead of the duplicate-item and must-be-the-same findings. `lost`: rows whose
    order ID a spreadsheet damaged (`4E+19`): many orders read as one there, and the row's
    own finding says so (`etl.order_rules`)."""
    if not {"orderId", "invoiceType"} <= set(work.columns):
        return findings
    order = work["orderId"].astype("str")
    kind = work["invoiceType"].astype("str")
    sale, credit = (kind.eq(k).groupby(order).transform("any") for k in ("sale", "return"))
    known = order.ne("").to_numpy(dtype=bool) & (True if lost is None else ~lost)
    mixed = np.flatnonzero((sale & credit).to_numpy(dtype=bool) & known)
    if not mixed.size:
        return findings
    drop = set(mixed.tolist())
    kept = [f for f in findings if not (f.index in drop and f.code in _SUPERSEDED)]
    ids = order.to_numpy(dtype=object)
    for i in mixed:
        said = _both_said([int(rows[j]) for j in np.flatnonzero(ids == ids[i])])
        kept.append(Finding(int(i), "invoiceType", "sale_and_credit_note", said))
    return kept


def _both_said(numbers: list[int]) -> str:
    return (
        f"a tax invoice and a credit note of the same order ({row_list(numbers)}): Konnect takes"
        " them one at a time - send the tax invoice, and drop the credit note in a file of its"
        " own once the return is accepted"
    )
