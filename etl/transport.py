"""A lean HTTP/1.1 transport for httpx: asyncio and h11, no httpcore, anyio or sniffio.

An upload is thousands of requests, and httpx's default transport (httpcore on anyio) more
than doubles the CPU each one costs us. This one does only what Konnect needs: HTTP/1.1,
keep-alive, TLS, timeouts, and whole responses read into memory.

Each origin has a pool of at most `max_connections` connections; a request that finds none
free waits its turn (first come, first served) up to the pool timeout. A connection is
reused only when h11 says the exchange ended cleanly on both sides, and never once the
server has closed it, sent something unasked, or left it idle longer than
`keepalive_expiry` — or than the server's own `Keep-Alive: timeout=N` less a second, so we
never send on a connection the server is just closing; any other ending, a cancellation
included, closes it.

Which httpx exception a failure raises tells how far the request got, and
`etl.client._translate` relies on it to decide whether a request may have been applied:

    ConnectError, ConnectTimeout, PoolTimeout    nothing of the request was sent
    WriteError, WriteTimeout                     some of it may be sent, never all of it
    ReadError, ReadTimeout, RemoteProtocolError  all of it may have arrived and been applied
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from typing import Any, cast

import h11
import httpx

_DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection. What arrives goes straight into h11 (no stream buffer in
    between), so h11 alone knows whether the server has sent or closed anything."""

    transport: asyncio.Transport  # set by asyncio before the connection is handed to us

    def __init__(self) -> None:
        self.h11 = h11.Connection(h11.CLIENT)
        self.closed = False
        self.error: Exception | None = None
        self.paused = False
        self.idle_since = 0.0
        self.expiry = 0.0  # idle seconds after which it is not reused (set by the pool)
        self._waiter: asyncio.Future[bool] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.h11.receive_data(data)
        self._wake()

    def eof_received(self) -> None:
        self.h11.receive_data(b"")
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed, self.error = True, exc
        self.h11.receive_data(b"")
        self._wake()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._wake()

    @property
    def reusable(self) -> bool:
        """Open, and nothing (not even an EOF) received since the last exchange ended."""
        return not self.transport.is_closing() and self.h11.trailing_data == (b"", False)

    async def wait(self, timeout: float | None) -> bool:
        """Until something happens on the connection (True) or `timeout` seconds pass."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiter = waiter
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            return await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def abort(self) -> None:
        self.transport.abort()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(True)


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class _PoolClosed(Exception):
    """The transport was closed while the request waited for a connection."""


class _Pool:
    """The connections to one origin: `used` counts those open or being opened, `idle` the
    reusable ones (newest last), `waiters` the requests waiting for a connection or a slot."""

    def __init__(self, limit: int, expiry: float) -> None:
        self.limit, self.expiry = limit, expiry
        self.closed = False
        self.used = 0
        self.open: set[_Connection] = set()
        self.idle: deque[_Connection] = deque()
        self.waiters: deque[asyncio.Future[_Connection | None]] = deque()

    async def acquire(self, timeout: float | None) -> _Connection | None:
        """An idle connection, or None: a slot is reserved and the caller opens one.
        Raises TimeoutError when none is free within `timeout` seconds."""
        if self.closed:
            raise _PoolClosed
        if not self.waiters:  # else they come first
            connection = self._take_idle()
            if connection is not None:
                return connection
            if self.used < self.limit:
                self.used += 1
                return None
        connection = await self._wait_turn(timeout)
        if connection is not None and not connection.reusable:
            self._close(connection)  # closed while handed over: keep its slot, open anew
            return None
        return connection

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self.idle:
            connection = self.idle.pop()
            if now - connection.idle_since <= connection.expiry and connection.reusable:
                return connection
            self.discard(connection)
        return None

    async def _wait_turn(self, timeout: float | None) -> _Connection | None:
        waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # handed a connection or a slot, then timed out or cancelled: pass it on
                given = waiter.result()
                self._hand_over(given) if given is not None else self.free_slot()
            raise

    def add(self, connection: _Connection) -> None:
        if self.closed:  # opened while the transport was being closed
            connection.abort()
            raise _PoolClosed
        self.open.add(connection)

    def release(self, connection: _Connection, server_expiry: float | None = None) -> None:
        """After a complete exchange: keep the connection if both sides are done with it.
        `server_expiry`: how long the server said it keeps an idle connection, if it did."""
        h = connection.h11
        if h.our_state is h11.DONE and h.their_state is h11.DONE and not connection.closed:
            h.start_next_cycle()
            connection.expiry = self.expiry
            if server_expiry is not None:  # a second less: a request must not cross its close
                connection.expiry = min(self.expiry, server_expiry - 1.0)
            if connection.reusable and connection.expiry > 0:
                self._hand_over(connection)
                return
        self.discard(connection)

    def discard(self, connection: _Connection) -> None:
        self._close(connection)
        self.free_slot()

    def close_all(self) -> None:
        """Abort every connection, in use or not; waiting requests fail."""
        self.closed = True
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_exception(_PoolClosed())
        for connection in self.open:
            connection.abort()
        self.open.clear()
        self.idle.clear()
        self.waiters.clear()

    def _close(self, connection: _Connection) -> None:
        connection.abort()
        self.open.discard(connection)

    def _hand_over(self, connection: _Connection) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():  # a waiter that timed out or was cancelled is done
                waiter.set_result(connection)
                return
        connection.idle_since = time.monotonic()
        self.idle.append(connection)

    def free_slot(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes to the waiter: `used` stays
                return
        self.used -= 1


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio with h11, a keep-alive pool per origin (scheme, host, port)."""

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
        self._pools: dict[Origin, _Pool] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = _origin(request)
        pool = self._pools.get(origin) or self._pools.setdefault(
            origin, _Pool(self._limit, self._expiry)
        )
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        connection = await self._connection(pool, origin, request, timeouts)
        try:
            await _send(connection, request, timeouts.get("write"))
            response = await _receive(connection, request, timeouts.get("read"))
        except BaseException:  # a cancellation too: the exchange is cut, never reuse it
            pool.discard(connection)
            raise
        pool.release(connection, _keepalive_timeout(response))
        return response

    async def aclose(self) -> None:
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close_all()

    async def _connection(
        self, pool: _Pool, origin: Origin, request: httpx.Request, timeouts: dict[str, Any]
    ) -> _Connection:
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
        except _PoolClosed:
            raise httpx.ConnectError("the transport was closed", request=request) from None
        return connection

    async def _connect(
        self, origin: Origin, timeout: float | None, request: httpx.Request
    ) -> _Connection:
        scheme, host, port = origin
        tls = None
        if scheme == "https":
            tls = self._ssl = self._ssl or httpx.create_ssl_context()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    _Connection, host, port, ssl=tls, server_hostname=host if tls else None
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
    port = url.port or _DEFAULT_PORTS.get(url.scheme)
    if port is None:
        raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
    return url.scheme, url.host, port


