"""The `/_sandbox/...` control endpoints: no token, loopback clients only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from etl.sandbox.responses import JSONAnswer, refusal
from etl.sandbox.runtime import Sandbox
from etl.sandbox.seed_orders import new_orders

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
Control = Callable[[Request, Sandbox], Awaitable[Response]]


def _loopback_only(handler: Control) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        host = request.client.host if request.client else ""
        if host not in LOOPBACK:
            return refusal(403, "X403", "control endpoints answer loopback clients only")
        return await handler(request, request.app.state.sandbox)

    return endpoint


async def _ledger(request: Request, sandbox: Sandbox) -> Response:
    return JSONAnswer(sandbox.state.ledger_entries())


async def _state(request: Request, sandbox: Sandbox) -> Response:
    return JSONAnswer(sandbox.state.snapshot())


async def _reset(request: Request, sandbox: Sandbox) -> Response:
    sandbox.reset()
    return JSONAnswer({"status": "reset", "faults": sandbox.faults.settings.as_dict()})


async def _get_faults(request: Request, sandbox: Sandbox) -> Response:
    gate = sandbox.faults.gate
    stats = {"in_flight": gate.in_flight, "peak_in_flight": gate.peak}
    return JSONAnswer({**sandbox.faults.settings.as_dict(), "stats": stats})


async def _auth(request: Request, sandbox: Sandbox) -> Response:
    return JSONAnswer(sandbox.tokens.stats())


async def _set_faults(request: Request, sandbox: Sandbox) -> Response:
    """Change fault settings (snake_case keys, as the flags); unknown keys are refused."""
    try:
        changes = orjson.loads(await request.body() or b"{}")
        if not isinstance(changes, dict):
            raise ValueError("the body must be a JSON object of fault settings")
        sandbox.faults.configure(sandbox.faults.settings.updated(changes))
    except (ValueError, orjson.JSONDecodeError) as exc:
        return refusal(400, "X400", str(exc))
    return JSONAnswer(sandbox.faults.settings.as_dict())


async def _add_orders(request: Request, sandbox: Sandbox) -> Response:
    """Add orders at run time: `{"orders": [...], "order_blocks": [...]}` as in a seed file."""
    try:
        extra = orjson.loads(await request.body() or b"{}")
        if not isinstance(extra, dict) or not set(extra) <= {"orders", "order_blocks"}:
            raise ValueError("the body must be a JSON object with 'orders' and/or 'order_blocks'")
        added = new_orders(sandbox.seed, sandbox.state, extra)
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        return refusal(400, "X400", f"cannot add the orders: {exc}")
    sandbox.state.add_orders(added)
    return JSONAnswer({"added": [o.order_id for o in added]})


ROUTES = [
    Route("/_sandbox/ledger", _loopback_only(_ledger), methods=["GET"]),
    Route("/_sandbox/state", _loopback_only(_state), methods=["GET"]),
    Route("/_sandbox/reset", _loopback_only(_reset), methods=["POST"]),
    Route("/_sandbox/faults", _loopback_only(_get_faults), methods=["GET"]),
    Route("/_sandbox/faults", _loopback_only(_set_faults), methods=["POST"]),
    Route("/_sandbox/orders", _loopback_only(_add_orders), methods=["POST"]),
    Route("/_sandbox/auth", _loopback_only(_auth), methods=["GET"]),
]
