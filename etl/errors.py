"""The exception tree, grouped by what the caller does next.

    EtlError                      root: every error the tool raises on purpose
    ├── ConfigError               cannot run at all (bad option, config, mapping) -> exit 2
    │   ├── MappingError          a mapping YAML is invalid: names file, line and key
    │   └── CredentialsError      no/invalid token: stop the run, leave files untouched
    ├── InputError                this file as a whole cannot be used -> failed/ with a report
    ├── KonnectDown               Konnect unreachable through every retry: the run stops
    │   │                         (exit 2), the file waits in processing/ for the next one
    │   └── PartlyTaken           Konnect answered part of a file only: the same, for a
    │                             while (etl.holdover)
    ├── PullBusy                  another pull into the outbox kept running: this one writes
    │                             nothing (exit 1); the next pull catches up
    └── UploadError               a request did not succeed
        ├── TransientError        timeout, connection error, 500/503: retry with backoff
        │   ├── Unreachable       no connection at all: nothing was sent
        │   ├── RateLimited       429: wait Retry-After, lower concurrency, retry
        │   └── OutcomeUnknown    may have been applied (no answer, 502/504): stock/price
        │                         resend; order actions look the orders up first
        └── RequestRejected       other 4xx: do not retry; the chunk's rows fail

Row-level problems are never exceptions: they are `etl.model.Problem` records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class EtlError(Exception):
    """Root of every error the tool raises on purpose."""


class ConfigError(EtlError):
    """The tool cannot run: usage, configuration, mappings. Exit code 2."""

    key: str | None = None  # the setting (or mapping key) at fault, where one is


class MappingError(ConfigError):
    """A mapping file is invalid. The message names the file, line and key."""

    def __init__(self, file: str, line: int | None, key: str, problem: str) -> None:
        self.file, self.line, self.key, self.problem = file, line, key, problem
        where = f"{file}, line {line}" if line else file
        super().__init__(f"{where}, key '{key}': {problem}" if key else f"{where}: {problem}")


class CredentialsError(ConfigError):
    """No usable token. The run stops; files stay in the inbox for the next run."""


class InputError(EtlError):
    """The file as a whole cannot be used (unreadable, no mapping, empty...)."""

    def __init__(self, message: str, code: str = "input") -> None:
        self.code = code
        super().__init__(message)


class UploadError(EtlError):
    """A request to Konnect did not succeed."""


class TransientError(UploadError):
    """Timeout, connection error or 5xx: safe to retry with backoff."""


class Unreachable(TransientError):
    """No connection to Konnect could be made: nothing of the request was sent."""


class KonnectDown(EtlError):
    """Konnect stayed unreachable through every retry: the run stops, the file waits for the
    next one (like refused credentials), instead of its rows being marked failed.
    `answered`: Konnect answered something of the file in this run before it went away."""

    def __init__(self, message: str, answered: bool = False, slow: bool = False) -> None:
        super().__init__(message)
        self.answered = answered
        self.slow = slow  # it took requests, but never answered within `timeout_seconds`


class PartlyTaken(KonnectDown):
    """Konnect answered some requests of a file but not others (or its orders in doubt could
    not be looked up): the file waits for the next runs, for `retry_failed_minutes`.
    `results`: the chunks' results so far (`etl.chunkresult.ChunkResult`)."""

    def __init__(self, message: str, results: Sequence[Any] = (), answered: bool = True) -> None:
        super().__init__(message, answered)
        self.results = list(results)


class WaitsBehind(EtlError):
    """An order file that stopped part-way waits in processing/ to be continued first: one
    claimed meanwhile by another process is not sent before it (the run stops, as it does
    within one process)."""


class PullBusy(EtlError):
    """Another pull into the same outbox held the lock all the while we waited: this one
    writes nothing (the next pull catches up: automatic windows cover the look-back)."""


class RateLimited(TransientError):
    """HTTP 429: wait `retry_after` seconds, lower concurrency, retry."""

    def __init__(self, message: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class OutcomeUnknown(TransientError):
    """The request was sent but no answer came back: it may have been applied."""


class AnswerTimedOut(OutcomeUnknown):
    """No answer within `timeout_seconds`: a Konnect always that slow needs a longer one."""


class RequestRejected(UploadError):
    """A 4xx other than 401/429: retrying will not help; the chunk's rows fail."""

    def __init__(self, message: str, status: int, code: str = "") -> None:
        self.status, self.code = status, code
        super().__init__(message)
