"""Uploading chunks: attribution, retries, rate limits, credentials, journal resume.

The sandbox tests at the bottom exercise real HTTP; the MockTransport tests above them
cover answers the sandbox never gives and count requests exactly.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import etl.upload
from etl.attribution import NO_ANSWER, attribute
from etl.chunkresult import chunk_digest
from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.envelopes import Answer, RecordError
from etl.errors import (
    CredentialsError,
    KonnectDown,
    PartlyTaken,
    RateLimited,
    RequestRejected,
    TransientError,
)
from etl.holdover import refused_for_now
from etl.journal import Journal
from etl.konnect import ENDPOINTS, error_entry, ims_envelope, record_key
from etl.retry import AdaptiveLimit, Attempts, RetryPolicy, decide
from etl.upload import ChunkLike, ChunkResult, run_upload, upload_chunks

INVENTORY = ENDPOINTS["inventory"]
FAST: dict[str, Any] = {"backoff_base": 0.001, "backoff_max": 0.01}


@dataclass
class Chunk:
    index: int
    records: list[dict[str, Any]]

    @property
    def body(self) -> bytes:
        return orjson.dumps(self.records)

    @property
    def record_count(self) -> int:
        return len(self.records)


def keys_of(chunk: ChunkLike) -> list[str]:
    assert isinstance(chunk, Chunk)
    return [record_key(INVENTORY, r) for r in chunk.records]


def stock(*skus: str, location: str = "DEL-WH-01", quantity: int = 7) -> list[dict[str, Any]]:
    return [{"location_id": location, "sku": s, "quantity": quantity} for s in skus]


def chunks_of(n: int, size: int = 2) -> list[Chunk]:
    return [Chunk(i, stock(*(f"SKU-{i}-{j}" for j in range(size)))) for i in range(n)]


class FakeKonnect:
    """Answers inventory like Konnect; `script` answers (or raises) first, in order."""

    def __init__(self, *script: Callable[[list[dict[str, Any]]], httpx.Response]) -> None:
        self.script = list(script)
        self.lookup_answer = httpx.Response(503, json={"message": "down"})
        self.lookups = 0
        self.requests: list[list[dict[str, Any]]] = []
        self.in_flight = self.most_in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # a look-up: is Konnect there at all?
            self.lookups += 1
            return self.lookup_answer
        records = orjson.loads(request.content)
        self.requests.append(records)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.002)
            return self.script.pop(0)(records) if self.script else self.answer(records)
        finally:
            self.in_flight -= 1

    @staticmethod
    def answer(records: list[dict[str, Any]]) -> httpx.Response:
        errors = [
            error_entry(INVENTORY, i, r, "X404SKU", "unknown sku")
            for i, r in enumerate(records)
            if r["sku"].startswith("NOPE")
        ]
        return httpx.Response(200, json=ims_envelope(len(records), errors, "ack-1", "t"))

    def sent_indices(self) -> list[str]:
        return [r[0]["sku"] for r in self.requests]


def status(code: int, **headers: str) -> Callable[[Any], httpx.Response]:
    return lambda records: httpx.Response(code, headers=headers, json={"message": "no"})


def dropped(records: Any) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response")


def upload(fake: Callable[..., Any], chunks: Sequence[Chunk], **kwargs: Any) -> list[ChunkResult]:
    client_settings = {**FAST, **kwargs.pop("settings", {})}
    keys = kwargs.pop("keys_of", keys_of)

    async def scenario() -> list[ChunkResult]:
        transport = httpx.MockTransport(fake)
        creds = ClientSettings("https://konnect.test", token="tok", **client_settings)
        async with KonnectClient(creds, transport=transport) as client:
            return await upload_chunks(client, INVENTORY, chunks, keys_of=keys, **kwargs)

    return asyncio.run(scenario())


# --- attribution -----------------------------------------------------------------------


def answer(
    sent: int, failed: int, errors: list[RecordError], raw: list[str] | None = None
) -> Answer:
    return Answer(sent, sent - failed, failed, errors, "ack", raw or [])


KEYS = ["L|A", "L|B", "L|C"]


def test_errors_are_matched_by_key_even_when_the_index_is_wrong() -> None:
    errors, doubt = attribute(answer(3, 1, [RecordError(0, "L|C", "X", "bad")]), KEYS)
    assert errors == {2: ("X", "bad")} and doubt == ""


def test_plain_string_errors_leave_the_other_records_unknown() -> None:
    result = upload(
        lambda r: httpx.Response(
            200,
            json={
                "data": {
                    "payload_count": 2,
                    "success_count": 1,
                    "failed_count": 1,
                    "errors": ["something failed"],
                }
            },
        ),
        [Chunk(0, stock("A", "B"))],
    )[0]
    assert result.state == "acknowledged"
    assert result.unknown_records == [0, 1] and result.record_errors == {}
    assert "something failed" in result.message


def test_counts_that_do_not_add_up_make_unnamed_records_unknown() -> None:
    errors, doubt = attribute(answer(3, 2, [RecordError(None, "L|A", "X", "bad")]), KEYS)
    assert errors == {0: ("X", "bad")} and "do not match" in doubt
    result = upload(
        lambda r: httpx.Response(200, json=ims_envelope(5, [], "a", "t")),
        [Chunk(0, stock("A", "B"))],
    )[0]
    assert result.unknown_records == [0, 1]


def test_an_error_for_a_record_not_sent_casts_doubt() -> None:
    _, doubt = attribute(answer(3, 1, [RecordError(None, "L|Z", "X", "bad")]), KEYS)
    assert "not in this request" in doubt


# --- retries ---------------------------------------------------------------------------


def test_400_fails_the_chunk_without_retrying() -> None:
    fake = FakeKonnect(status(400))
    [result] = upload(fake, [Chunk(0, stock("A", "B"))])
    assert result.state == "failed" and len(fake.requests) == 1
    assert result.record_errors[1][0] == "HTTP400" and "no" in result.message


def test_5xx_is_retried_to_success() -> None:
    fake = FakeKonnect(status(503), status(502), status(500))
    [result] = upload(fake, [Chunk(0, stock("A"))])
    assert result.state == "acknowledged" and len(fake.requests) == 4


def test_a_chunk_given_up_in_doubt_names_the_last_answer() -> None:
    """A 502 may have been applied: unknown; its message says what Konnect last answered."""
    fake = FakeKonnect(FakeKonnect.answer, status(502), *[status(500)] * 10)
    chunks = [Chunk(0, stock("A")), Chunk(1, stock("B"))]
    _, result = upload(fake, chunks, settings={"retries": 2, "concurrency": 1})
    assert result.state == "unknown"
    assert result.message == (
        "Konnect's answer to a try was lost (of 3 tries; the last: Konnect answered HTTP 500"
        " Internal Server Error): the update may or may not have been applied"
    )


def test_5xx_every_time_fails_after_the_retry_budget() -> None:
    """Another chunk of the file went through: this request breaks the server, Konnect is
    not down; its rows fail rather than hold the file back forever."""
    fake = FakeKonnect(FakeKonnect.answer, *[status(503)] * 10)
    chunks = [Chunk(0, stock("A")), Chunk(1, stock("B"))]
    first, result = upload(fake, chunks, concurrency=1, settings={"retries": 2})
    assert first.state == "acknowledged"
    assert result.state == "failed" and len(fake.requests) == 4
    assert "503" in result.message and "3 tries" in result.message


def test_konnect_going_dark_after_the_first_answers_sends_nothing_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's first request was answered, then nothing is for QUIET_SECONDS (here 0),
    nor a look-up: Konnect went away part-way. The requests after it are not each tried to
    the end of their retries (for hours with a big file): they are not sent, refused for
    now, and the file waits for the next run (`etl.holdover`). With `retry_failed_minutes:
    0` no run would send them: every request is tried, as before."""
    monkeypatch.setattr(etl.upload, "QUIET_SECONDS", 0.0)
    chunks = [Chunk(i, stock(f"S{i}")) for i in range(6)]
    for minutes, sent in ((30, 4), (0, 1 + 5 * 3)):
        fake = FakeKonnect(FakeKonnect.answer, *[status(503)] * 40)
        settings = {"retries": 2, "retry_failed_minutes": minutes}
        with Journal(tmp_path / f"journal-{minutes}.sqlite3") as journal:
            file_id = journal.begin_file("abc", "stock.csv", "stock", "generic")
            try:
                results = upload(fake, chunks, concurrency=1, settings=settings,
                                 journal=journal, file_id=file_id)  # fmt: skip
            except PartlyTaken as held:
                results = list(held.results)
                assert minutes == 30 and "It waits in processing/" in str(held)
        assert len(fake.requests) == sent
        assert [r.state for r in results] == ["acknowledged"] + ["failed"] * 5
        assert "503" in results[1].message and "3 tries" in results[1].message
        if minutes:
            assert fake.lookups == 1  # chunk 1's three tries, then one look, one try
            for result in results[2:]:
                [(code, message)] = result.record_errors.values()
                assert code == "UNAVAILABLE" and refused_for_now(result)
                assert message.startswith("not sent: Konnect stopped answering part-way")
                assert "chunk 1: Konnect answered HTTP 503" in message
        else:
            assert fake.lookups == 0 and "3 tries" in results[5].message


