"""The lean HTTP/1.1 transport, against real servers on loopback.

Small raw `asyncio` servers play the edge cases (a connection closed, reset or left
unanswered, chunked answers, `Connection: close`); the emulator plays Konnect. The
exception each failure raises decides whether an order action may have been applied
(`etl.client._translate`), so those tests go on through `KonnectClient` to the error it
raises.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import orjson
import pytest

from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.connpool import Connection, Pool
from etl.errors import OutcomeUnknown, TransientError
from etl.konnect import ENDPOINTS
from etl.transport import LeanTransport

T = TypeVar("T")
INVENTORY = ENDPOINTS["inventory"]
BODY = orjson.dumps([{"location_id": "DEL-WH-01", "sku": "TS-BLK-M", "quantity": 5}])
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
Reader, Writer = asyncio.StreamReader, asyncio.StreamWriter


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Server:
    """A raw HTTP server on loopback that runs `handler` on each connection it accepts and
    counts them; `heads` holds the head of every request read with `read`."""

    def __init__(self, handler: Callable[[Server, Reader, Writer], Awaitable[None]]) -> None:
        self.handler = handler
        self.accepted = self.closed = 0
        self.heads: list[bytes] = []
        self.url = ""

    async def read(self, reader: Reader) -> bytes | None:
        """The next request's head (its body read and dropped), or None at EOF."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        length = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
        await reader.readexactly(int(length[1]) if length else 0)
        self.heads.append(head)
        return head

    async def _serve(self, reader: Reader, writer: Writer) -> None:
        self.accepted += 1
        try:
            await self.handler(self, reader, writer)
        finally:
            writer.close()
            self.closed += 1


@asynccontextmanager
async def serving(
    handler: Callable[[Server, Reader, Writer], Awaitable[None]],
) -> AsyncIterator[Server]:
    server = Server(handler)
    listener = await asyncio.start_server(server._serve, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    async with listener:
        yield server


async def answer_each(server: Server, reader: Reader, writer: Writer) -> None:
    while await server.read(reader):
        writer.write(OK)


def client(max_connections: int = 4, expiry: float = 4.0, **timeout: float) -> httpx.AsyncClient:
    transport = LeanTransport(max_connections=max_connections, keepalive_expiry=expiry)
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(1.0, **timeout))


def konnect(url: str, timeout: float = 1.0, token: str = "t") -> KonnectClient:
    """A KonnectClient on its default transport (the `no_proxy` fixture clears proxies)."""
    return KonnectClient(ClientSettings(url, token=token, timeout=timeout, retries=0))


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 1.0
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.001)


async def settle() -> None:
    """Let the event loop see what the server just did on its side (a close, some bytes)."""
    await asyncio.sleep(0.01)


def reset_now(writer: Writer) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashed server or a middlebox would."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def fails_as(
    handler: Callable[[Server, Reader, Writer], Awaitable[None]],
    raw: type[httpx.TransportError],
    ours: type[TransientError],
    *,
    body: bytes = BODY,
    timeout: float = 1.0,
) -> TransientError:
    """Send `body` to a server run by `handler`: through the transport it fails as `raw`,
    through KonnectClient as `ours`, which is returned."""

    async def main() -> TransientError:
        async with serving(handler) as server:
            async with client(read=timeout) as http:
                with pytest.raises(raw):
                    await http.put(server.url, content=body)
            async with konnect(server.url, timeout=timeout) as konnect_client:
                with pytest.raises(ours) as caught:
                    await konnect_client.send(INVENTORY, body)
        return caught.value

    return run(main())


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


# --- connection reuse ------------------------------------------------------------------


def test_konnect_client_uses_the_lean_transport_by_default() -> None:
    async def main() -> None:
        async with konnect("http://konnect.test") as konnect_client:
            assert isinstance(konnect_client._http._transport, LeanTransport)

    run(main())


