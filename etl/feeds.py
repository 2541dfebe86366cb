"""The feed table: for each kind of file, its Konnect endpoint and canonical columns."""

from __future__ import annotations

from dataclasses import dataclass

from etl.errors import ConfigError
from etl.konnect import ENDPOINTS, Endpoint


@dataclass(frozen=True)
class Feed:
    """One kind of file and the Konnect call it drives.

    `columns` are the canonical column names (the Konnect record's fields, flattened) in the
    order `template` writes them; `required` must be present on every row; `key` identifies a
    record (duplicates in one file, attribution of API errors); `grouped` feeds turn all rows
    of one orderId into one record.
    """

    name: str
    endpoint: Endpoint
    columns: tuple[str, ...]
    required: tuple[str, ...]
    key: tuple[str, ...]
    grouped: bool = False

    @property
    def limit(self) -> int:
        return self.endpoint.limit


# Feeds that set absolute values (not actions): sending one again is harmless, and the
# newest export must win (etl.guards, etl.turns, etl.seen_before).
ABSOLUTE_FEEDS = frozenset({"stock", "price"})
_ITEM = ("orderItemId", "quantity")
# Invoice fields that belong to the order (same on every row of it) and to a package.
INVOICE_FIELDS = (
    "invoiceNumber", "invoiceType", "invoiceQrCode", "irnNumber", "signedInvoice", "ackNumber",
    "ackDate",
)  # fmt: skip
PACKAGE_FIELDS = ("packageLengthCm", "packageWidthCm", "packageHeightCm", "packageWeightGms")
FEEDS: dict[str, Feed] = {
    f.name: f
    for f in (
        Feed(
            "stock",
            ENDPOINTS["inventory"],
            ("location_id", "sku", "quantity"),
            ("location_id", "sku", "quantity"),
            ("location_id", "sku"),
        ),
        Feed(
            "price",
            ENDPOINTS["price"],
            ("location_id", "sku", "mrp", "esp", "currency"),
            ("location_id", "sku", "mrp", "esp", "currency"),
            ("location_id", "sku"),
        ),
        Feed(
            "invoice",
            ENDPOINTS["invoice"],
            ("orderId", *INVOICE_FIELDS, *_ITEM, "imeiSerialNumber", "packageId", *PACKAGE_FIELDS),
            ("orderId", "invoiceNumber", "invoiceType"),
            ("orderId",),
            grouped=True,
        ),
        Feed(
            "awb",
            ENDPOINTS["awb"],
            ("orderId", "awbNumber", "courierName", "autoDispatch"),
            ("orderId", "awbNumber", "courierName"),
            ("orderId",),
        ),
        Feed(
            "status",
            ENDPOINTS["status"],
            (
                "orderId",
                "orderStatus",
                "remark",
                "dpLocation",
                "promised_delivery_date",
                "estimated_delivery_date",
                "reasonCode",
            ),
            ("orderId", "orderStatus"),
            ("orderId",),
        ),
        Feed(
            "cancel",
            ENDPOINTS["cancel"],
            ("orderId", *_ITEM, "reasonCode"),
            ("orderId", *_ITEM, "reasonCode"),
            ("orderId",),
            grouped=True,
        ),
        Feed(
            "confirm",
            ENDPOINTS["confirm"],
            ("orderId", *_ITEM),
            ("orderId", *_ITEM),
            ("orderId",),
            grouped=True,
        ),
        Feed("pack", ENDPOINTS["pack"], ("orderId",), ("orderId",), ("orderId",)),
        Feed(
            "dispatch",
            ENDPOINTS["dispatch"],
            ("orderId", *_ITEM),
            ("orderId", *_ITEM),
            ("orderId",),
            grouped=True,
        ),
        Feed(
            "return_qc",
            ENDPOINTS["return_qc"],
            ("orderId", *_ITEM, "reasonCode"),
            ("orderId", *_ITEM),
            ("orderId",),
            grouped=True,
        ),
    )
}


def get_feed(name: str) -> Feed:
    """The feed called `name`, or a ConfigError listing the known feeds."""
    try:
        return FEEDS[name]
    except KeyError:
        known = ", ".join(FEEDS)
        raise ConfigError(f"unknown feed '{name}' (known feeds: {known})") from None
