"""`documents FILE --kind labels|invoice`: PDFs for the orderIds listed in a sheet.

The orderIds are asked for 20 at a time. Konnect answers a whole request with one PDF (one
page per order, saved as `<stem>.<kind>-NN.pdf` next to the input), or, when it refuses any
order of it, with a JSON envelope naming the refused orders and no PDF at all: those orders
are marked failed in plain words and the rest are asked for again. A one-order request
gives `<stem>.<kind>-<orderId>.pdf`. `<stem>.<kind>.result.<csv|xlsx>` says, per row of the
input, `ok` and the PDF file, or why not. A run replaces the PDFs an earlier run for a file
of the same name left. `--out` writes elsewhere; next to a sheet in an outbox of `orders
pull` nothing is written (the ERP imports from there).
"""

from __future__ import annotations

import asyncio
import glob
import logging
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from etl.atomic import atomic_write_bytes
from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.documentsheet import OrderList, read_order_ids
from etl.envelopes import parse_answer
from etl.errors import ConfigError, OutcomeUnknown, RequestRejected, TransientError
from etl.konnect import ENDPOINTS, Endpoint, explain
from etl.outbox import is_outbox, write_sheet
from etl.retry import with_retries

log = logging.getLogger(__name__)

KINDS = {"labels": "labels", "invoice": "invoice_pdf"}
BATCH = ENDPOINTS["labels"].limit  # 20 orders per request [doc]
RESULT_HEADER = ["row", "orderId", "status", "file", "message"]


@dataclass
class Verdict:
    status: str  # ok | failed | unknown | rejected
    message: str = ""
    file: str = ""


@dataclass
class DocumentsResult:
    result_file: Path
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    pdfs: list[Path] = field(default_factory=list)
    listing: OrderList | None = None

    @property
    def all_ok(self) -> bool:
        rows_ok = self.listing is None or not self.listing.problems
        return rows_ok and all(v.status == "ok" for v in self.verdicts.values())


class DocumentClient(KonnectClient):
    """The client, plus the one call whose answer may be a PDF instead of an envelope."""

    async def post_for_document(self, endpoint: Endpoint, body: bytes) -> tuple[str, bytes]:
        """(content type, body); read-only on Konnect's side, so retried like a GET."""

        async def once() -> tuple[str, bytes]:
            headers = {"content-type": "application/json"}
            response = await self._request(
                endpoint.method, endpoint.path, content=body, headers=headers
            )
            return response.headers.get("content-type", ""), response.content

        return await with_retries(once, self.settings.retry_policy())


def fetch_documents(
    path: Path, kind: str, connection: ClientSettings, out: Path | None = None
) -> DocumentsResult:
    """Read the orderIds in `path`, fetch their PDFs, write them and the result file in
    `out` (default: next to `path`, unless that is an outbox the ERP imports from)."""
    if kind not in KINDS:
        raise ConfigError(f"--kind must be one of {', '.join(KINDS)}, not '{kind}'")
    folder = _output_folder(path, out)
    listing = read_order_ids(path)
    suffix = ".xlsx" if path.suffix.lower() in (".xlsx", ".xlsm", ".xls") else ".csv"
    result = DocumentsResult(folder / f"{path.stem}.{kind}.result{suffix}", listing=listing)
    asyncio.run(_fetch_all(folder / path.stem, kind, connection, result))
    _drop_earlier_pdfs(folder / path.stem, kind, result.pdfs)
    write_sheet(result.result_file, RESULT_HEADER, _result_rows(listing, result.verdicts))
    return result