def test_requests_reuse_at_most_as_many_connections_as_run_at_once() -> None:
    async def main() -> None:
        async with serving(answer_each) as server, client(max_connections=8) as http:
            for _ in range(5):
                assert (await http.get(server.url)).text == "ok"
            assert server.accepted == 1
            limit = asyncio.Semaphore(3)

            async def one() -> int:
                async with limit:
                    return (await http.put(server.url, content=BODY)).status_code

            assert await asyncio.gather(*[one() for _ in range(30)]) == [200] * 30
            assert server.accepted <= 3

    run(main())


def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    async def one_answer(server: Server, reader: Reader, writer: Writer) -> None:
        await server.read(reader)
        writer.write(OK)  # keep-alive is implied, but the server closes after it

    async def main() -> None:
        async with serving(one_answer) as server, client() as http:
            assert (await http.get(server.url)).text == "ok"
            await until(lambda: server.closed == 1)
            await settle()
            assert (await http.get(server.url)).text == "ok"
            assert server.accepted == 2

    run(main())


def test_a_connection_idle_longer_than_the_keepalive_expiry_is_not_reused() -> None:
    async def main() -> None:
        async with serving(answer_each) as server, client(expiry=0.02) as http:
            await http.get(server.url)
            await http.get(server.url)
            assert server.accepted == 1
            await asyncio.sleep(0.03)
            await http.get(server.url)
            assert server.accepted == 2

    run(main())


def answering_keep_alive(hint: bytes) -> Callable[[Server, Reader, Writer], Awaitable[None]]:
    async def handler(server: Server, reader: Reader, writer: Writer) -> None:
        while await server.read(reader):
            writer.write(
                b"HTTP/1.1 200 OK\r\nkeep-alive: " + hint + b"\r\ncontent-length: 2\r\n\r\nok"
            )

    return handler


@pytest.mark.parametrize(
    ("hint", "expiry", "idle"),
    [
        (b"timeout=1.2, max=100", 4.0, 0.3),  # the server's 1.2 s less a second: 0.2 s
        (b"timeout=600", 0.05, 0.08),  # longer than ours: ours holds
        (b"timeout=soon", 0.05, 0.08),  # unreadable: ours holds
    ],
)
def test_an_idle_connection_is_reused_until_the_shorter_of_ours_and_the_servers_expiry(
    hint: bytes, expiry: float, idle: float
) -> None:
    async def main() -> None:
        async with serving(answering_keep_alive(hint)) as server, client(expiry=expiry) as http:
            await http.get(server.url)
            await http.get(server.url)
            assert server.accepted == 1
            await asyncio.sleep(idle)
            await http.get(server.url)
            assert server.accepted == 2

    run(main())


def test_a_keep_alive_timeout_of_a_second_or_less_means_no_reuse() -> None:
    async def main() -> None:
        async with serving(answering_keep_alive(b"max=5, timeout=1")) as server, client() as http:
            await http.get(server.url)
            await http.get(server.url)
            assert server.accepted == 2

    run(main())


def test_an_idle_connection_the_server_wrote_to_is_not_reused() -> None:
    """A 408 sent on an idle connection must not be read as the answer to the next request."""

    async def answer_then_408(server: Server, reader: Reader, writer: Writer) -> None:
        await server.read(reader)
        writer.write(OK)
        if server.accepted == 1:
            writer.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n")
        await server.read(reader)

    async def main() -> None:
        async with serving(answer_then_408) as server, client() as http:
            await http.get(server.url)
            await settle()
            assert (await http.get(server.url)).status_code == 200
            assert server.accepted == 2

    run(main())


def test_bytes_right_behind_an_answer_keep_its_connection_from_reuse() -> None:
    async def answer_and_junk(server: Server, reader: Reader, writer: Writer) -> None:
        while await server.read(reader):
            writer.write(OK + b"\x00junk" if server.accepted == 1 else OK)

    async def main() -> None:
        async with serving(answer_and_junk) as server, client() as http:
            assert (await http.get(server.url)).text == "ok"
            assert (await http.get(server.url)).text == "ok"
            assert server.accepted == 2

    run(main())