def test_workers_giving_up_together_say_konnect_went_quiet_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(etl.upload, "QUIET_SECONDS", 0.0)
    fake = FakeKonnect(FakeKonnect.answer, *[status(503)] * 200)
    chunks = [Chunk(i, stock(f"S{i}")) for i in range(12)]
    caplog.set_level(logging.WARNING, "etl.upload")
    with Journal(tmp_path / "journal.sqlite3") as journal:
        file_id = journal.begin_file("abc", "stock.csv", "stock", "generic")
        with pytest.raises(PartlyTaken):
            upload(fake, chunks, concurrency=4, settings={"retries": 2}, journal=journal,
                   file_id=file_id)  # fmt: skip
    said = [r for r in caplog.records if "stopped answering" in r.getMessage()]
    assert len(said) == 1 and len(fake.requests) < 12 * 3


def test_5xx_for_every_request_of_a_file_is_konnect_down() -> None:
    """A maintenance 503 from the first request on: the file waits (KonnectDown), it is
    not used up with every row failed."""
    fake = FakeKonnect(*[status(503)] * 10)
    with pytest.raises(KonnectDown, match="503"):
        upload(fake, [Chunk(0, stock("A"))], settings={"retries": 2})
    assert len(fake.requests) == 3 and fake.lookups == 3  # the look-up failed too


