"""A price file whose prices moved by one big factor (paise for rupees) is held."""

from __future__ import annotations

import json
import os
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from runs import run
from typer.testing import CliRunner

from etl.cli import app
from etl.config import load_settings
from etl.errors import ConfigError
from etl.guard_settings import Guards

TODAY = date.today().isoformat()
SKUS = [f"TS-{n:03d}" for n in range(12)]


def price_file(path: Path, mrp: list[float], esp: list[float], currency: str = "INR") -> Path:
    """A canonical price CSV, one DEL-WH-01 SKU per row."""
    lines = ["location_id,sku,mrp,esp,currency"]
    lines += [f"DEL-WH-01,{s},{m},{e},{currency}" for s, m, e in zip(SKUS, mrp, esp, strict=False)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def prices(sandbox: Any) -> dict[str, tuple[float, float]]:
    return {k: (v["mrp"], v["esp"]) for k, v in sandbox.state()["prices"].items()}


def held_reason(inbox: Path, stem: str) -> str:
    summary = json.loads((inbox / "held" / TODAY / f"{stem}.summary.json").read_text())
    reason: str = summary["held"]
    return reason


RUPEES = [499.0 + 100 * n for n in range(12)]


def test_a_price_file_in_paise_is_held_until_released(tmp_path: Path, sandbox: Any) -> None:
    sandbox.faults(catalogue="open")
    price_file(tmp_path / "price.csv", RUPEES, [p - 50 for p in RUPEES])
    assert run(tmp_path, sandbox).exit_code == 0
    before = prices(sandbox)
    # the ERP's next export writes paise: every price 100 times, each row fine on its own
    price_file(tmp_path / "price.csv", [p * 100 for p in RUPEES], [(p - 50) * 100 for p in RUPEES])
    first = run(tmp_path, sandbox)
    assert first.exit_code == 1
    assert "│ held " in first.stdout
    reason = held_reason(tmp_path, "price")
    assert reason.startswith(
        "this price file's MRP values are about 100 times those last sent for the same"
        " locations and SKUs (12 rows compared, of the 12 that passed the checks; e.g. TS-"
    ), reason
    assert "has the export's unit changed (paise instead of rupees)" in reason
    assert "last sent" in reason and "by price.csv" in reason
    assert prices(sandbox) == before  # nothing sent

    held = tmp_path / "held" / TODAY / "price.csv"
    assert CliRunner().invoke(app, ["release", str(held)]).exit_code == 0
    assert run(tmp_path, sandbox).exit_code == 0
    assert prices(sandbox)["DEL-WH-01|TS-000"] == (49900, 44900)
    # the released prices are now the last sent: the same again goes through
    price_file(tmp_path / "price.csv", [p * 100 for p in RUPEES], [p * 90 for p in RUPEES])
    assert run(tmp_path, sandbox).exit_code == 0


def test_a_hundredth_is_held_too_and_says_so(tmp_path: Path, sandbox: Any) -> None:
    sandbox.faults(catalogue="open")
    price_file(tmp_path / "price.csv", [p * 100 for p in RUPEES], [p * 90 for p in RUPEES])
    assert run(tmp_path, sandbox).exit_code == 0
    price_file(tmp_path / "price.csv", RUPEES, [p * 0.9 for p in RUPEES])
    assert run(tmp_path, sandbox).exit_code == 1
    reason = held_reason(tmp_path, "price")
    assert "MRP values are about 1/100 of those last sent" in reason
    assert reason.endswith(". If it is a markdown of 90% or more, release it")


@pytest.mark.parametrize(
    ("mrp", "esp"),
    [
        (RUPEES, [p * 0.3 for p in RUPEES]),  # an end-of-season sale: 70% off every price
        ([p * 100 if n < 5 else p for n, p in enumerate(RUPEES)], [p - 50 for p in RUPEES]),
    ],
    ids=["sale", "five-corrections"],
)
def test_a_sale_or_a_few_big_changes_are_not_held(
    tmp_path: Path, sandbox: Any, mrp: list[float], esp: list[float]
) -> None:
    sandbox.faults(catalogue="open")
    price_file(tmp_path / "price.csv", RUPEES, [p - 50 for p in RUPEES])
    assert run(tmp_path, sandbox).exit_code == 0
    price_file(tmp_path / "price.csv", mrp, esp)
    assert run(tmp_path, sandbox).exit_code == 0
    assert prices(sandbox)["DEL-WH-01|TS-011"] == (mrp[11], esp[11])


def test_only_keys_sent_before_in_the_same_currency_are_compared(
    tmp_path: Path, sandbox: Any
) -> None:
    sandbox.faults(catalogue="open")
    price_file(tmp_path / "price.csv", RUPEES[:6], RUPEES[:6])
    assert run(tmp_path, sandbox).exit_code == 0
    # 6 keys known: fewer than min_rows (10) to tell, so not held
    price_file(tmp_path / "price.csv", [p * 100 for p in RUPEES], [p * 100 for p in RUPEES])
    assert run(tmp_path, sandbox).exit_code == 0
    # all 12 known now at x100; the same SKUs in dollars are no rupee prices to compare,
    # and a whole catalogue switched to another currency is held
    price_file(tmp_path / "price.csv", RUPEES, RUPEES, currency="USD")
    assert run(tmp_path, sandbox).exit_code == 1
    assert held_reason(tmp_path, "price").startswith(
        "this price file's currency differs from the one last sent on 12 of the 12 rows whose"
        " location and SKU were sent before (e.g. TS-000 at DEL-WH-01: USD, last sent in INR)"
    )
    assert prices(sandbox)["DEL-WH-01|TS-000"] == (49900, 49900)


def test_a_few_rows_in_another_currency_or_far_from_their_last_price_are_named(
    tmp_path: Path, sandbox: Any
) -> None:
    """Rows that alone moved 10x (a decimal point moved, or a 90% clearance) or changed
    currency are sent, each fine on its own, and named in the file's warnings."""
    sandbox.faults(catalogue="open")
    price_file(tmp_path / "price.csv", RUPEES, RUPEES)
    assert run(tmp_path, sandbox).exit_code == 0
    mrp = [p / 100 if n == 2 else p for n, p in enumerate(RUPEES)]  # row 4: 6.99 for 699
    esp = [p / 10 if n == 5 else p - 1 for n, p in enumerate(RUPEES)]  # row 7: 99.9 for 999
    price_file(tmp_path / "price.csv", mrp, [min(e, m) for m, e in zip(mrp, esp, strict=True)])
    text = (tmp_path / "price.csv").read_text(encoding="utf-8").splitlines()
    text[9] = text[9].replace(",INR", ",USD")  # row 10
    (tmp_path / "price.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    result = run(tmp_path, sandbox)
    assert result.exit_code == 0
    summary = json.loads((tmp_path / "done" / TODAY / "price-2.summary.json").read_text())
    assert summary["warnings"] == [
        "Rows 4 and 7: the MRP or selling price is 10 times or more (or 1/10 or less) of the"
        " one last sent for that location and SKU; sent, as a sale or a correction may do"
        " that - if one is a typo (a decimal point moved, paise for rupees), send the right"
        " price in a new file now",
        "Row 10: the currency is not the one last sent for that location and SKU; sent - if"
        " that is a mistake, send the price in the right currency in a new file now",
    ]
    assert "Rows 4 and 7: the MRP or selling price" in result.output
    assert prices(sandbox)["DEL-WH-01|TS-002"] == (6.99, 6.99)


def test_refused_rows_are_not_remembered_as_sent(tmp_path: Path, sandbox: Any) -> None:
    """Only what Konnect accepted is the last price: a row it refused changed nothing."""
    price_file(tmp_path / "price.csv", RUPEES, RUPEES)  # TS-nnn: unknown SKUs, all refused
    assert run(tmp_path, sandbox).exit_code == 1
    sandbox.faults(catalogue="open")
    price_file(tmp_path / "price.csv", [p * 100 for p in RUPEES], [p * 100 for p in RUPEES])
    assert run(tmp_path, sandbox).exit_code == 0


def test_the_guard_can_be_set_or_turned_off(tmp_path: Path, sandbox: Any) -> None:
    sandbox.faults(catalogue="open")
    config = tmp_path / "konnect-etl.yaml"
    config.write_text("guards: {price_jump: 200}\n", encoding="utf-8")
    assert load_settings(config_file=config, environ={}).guards == Guards(price_jump=200)
    price_file(tmp_path / "price.csv", RUPEES, RUPEES)
    assert run(tmp_path, sandbox).exit_code == 0
    price_file(tmp_path / "price.csv", [p * 100 for p in RUPEES], [p * 100 for p in RUPEES])
    assert run(tmp_path, sandbox).exit_code == 0  # 100x is under the 200 asked for
    config.write_text("guards: {price_jump: false}\n", encoding="utf-8")
    price_file(tmp_path / "price.csv", RUPEES, [p - 1 for p in RUPEES])  # not the first's copy
    assert run(tmp_path, sandbox).exit_code == 0
    for wrong in ("1", "0.5"):
        config.write_text(f"guards: {{price_jump: {wrong}}}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"guards\.price_jump must be a factor above 1"):
            load_settings(config_file=config, environ={})
    config.write_text("guards:\n  price_jump:\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"price_jump has no value: give a factor"):
        load_settings(config_file=config, environ={})


def test_rows_a_newer_export_set_are_not_named_as_sent(tmp_path: Path, sandbox: Any) -> None:
    """The 06:00 file dropped after the 07:00 one: its rows are not sent (a newer export
    set them), so its row far from the last price is not named "sent" either."""
    sandbox.faults(catalogue="open")
    price_file(tmp_path / "price_0700.csv", RUPEES, RUPEES)
    os.utime(tmp_path / "price_0700.csv", (time.time() - 3600,) * 2)
    assert run(tmp_path, sandbox).exit_code == 0
    esp = [p / 10 if n == 0 else p for n, p in enumerate(RUPEES)]  # row 2: 49.9 for 499
    price_file(tmp_path / "price_0600.csv", RUPEES, esp)
    os.utime(tmp_path / "price_0600.csv", (time.time() - 7200,) * 2)
    assert run(tmp_path, sandbox).exit_code == 1
    summary = json.loads((tmp_path / "done" / TODAY / "price_0600.summary.json").read_text())
    assert not any("10 times or more" in note for note in summary["warnings"]), summary
    assert prices(sandbox)["DEL-WH-01|TS-000"] == (499, 499)


def test_one_store_of_several_turned_to_paise_is_held_naming_it(
    tmp_path: Path, sandbox: Any
) -> None:
    """Four stores' list; one store's part of the next export writes paise: the median of
    the whole file does not move, so only a store's own median tells."""
    sandbox.faults(catalogue="open")
    stores = ["DEL-WH-01", "MUM-ST-02", "BLR-ST-03", "HYD-ST-04"]

    def write(paise_at: str | None) -> None:
        lines = ["location_id,sku,mrp,esp,currency"]
        for store in stores:
            times = 100 if store == paise_at else 1
            lines += [f"{store},{s},{m * times},{(m - 50) * times},INR"
                      for s, m in zip(SKUS, RUPEES, strict=True)]  # fmt: skip
        (tmp_path / "price.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    write(None)
    assert run(tmp_path, sandbox).exit_code == 0
    write("BLR-ST-03")
    assert run(tmp_path, sandbox).exit_code == 1
    reason = held_reason(tmp_path, "price")
    assert reason.startswith(
        "this price file's MRP values at BLR-ST-03 are about 100 times those last sent for the"
        " same locations and SKUs (12 rows compared, of the 12 that passed the checks; e.g."
    ), reason
