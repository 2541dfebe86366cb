"""The emulator's tokens: the token endpoint, and which `x-access-token` values it accepts.

The start-up token (`SandboxSettings.token`) is accepted for as long as the emulator runs.
By default the token endpoint hands out that same token. With `token_ttl_seconds` set, each
login issues a fresh token instead that is refused (401) once it is that many seconds old, so
tests can make a token expire in the middle of a run.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from etl.konnect import TOKEN_HEADER
from etl.sandbox.responses import JSONAnswer, refusal
from etl.sandbox.settings import SandboxSettings

# what the token endpoint says about the start-up token, which in fact never expires
STARTUP_EXPIRES_IN = 3600


class Tokens:
    """The tokens issued so far and how many logins there were (`GET /_sandbox/auth`)."""

    def __init__(
        self, settings: SandboxSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self.logins = 0

    def issue(self) -> tuple[str, float]:
        """A token for a successful login, and its lifetime in seconds."""
        self.logins += 1
        ttl = self._settings.token_ttl_seconds
        if ttl is None:
            return self._settings.token, STARTUP_EXPIRES_IN
        now = self._clock()
        self._expiry = {t: end for t, end in self._expiry.items() if end > now}
        token = f"issued-{secrets.token_urlsafe(12)}"
        self._expiry[token] = now + ttl
        return token, ttl

    def refusal(self, sent: str) -> str | None:
        """Why `sent` is not accepted, or None when it is."""
        if hmac.compare_digest(sent.encode(), self._settings.token.encode()):
            return None
        expiry = self._expiry.get(sent)
        if expiry is None:
            return f"missing or wrong {TOKEN_HEADER} header"
        return "the access token has expired" if self._clock() >= expiry else None

    def stats(self) -> dict[str, float | int | None]:
        return {"logins": self.logins, "token_ttl_seconds": self._settings.token_ttl_seconds}


async def token_endpoint(request: Request) -> Response:
    """GET /aggregator/v1/token?username=&password= -> a token, or 401."""
    sandbox = request.app.state.sandbox
    settings: SandboxSettings = sandbox.settings
    user = request.query_params.get("username", "")
    password = request.query_params.get("password", "")
    ok = hmac.compare_digest(user.encode(), settings.username.encode())
    ok = hmac.compare_digest(password.encode(), settings.password.encode()) and ok
    if not ok:
        return refusal(401, "AUTH401", "wrong username or password")
    token, lifetime = sandbox.tokens.issue()
    return JSONAnswer({"access_token": token, "expires_in": lifetime, "status": "SUCCESS"})


def auth_refusal(request: Request, tokens: Tokens) -> Response | None:
    """401 for a data request without an accepted token, else None."""
    reason = tokens.refusal(request.headers.get(TOKEN_HEADER, ""))
    return None if reason is None else refusal(401, "AUTH401", reason)
