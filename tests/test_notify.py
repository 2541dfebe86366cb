"""Notifications against real servers on loopback: a webhook (HTTP) and an SMTP server."""

from __future__ import annotations

import email
import json
import socketserver
import threading
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl.cli import app

GOOD = "location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,25\n"
WITH_A_BAD_ROW = GOOD + "DEL-WH-01,TS-BLK-M,-3\n"


class Webhook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greet, accept everything, keep the messages."""

    def handle(self) -> None:
        self.wfile.write(b"220 localhost test SMTP\r\n")
        data: list[bytes] | None = None
        for line in iter(self.rfile.readline, b""):
            if data is not None:
                if line.rstrip(b"\r\n") == b".":
                    self.server.messages.append(email.message_from_bytes(b"".join(data)))  # type: ignore[attr-defined]
                    data = None
                    self.wfile.write(b"250 queued\r\n")
                else:
                    data.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb == b"DATA":
                data = []
                self.wfile.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 localhost\r\n")


def serving(server: socketserver.BaseServer) -> Iterator[Any]:
    """Serve on a background thread for the test's duration."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def webhook() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    server.received = []  # type: ignore[attr-defined]
    yield from serving(server)


@pytest.fixture
def smtp() -> Iterator[Any]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
    server.messages = []  # type: ignore[attr-defined]
    yield from serving(server)


def run_with(tmp_path: Path, sandbox: Any, config: str, text: str) -> int:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "konnect-etl.yaml").write_text(config)
    (inbox / "stock.csv").write_text(text)
    env = {"KONNECT_TOKEN": sandbox.token, "KONNECT_BASE_URL": sandbox.url}
    result = CliRunner().invoke(app, ["run", str(inbox), "--settle", "0"], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code


def config_for(webhook: Any, smtp: Any) -> str:
    return (
        f"notify_webhook: http://127.0.0.1:{webhook.server_address[1]}/hook\n"
        "notify_email: [ops@shop.example, it@shop.example]\n"
        f"smtp_host: 127.0.0.1\nsmtp_port: {smtp.server_address[1]}\n"
        "smtp_from: konnect-etl@shop.example\n"
    )


def test_a_file_with_rejected_rows_is_posted_and_mailed(
    tmp_path: Path, sandbox: Any, webhook: Any, smtp: Any
) -> None:
    assert run_with(tmp_path, sandbox, config_for(webhook, smtp), WITH_A_BAD_ROW) == 1
    [posted] = webhook.received
    assert posted["input"] == "stock.csv" and posted["rows"]["rejected"] == 1
    [mail] = smtp.messages
    assert isinstance(mail, Message)
    assert mail["Subject"] == "konnect-etl: stock.csv - partial"
    assert mail["To"] == "ops@shop.example,it@shop.example"
    text, attachment = [part for part in mail.walk() if not part.is_multipart()]
    assert "1 rejected by our checks" in text.get_payload(decode=True).decode()
    assert json.loads(attachment.get_payload(decode=True))["outcome"] == "partial"


def test_a_clean_file_sends_nothing(tmp_path: Path, sandbox: Any, webhook: Any, smtp: Any) -> None:
    assert run_with(tmp_path, sandbox, config_for(webhook, smtp), GOOD) == 0
    assert webhook.received == [] and smtp.messages == []


def test_an_unreachable_webhook_does_not_stop_the_run(tmp_path: Path, sandbox: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    port = server.server_address[1]
    server.server_close()  # nothing listens there any more
    config = f"notify_webhook: http://127.0.0.1:{port}/hook\n"
    assert run_with(tmp_path, sandbox, config, WITH_A_BAD_ROW) == 1
    assert (tmp_path / "inbox" / "done").is_dir()


class Refusing(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(501)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_failing_webhook_is_logged_without_its_url(tmp_path: Path, sandbox: Any) -> None:
    """A Slack or Teams webhook's path is its credential, and a URL may carry user:password:
    neither reaches the log (nor cron's mail of stderr)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    for _ in serving(server):
        port = server.server_address[1]
        hook = f"http://hookuser:HOOKPASS@127.0.0.1:{port}/services/T000/B000/SECRETHOOK"
        assert run_with(tmp_path, sandbox, f"notify_webhook: {hook}\n", WITH_A_BAD_ROW) == 1
    log = (tmp_path / "inbox" / ".konnect-etl" / "logs" / "konnect-etl.log").read_text()
    assert "could not send the webhook notification: it answered HTTP 501" in log
    assert "SECRETHOOK" not in log and "HOOKPASS" not in log
