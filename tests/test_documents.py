"""`konnect-etl documents` against the real emulator: labels and invoice PDFs per order list."""

from __future__ import annotations

import csv
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from etl.cli import app

PACKED = [f"150000000000000000{n:02d}" for n in range(1, 11)]  # bag_packed
NOT_PACKED = "14000000000000000001"  # dp_assigned
OTHER_LOCATION = "29000000000000000004"  # packed, but another location's
UNKNOWN = "99999999999999999999"


@contextmanager
def immutable_file(path: Path) -> Iterator[bool]:
    """`chattr +i path` for the block (True) where the file system allows it (root, ext4)."""
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    try:
        yield done.returncode == 0
    finally:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)


def documents(sandbox: Any, path: Path, kind: str) -> Any:
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    argv = ["documents", str(path), "--kind", kind]
    return CliRunner().invoke(app, argv, env=env, catch_exceptions=False)


def order_list(path: Path, ids: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["Packing list 27-11"], ["Order ID", "Box"]])
        csv.writer(handle).writerows([[oid, str(n)] for n, oid in enumerate(ids, 1)])
    return path


def result_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_labels_for_packed_and_not_yet_packed_orders(tmp_path: Path, sandbox: Any) -> None:
    """25 more packed orders make 38 asked for: 20 + 18. The refused ones in the first
    request are set aside and the rest asked for again; every row gets a verdict."""
    extra = sandbox.add_orders(
        order_blocks=[{"first_id": "41000000000000000001", "count": 25, "state": "bag_packed"}]
    )
    ids = [*PACKED[:5], NOT_PACKED, OTHER_LOCATION, UNKNOWN, *PACKED[5:], *extra]
    path = order_list(tmp_path / "packing.csv", ids)
    result = documents(sandbox, path, "labels")
    assert result.exit_code == 1, result.output  # three orders could not be printed
    rows = {r["orderId"]: r for r in result_rows(tmp_path / "packing.labels.result.csv")}
    assert rows[NOT_PACKED]["status"] == "failed"
    assert rows[NOT_PACKED]["message"] == "L403 - label requested before the order was packed"
    assert rows[OTHER_LOCATION]["message"].startswith("L400 - ")
    assert rows[UNKNOWN]["message"].startswith("X404ORD - ")
    printed = [oid for oid in ids if rows[oid]["status"] == "ok"]
    assert printed == [*PACKED, *extra]
    pdfs = sorted(tmp_path.glob("packing.labels-*.pdf"))
    assert [p.name for p in pdfs] == ["packing.labels-01.pdf", "packing.labels-02.pdf"]
    assert all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    assert rows[PACKED[0]]["file"] == "packing.labels-01.pdf"
    assert rows[extra[-1]]["file"] == "packing.labels-02.pdf"
    assert rows[extra[-1]]["message"] == "page 18 of 18 in this PDF"
    assert rows[NOT_PACKED]["row"] == "8"  # the line the user sees (two title/header lines)
    # requests of 20 at most: the first 20, its 17 printable again, then the last 18
    asked = [e["key"] for e in sandbox.ledger() if e["path"].endswith("/labels")]
    refused = {NOT_PACKED, OTHER_LOCATION, UNKNOWN}
    assert asked == [*ids[:20], *(i for i in ids[:20] if i not in refused), *ids[20:]]


def test_invoice_pdf_for_one_order_from_an_excel_list(tmp_path: Path, sandbox: Any) -> None:
    path = tmp_path / "invoices.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["orderId"])
    sheet.append([PACKED[0]])
    sheet.append([12000000000000000001])  # typed as a number: Excel lost the last digits
    workbook.save(path)
    result = documents(sandbox, path, "invoice")
    assert result.exit_code == 1, result.output
    pdf = tmp_path / f"invoices.invoice-{PACKED[0]}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    report = openpyxl.load_workbook(tmp_path / "invoices.invoice.result.xlsx").active
    assert report is not None
    rows = list(report.iter_rows(values_only=True))
    assert rows[0] == ("row", "orderId", "status", "file", "message")
    assert rows[1][:4] == ("2", PACKED[0], "ok", pdf.name)
    assert rows[2][2] == "rejected" and "format the column as Text" in str(rows[2][4])


