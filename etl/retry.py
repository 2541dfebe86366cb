"""When to try a request to Konnect again, how long to wait first, and how many at once.

`error_for_status` is the one place an HTTP status becomes an error that says what to do next;
`decide` is the one place such an error becomes a next step: wait and retry, or give up.
`AdaptiveLimit` bounds the requests in flight and halves that bound when Konnect answers
429 (additive increase, multiplicative decrease), so a busy server sees fewer requests.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import TypeVar

import orjson

from etl.errors import (
    CredentialsError,
    EtlError,
    OutcomeUnknown,
    RateLimited,
    RequestRejected,
    TransientError,
    UploadError,
)

T = TypeVar("T")


def error_for_status(status: int, retry_after_header: str | None, body: bytes) -> EtlError | None:
    """The error for an HTTP answer (None for 2xx): what the caller should do next."""
    if 200 <= status < 300:
        return None
    if status == 401:
        return CredentialsError(
            "Konnect refused the access token (HTTP 401); check KONNECT_TOKEN, or set "
            "KONNECT_USERNAME and KONNECT_PASSWORD"
        )
    if status == 429:
        after = retry_after(retry_after_header)
        return RateLimited(f"Konnect asked us to slow down (HTTP 429, wait {after:g} s)", after)
    if status in (502, 504):
        # A gateway error: Konnect behind the gateway may have applied the request anyway.
        # Stock/price simply resend; order actions look the orders up before resending.
        return OutcomeUnknown(f"Konnect answered HTTP {status} {_phrase(status)}".strip())
    if status >= 500:
        return TransientError(f"Konnect answered HTTP {status} {_phrase(status)}".strip())
    code, message = _refusal(status, body)
    return RequestRejected(f"Konnect refused the request (HTTP {status}): {message}", status, code)


def retry_after(value: str | None, default: float = 1.0) -> float:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return default
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return default


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _refusal(status: int, body: bytes) -> tuple[str, str]:
    """(code, message) from a 4xx body `{"code", "message"}`, or the start of the raw text."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "", body[:200].decode(errors="replace") or _phrase(status)
    if isinstance(doc, dict):
        message = doc.get("message") or doc.get("error") or _phrase(status)
        return str(doc.get("code") or ""), str(message)
    return "", str(doc)[:200]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. `retries` bounds timeouts, connection errors and 5xx; 429s have their
    own, more generous bound because Konnect asked us to wait, not told us it failed."""

    retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    rate_limit_retries: int = 50
    retry_after_max: float = 300.0
    # the seconds one request may wait in all for 429s (GETs: a pull must not hold its
    # outbox's lock for hours, `etl.client.GET_WAIT_SECONDS`); uploads wait as long as asked
    rate_limit_wait_max: float = math.inf
    # False for order actions: a request that may have been applied is reconciled, not resent.
    resend_unknown: bool = True

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter: uniform in [0, base * 2**(failures - 1)]."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** max(failures - 1, 0))
        return rng.uniform(0.0, ceiling)


@dataclass
class Attempts:
    """What has happened to one request so far."""

    tries: int = 0
    transient: int = 0
    rate_limited: int = 0
    unknown: int = 0
    waited: float = 0.0  # seconds waited for 429s
    last: UploadError | None = None

    def record(self, error: UploadError) -> None:
        self.tries += 1
        self.last = error
        if isinstance(error, RateLimited):
            self.rate_limited += 1
        elif isinstance(error, TransientError):
            self.transient += 1
            self.unknown += isinstance(error, OutcomeUnknown)


def decide(
    error: UploadError, attempts: Attempts, policy: RetryPolicy, rng: random.Random
) -> float | None:
    """Record `error`; return the seconds to wait before the next try, or None to give up."""
    attempts.record(error)
    if isinstance(error, RateLimited):
        delay = min(max(error.retry_after, 0.0), policy.retry_after_max)
        too_long = attempts.waited + delay > policy.rate_limit_wait_max
        if attempts.rate_limited > policy.rate_limit_retries or too_long:
            return None
        attempts.waited += delay
        return delay
    if not isinstance(error, TransientError):
        return None  # RequestRejected: the same request will be refused again
    if isinstance(error, OutcomeUnknown) and not policy.resend_unknown:
        return None
    if attempts.transient > policy.retries:
        return None
    return policy.backoff(attempts.transient, rng)


async def with_retries(
    call: Callable[[], Awaitable[T]], policy: RetryPolicy, rng: random.Random | None = None
) -> T:
    """Await `call()` until it succeeds or `decide` gives up (then its last error is raised).

    Only for requests that are safe to repeat (GETs); uploads go through `etl.upload`.
    """
    attempts, rng = Attempts(), rng or random.Random()
    while True:
        try:
            return await call()
        except UploadError as error:
            delay = decide(error, attempts, policy, rng)
            if delay is None:
                raise
        await asyncio.sleep(delay)


class AdaptiveLimit:
    """A semaphore whose size shrinks on 429 and grows back after a run of successes.

    The size never exceeds `ceiling` nor drops below 1. After a 429 every new request also
    waits until the server's Retry-After has passed.
    """

    def __init__(self, ceiling: int, *, grow_after: int = 8) -> None:
        self.ceiling = max(ceiling, 1)
        self.limit = self.ceiling
        self.lowest = self.ceiling
        self.in_flight = 0
        self._grow_after = grow_after
        self._streak = 0
        self._pause_until = 0.0
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the `limit` places for the duration of a request."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
        try:
            await self._wait_pause()
            yield
        finally:
            async with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    async def _wait_pause(self) -> None:
        while (delay := self._pause_until - time.monotonic()) > 0:
            await asyncio.sleep(delay)

    def rate_limited(self, retry_after: float) -> None:
        """Konnect said 429: halve the limit and hold new requests for `retry_after` s."""
        self.limit = max(1, self.limit // 2)
        self.lowest = min(self.lowest, self.limit)
        self._streak = 0
        self._pause_until = max(self._pause_until, time.monotonic() + retry_after)

    async def succeeded(self) -> None:
        """One request answered: after `grow_after` in a row, allow one more in flight."""
        self._streak += 1
        if self._streak >= self._grow_after and self.limit < self.ceiling:
            self._streak = 0
            async with self._changed:
                self.limit += 1
                self._changed.notify_all()
