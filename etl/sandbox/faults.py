"""Injected faults: latency, server errors, dropped connections, rate limit, concurrency cap.

All of them apply to the Konnect data endpoints only (`/ims/...`, `/oms/...`); the token
endpoint and the `/_sandbox/...` control endpoints are never slowed down or broken.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from etl.sandbox.settings import FaultSettings

SERVER_ERRORS = (500, 502, 503)


class TokenBucket:
    """`rate` requests per second on average, bursts of up to max(1, rate)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.clock = clock
        self.stamp = clock()

    def take(self) -> float | None:
        """None when the request may pass, else the seconds to wait before retrying."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


class ConcurrencyGate:
    """Requests beyond the limit wait in line (they are not refused).

    A request that finds a free slot only counts itself in and out: the asyncio Condition,
    which costs more than the rest of the fault pipeline, is used only when one has to wait.
    Everything runs on one event loop, so checking for a slot and taking it cannot interleave.
    """

    def __init__(self, limit: Callable[[], int | None]) -> None:
        self.limit = limit
        self.in_flight = 0
        self.peak = 0
        self._waiting = 0
        self._condition: asyncio.Condition | None = None

    def _free(self) -> bool:
        limit = self.limit()
        return limit is None or self.in_flight < limit

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if not self._free():
            await self._wait()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            yield
        finally:
            self.in_flight -= 1
            if self._waiting:
                await self._wake()

    async def _wait(self) -> None:
        """Until a slot is free; returns without yielding to the loop once it is."""
        condition = self._line()
        self._waiting += 1
        try:
            async with condition:
                await condition.wait_for(self._free)
        finally:
            self._waiting -= 1

    async def _wake(self) -> None:
        condition = self._line()
        async with condition:
            condition.notify_all()

    def _line(self) -> asyncio.Condition:
        if self._condition is None:  # created on first use, inside the server's event loop
            self._condition = asyncio.Condition()
        return self._condition


class Faults:
    """The fault settings in force, with the random source and counters they need."""

    def __init__(self, settings: FaultSettings) -> None:
        self.gate = ConcurrencyGate(lambda: self.settings.max_concurrency)
        self.configure(settings)

    def configure(self, settings: FaultSettings) -> None:
        """Switch to `settings`: the random sequence, rate bucket and peak count restart."""
        self.settings = settings
        self.gate.peak = self.gate.in_flight
        self.rng = random.Random(settings.fault_seed)
        rate = settings.rate_limit
        self.bucket = TokenBucket(rate) if rate else None

    def answer_due(self) -> float:
        """When the answer to a request starting now may leave: `latency_ms` later, its
        processing included, as with a real API (whose latency includes its own work)."""
        return asyncio.get_running_loop().time() + self.settings.latency_ms / 1000

    @staticmethod
    async def wait_until(due: float) -> None:
        delay = due - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    def retry_after(self) -> int | None:
        """None when under the rate limit, else whole seconds for the Retry-After header."""
        if self.bucket is None:
            return None
        wait = self.bucket.take()
        return None if wait is None else max(1, math.ceil(wait))

    def hits(self, method: str) -> bool:
        """Whether `error_rate` / `drop_rate` apply to a request of `method` (`faults_on`)."""
        return self.settings.faults_on == "all" or method not in ("GET", "HEAD")

    def server_error(self, method: str = "POST") -> int | None:
        """The 5xx status to answer instead of applying the request, or None."""
        rate = self.settings.error_rate
        if rate > 0 and self.hits(method) and self.rng.random() < rate:
            return self.rng.choice(SERVER_ERRORS)
        return None

    def drop(self, method: str = "POST") -> bool:
        """True when this (already applied) request gets no response at all."""
        rate = self.settings.drop_rate
        return rate > 0 and self.hits(method) and self.rng.random() < rate
