"""The ASGI app: Konnect's endpoints behind auth and the fault pipeline, plus control routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from etl.konnect import ENDPOINTS, ORDERS_PATH, TOKEN_PATH, Endpoint
from etl.sandbox import control, documents, ims, order_query, orders
from etl.sandbox.auth import auth_refusal, token_endpoint
from etl.sandbox.connection import DropConnection
from etl.sandbox.records import Action, BadRequest, envelope, read_records, run_records
from etl.sandbox.responses import JSONAnswer, refusal
from etl.sandbox.runtime import Sandbox
from etl.sandbox.settings import SandboxSettings

Handler = Callable[[Request, Sandbox], Awaitable[Response]]

ACTIONS: dict[str, Action] = {
    "inventory": ims.apply_inventory,
    "price": ims.apply_price,
    **{name: orders.action(name) for name in orders.ACTION_NAMES},
}


def create_app(settings: SandboxSettings) -> Starlette:
    """The emulator as an ASGI app; `app.state.sandbox` holds its state."""
    routes = [Route(TOKEN_PATH, token_endpoint, methods=["GET"])]
    routes += [_record_route(ENDPOINTS[name], action) for name, action in ACTIONS.items()]
    routes += [_record_route(ENDPOINTS[n], a, b) for n, (a, b) in documents.ROUTES.items()]
    routes.append(Route(ORDERS_PATH, _guarded(order_query.list_orders), methods=["GET"]))
    routes += control.ROUTES
    app = Starlette(routes=routes)
    app.state.sandbox = Sandbox(settings)
    return app


def _record_route(endpoint: Endpoint, action: Action, answer: Any = None) -> Route:
    """A route whose body is a JSON array of records, answered by an envelope by default."""

    async def handle(request: Request, sandbox: Sandbox) -> Response:
        try:
            batch = await read_records(request, endpoint)
        except BadRequest as bad:
            return refusal(400, bad.code, bad.message)
        errors, results = run_records(sandbox, endpoint, batch, action)
        if answer is not None:
            response: Response = answer(endpoint, batch.records, errors, results)
            return response
        return JSONAnswer(envelope(endpoint, len(batch.records), errors))

    return Route(endpoint.path, _guarded(handle), methods=[endpoint.method])


def _guarded(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Concurrency cap, auth, rate limit, injected 5xx, the handler, latency, then drop."""

    async def endpoint(request: Request) -> Response:
        sandbox: Sandbox = request.app.state.sandbox
        faults = sandbox.faults
        async with faults.gate.slot():  # the request holds its place until it is answered
            due = faults.answer_due()
            response = _refusal(request, sandbox)
            if response is None:
                response = await handler(request, sandbox)
                if faults.drop(request.method):
                    response = DropConnection()
            await faults.wait_until(due)
            return response

    return endpoint


def _refusal(request: Request, sandbox: Sandbox) -> Response | None:
    """The answer to a request refused as a whole by auth or an injected fault, or None."""
    faults = sandbox.faults
    if (denied := auth_refusal(request, sandbox.tokens)) is not None:
        return denied
    if (wait := faults.retry_after()) is not None:
        return refusal(429, "X429", "too many requests", **{"Retry-After": str(wait)})
    if (status := faults.server_error(request.method)) is not None:
        return refusal(status, f"X{status}", "injected server error: nothing applied")
    return None
