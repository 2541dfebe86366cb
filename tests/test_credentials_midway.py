"""Konnect refuses the token after part of a file was applied (a token revoked or expired
mid-file, no login to renew it). The file waits in processing/ as when Konnect is down,
so the journal that knows what was applied finds it again; back in the inbox, the ERP's
next export of the same name would replace it and a partial cancel would be sent twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runs import drop, oid, run
from test_repeated_cancels import HEADER, cancelled

import etl.client
from etl.errors import CredentialsError

ORDERS = [2 * n for n in range(1, 31)]  # 30 even orders of block 30: item -2 has 2 pieces


def _rows(extra: int = 0) -> list[list[str]]:
    chosen = ORDERS + [2 * 31 + 2 * k for k in range(extra)]
    return [HEADER] + [[oid(30, n), f"{oid(30, n)}-2", "1", "6"] for n in chosen]


@pytest.mark.parametrize("next_export", ["replaces it", "arrives beside it"])
def test_a_token_refused_part_way_keeps_the_file_and_cancels_nothing_twice(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch, next_export: str
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text("concurrency: 1\n", encoding="utf-8")
    drop(inbox, "cancel.csv", _rows())
    real_send = etl.client.KonnectClient.send
    calls = []

    async def send(self: Any, endpoint: Any, body: bytes) -> Any:
        calls.append(endpoint)
        if len(calls) == 2:  # the token is revoked after the first 20 cancels were applied
            raise CredentialsError("Konnect refused the access token (HTTP 401)")
        return await real_send(self, endpoint, body)

    with monkeypatch.context() as patch:
        patch.setattr(etl.client.KonnectClient, "send", send)
        first = run(inbox, sandbox)
    assert first.exit_code == 2
    assert (inbox / "processing" / "cancel.csv").is_file()
    assert not (inbox / "cancel.csv").exists()
    assert sum(cancelled(sandbox, oid(30, n))["2"] == 1 for n in ORDERS) == 20

    # the ERP's hourly "cancellations so far" export: the same rows and one more
    drop(inbox, "cancel.csv" if next_export == "replaces it" else "cancel_1100.csv", _rows(1))
    assert run(inbox, sandbox).exit_code in (0, 1)
    assert {cancelled(sandbox, oid(30, n))["2"] for n in ORDERS} == {1}  # never 2
    assert cancelled(sandbox, oid(30, 62))["2"] == 1


def test_a_token_refused_before_anything_was_sent_gives_the_file_back(
    tmp_path: Path, sandbox: Any
) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, "cancel.csv", _rows())
    drop(inbox, "stock.csv", [["location_id", "sku", "quantity"], ["DEL-WH-01", "CAP-RED", "4"]])
    assert run(inbox, sandbox, token="not-the-token").exit_code == 2
    assert (inbox / "cancel.csv").is_file() and not any((inbox / "processing").iterdir())
    # the next run is a first attempt: no "stopped part-way" warning mailed by cron
    again = run(inbox, sandbox)
    assert again.exit_code in (0, 1) and (inbox / "processing").is_dir()
    log = (inbox / ".konnect-etl" / "logs" / "konnect-etl.log").read_text()
    assert "stopped part-way" not in log and "Konnect refused the access token" in log