def test_a_second_answer_in_the_same_segment_never_mixes_into_the_first() -> None:
    """A 409 and, in the same write, a 200: the request's answer is the 409 (a refused
    order action must not read as applied), and the connection is not reused."""

    async def two_answers(server: Server, reader: Reader, writer: Writer) -> None:
        while await server.read(reader):
            conflict = b"HTTP/1.1 409 Conflict\r\ncontent-length: 0\r\n\r\n"
            writer.write(conflict + b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")

    async def main() -> None:
        async with serving(two_answers) as server, client() as http:
            response = await http.put(server.url, content=BODY)
            assert (response.status_code, response.reason_phrase) == (409, "Conflict")
            assert response.headers.get_list("content-length") == ["0"]
            await http.put(server.url, content=BODY)
            assert server.accepted == 2

    run(main())


def test_an_answer_with_bare_line_feeds_or_a_trailer_is_read_as_h11_read_it() -> None:
    async def lf_then_trailer(server: Server, reader: Reader, writer: Writer) -> None:
        await server.read(reader)
        writer.write(b"HTTP/1.1 200 OK\ncontent-length: 2\n\nok")
        await server.read(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                     b"2\r\nok\r\n0\r\nx-checksum: abc\r\n\r\n")  # fmt: skip

    async def main() -> None:
        async with serving(lf_then_trailer) as server, client() as http:
            assert (await http.get(server.url)).text == "ok"
            response = await http.get(server.url)
            assert response.text == "ok" and "x-checksum" not in response.headers

    run(main())


def test_a_chunked_answer_is_read_whole_and_the_connection_reused() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )

    async def answer_chunked(server: Server, reader: Reader, writer: Writer) -> None:
        while await server.read(reader):
            writer.write(chunked)

    async def main() -> None:
        async with serving(answer_chunked) as server, client() as http:
            assert (await http.get(server.url)).text == "abcde"
            response = await http.get(server.url)
            assert response.text == "abcde"
            assert response.http_version == "HTTP/1.1" and response.reason_phrase == "OK"
            assert server.accepted == 1

    run(main())


def test_connection_close_in_an_answer_closes_the_connection() -> None:
    async def answer_close(server: Server, reader: Reader, writer: Writer) -> None:
        while await server.read(reader):
            writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok")

    async def main() -> None:
        async with serving(answer_close) as server, client() as http:
            assert (await http.get(server.url)).text == "ok"
            await until(lambda: server.closed == 1)  # the client hung up, not the server
            assert (await http.get(server.url)).text == "ok"
            assert server.accepted == 2

    run(main())


def test_an_interim_100_continue_is_skipped_and_the_answer_after_it_read() -> None:
    async def continue_first(server: Server, reader: Reader, writer: Writer) -> None:
        while await server.read(reader):
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)

    async def main() -> None:
        async with serving(continue_first) as server, client() as http:
            for _ in range(2):
                response = await http.put(server.url, content=BODY)
                assert (response.status_code, response.text) == (200, "ok")
            assert server.accepted == 1

    run(main())


