"""The Konnect HTTP client: token, one request, its answer read by `etl.envelopes`.

`KonnectClient.send` makes exactly one attempt and turns every way it can end into either an
`Answer` (the parsed envelope) or an exception from `etl.errors` that says what to do next:

    timeout before sending, connection refused, 5xx   -> TransientError   (retry)
    sent, then no answer (dropped, read timeout)      -> OutcomeUnknown   (may be applied)
    429                                               -> RateLimited      (wait Retry-After)
    401 (after one token refresh, when possible)      -> CredentialsError (stop the run)
    any other 4xx                                     -> RequestRejected  (do not retry)

Secrets: the token travels only in the `x-access-token` header and the password only in the
token request's query string. httpx logs every request URL at INFO, so this module lowers the
`httpx` and `httpcore` loggers to WARNING and masks the password in any record they still emit.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import ssl
import time
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Any

import httpx
import orjson

import etl
from etl.clientsettings import ClientSettings
from etl.envelopes import Answer, parse_answer, read_json
from etl.errors import (
    AnswerTimedOut,
    CredentialsError,
    OutcomeUnknown,
    TransientError,
    Unreachable,
)
from etl.http11 import UnreadableAnswer
from etl.konnect import TOKEN_FIELDS, TOKEN_HEADER, TOKEN_PATH, Endpoint
from etl.netcause import connect_cause
from etl.retry import error_for_status, with_retries
from etl.transport import LeanTransport

log = logging.getLogger(__name__)
_JSON_BODY = {"content-type": "application/json"}
# A GET (an order listing page, a look-up) Konnect keeps answering 429 gives up after waiting
# this long in all: a pull holds its outbox's lock meanwhile (the next pull takes it up), and a
# look-up that fails leaves its file waiting for the next run - not hours of Retry-After
GET_WAIT_SECONDS = 600.0


class _MaskPassword(logging.Filter):
    """Replace the password in any httpx.URL a log record carries."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(a) for a in record.args)
        return True


def _masked(value: object) -> object:
    if isinstance(value, httpx.URL) and "password" in value.params:
        return value.copy_set_param("password", "***")
    return value


for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)
    logging.getLogger(_name).addFilter(_MaskPassword())


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Built once per process: loading the CA bundle costs a few hundred ms per client."""
    return httpx.create_ssl_context()


def _env_proxy(url: str) -> bool:
    """Whether the environment names a proxy for `url`, read as httpx reads it. NO_PROXY is
    left to httpx: a proxied scheme keeps httpx's transports even for exempt hosts."""
    proxies = urllib.request.getproxies()
    return bool(proxies.get(httpx.URL(url).scheme) or proxies.get("all"))


