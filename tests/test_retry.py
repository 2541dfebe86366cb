"""The one place an HTTP status becomes 'what to do next'."""

from __future__ import annotations

import pytest

from etl.errors import CredentialsError, OutcomeUnknown, RateLimited, RequestRejected
from etl.retry import error_for_status


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_may_have_been_applied(status: int) -> None:
    # order actions must look the orders up before sending again, never resend blindly
    assert isinstance(error_for_status(status, None, b""), OutcomeUnknown)


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_but_not_in_doubt(status: int) -> None:
    error = error_for_status(status, None, b"")
    assert error is not None and not isinstance(error, OutcomeUnknown)


def test_other_statuses() -> None:
    assert error_for_status(200, None, b"") is None
    assert isinstance(error_for_status(401, None, b""), CredentialsError)
    limited = error_for_status(429, "3", b"")
    assert isinstance(limited, RateLimited) and limited.retry_after == 3
    refused = error_for_status(400, None, b'{"code": "X413", "message": "too many records"}')
    assert isinstance(refused, RequestRejected) and refused.code == "X413"