def test_an_answer_without_a_length_ends_at_the_close_and_the_connection_is_not_reused() -> None:
    async def body_to_close(server: Server, reader: Reader, writer: Writer) -> None:
        await server.read(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nall of ")
        await writer.drain()
        await settle()
        writer.write(b"it")

    async def main() -> None:
        async with serving(body_to_close) as server, client() as http:
            assert (await http.get(server.url)).text == "all of it"
            assert (await http.get(server.url)).text == "all of it"
            assert server.accepted == 2

    run(main())


def test_a_request_saying_connection_close_is_not_followed_by_another_on_it() -> None:
    async def main() -> None:
        async with serving(answer_each) as server, client() as http:
            await http.get(server.url, headers={"connection": "close"})
            await http.get(server.url)
            assert server.accepted == 2

    run(main())


def test_a_streamed_request_body_is_sent_chunked() -> None:
    async def read_chunked(server: Server, reader: Reader, writer: Writer) -> None:
        server.heads.append(await reader.readuntil(b"\r\n\r\n"))
        server.heads.append(await reader.readuntil(b"0\r\n\r\n"))
        writer.write(OK)

    async def parts() -> AsyncIterator[bytes]:
        yield b"abc"
        yield b"de"

    async def main() -> None:
        async with serving(read_chunked) as server, client() as http:
            assert (await http.put(server.url, content=parts())).text == "ok"
            assert b"transfer-encoding: chunked" in server.heads[0].lower()
            assert server.heads[1] == b"5\r\nabcde\r\n0\r\n\r\n"

    run(main())


def test_a_header_value_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    """A token pasted with its line break must not split the request into two."""

    async def main() -> None:
        async with serving(answer_each) as server, client() as http:
            with pytest.raises(httpx.LocalProtocolError, match="illegal header"):
                await http.get(server.url, headers={"x-token": "abc\r\nx-evil: 1"})
            with pytest.raises(httpx.LocalProtocolError, match="HEAD"):
                await http.head(server.url)
            assert (await http.get(server.url)).text == "ok"  # the pool is unharmed
            assert len(server.heads) == 1

    run(main())


# --- failures and what they mean for "was it applied?" ---------------------------------


async def close_unanswered(server: Server, reader: Reader, writer: Writer) -> None:
    await server.read(reader)


def test_a_server_closing_without_answering_is_an_unknown_outcome() -> None:
    fails_as(close_unanswered, httpx.RemoteProtocolError, OutcomeUnknown)


def test_a_reused_connection_closed_after_the_request_is_an_unknown_outcome() -> None:
    async def answer_once_then_close(server: Server, reader: Reader, writer: Writer) -> None:
        await server.read(reader)
        writer.write(OK)
        await server.read(reader)

    async def main() -> None:
        async with serving(answer_once_then_close) as server, client() as http:
            await http.get(server.url)
            with pytest.raises(httpx.RemoteProtocolError):
                await http.put(server.url, content=BODY)
            assert len(server.heads) == 2  # it did arrive

    run(main())


def test_an_answer_cut_short_is_an_unknown_outcome() -> None:
    async def cut_short(server: Server, reader: Reader, writer: Writer) -> None:
        await server.read(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")

    caught = fails_as(cut_short, httpx.RemoteProtocolError, OutcomeUnknown)
    assert "closed the connection without answering" in str(caught)


def test_an_answer_that_is_not_http_is_an_unknown_outcome() -> None:
    async def garbage(server: Server, reader: Reader, writer: Writer) -> None:
        await server.read(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await server.read(reader)

    caught = fails_as(garbage, httpx.RemoteProtocolError, OutcomeUnknown)
    assert "Konnect's answer could not be read: the answer is not HTTP/1.1" in str(caught)


def test_a_reset_connection_is_a_read_error_and_an_unknown_outcome() -> None:
    async def reset(server: Server, reader: Reader, writer: Writer) -> None:
        await server.read(reader)
        reset_now(writer)

    fails_as(reset, httpx.ReadError, OutcomeUnknown)


def test_no_answer_within_the_read_timeout_is_an_unknown_outcome() -> None:
    async def never_answer(server: Server, reader: Reader, writer: Writer) -> None:
        await server.read(reader)
        await asyncio.Event().wait()

    fails_as(never_answer, httpx.ReadTimeout, OutcomeUnknown, timeout=0.05)


def test_nothing_listening_is_a_connect_error_and_safe_to_retry() -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{placeholder.getsockname()[1]}"

    async def main() -> None:
        async with client() as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(url)
        async with konnect(url) as konnect_client:
            with pytest.raises(TransientError) as caught:
                await konnect_client.send(INVENTORY, BODY)
            assert not isinstance(caught.value, OutcomeUnknown)

    run(main())


def test_a_request_the_server_stops_reading_is_a_write_timeout() -> None:
    """The body outgrows every buffer on the way: part of it was never sent."""

    async def read_nothing(server: Server, reader: Reader, writer: Writer) -> None:
        await asyncio.Event().wait()

    async def main() -> None:
        async with serving(read_nothing) as server, client(write=0.05) as http:
            with pytest.raises(httpx.WriteTimeout):
                await http.put(server.url, content=b"x" * 32_000_000)

    run(main())


def test_a_connection_reset_while_sending_is_a_write_error_and_safe_to_retry() -> None:
    """The server resets the connection with most of the body still unsent: not applied."""

    async def reset_at_once(server: Server, reader: Reader, writer: Writer) -> None:
        await reader.read(1024)
        reset_now(writer)

    error = fails_as(reset_at_once, httpx.WriteError, TransientError, body=b"x" * 32_000_000)
    assert not isinstance(error, OutcomeUnknown)
    assert "broke before the whole request was sent" in str(error)


# --- the pool --------------------------------------------------------------------------


def held_until(release: asyncio.Event) -> Callable[[Server, Reader, Writer], Awaitable[None]]:
    """Answer each request with its path; a request for /held only once `release` is set."""

    async def handler(server: Server, reader: Reader, writer: Writer) -> None:
        while head := await server.read(reader):
            path = head.split(b" ")[1]
            if path == b"/held":
                await release.wait()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(path), path))

    return handler


def test_a_request_waits_for_a_free_connection_up_to_the_pool_timeout() -> None:
    async def main() -> None:
        release = asyncio.Event()
        async with serving(held_until(release)) as server, client(1, pool=0.05) as http:
            held = asyncio.create_task(http.get(f"{server.url}/held"))
            await until(lambda: len(server.heads) == 1)
            with pytest.raises(httpx.PoolTimeout):
                await http.get(f"{server.url}/waits")
            release.set()
            assert (await held).text == "/held"
            assert (await http.get(f"{server.url}/next")).text == "/next"
            assert server.accepted == 1
            assert len(server.heads) == 2  # the request that timed out was never sent

    run(main())


def test_waiting_requests_get_the_connection_in_order() -> None:
    async def main() -> None:
        release = asyncio.Event()
        async with serving(held_until(release)) as server, client(1) as http:
            held = asyncio.create_task(http.get(f"{server.url}/held"))
            await until(lambda: len(server.heads) == 1)
            waiting = [asyncio.create_task(http.get(f"{server.url}/{n}")) for n in "abc"]
            await settle()
            waiting[1].cancel()  # a waiter that gave up is skipped
            release.set()
            await asyncio.gather(held, *waiting, return_exceptions=True)
            assert [head.split(b" ")[1] for head in server.heads] == [b"/held", b"/a", b"/c"]
            assert server.accepted == 1

    run(main())


def test_a_cancelled_request_does_not_poison_the_pool() -> None:
    async def main() -> None:
        release = asyncio.Event()
        async with serving(held_until(release)) as server, client(1, pool=0.5) as http:
            cancelled = asyncio.create_task(http.get(f"{server.url}/held"))
            await until(lambda: len(server.heads) == 1)
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            release.set()  # the server now answers the cancelled request, too late
            assert (await http.get(f"{server.url}/next")).text == "/next"
            assert server.accepted == 2

    run(main())


def test_a_waiter_cancelled_just_after_it_was_handed_a_slot_gives_it_back() -> None:
    async def main() -> None:
        pool = Pool(limit=1, expiry=4.0)
        assert await pool.acquire(None) is None  # the one slot is taken
        waiter = asyncio.create_task(pool.acquire(None))
        await asyncio.sleep(0)
        pool.free_slot()  # handed to the waiter...
        waiter.cancel()  # ...which is cancelled before it could run
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert await pool.acquire(0.01) is None  # the slot came back: no pool timeout

    run(main())


def test_aclose_closes_every_connection_and_fails_waiting_requests() -> None:
    async def main() -> None:
        release = asyncio.Event()
        async with serving(held_until(release)) as server:
            transport = LeanTransport(max_connections=2)
            http = httpx.AsyncClient(transport=transport)
            await asyncio.gather(*[http.get(f"{server.url}/{n}") for n in range(4)])
            assert server.accepted == 2
            held = [asyncio.create_task(http.get(f"{server.url}/held")) for _ in range(3)]
            await until(lambda: len(server.heads) == 6)  # two sent, one waits for a connection
            await transport.aclose()
            errors = await asyncio.gather(*held, return_exceptions=True)
            assert sorted(type(e).__name__ for e in errors) == [
                "ConnectError",  # never sent
                "RemoteProtocolError",
                "RemoteProtocolError",
            ]
            release.set()  # the server's handlers go on and find the connections closed
            await until(lambda: server.closed == server.accepted == 2)

    run(main())


def test_a_request_still_connecting_when_the_transport_closes_is_not_sent() -> None:
    async def main() -> None:
        async with serving(answer_each) as server:
            transport = LeanTransport()
            async with httpx.AsyncClient(transport=transport) as http:
                connecting = asyncio.create_task(http.get(server.url))
                await asyncio.sleep(0)  # the request is now opening its connection
                await transport.aclose()
                with pytest.raises(httpx.ConnectError, match="closed"):
                    await connecting
            await until(lambda: server.closed == server.accepted == 1)
            assert server.heads == []

    run(main())


def test_a_connection_that_dies_while_handed_to_a_waiter_is_replaced() -> None:
    async def main() -> None:
        async with serving(answer_each) as server:
            _, connection = await asyncio.get_running_loop().create_connection(
                Connection, "127.0.0.1", int(server.url.rsplit(":", 1)[1])
            )
            pool = Pool(limit=1, expiry=4.0)
            assert await pool.acquire(None) is None
            pool.add(connection)
            waiter = asyncio.create_task(pool.acquire(None))
            await asyncio.sleep(0)
            pool._hand_over(connection)  # as `release` does after an exchange...
            connection.abort()  # ...and dead before the waiter runs
            assert await waiter is None  # so it gets the slot, to open a new one
            assert pool.used == 1 and not pool.open

    run(main())


# --- TLS, proxies, the emulator --------------------------------------------------------


def test_https_uses_the_given_ssl_context() -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)

    async def main() -> None:
        listener = await asyncio.start_server(
            lambda r, w: Server(answer_each)._serve(r, w), "127.0.0.1", 0, ssl=server_context
        )
        url = f"https://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
        async with listener:
            async with httpx.AsyncClient(transport=LeanTransport(ssl_context=trusting)) as http:
                assert (await http.get(url)).text == "ok"
            untrusting = LeanTransport(ssl_context=ssl.create_default_context())
            async with httpx.AsyncClient(transport=untrusting) as http:
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await http.get(url)

    run(main())


