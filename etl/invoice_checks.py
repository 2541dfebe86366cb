"""Invoice cells that read fine but cannot be true, refused before anything is sent.

- An ack date after today: an e-invoice is acknowledged on or before the day the register is
  made, so a later one is a year typo (06-01-2027) or a number read as a date. Konnect keeps
  what it is sent, and an invoice cannot be corrected from a file afterwards.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from etl.findings import Finding
from etl.flatten import IST, IST_FORMAT

ACK_DATE_SLACK = timedelta(days=1)  # a register made just after midnight, a clock a bit ahead


def invoice_findings(work: pd.DataFrame, now: datetime | None = None) -> list[Finding]:
    """Rows of an invoice frame (`work`, typed) with an impossible ack date."""
    return _future_ack_dates(work, now or datetime.now(IST))


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