def test_a_flaky_konnect_that_answered_within_the_minute_has_every_request_tried() -> None:
    """The same, but Konnect answered a moment ago: only flaky, so nothing is left unsent."""
    fake = FakeKonnect(FakeKonnect.answer, *[status(503)] * 3)
    chunks = [Chunk(i, stock(f"S{i}")) for i in range(4)]
    results = upload(fake, chunks, concurrency=1, settings={"retries": 2})
    assert [r.state for r in results] == ["acknowledged", "failed", "acknowledged", "acknowledged"]
    assert fake.lookups == 0 and len(fake.requests) == 6


def test_a_file_whose_request_always_breaks_the_server_fails_its_rows() -> None:
    """Its one chunk gets 503 every time, but Konnect answers a look-up: the request is the
    problem, not Konnect; the file must not wait forever (and hold up every file after it)."""
    fake = FakeKonnect(*[status(503)] * 10)
    fake.lookup_answer = httpx.Response(200, json=[])
    [result] = upload(fake, [Chunk(0, stock("A"))], settings={"retries": 2})
    assert result.state == "failed" and "503" in result.message and fake.lookups == 1


def test_a_dropped_answer_is_resent_for_stock() -> None:
    fake = FakeKonnect(dropped)
    [result] = upload(fake, [Chunk(0, stock("A"))])
    assert result.state == "acknowledged" and len(fake.requests) == 2


def test_no_resend_after_a_dropped_answer_when_told_not_to() -> None:
    fake = FakeKonnect(dropped)
    [result] = upload(fake, [Chunk(0, stock("A", "B"))], resend_unknown=False)
    assert result.state == "unknown" and result.unknown_records == [0, 1]
    assert len(fake.requests) == 1 and "may or may not" in result.message


