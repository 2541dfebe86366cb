"""Why Konnect could not be reached, said in the user's terms, against real servers on
loopback: a refused certificate, a name DNS does not know and a port nothing listens on all
read `could not reach Konnect (ConnectError)` before, even with -v. The URL's password is
never part of it."""

from __future__ import annotations

import asyncio
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.client import KonnectClient
from etl.clientsettings import ClientSettings
from etl.errors import OutcomeUnknown, TransientError, Unreachable
from etl.konnect import ENDPOINTS
from etl.transport import LeanTransport

BODY = b'[{"location_id": "DEL-WH-01", "sku": "TS-BLK-M", "quantity": 5}]'


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def failure(settings: ClientSettings, context: ssl.SSLContext | None = None) -> TransientError:
    """What one upload to `settings.base_url` raises."""

    async def main() -> TransientError:
        transport = LeanTransport(ssl_context=context) if context else None
        async with KonnectClient(settings, transport=transport) as client:
            with pytest.raises(TransientError) as caught:
                await client.send(ENDPOINTS["inventory"], BODY)
        return caught.value

    return asyncio.run(main())


def free_port() -> int:
    with socket.socket() as placeholder:  # bound, then closed: nothing listens on it
        placeholder.bind(("127.0.0.1", 0))
        return int(placeholder.getsockname()[1])


def test_a_port_nothing_listens_on_is_named_without_the_urls_password() -> None:
    port = free_port()
    url = f"http://gw:URLPASS99@127.0.0.1:{port}"
    error = failure(ClientSettings(url, token="t", retries=0))
    assert isinstance(error, Unreachable)
    said = str(error)
    assert (
        f"could not reach Konnect: nothing answers at 127.0.0.1:{port} (connection refused)" in said
    )
    assert "URLPASS99" not in said and "gw:" not in said


def test_a_host_name_dns_does_not_know_is_named() -> None:
    error = failure(ClientSettings("https://konnect.invalid", token="t", retries=0))
    assert isinstance(error, Unreachable)
    assert "the name konnect.invalid could not be found (DNS)" in str(error), str(error)


def test_the_token_endpoint_unreachable_says_why_and_never_the_password() -> None:
    port = free_port()
    settings = ClientSettings(
        f"http://127.0.0.1:{port}", username="u", password="PW-SECRET-42", retries=0
    )
    said = str(failure(settings))
    assert f"token endpoint /aggregator/v1/token: nothing answers at 127.0.0.1:{port}" in said
    assert "PW-SECRET-42" not in said


def tls_failure(cert_for: str, trusted: bool) -> str:
    """The message of an upload to a TLS server on loopback whose certificate is for
    `cert_for`, from a client that trusts its authority or not."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(cert_for).configure_cert(server_side)
    client_side = ssl.create_default_context()
    if trusted:
        ca.configure_trust(client_side)

    async def main() -> str:
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # until the client gives up on the handshake
            writer.close()

        listener = await asyncio.start_server(hold, "127.0.0.1", 0, ssl=server_side)
        port = listener.sockets[0].getsockname()[1]
        settings = ClientSettings(f"https://127.0.0.1:{port}", token="t", retries=0)
        async with listener:
            error = await asyncio.to_thread(failure, settings, client_side)
        assert isinstance(error, Unreachable)
        return str(error).replace(f":{port}", ":PORT")

    return asyncio.run(main())


def test_a_certificate_from_an_unknown_authority_is_named_as_not_accepted() -> None:
    said = tls_failure("127.0.0.1", trusted=False)
    assert (
        "could not reach Konnect: Konnect's TLS certificate at 127.0.0.1:PORT was not accepted"
        " (unable to get local issuer certificate)" in said
    ), said


def test_a_certificate_for_another_host_is_named_as_not_accepted() -> None:
    said = tls_failure("konnect.example", trusted=True)
    assert "TLS certificate at 127.0.0.1:PORT was not accepted (IP address mismatch" in said
    assert "_ssl.c" not in said


class _Silent(socketserver.BaseRequestHandler):
    """Reads the request, never answers: a Konnect slower than any timeout."""

    def handle(self) -> None:
        self.request.recv(65536)
        self.server.stopping.wait(10)  # type: ignore[attr-defined]


@pytest.fixture
def silent_konnect() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Silent)
    server.daemon_threads = True
    server.stopping = threading.Event()  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.stopping.set()  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def test_no_answer_within_the_timeout_names_timeout_seconds(silent_konnect: str) -> None:
    error = failure(ClientSettings(silent_konnect, token="t", retries=0, timeout=0.2))
    assert isinstance(error, OutcomeUnknown)
    assert "no answer from Konnect within timeout_seconds (0.2 s)" in str(error), str(error)


def test_a_konnect_always_slower_than_the_timeout_says_to_raise_it(
    tmp_path: Path, silent_konnect: str
) -> None:
    """The file waits in processing/ for good while Konnect answers slower than
    timeout_seconds: the run's last line says so, not only "check the network"."""
    (tmp_path / "konnect-etl.yaml").write_text("timeout_seconds: 0.2\nretries: 0\n")
    (tmp_path / "stock.csv").write_text("location_id,sku,quantity\nDEL-WH-01,TS-BLK-M,5\n")
    env = {"KONNECT_TOKEN": "t", "KONNECT_BASE_URL": silent_konnect}
    down = CliRunner().invoke(app, ["run", str(tmp_path), "--settle", "0"], env=env)
    assert down.exit_code == 2, down.output
    said = " ".join(down.output.split())
    assert "waits in processing/" in said and "timeout_seconds (0.2 s)" in said, said
    assert "if Konnect is just slow, raise timeout_seconds in konnect-etl.yaml" in said, said