def test_order_ids_a_spreadsheet_damaged_in_a_csv_are_rejected_not_sent(
    tmp_path: Path, sandbox: Any
) -> None:
    """Excel saved to CSV as shown (1.1E+19) or as rounded (15 digits, then zeros): the same
    check as `run`'s; before, both went to Konnect and came back X404ORD."""
    path = order_list(tmp_path / "invoices.csv", [PACKED[0], "1.1E+19", "12000000000000000000"])
    result = documents(sandbox, path, "invoice")
    assert result.exit_code == 1, result.output
    with (tmp_path / "invoices.invoice.result.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["status"] for r in rows] == ["ok", "rejected", "rejected"]
    assert "scientific notation" in rows[1]["message"]
    assert "ends in zeros after digit 15" in rows[2]["message"]


def test_an_invoice_pdf_before_packing_says_so(tmp_path: Path, sandbox: Any) -> None:
    path = order_list(tmp_path / "invoices.csv", [NOT_PACKED])
    assert documents(sandbox, path, "invoice").exit_code == 1
    rows = result_rows(tmp_path / "invoices.invoice.result.csv")
    assert rows[0]["message"] == "IN403 - the invoice PDF is ready once the order is packed"


def test_all_printable_is_exit_code_0(tmp_path: Path, sandbox: Any) -> None:
    path = order_list(tmp_path / "ok.csv", PACKED[:3])
    result = documents(sandbox, path, "invoice")
    assert result.exit_code == 0, result.output
    assert "orders: 3 ok" in result.output


def test_a_sheet_without_an_order_id_column_says_what_to_do(tmp_path: Path, sandbox: Any) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("sku,qty\nTS-BLK-S,1\n", encoding="utf-8")
    result = documents(sandbox, path, "labels")
    assert result.exit_code == 2
    assert "no 'orderId' column" in result.output


def test_when_konnect_keeps_failing_every_order_is_unknown_not_lost(
    tmp_path: Path, sandbox: Any
) -> None:
    path = order_list(tmp_path / "list.csv", PACKED[:2])
    settings = tmp_path / "konnect-etl.yaml"
    settings.write_text("retries: 0\n", encoding="utf-8")
    sandbox.faults(error_rate=1.0)
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    argv = ["documents", str(path), "--kind", "labels", "--config", str(settings)]
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    rows = result_rows(tmp_path / "list.labels.result.csv")
    assert [r["status"] for r in rows] == ["unknown", "unknown"]
    assert "run the file again" in rows[0]["message"]


def test_a_second_run_for_a_sheet_of_the_same_name_replaces_the_first_runs_pdfs(
    tmp_path: Path, sandbox: Any
) -> None:
    """Monday 22 packed orders (two PDFs), Tuesday 10 under the same file name: Monday's
    `-02` was left beside Tuesday's `-01` and printed with it."""
    extra = sandbox.add_orders(
        order_blocks=[{"first_id": "42000000000000000001", "count": 12, "state": "bag_packed"}]
    )
    path = order_list(tmp_path / "packed_today.csv", [*PACKED, *extra])
    assert documents(sandbox, path, "labels").exit_code == 0
    assert len(list(tmp_path.glob("packed_today.labels-*.pdf"))) == 2
    (tmp_path / "packed_today.labels-keep.pdf.txt").write_text("not ours", encoding="utf-8")
    order_list(path, PACKED)
    assert documents(sandbox, path, "labels").exit_code == 0
    assert sorted(p.name for p in tmp_path.glob("packed_today.labels-*")) == [
        "packed_today.labels-01.pdf",
        "packed_today.labels-keep.pdf.txt",
    ]
    # one that cannot be removed (open in a PDF viewer) costs the run nothing but a warning
    order_list(path, [*PACKED, *extra])
    assert documents(sandbox, path, "labels").exit_code == 0
    second = tmp_path / "packed_today.labels-02.pdf"
    order_list(path, PACKED)
    (tmp_path / "packed_today.labels.result.csv").unlink()
    with immutable_file(second) as locked:
        if not locked:
            pytest.skip("chattr +i does not work here (needs root on ext4)")
        result = documents(sandbox, path, "labels")
        assert result.exit_code == 0, result.output
        assert second.is_file()
    assert (tmp_path / "packed_today.labels.result.csv").is_file()


def test_documents_for_a_pulled_sheet_are_not_written_into_the_outbox(
    tmp_path: Path, sandbox: Any
) -> None:
    """The desk's workflow: pull the packed orders, print their labels. Next to the sheet,
    the result sheet (`orders-COMPLETED-....labels.result.xlsx`) would be imported as orders."""
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    out = tmp_path / "erp-import"
    argv = ["orders", "pull", "--status", "COMPLETED", "--out", str(out), "--from", "2026-01-01"]
    assert CliRunner().invoke(app, argv, env=env).exit_code == 0
    [sheet] = out.glob("orders-COMPLETED-*.xlsx")
    refused = documents(sandbox, sheet, "labels")
    assert refused.exit_code == 2
    assert "an outbox of konnect-etl orders pull" in " ".join(refused.output.split())
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [sheet.name]
    into = ["documents", str(sheet), "--kind", "labels", "--out", str(out)]  # the outbox again
    assert "--out" in " ".join(CliRunner().invoke(app, into, env=env).output.split())
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [sheet.name]
    labels = tmp_path / "labels"
    argv = ["documents", str(sheet), "--kind", "labels", "--out", str(labels)]
    printed = CliRunner().invoke(app, argv, env=env)
    assert printed.exit_code in (0, 1), printed.output
    assert (labels / f"{sheet.stem}.labels.result.xlsx").is_file()
    assert list(labels.glob(f"{sheet.stem}.labels-*.pdf"))