def test_a_drop_then_5xx_until_exhausted_is_unknown_not_failed() -> None:
    fake = FakeKonnect(FakeKonnect.answer, dropped, *[status(503)] * 10)
    chunks = [Chunk(0, stock("A")), Chunk(1, stock("B"))]
    _, result = upload(fake, chunks, settings={"retries": 2, "concurrency": 1})
    assert result.state == "unknown"


def test_429_waits_and_lowers_concurrency() -> None:
    fake = FakeKonnect(*[status(429, **{"retry-after": "0.05"})] * 2)
    results = upload(fake, chunks_of(8), concurrency=4)
    assert [r.state for r in results] == ["acknowledged"] * 8
    assert len(fake.requests) == 10


def test_concurrency_is_bounded_and_results_come_back_in_order() -> None:
    fake = FakeKonnect()
    done: list[int] = []
    results = upload(fake, chunks_of(12), concurrency=3, on_progress=done.append)
    assert fake.most_in_flight <= 3
    assert [r.index for r in results] == list(range(12))
    assert done[-1] == 24 and done == sorted(done)


def test_credentials_error_stops_the_run_after_in_flight_chunks() -> None:
    fake = FakeKonnect(status(401))
    with pytest.raises(CredentialsError):
        upload(fake, chunks_of(20), concurrency=2)
    assert len(fake.requests) < 20


