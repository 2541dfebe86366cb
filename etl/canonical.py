"""Konnect's own column names, read as they are: the generic mappings.

A file whose header is a feed's canonical columns (or a filled-in `konnect-etl template`) needs
no mapping of its own: `generic_mapping(feed)` reads each column under its name, numbers and
dates parsed as the feed needs them. A mapping file with `feed:` and no `fields:` reads the
same columns (`canonical_fields`). mappings/generic/*.yaml say the same in YAML (a test keeps
the two equal).
"""

from __future__ import annotations

from pathlib import Path

from etl.datestep import DateStep
from etl.feeds import Feed, get_feed
from etl.mapspec import Duplicates, FieldSpec, Mapping
from etl.numberstep import Number
from etl.transforms import Split, Step, Strip, Upper

DECIMAL_FIELDS = {"mrp", "esp", "packageLengthCm", "packageWidthCm", "packageHeightCm"}
DECIMAL_FIELDS |= {"packageWeightGms"}
# Typed dates in canonical files: day first as Indian ERPs write them, sent as IST wall time
# (konnect-api.md leaves their format open; the same as mappings/erp/invoice.yaml).
DATE_FIELDS: dict[str, DateStep] = {
    "ackDate": DateStep(with_time=True, output="%Y-%m-%d %H:%M:%S", order="day"),
    "promised_delivery_date": DateStep(order="day"),
    "estimated_delivery_date": DateStep(order="day"),
}

# Feeds whose rows of one key are one action: an item-wise pack list has a row per item, and
# the order is packed once (the first row sent, the others share its outcome).
FEED_DUPLICATES: dict[str, Duplicates] = {"pack": "first"}


def generic_mapping(feed: str) -> Mapping:
    """The canonical-columns mapping for `feed` (same as mappings/generic/<feed>.yaml)."""
    fields = canonical_fields(feed)
    headers = tuple(f.column for f in fields if not f.optional and f.column)
    globs = () if feed in ("stock", "price") else (f"*{feed.split('_')[0]}*",)
    return Mapping(
        name=f"generic/{feed}",
        path=Path("generic") / f"{feed}.yaml",
        feed=feed,
        fields=fields,
        description=canonical_description(feed),
        filename=globs,
        headers=headers,
        duplicates=FEED_DUPLICATES.get(feed, "error"),
    )


def canonical_fields(feed: str) -> tuple[FieldSpec, ...]:
    """Every canonical column of `feed` read under its own name: a mapping without `fields:`."""
    spec = get_feed(feed)
    return tuple(_generic_field(spec, name) for name in spec.columns)


def canonical_description(feed: str) -> str:
    return f"{feed} file with the canonical column names"


def _generic_field(feed: Feed, name: str) -> FieldSpec:
    steps: tuple[Step, ...] = (Strip(),)
    if name == "quantity":
        steps = (Number(whole=True),)
    elif name in DECIMAL_FIELDS:
        steps = (Number(),)
    elif name == "imeiSerialNumber":
        steps = (Split(),)
    elif name in DATE_FIELDS:
        steps = (DATE_FIELDS[name],)
    elif name == "currency":
        steps = (Strip(), Upper())
    optional = name not in feed.required or name == "currency"
    default = "INR" if name == "currency" else None
    return FieldSpec(name, column=name, default=default, optional=optional, transforms=steps)