def test_a_proxy_from_the_environment_is_still_used(monkeypatch: pytest.MonkeyPatch) -> None:
    async def proxy(server: Server, reader: Reader, writer: Writer) -> None:
        while await server.read(reader):
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n[42]")

    async def main() -> None:
        async with serving(proxy) as server:
            monkeypatch.setenv("HTTP_PROXY", server.url)
            async with konnect("http://konnect.test") as konnect_client:
                assert await konnect_client.get_json("/ping", {}) == [42]
            assert server.heads[0].startswith(b"GET http://konnect.test/ping HTTP/1.1")

    run(main())


def test_the_emulator_dropping_a_request_is_an_unknown_outcome_then_all_goes_on(
    sandbox: Any,
) -> None:
    async def main() -> None:
        async with konnect(sandbox.url, token=sandbox.token) as konnect_client:
            assert (await konnect_client.send(INVENTORY, BODY)).success_count == 1
            sandbox.faults(drop_rate=1.0)
            with pytest.raises(OutcomeUnknown):
                await konnect_client.send(INVENTORY, BODY)
            sandbox.faults(drop_rate=0.0)
            answers = await asyncio.gather(
                *[konnect_client.send(INVENTORY, BODY) for _ in range(8)]
            )
            assert [a.success_count for a in answers] == [1] * 8

    run(main())
