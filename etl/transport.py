"""A lean HTTP/1.1 transport for httpx: asyncio and httptools, no httpcore, anyio or sniffio.

An upload is thousands of requests, and httpx's default transport (httpcore on anyio) more
than doubles the CPU each one costs us. This one does only what Konnect needs: HTTP/1.1,
keep-alive, TLS, timeouts, and whole responses read into memory.

Each origin has a pool (`etl.connpool`) of at most `max_connections` connections; a request
that finds none free waits its turn (first come, first served) up to the pool timeout. A
connection is reused only when its answer ended cleanly and did not say `Connection: close`
(nor did the request), and never once the server has closed it, sent something unasked, or
left it idle longer than `keepalive_expiry` — or than the server's own `Keep-Alive:
timeout=N` less a second, so we never send on a connection the server is just closing; any
other ending, a cancellation included, closes it. `etl.http11` writes the requests and
reads the answers.

Which httpx exception a failure raises tells how far the request got, and
`etl.client._translate` relies on it to decide whether a request may have been applied:

    ConnectError, ConnectTimeout, PoolTimeout    nothing of the request was sent
    WriteError, WriteTimeout                     some of it may be sent, never all of it
    ReadError, ReadTimeout, RemoteProtocolError  all of it may have arrived and been applied
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpx

from etl.connpool import Connection, Pool, PoolClosed
from etl.http11 import Answer, UnreadableAnswer, request_bytes

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio, a keep-alive pool per origin (scheme, host, port)."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 10,
        keepalive_expiry: float = 4.0,
    ) -> None:
        self._ssl = ssl_context
        self._limit = max_connections
        self._expiry = keepalive_expiry
        self._pools: dict[Origin, Pool] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = _origin(request)
        pool = self._pools.get(origin) or self._pools.setdefault(
            origin, Pool(self._limit, self._expiry)
        )
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        connection = await self._connection(pool, origin, request, timeouts)
        try:
            answer = await _send(connection, request, timeouts.get("write"))
            response = await _receive(connection, answer, request, timeouts.get("read"))
        except BaseException:  # a cancellation too: the exchange is cut, never reuse it
            pool.discard(connection)
            raise
        if request.headers.get("connection", "").lower() == "close":
            pool.discard(connection)
        else:
            pool.release(connection, _keepalive_timeout(response))
        return response

    async def aclose(self) -> None:
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close_all()

    async def _connection(
        self, pool: Pool, origin: Origin, request: httpx.Request, timeouts: dict[str, Any]
    ) -> Connection:
        try:
            connection = await pool.acquire(timeouts.get("pool"))
            if connection is None:  # a slot is reserved for a new one
                try:
                    connection = await self._connect(origin, timeouts.get("connect"), request)
                except BaseException:
                    pool.free_slot()
                    raise
                pool.add(connection)
        except TimeoutError:
            raise httpx.PoolTimeout(
                "no free connection within the pool timeout", request=request
            ) from None
        except PoolClosed:
            raise httpx.ConnectError("the transport was closed", request=request) from None
        return connection

    async def _connect(
        self, origin: Origin, timeout: float | None, request: httpx.Request
    ) -> Connection:
        scheme, host, port = origin
        tls = None
        if scheme == "https":
            tls = self._ssl = self._ssl or httpx.create_ssl_context()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    Connection, host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(
                f"could not connect within {timeout} s", request=request
            ) from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        if not connection.reusable:  # closed at once: nothing was sent
            connection.abort()
            raise httpx.ConnectError("the server closed the connection at once", request=request)
        return connection


def _keepalive_timeout(response: httpx.Response) -> float | None:
    """The `timeout=N` of a `Keep-Alive: timeout=5, max=100` answer header, if any."""
    header = response.headers.get("keep-alive")
    if header is None:
        return None
    for part in header.split(","):
        name, _, value = part.partition("=")
        if name.strip().lower() == "timeout":
            try:
                return float(value.strip())
            except ValueError:
                return None
    return None


def _origin(request: httpx.Request) -> Origin:
    url = request.url
    port = url.port or DEFAULT_PORTS.get(url.scheme)
    if port is None:
        raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
    return url.scheme, url.host, port


async def _send(connection: Connection, request: httpx.Request, timeout: float | None) -> Answer:
    """Write the whole request. It fails as a write only while some of it is still unsent."""
    try:
        body = request.content
    except httpx.RequestNotRead:
        body = await request.aread()
    data = request_bytes(request, body)
    answer = connection.expect_answer()
    connection.transport.write(data)
    # Paused means asyncio holds more than its low-water mark unsent: part of the request
    # cannot have reached the server yet, so it cannot have been applied.
    while connection.paused:
        if connection.closed:
            raise httpx.WriteError("the connection closed while sending", request=request)
        if not await connection.wait(timeout):
            raise httpx.WriteTimeout(f"could not send within {timeout} s", request=request)
    return answer


async def _receive(
    connection: Connection, answer: Answer, request: httpx.Request, timeout: float | None
) -> httpx.Response:
    """Wait for the whole answer (with a content-length, chunked, or up to the close)."""
    while not answer.complete:
        if answer.unreadable:
            raise UnreadableAnswer(str(answer.problem), request=request)
        if answer.problem is not None:
            raise _read_failure(connection, request, answer.problem)
        if not await connection.wait(timeout):
            raise httpx.ReadTimeout(f"no answer within {timeout} s", request=request)
    return httpx.Response(
        answer.status,
        headers=answer.headers,
        content=b"".join(answer.body),
        extensions={"http_version": answer.http_version, "reason_phrase": answer.reason},
    )


def _read_failure(
    connection: Connection, request: httpx.Request, message: str
) -> httpx.TransportError:
    if connection.error is not None:  # the OS reported it (reset...), not a clean close
        return httpx.ReadError(str(connection.error) or message, request=request)
    return httpx.RemoteProtocolError(message, request=request)