async def _send(connection: _Connection, request: httpx.Request, timeout: float | None) -> None:
    """Write the whole request. It fails as a write only while some of it is still unsent."""
    try:
        body = request.content
    except httpx.RequestNotRead:
        body = await request.aread()
    h = connection.h11
    try:
        head = h.send(
            h11.Request(
                method=request.method, target=request.url.raw_path, headers=request.headers.raw
            )
        )
        parts = [head, h.send(h11.Data(data=body)) if body else b"", h.send(h11.EndOfMessage())]
    except h11.LocalProtocolError as exc:
        raise httpx.LocalProtocolError(str(exc), request=request) from exc
    connection.transport.write(b"".join(parts))
    # Paused means asyncio holds more than its low-water mark unsent: part of the request
    # cannot have reached the server yet, so it cannot have been applied.
    while connection.paused:
        if connection.closed:
            raise httpx.WriteError("the connection closed while sending", request=request)
        if not await connection.wait(timeout):
            raise httpx.WriteTimeout(f"could not send within {timeout} s", request=request)


async def _receive(
    connection: _Connection, request: httpx.Request, timeout: float | None
) -> httpx.Response:
    """Read the whole response (h11 handles content-length, chunked and read-until-close)."""
    h = connection.h11
    head: h11.Response | None = None
    parts: list[bytes] = []
    while True:
        try:
            event = h.next_event()
        except h11.RemoteProtocolError as exc:
            raise _read_failure(connection, request, str(exc)) from exc
        if event is h11.NEED_DATA:
            if not await connection.wait(timeout):
                raise httpx.ReadTimeout(f"no answer within {timeout} s", request=request)
        elif type(event) is h11.Response:
            head = event
        elif type(event) is h11.Data:
            parts.append(event.data)
        elif type(event) is h11.EndOfMessage and head is not None:
            return httpx.Response(
                head.status_code,
                headers=head.headers.raw_items(),
                content=b"".join(parts),
                extensions={
                    "http_version": b"HTTP/" + head.http_version,
                    "reason_phrase": head.reason,
                },
            )
        elif type(event) is not h11.InformationalResponse:  # closed, or a protocol switch
            raise _read_failure(connection, request, "the server closed without answering")


def _read_failure(
    connection: _Connection, request: httpx.Request, message: str
) -> httpx.TransportError:
    if connection.error is not None:  # the OS reported it (reset...), not a clean close
        return httpx.ReadError(str(connection.error) or message, request=request)
    return httpx.RemoteProtocolError(message, request=request)
