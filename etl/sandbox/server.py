"""Running the emulator: in a background thread (tests, `--sandbox`) or in the foreground."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import uvicorn

from etl.konnect import TOKEN_HEADER
from etl.sandbox.app import create_app
from etl.sandbox.connection import TransportExposingProtocol
from etl.sandbox.settings import SandboxSettings

START_TIMEOUT = 10.0


class RunningSandbox:
    """A started emulator; talks to its control endpoints over HTTP like any client would."""

    def __init__(self, url: str, settings: SandboxSettings) -> None:
        self.url = url
        self.token = settings.token
        self.settings = settings
        # One client for the handle's lifetime: building an httpx client costs ~0.1 s. An
        # idle connection is kept 1 s, well inside uvicorn's 5 s keep-alive: reused at the
        # moment the server closed it, a control call failed with "connection reset" (a
        # test's `reset()` after a 5 s wait, in CI).
        limits = httpx.Limits(keepalive_expiry=1.0)
        self._client = httpx.Client(base_url=url, trust_env=False, timeout=10, limits=limits)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._client.request(method, path, json=body)
        response.raise_for_status()
        return orjson.loads(response.content)

    def close(self) -> None:
        self._client.close()

    def ledger(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/_sandbox/ledger")
        return result

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/_sandbox/state")
        return result

    def reset(self) -> None:
        """Back to the seed and to the start-up fault settings."""
        self._call("POST", "/_sandbox/reset")

    def faults(self, **settings: Any) -> None:
        """Change fault settings at run time: latency_ms=..., error_rate=..., catalogue=..."""
        self._call("POST", "/_sandbox/faults", settings)

    def logins(self) -> int:
        """Successful logins at the token endpoint since the start or the last reset."""
        result: int = self._call("GET", "/_sandbox/auth")["logins"]
        return result

    def add_orders(self, **spec: Any) -> list[str]:
        """POST /_sandbox/orders: orders=[...] and/or order_blocks=[...] as in a seed file."""
        result: dict[str, list[str]] = self._call("POST", "/_sandbox/orders", spec)
        return result["added"]


def _config(settings: SandboxSettings) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        http=TransportExposingProtocol,
        lifespan="off",
        log_level="warning",
        access_log=False,
    )


@contextmanager
def serve_in_thread(settings: SandboxSettings) -> Iterator[RunningSandbox]:
    """Serve on a background thread until the block ends; port 0 picks a free port."""
    server = uvicorn.Server(_config(settings))
    thread = threading.Thread(target=server.run, name="konnect-sandbox", daemon=True)
    thread.start()
    try:
        port = _wait_started(server, thread)
        actual = dataclasses.replace(settings, port=port)
        running = RunningSandbox(f"http://{_url_host(settings.host)}:{port}", actual)
        try:
            yield running
        finally:
            running.close()
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT)


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> int:
    """The bound port, once the server accepts connections."""
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the Konnect sandbox did not start (is the port in use?)")
        time.sleep(0.01)
    port: int = server.servers[0].sockets[0].getsockname()[1]
    return port


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket. Created with proto=IPPROTO_TCP so asyncio sets TCP_NODELAY on the
    accepted connections (with proto 0 it does not, and every answer waits ~40 ms for Nagle)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def serve_forever(settings: SandboxSettings) -> None:
    """`konnect-etl sandbox`: print where to connect, then serve until Ctrl+C.

    The socket is bound first so that `--port 0` can print the port it got; OSError when the
    address is in use.
    """
    sock = _listening_socket(settings.host, settings.port)
    url = f"http://{_url_host(settings.host)}:{sock.getsockname()[1]}"
    print(f"Konnect sandbox on {url}  (catalogue: {settings.catalogue})")
    print(f"  token: {settings.token}   (send it in the {TOKEN_HEADER} header)")
    print(f"  control: {url}/_sandbox/ledger | state | reset | faults   (Ctrl+C stops)")
    uvicorn.Server(_config(settings)).run(sockets=[sock])
