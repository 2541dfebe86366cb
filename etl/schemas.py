"""pandera schemas per feed: what a valid canonical row looks like.

The schemas run on a *prepared* frame (see `etl.validation`): empty cells are missing (NA),
number fields are float64, yes/no fields are booleans. Every check is named by the problem
code that `etl.wording` turns into a plain message, so pandera's own messages never reach a
user. All checks are vectorised: one call per column, not per row.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from etl.feeds import FEEDS, Feed
from etl.konnect import INVOICE_TYPES, REASON_CODES, SELF_SHIP_STATUSES

INTEGER_FIELDS = frozenset({"quantity"})
DECIMAL_FIELDS = frozenset(
    {"mrp", "esp", "packageLengthCm", "packageWidthCm", "packageHeightCm", "packageWeightGms"}
)
NUMBER_FIELDS = INTEGER_FIELDS | DECIMAL_FIELDS
AMOUNT_FIELDS = frozenset({"mrp", "esp"})  # rupees and paise: at most 2 decimals
BOOLEAN_FIELDS = frozenset({"autoDispatch"})
LIST_FIELDS = frozenset({"imeiSerialNumber"})
# Konnect's quantity is an int: above this no 32-bit integer holds it, and no stock level or
# order line is that big; it is a barcode (8901234567890) or an amount in the wrong column.
LARGEST_QUANTITY = 2.0**31 - 1
# An amount above Rs 10 crore is no retail price: a barcode or another number went there.
LARGEST_AMOUNT = 1e8
# A problem found by a dataframe-wide check is reported on this field's cell.
WIDE_CHECK_FIELD = {"esp_above_mrp": "esp"} | {f"{f}_below_a_rupee": f for f in AMOUNT_FIELDS}


def _check(code: str, test: Callable[[Any], Any]) -> pa.Check:
    return pa.Check(test, name=code)


def _whole(s: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(s) & (s == np.floor(s)), index=s.index)


def _paise(s: pd.Series) -> pd.Series:
    # Exact for every amount typed with 2 decimals: round() gives back the same float.
    return pd.Series(s.isna() | (s.round(2) == s), index=s.index)


def _positive() -> pa.Check:
    return _check("not_positive", lambda s: s > 0)


def _one_of(code: str, allowed: tuple[str, ...]) -> pa.Check:
    return _check(code, lambda s: s.isin(allowed))


def _quantity_checks(feed: Feed) -> list[pa.Check]:
    checks = [
        _check("not_integer", _whole),
        _check("too_large", lambda s: s.abs() <= LARGEST_QUANTITY),
    ]
    # Stock 0 means out of stock; an order line of 0 pieces means nothing.
    checks.append(_check("negative", lambda s: s >= 0) if feed.name == "stock" else _positive())
    return checks


def field_checks(feed: Feed, field: str) -> list[pa.Check]:
    """The checks on one canonical field of `feed` (its presence is checked separately)."""
    if field == "quantity":
        return _quantity_checks(feed)
    if field in AMOUNT_FIELDS:
        too_large = _check("too_large", lambda s: s <= LARGEST_AMOUNT)
        return [_check("too_many_decimals", _paise), _positive(), too_large]
    if field in DECIMAL_FIELDS:
        return [_positive()]
    if field == "currency":
        return [_check("bad_currency", lambda s: s.str.fullmatch(r"[A-Z]{3}"))]
    allowed = choices(feed, field)
    return [_one_of(ENUM_CHECKS[field], allowed)] if allowed else []


ENUM_CHECKS = {
    "invoiceType": "bad_invoice_type",
    "reasonCode": "bad_reason_code",
    "orderStatus": "bad_order_status",
}


def choices(feed: Feed, field: str) -> tuple[str, ...]:
    """The values Konnect takes for `field` of `feed`, in its spelling; () if any text goes."""
    if field == "invoiceType":
        return INVOICE_TYPES
    if field == "reasonCode" and feed.name in ("cancel", "return_qc"):
        return tuple(REASON_CODES)
    if field == "orderStatus":
        return SELF_SHIP_STATUSES
    return ()


def _frame_checks(feed: Feed) -> list[pa.Check]:
    if feed.name == "price":
        # NaN compares False; an MRP not above 0 or with a third decimal ("1.299": 1,299?)
        # has its own problem, which is the one to fix first.
        below = [
            _check(f"{f}_below_a_rupee", partial(_a_rupee_or_more, f))
            for f in sorted(AMOUNT_FIELDS)
        ]
        return [_check("esp_above_mrp", _esp_within_mrp), *below]
    return []


def _a_rupee_or_more(field: str, frame: pd.DataFrame) -> pd.Series:
    """No price in rupees is below Rs 1 (0.85: a cell formatted as a percentage, 85%)."""
    value, currency = frame[field], frame["currency"].astype("str").str.upper()
    rupees = (currency == "INR") | frame["currency"].isna()
    return ~(rupees & (value > 0) & (value < 1))


def _esp_within_mrp(frame: pd.DataFrame) -> pd.Series:
    mrp = frame["mrp"]
    return ~((frame["esp"] > mrp) & (mrp > 0) & _paise(mrp))


@cache
def schema_for(feed_name: str) -> pa.DataFrameSchema:
    """The pandera schema of a feed: a column per canonical field, required ones not null."""
    feed = FEEDS[feed_name]
    columns = {
        field: pa.Column(
            nullable=field not in feed.required,
            checks=field_checks(feed, field),
            required=True,
        )
        for field in feed.columns
    }
    return pa.DataFrameSchema(columns, checks=_frame_checks(feed), strict=False)