def test_a_credentials_stop_keeps_earlier_in_doubt_marks(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal.sqlite3") as journal:
        file_id = journal.begin_file("abc", "stock.csv", "stock", "generic")
        journal.mark_inflight(file_id, 5)  # left by a crashed earlier run
        with pytest.raises(CredentialsError):
            upload(
                FakeKonnect(*[status(401)] * 9),
                chunks_of(6),
                journal=journal,
                file_id=file_id,
                concurrency=1,
            )
        assert list(journal.inflight(file_id)) == [5]  # chunk 0 was refused, so not in doubt


# --- the retry decision and the adaptive limit -----------------------------------------


def test_retry_budget_counts_failures_but_not_rate_limits() -> None:
    policy, attempts, rng = RetryPolicy(retries=2, backoff_base=1.0), Attempts(), random.Random(1)
    for _ in range(5):
        assert decide(RateLimited("slow down", 3.0), attempts, policy, rng) == 3.0
    delays = [decide(TransientError("503"), attempts, policy, rng) for _ in range(3)]
    assert delays[2] is None and all(0 <= d <= 2.0 for d in delays[:2] if d is not None)
    assert decide(RequestRejected("bad", 400), Attempts(), policy, rng) is None


def test_adaptive_limit_halves_on_429_and_grows_back() -> None:
    async def scenario() -> list[int]:
        limit = AdaptiveLimit(8, grow_after=2)
        seen = []
        for event in ("429", "429", "ok", "ok", "ok", "ok", "429"):
            if event == "429":
                limit.rate_limited(0.0)
            else:
                await limit.succeeded()
            seen.append(limit.limit)
        return seen

    assert asyncio.run(scenario()) == [4, 2, 2, 3, 3, 4, 2]


def test_keys_are_built_only_for_answers_that_name_records() -> None:
    built: list[int] = []

    def tracked(chunk: ChunkLike) -> list[str]:
        built.append(chunk.index)
        return keys_of(chunk)

    chunks = [Chunk(0, stock("A", "B")), Chunk(1, stock("C", "NOPE-1", "D"))]
    results = upload(FakeKonnect(), chunks, keys_of=tracked)
    assert built == [1]
    assert [r.record_errors for r in results] == [{}, {1: ("X404SKU", "unknown sku")}]
    assert all(r.state == "acknowledged" and not r.unknown_records for r in results)


def test_counts_that_disagree_with_the_chunk_leave_it_in_doubt() -> None:
    def one_counted(records: Any) -> httpx.Response:
        return httpx.Response(200, json=ims_envelope(1, [], "ack-1", "t"))

    results = upload(FakeKonnect(one_counted), [Chunk(0, stock("A", "B"))])
    assert results[0].unknown_records == [0, 1] and "do not match" in results[0].message


# --- journal resume --------------------------------------------------------------------


def test_resume_sends_only_chunks_not_yet_acknowledged(tmp_path: Path) -> None:
    chunks = chunks_of(6)
    with Journal(tmp_path / "journal.sqlite3") as journal:
        file_id = journal.begin_file("abc", "stock.csv", "stock", "generic")
        upload(FakeKonnect(), chunks[:4], journal=journal, file_id=file_id)
        journal.mark_inflight(file_id, 4)  # as if killed while chunk 4 was in flight
        fake = FakeKonnect()
        results = upload(fake, chunks, journal=journal, file_id=file_id)
    assert sorted(fake.sent_indices()) == ["SKU-4-0", "SKU-5-0"]
    assert [r.state for r in results] == ["acknowledged"] * 6


def test_a_chunk_is_in_the_journal_before_the_run_reports_it(tmp_path: Path) -> None:
    chunks = chunks_of(12)
    with Journal(tmp_path / "journal.sqlite3") as journal:
        file_id = journal.begin_file("abc", "stock.csv", "stock", "generic")
        reported: list[tuple[int, int]] = []

        def on_progress(done: int) -> None:
            reported.append((done, 2 * len(journal.chunk_results(file_id))))

        upload(FakeKonnect(), chunks, journal=journal, file_id=file_id, on_progress=on_progress)
    assert reported and all(done == committed for done, committed in reported)
    assert reported[-1][0] == 24


def test_resume_without_resend_reports_in_doubt_chunks_unknown(tmp_path: Path) -> None:
    chunks = chunks_of(3)
    with Journal(tmp_path / "journal.sqlite3") as journal:
        file_id = journal.begin_file("abc", "orders.csv", "confirm", "generic")
        journal.mark_inflight(file_id, 1, chunk_digest(chunks[1].body))
        fake = FakeKonnect()
        results = upload(fake, chunks, journal=journal, file_id=file_id, resend_unknown=False)
    assert sorted(fake.sent_indices()) == ["SKU-0-0", "SKU-2-0"]
    assert results[1].state == "unknown" and results[1].unknown_records == [0, 1]


def test_resume_of_orders_cut_differently_sends_nothing_blindly(tmp_path: Path) -> None:
    """The request in flight held other rows than chunk 1 now does (a mapping fixed between
    the attempts): any of the chunks may hold its orders, so none is sent before a look-up."""
    chunks = chunks_of(3)
    with Journal(tmp_path / "journal.sqlite3") as journal:
        file_id = journal.begin_file("abc", "orders.csv", "confirm", "generic")
        journal.mark_inflight(file_id, 1, chunk_digest(b"[another body]"))
        fake = FakeKonnect()
        results = upload(fake, chunks, journal=journal, file_id=file_id, resend_unknown=False)
    assert fake.sent_indices() == []
    assert [r.state for r in results] == ["unknown"] * 3
    assert "went into requests differently" in results[0].message


def test_a_mark_from_before_digests_were_kept_puts_all_in_doubt_without_blaming_a_recut(
    tmp_path: Path,
) -> None:
    """After an upgrade the earlier attempt's marks have no digest: nothing can be matched,
    every chunk is looked up first, and the message does not speak of a changed mapping."""
    chunks = chunks_of(3)
    with Journal(tmp_path / "journal.sqlite3") as journal:
        file_id = journal.begin_file("abc", "orders.csv", "confirm", "generic")
        journal.mark_inflight(file_id, 1)  # as the version before wrote it: no digest
        fake = FakeKonnect()
        results = upload(fake, chunks, journal=journal, file_id=file_id, resend_unknown=False)
    assert fake.sent_indices() == []
    assert {r.message for r in results} == {f"sent before the tool stopped; {NO_ANSWER}"}


def test_run_upload_is_a_synchronous_wrapper() -> None:
    creds = ClientSettings("https://konnect.test", token="tok", **FAST)
    results = run_upload(
        creds,
        INVENTORY,
        [Chunk(0, stock("A", "NOPE-1"))],
        keys_of=keys_of,
        transport=httpx.MockTransport(FakeKonnect()),
    )
    assert results[0].record_errors == {1: ("X404SKU", "unknown sku")}


# --- against the sandbox ---------------------------------------------------------------


def to_sandbox(sandbox: Any, chunks: Sequence[Chunk], **kwargs: Any) -> list[ChunkResult]:
    overrides = {"token": sandbox.token, **FAST, **kwargs.pop("settings", {})}
    return run_upload(
        ClientSettings(sandbox.url, **overrides), INVENTORY, chunks, keys_of=keys_of, **kwargs
    )


def many_chunks(n: int, size: int = 3) -> list[Chunk]:
    """Chunks of distinct SKUs whose quantity tells chunk and record apart."""
    return [
        Chunk(
            i,
            [
                {"location_id": "DEL-WH-01", "sku": f"T-{i}-{j}", "quantity": i * 10 + j}
                for j in range(size)
            ],
        )
        for i in range(n)
    ]


def expected_stock(chunks: Sequence[Chunk]) -> dict[str, int]:
    return {record_key(INVENTORY, r): r["quantity"] for c in chunks for r in c.records}


def applied_stock(sandbox: Any, chunks: Sequence[Chunk]) -> dict[str, int]:
    stock_now = sandbox.state()["stock"]
    return {k: stock_now.get(k) for k in expected_stock(chunks)}


def test_sandbox_applies_a_chunk(sandbox: Any) -> None:
    chunk = Chunk(0, stock("TS-BLK-M", "TS-BLK-L", quantity=11))
    [result] = to_sandbox(sandbox, [chunk])
    assert result.state == "acknowledged" and result.ack_id
    assert result.record_errors == {} and result.unknown_records == []
    assert applied_stock(sandbox, [chunk]) == {"DEL-WH-01|TS-BLK-M": 11, "DEL-WH-01|TS-BLK-L": 11}


def test_sandbox_refusal_is_attributed_to_the_right_record(sandbox: Any) -> None:
    [result] = to_sandbox(sandbox, [Chunk(0, stock("TS-BLK-M", "NOPE-404", "TS-BLK-L"))])
    assert result.state == "acknowledged" and result.unknown_records == []
    assert list(result.record_errors) == [1] and result.record_errors[1][0] == "X404SKU"


def test_sandbox_server_errors_are_retried_until_all_is_applied(sandbox: Any) -> None:
    sandbox.faults(error_rate=0.5, fault_seed=7, catalogue="open")
    chunks = many_chunks(12)
    results = to_sandbox(sandbox, chunks, settings={"retries": 10})
    assert {r.state for r in results} == {"acknowledged"}
    assert applied_stock(sandbox, chunks) == expected_stock(chunks)


def test_sandbox_dropped_answers_are_resent_for_stock(sandbox: Any) -> None:
    sandbox.faults(drop_rate=0.3, fault_seed=3, catalogue="open")
    chunks = many_chunks(12)
    results = to_sandbox(sandbox, chunks, settings={"retries": 10})
    assert {r.state for r in results} == {"acknowledged"}
    assert applied_stock(sandbox, chunks) == expected_stock(chunks)
    assert len(sandbox.ledger()) > 36  # some chunks were applied, dropped, and sent again


def test_sandbox_rate_limit_is_honoured_and_lowers_concurrency(
    sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="etl.upload")
    sandbox.faults(rate_limit=10, catalogue="open")
    chunks = many_chunks(16, size=1)
    results = to_sandbox(sandbox, chunks, settings={"concurrency": 4})
    assert {r.state for r in results} == {"acknowledged"}
    assert applied_stock(sandbox, chunks) == expected_stock(chunks)
    assert "429" in caplog.text and "concurrency went down to" in caplog.text


def test_sandbox_wrong_token_stops_the_run_and_applies_nothing(sandbox: Any) -> None:
    with pytest.raises(CredentialsError):
        to_sandbox(sandbox, many_chunks(3), settings={"token": "wrong-token"})
    assert sandbox.ledger() == []


def test_sandbox_token_comes_from_the_token_endpoint(sandbox: Any) -> None:
    creds = {"token": None, "username": "sandbox", "password": "sandbox"}
    [result] = to_sandbox(sandbox, [Chunk(0, stock("TS-BLK-M"))], settings=creds)
    assert result.state == "acknowledged"
    assert len(sandbox.ledger()) == 1
