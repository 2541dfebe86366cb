"""A folder tried with `--sandbox` by a version before 28 Nov 2026 (which kept its records in
the inbox's own journal) is refused by `--sandbox` now as an inbox live runs use: the
refusal says that such old trials count too, and how to start such a test folder afresh."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from runs import run
from typer.testing import CliRunner

from etl.cli import app

STOCK = "location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,4\n"


def test_a_folder_an_older_sandbox_run_used_is_refused_saying_how_to_start_afresh(
    tmp_path: Path, sandbox: Any
) -> None:
    (tmp_path / "stock.csv").write_text(STOCK)
    assert run(tmp_path, sandbox).exit_code == 0  # recorded where an older --sandbox did
    (tmp_path / "stock_b.csv").write_text(STOCK)
    tried = CliRunner().invoke(app, ["run", str(tmp_path), "--sandbox", "--settle", "0"])
    assert tried.exit_code == 2
    said = " ".join(tried.output.split())
    assert "is an inbox live runs use" in said
    assert "or of --sandbox runs of a version before 28 Nov 2026" in said
    assert "starts afresh once .konnect-etl/ in it is deleted" in said
    assert (tmp_path / "stock_b.csv").is_file()

    shutil.rmtree(tmp_path / ".konnect-etl")  # as the message says, for a test folder
    again = CliRunner().invoke(app, ["run", str(tmp_path), "--sandbox", "--settle", "0", "-q"])
    assert again.exit_code in (0, 1), again.output
    assert not (tmp_path / "stock_b.csv").exists()
