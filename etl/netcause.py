"""Why a connection to Konnect failed, in the user's terms: `could not reach Konnect
(ConnectError)` said the same for a refused certificate, a misspelt host name and a server
that is down, even with -v.

Only the host and port are named, never the URL: a `base_url` may carry `user:password@`,
and the token request's query string the password.
"""

from __future__ import annotations

import re
import socket
import ssl

import httpx

from etl.transport import DEFAULT_PORTS

# socket.gaierror's text where the cause is not chained (httpx's own transports, behind a proxy)
_DNS_WORDS = ("name or service not known", "name resolution", "getaddrinfo failed",
              "nodename nor servname", "no address associated")  # fmt: skip
_REFUSED_WORDS = ("refused", "connect call failed", "errno 111")  # Windows: "...refused the..."


def host_port(exc: httpx.TransportError) -> tuple[str, int]:
    """The host and port the failed request went to ("?" when httpx did not say)."""
    try:
        url = exc.request.url
    except RuntimeError:  # an exception raised without its request
        return "?", 0
    return url.host, url.port or DEFAULT_PORTS.get(url.scheme, 0)


def connect_cause(exc: httpx.TransportError) -> str:
    """`could not reach Konnect: ...` - which of TLS, DNS, a refusal or a timeout it was."""
    host, port = host_port(exc)
    said = _detail(exc)
    lowered = said.lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return f"{host}:{port} did not take the connection within the timeout"
    if isinstance(exc.__cause__, ssl.SSLError) or "certificate" in lowered or "[ssl" in lowered:
        return _tls(said, host, port)
    if isinstance(exc.__cause__, socket.gaierror) or any(w in lowered for w in _DNS_WORDS):
        return f"the name {host} could not be found (DNS): check the host name in base_url"
    refused = isinstance(exc.__cause__, ConnectionRefusedError)
    if refused or any(w in lowered for w in _REFUSED_WORDS):
        return f"nothing answers at {host}:{port} (connection refused)"
    return f"{host}:{port}: {said}" if said else f"{host}:{port} ({type(exc).__name__})"


def _tls(said: str, host: str, port: int) -> str:
    """`certificate verify failed: self-signed certificate` -> the reason after the colon."""
    reason = said.split("certificate verify failed:", 1)[-1] if "verify failed" in said else said
    reason = re.sub(r"\s*\(_ssl\.c:\d+\)", "", reason).strip()
    if "certificate" in said.lower():
        return f"Konnect's TLS certificate at {host}:{port} was not accepted ({reason})"
    return f"the TLS handshake with {host}:{port} failed ({reason}): is it an https server?"


def _detail(exc: httpx.TransportError) -> str:
    """The exception's text, with any user:password of the request's URL taken out."""
    said = str(exc)
    try:
        url = exc.request.url
    except RuntimeError:
        return said
    userinfo = url.userinfo.decode(errors="replace")
    for secret in (url.password, userinfo, url.params.get("password")):  # the token request's
        if secret:
            said = said.replace(secret, "***")
    return said
