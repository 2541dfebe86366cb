"""Keep-alive HTTP/1.1 connections and the pool that shares them (`etl.transport`).

A connection is an asyncio protocol whose received bytes go straight into the answer being
read (`etl.http11.Answer`), or mark it as spoken to unasked; `reusable` says whether it may
carry another request. A pool holds the connections to one origin: at most `limit` open, idle ones
reused newest first and never past their expiry, and requests that find none free served
first come, first served.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import cast

from etl.http11 import Answer


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection. What arrives goes straight into the answer awaited (no
    stream buffer in between); anything else, an EOF included, makes it `unasked`."""

    transport: asyncio.Transport  # set by asyncio before the connection is handed to us

    def __init__(self) -> None:
        self.answer: Answer | None = None  # the answer to the request on it, from its sending
        self.unasked = False  # bytes or an EOF came with no answer awaited
        self.closed = False
        self.error: Exception | None = None
        self.paused = False
        self.idle_since = 0.0
        self.expiry = 0.0  # idle seconds after which it is not reused (set by the pool)
        self._waiter: asyncio.Future[bool] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def expect_answer(self) -> Answer:
        """Called just before a request is written: its answer, as it arrives."""
        self.answer = Answer()
        return self.answer

    def data_received(self, data: bytes) -> None:
        if self.answer is None or self.answer.complete:
            self.unasked = True
        else:
            self.answer.feed(data)
        self._wake()

    def eof_received(self) -> None:
        self._ended()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed, self.error = True, exc
        self._ended()

    def _ended(self) -> None:
        if self.answer is None or self.answer.complete:
            self.unasked = True
        else:
            self.answer.closed()
        self._wake()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._wake()

    @property
    def reusable(self) -> bool:
        """Open, and nothing (not even an EOF) received since the last exchange ended."""
        answer = self.answer
        extra = answer is not None and answer.extra
        return not (self.transport.is_closing() or self.unasked or extra)

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


class PoolClosed(Exception):
    """The transport was closed while the request waited for a connection."""


class Pool:
    """The connections to one origin: `used` counts those open or being opened, `idle` the
    reusable ones (newest last), `waiters` the requests waiting for a connection or a slot."""

    def __init__(self, limit: int, expiry: float) -> None:
        self.limit, self.expiry = limit, expiry
        self.closed = False
        self.used = 0
        self.open: set[Connection] = set()
        self.idle: deque[Connection] = deque()
        self.waiters: deque[asyncio.Future[Connection | None]] = deque()

    async def acquire(self, timeout: float | None) -> Connection | None:
        """An idle connection, or None: a slot is reserved and the caller opens one.
        Raises TimeoutError when none is free within `timeout` seconds."""
        if self.closed:
            raise PoolClosed
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

    def _take_idle(self) -> Connection | None:
        now = time.monotonic()
        while self.idle:
            connection = self.idle.pop()
            if now - connection.idle_since <= connection.expiry and connection.reusable:
                return connection
            self.discard(connection)
        return None

    async def _wait_turn(self, timeout: float | None) -> Connection | None:
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
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

    def add(self, connection: Connection) -> None:
        if self.closed:  # opened while the transport was being closed
            connection.abort()
            raise PoolClosed
        self.open.add(connection)

    def release(self, connection: Connection, server_expiry: float | None = None) -> None:
        """After a complete exchange: keep the connection if both sides are done with it.
        `server_expiry`: how long the server said it keeps an idle connection, if it did."""
        answer, connection.answer = connection.answer, None
        if answer is not None and answer.keep_alive and not connection.closed:
            connection.expiry = self.expiry
            if server_expiry is not None:  # a second less: a request must not cross its close
                connection.expiry = min(self.expiry, server_expiry - 1.0)
            if connection.reusable and connection.expiry > 0:
                self._hand_over(connection)
                return
        self.discard(connection)

    def discard(self, connection: Connection) -> None:
        self._close(connection)
        self.free_slot()

    def close_all(self) -> None:
        """Abort every connection, in use or not; waiting requests fail."""
        self.closed = True
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_exception(PoolClosed())
        for connection in self.open:
            connection.abort()
        self.open.clear()
        self.idle.clear()
        self.waiters.clear()

    def _close(self, connection: Connection) -> None:
        connection.abort()
        self.open.discard(connection)

    def _hand_over(self, connection: Connection) -> None:
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