class KonnectClient:
    """Async Konnect client over one keep-alive `httpx.AsyncClient` (transport injectable)."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not settings.token and not settings.can_fetch_token:
            raise CredentialsError(
                "no Konnect credentials: set KONNECT_TOKEN, or KONNECT_USERNAME and "
                "KONNECT_PASSWORD"
            )
        self.settings = settings
        limit = max(settings.concurrency, 1) * 2
        # Loading the CA bundle takes ~30 ms: only for an https Konnect.
        tls = _tls_context() if settings.base_url.startswith("https:") else None
        # httpx 0.28 reads HTTP(S)_PROXY/ALL_PROXY only when no transport is given
        # (`allow_env_proxies = trust_env and transport is None`), and LeanTransport speaks
        # no proxy protocol: behind a proxy, httpx's own transports route through it.
        if transport is None and not _env_proxy(settings.base_url):
            transport = LeanTransport(ssl_context=tls, max_connections=limit)
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            timeout=settings.timeout,
            transport=transport,
            verify=tls or True,
            headers={"user-agent": f"konnect-etl/{etl.__version__}"},
            limits=httpx.Limits(max_connections=limit),
        )
        self._clock = clock
        self._token = settings.token
        self._token_fetched_at: float | None = None
        self._token_ttl = settings.token_ttl
        self._token_lock = asyncio.Lock()
        self._urls: dict[str, httpx.URL] = {}
        # requests Konnect answered other than with 5xx/429 (an answer, or a refusal): did
        # Konnect answer anything at all (etl.holdover)
        self.answered = 0
        self.answered_at = float("-inf")  # time.monotonic() of the last such answer

    async def __aenter__(self) -> KonnectClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, endpoint: Endpoint, body: bytes) -> Answer:
        """One attempt at one chunk: `body` is the pre-encoded JSON array of records."""
        response = await self._request(
            endpoint.method, endpoint.path, content=body, headers=_JSON_BODY
        )
        return parse_answer(endpoint, read_json(response.content, response.status_code))

    def _url(self, path: str) -> httpx.URL:
        """The absolute URL of `path`, parsed once: httpx would parse and merge it with the
        base URL again for each of thousands of requests."""
        if path not in self._urls:
            base = self._http.base_url  # always ends with "/", as httpx's own merge assumes
            raw_path = base.raw_path + httpx.URL(path).raw_path.lstrip(b"/")
            self._urls[path] = base.copy_with(raw_path=raw_path)
        return self._urls[path]

    async def get_json(self, path: str, params: dict[str, str], *, retry: bool = True) -> Any:
        """GET `path` and return the decoded JSON; timeouts, 5xx and 429 are retried here,
        since a GET is safe to repeat (`retry=False`: one try, for a look that may fail)."""

        async def once() -> Any:
            response = await self._request("GET", path, params=params)
            return read_json(response.content, response.status_code)

        if not retry:
            return await once()
        policy = replace(self.settings.retry_policy(), rate_limit_wait_max=GET_WAIT_SECONDS)
        return await with_retries(once, policy)

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        token = await self._current_token()
        response = await self._attempt(method, path, token, **kwargs)
        if response.status_code == 401 and self.settings.can_fetch_token:
            log.info("Konnect answered 401; fetching a new token once")
            token = await self._refresh_token(stale=token)
            response = await self._attempt(method, path, token, **kwargs)
        error = error_for_status(
            response.status_code, response.headers.get("retry-after"), response.content
        )
        if error is None or not isinstance(error, TransientError):
            self.answered += 1
            self.answered_at = time.monotonic()
        if error is not None:
            raise error
        return response

    async def _attempt(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        started = time.monotonic()
        headers = {TOKEN_HEADER: token, **kwargs.pop("headers", {})}
        try:
            response = await self._http.request(method, self._url(path), headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise _translate(exc, f"{method} {path}") from exc
        elapsed = (time.monotonic() - started) * 1000
        log.debug("%s %s -> %d in %.0f ms", method, path, response.status_code, elapsed)
        return response

    async def _current_token(self) -> str:
        async with self._token_lock:
            if self._token is None or self._token_expired():
                self._token = await self._fetch_token()
            return self._token

    def _token_expired(self) -> bool:
        fetched = self._token_fetched_at
        return fetched is not None and self._clock() - fetched >= self._token_ttl

    async def _refresh_token(self, stale: str) -> str:
        async with self._token_lock:
            if self._token is None or self._token == stale:  # not refreshed by another request
                self._token = await self._fetch_token()
            return self._token

    async def _fetch_token(self) -> str:
        params = {
            "username": self.settings.username or "",
            "password": self.settings.password or "",
        }
        try:
            response = await self._http.get(TOKEN_PATH, params=params)
        except httpx.TransportError as exc:
            # `from None`: the chained httpx error carries the URL, and the URL the password
            raise TransientError(
                f"could not reach Konnect's token endpoint {TOKEN_PATH}: {connect_cause(exc)}"
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(f"Konnect's token endpoint answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise CredentialsError(
                f"Konnect refused the username/password (HTTP {response.status_code}); "
                "check KONNECT_USERNAME and KONNECT_PASSWORD"
            )
        self._token_fetched_at = self._clock()
        token, lifetime = _token_from(response)
        # Used for the configured TTL, or 90% of the lifetime Konnect gives, if shorter: a
        # request never goes out with a token about to expire (a 401 costs a login anyway).
        self._token_ttl = min(self.settings.token_ttl, 0.9 * lifetime)
        log.info("fetched a new Konnect token")
        return token


def _token_from(response: httpx.Response) -> tuple[str, float]:
    """The token, and its `expires_in` seconds (infinity when not given or not a number)."""
    try:
        doc = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict):
        lifetime: Any = doc.get("expires_in")
        number = isinstance(lifetime, int | float) and not isinstance(lifetime, bool)
        seconds = float(lifetime) if number and lifetime > 0 else math.inf
        for name in TOKEN_FIELDS:
            if isinstance(doc.get(name), str) and doc[name]:
                return str(doc[name]), seconds
    raise CredentialsError(
        f"Konnect's token answer has none of the fields {', '.join(TOKEN_FIELDS)}"
    )


def _translate(exc: httpx.TransportError, what: str) -> TransientError:
    """A transport failure as our error: was the request possibly received, or surely not?
    (`etl.netcause` says why a connection could not be made.)"""
    if isinstance(exc, httpx.ReadTimeout):
        return AnswerTimedOut(f"{what}: no answer from Konnect within {_read_timeout(exc)}")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        if isinstance(exc, UnreadableAnswer):  # it answered, in a form we cannot read
            return OutcomeUnknown(f"{what}: Konnect's answer could not be read: {exc}")
        return OutcomeUnknown(f"{what}: Konnect closed the connection without answering")
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return Unreachable(f"{what}: could not reach Konnect: {connect_cause(exc)}")
    if isinstance(exc, httpx.TimeoutException):
        return TransientError(f"{what}: timed out before the request was sent")
    if isinstance(exc, httpx.WriteError):
        return TransientError(f"{what}: the connection broke before the whole request was sent")
    return TransientError(f"{what}: could not reach Konnect: {connect_cause(exc)}")


def _read_timeout(exc: httpx.ReadTimeout) -> str:
    """`timeout_seconds (30 s)`: the setting to raise when Konnect is always slower."""
    try:
        seconds = exc.request.extensions.get("timeout", {}).get("read")
    except RuntimeError:  # raised without its request
        seconds = None
    return f"timeout_seconds ({seconds:g} s)" if seconds else "timeout_seconds"
