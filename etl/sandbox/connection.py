"""Closing a connection without any HTTP response (the `drop_rate` fault).

An ASGI app cannot do this on its own: when it returns without responding, uvicorn answers
500. So the server runs a small subclass of uvicorn's httptools protocol (its C parser costs far
less CPU per request than the pure-Python h11 one) that puts the connection's transport into
the ASGI scope, and `DropConnection` aborts that transport.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError as exc:  # httptools is a dependency of the project; say so plainly
    raise ImportError("the Konnect sandbox needs httptools: pip install httptools") from exc

TRANSPORT_KEY = "konnect_sandbox.transport"


class TransportExposingProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; `scope[TRANSPORT_KEY]` is the connection's transport."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self.app = _with_transport(self.app, transport)


def _with_transport(app: ASGIApp, transport: asyncio.BaseTransport) -> Any:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        scope[TRANSPORT_KEY] = transport
        await app(scope, receive, send)

    return wrapped


class DropConnection(Response):
    """Abort the TCP connection: the client sees a connection error, never a status code."""

    def __init__(self) -> None:
        super().__init__(status_code=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = scope.get(TRANSPORT_KEY)
        if not isinstance(transport, asyncio.Transport):
            raise RuntimeError("drop_rate needs the sandbox's own server (serve_in_thread)")
        transport.abort()
        # Return only once uvicorn has seen the disconnect, or it would try to answer 500.
        while (await receive())["type"] != "http.disconnect":
            pass
