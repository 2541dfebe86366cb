"""An order item on several rows of one file: what to write instead.

The rows may be one row written twice, or the item's pieces one row each (an invoice
register with a row per IMEI, a pack list scanned piece by piece, pieces in two bags): the
message says which, and the one row that replaces them.
"""

from __future__ import annotations

import pandas as pd

from etl.findings import cell_text

SHOWN = 5  # other rows named in a duplicate's message


def item_pieces(work: pd.DataFrame, members: list[int], numbers: list[int]) -> str | None:
    """For an order item on several rows: they may be one row written twice, or its pieces
    one row each (an invoice register with a row per IMEI, a pack list scanned piece by
    piece) - the fix is then one row with all of them, never a row deleted (its serial
    number would be lost for good: an order is invoiced once). None: a quantity that is not
    a number, said the usual way."""
    quantities = pd.to_numeric(work["quantity"].iloc[members], errors="coerce")
    if quantities.isna().any():
        return None
    total = int(quantities.sum())
    serials: list[str] = []
    if "imeiSerialNumber" in work:
        for cell in work["imeiSerialNumber"].iloc[members]:
            serials += [str(s) for s in cell] if isinstance(cell, list) else []
    packages = _packages(work, members)
    if len(packages) > 1:
        return _in_packages(packages, total, serials)
    if len(set(serials)) > 1:
        shown = "; ".join(dict.fromkeys(serials))
        return (
            f", with other serial numbers: an item is one row - if these are its pieces,"
            f" write one row with quantity {total} and all their serial numbers ({shown})"
        )
    if quantities.nunique() == 1:
        said = f"the same quantity ({cell_text(quantities.iloc[0])})"
        other = "if the row is written twice, delete the extra one"
    else:
        pairs = list(zip(quantities, numbers, strict=True))
        said = ", ".join(f"{cell_text(q)} in row {n}" for q, n in pairs[:SHOWN])
        said = f"quantities {said}{' ...' if len(pairs) > SHOWN else ''}"
        other = "if not, keep the right row and delete the others"
    return (
        f", with {said}: an item is one row - if these are its pieces, write one row with"
        f" quantity {total}; {other}"
    )


def _packages(work: pd.DataFrame, members: list[int]) -> list[str]:
    """The distinct packageIds of an item's rows (in row order)."""
    if "packageId" not in work:
        return []
    cells = (str(c).strip() for c in work["packageId"].iloc[members] if cell_text(c).strip())
    return list(dict.fromkeys(cells))


def _in_packages(packages: list[str], total: int, serials: list[str]) -> str:
    """An item whose pieces travel in two bags: one row with quantity 2 would drop a bag
    from the invoice; the other bags go on rows of their own, without the item."""
    numbered = f" and all their serial numbers ({'; '.join(dict.fromkeys(serials))})"
    others = f"package{'s' if len(packages) > 2 else ''} {', '.join(packages[1:])}"
    each = " each" if len(packages) > 2 else ""
    return (
        f", in packages {', '.join(packages[:-1])} and {packages[-1]}: an item is one row -"
        f" if its pieces travel in several packages, write one row with quantity {total}"
        f"{numbered if len(set(serials)) > 1 else ''} and package {packages[0]}, and for"
        f" {others} a row{each} with only the order, invoice and package cells (no item or"
        " quantity)"
    )