def _output_folder(path: Path, out: Path | None) -> Path:
    """`out`, or the input's folder; never an outbox of `orders pull` (the ERP imports from
    there: the result sheet would pass for orders)."""
    folder = out if out is not None else path.parent
    if is_outbox(folder):
        where = f"--out {folder} is" if out is not None else f"{path.name} is in {folder},"
        raise ConfigError(
            f"{where} an outbox of konnect-etl orders pull: the PDFs and the result sheet would"
            " be written where the ERP imports pulled orders. Give --out another folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _drop_earlier_pdfs(stem: Path, kind: str, written: list[Path]) -> None:
    """Remove the PDFs an earlier run for a file of this name left (`<stem>.<kind>-*.pdf`)
    that this run did not write again: yesterday's `-02` beside today's `-01` would be printed
    with it."""
    for earlier in stem.parent.glob(f"{glob.escape(stem.name)}.{kind}-*.pdf"):
        if earlier not in written:
            try:
                earlier.unlink(missing_ok=True)
            except OSError as exc:  # open in a PDF viewer (Windows): the result still comes
                log.warning("%s is from an earlier run and could not be removed (%s): delete"
                            " it before printing these labels", earlier, exc)  # fmt: skip


async def _fetch_all(stem: Path, kind: str, conn: ClientSettings, result: DocumentsResult) -> None:
    """Every order's PDF, saved as `<stem>.<kind>-NN.pdf` (`stem`: the folder and the input's
    name without extension)."""
    assert result.listing is not None
    endpoint = ENDPOINTS[KINDS[kind]]
    ids = list(dict.fromkeys(result.listing.order_ids))
    client = DocumentClient(conn)
    async with client:
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            await _fetch_batch(client, endpoint, batch, stem, kind, result)


async def _fetch_batch(
    client: DocumentClient,
    endpoint: Endpoint,
    batch: list[str],
    stem: Path,
    kind: str,
    result: DocumentsResult,
) -> None:
    """Ask for `batch`; refused orders are set aside and the rest asked for again."""
    while batch:
        body = orjson.dumps([{"orderId": oid} for oid in batch])
        try:
            content_type, content = await client.post_for_document(endpoint, body)
        except RequestRejected as exc:
            _mark(result, batch, Verdict("failed", f"no PDF: {exc}"))
            return
        except (TransientError, OutcomeUnknown) as exc:  # retried already; the next batch may work
            _mark(result, batch, Verdict("unknown", f"no PDF: {exc}; run the file again"))
            return
        if content.startswith(b"%PDF") or "pdf" in content_type:
            _save_pdf(stem, kind, batch, content, result)
            return
        refused = _refusals(endpoint, content, batch, result)
        if not refused:
            _mark(result, batch, Verdict("unknown", "Konnect answered without a PDF or a reason"))
            return
        batch = [oid for oid in batch if oid not in refused]


def _refusals(
    endpoint: Endpoint, content: bytes, batch: list[str], result: DocumentsResult
) -> set[str]:
    """Mark the orders the envelope refuses; their ids (empty if none could be read)."""
    try:
        answer = parse_answer(endpoint, orjson.loads(content))
    except (orjson.JSONDecodeError, OutcomeUnknown):
        return set()
    refused: set[str] = set()
    for error in answer.errors:
        if error.key in batch:
            said = explain(error.code, error.message, document=True)
            result.verdicts[error.key] = Verdict("failed", said)
            refused.add(error.key)
    return refused


def _save_pdf(
    stem: Path, kind: str, batch: list[str], content: bytes, result: DocumentsResult
) -> None:
    label = batch[0] if len(batch) == 1 else f"{len(result.pdfs) + 1:02d}"
    pdf = stem.with_name(f"{stem.name}.{kind}-{label}.pdf")
    atomic_write_bytes(pdf, content)
    result.pdfs.append(pdf)
    note = "" if len(batch) == 1 else f"page {{}} of {len(batch)} in this PDF"
    for page, oid in enumerate(batch, start=1):
        result.verdicts[oid] = Verdict("ok", note.format(page), pdf.name)


def _mark(result: DocumentsResult, ids: list[str], verdict: Verdict) -> None:
    for oid in ids:
        result.verdicts[oid] = verdict


def _result_rows(listing: OrderList, verdicts: dict[str, Verdict]) -> list[list[str]]:
    rows = [[str(r), oid, *_cells(verdicts.get(oid))] for r, oid in listing.rows]
    rows += [[str(p.row), p.value, "rejected", "", p.message] for p in listing.problems]
    return sorted(rows, key=lambda cells: int(cells[0]))


def _cells(verdict: Verdict | None) -> list[str]:
    if verdict is None:
        return ["unknown", "", "not asked for (the run stopped early)"]
    return [verdict.status, verdict.file, verdict.message]


def summary_line(result: DocumentsResult) -> str:
    counts: dict[str, int] = {}
    for verdict in result.verdicts.values():
        counts[verdict.status] = counts.get(verdict.status, 0) + 1
    if result.listing is not None and result.listing.problems:
        counts["rejected"] = len(result.listing.problems)
    text = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"
    return f"orders: {text}; see {result.result_file}"
