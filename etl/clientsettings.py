"""Where Konnect is and how to prove who we are (`ClientSettings`): base URL, token or
username/password, timeout, retries, concurrency. Built once from the config
(`etl.session`), frozen, and handed to whatever talks to Konnect; kept apart from
`etl.client` so that the modules that only carry it along do not import the HTTP stack.
The token and password stay out of its `repr()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.konnect import TOKEN_TTL_SECONDS
from etl.retry import RetryPolicy


@dataclass(frozen=True)
class ClientSettings:
    """Where Konnect is and how to prove who we are. Built once by the config module."""

    base_url: str
    token: str | None = None
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    retries: int = 5
    retry_failed_minutes: float = 30.0  # etl.holdover
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    concurrency: int = 4
    token_ttl: float = TOKEN_TTL_SECONDS
    # A company-level token: Konnect then needs a locationCode on order look-ups, and an
    # order is looked for at each of these locations in turn. Empty: a location-level token.
    lookup_locations: tuple[str, ...] = ()

    def __repr__(self) -> str:
        token = "<set>" if self.token else None
        password = "<set>" if self.password else None
        return (
            f"ClientSettings(base_url={self.base_url!r}, token={token}, "
            f"username={self.username!r}, password={password}, timeout={self.timeout}, "
            f"retries={self.retries}, concurrency={self.concurrency})"
        )

    @property
    def can_fetch_token(self) -> bool:
        return bool(self.username and self.password)

    def retry_policy(self, *, resend_unknown: bool = True) -> RetryPolicy:
        return RetryPolicy(
            retries=self.retries,
            backoff_base=self.backoff_base,
            backoff_max=self.backoff_max,
            resend_unknown=resend_unknown,
        )
