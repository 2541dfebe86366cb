"""Secrets and output safety.

Every command runs (as a real child process) with a known token and password; then every log,
report, summary, journal and everything printed is searched for them. Also: YAML is loaded
safely, lookup files stay inside the mappings folder, and the emulator binds loopback and
answers its control endpoints to loopback clients only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from etl.config import Settings
from etl.config_file import read_config_file
from etl.errors import ConfigError, MappingError
from etl.mapping import load_mappings
from etl.sandbox import SandboxSettings, create_app, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "tok-3f9a1c7e5b2d48e6a0c4-SECRET"
PASSWORD = "pw-9e8d7c6b5a41-SECRET"
SECRETS = (TOKEN, PASSWORD)
# every command; `demo` runs the example inbox like the `run` below, with its own emulator
COMMANDS = ["run", "validate", "sandbox", "template", "mappings", "release", "demo", "version",
            "documents", "watch", "status", "orders", "orders pull"]  # fmt: skip


@pytest.fixture(scope="module")
def konnect() -> Iterator[Any]:
    """An emulator whose token and password are the secrets."""
    settings = SandboxSettings(port=0, token=TOKEN, username="shop", password=PASSWORD)
    with serve_in_thread(settings) as running:
        yield running


def etl(
    args: list[str], cwd: Path, url: str, login: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONNECT_")}
    env |= {"KONNECT_BASE_URL": url, "KONNECT_PASSWORD": PASSWORD, "KONNECT_USERNAME": "shop"}
    if not login:
        env["KONNECT_TOKEN"] = TOKEN
    return subprocess.run(
        [sys.executable, "-m", "etl", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=timeout, check=False,
    )  # fmt: skip


def assert_no_secret(text: str | bytes, where: str) -> None:
    data = text.encode() if isinstance(text, str) else text
    for secret in SECRETS:
        assert secret.encode() not in data, f"a secret leaked into {where}"


def watch_briefly(inbox: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KONNECT_BASE_URL": url, "KONNECT_TOKEN": TOKEN}
    args = [sys.executable, "-m", "etl", "watch", str(inbox), "--poll", "0.5", "--settle", "0",
            "-v", "-v"]  # fmt: skip
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(inbox.glob("done/*/*.summary.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def in_process(args: list[str]) -> subprocess.CompletedProcess[str]:
    """The quick commands, through the CLI in this process (output captured)."""
    from typer.testing import CliRunner

    from etl.cli import app

    env = {"KONNECT_TOKEN": TOKEN, "KONNECT_PASSWORD": PASSWORD, "KONNECT_USERNAME": "shop"}
    result = CliRunner().invoke(app, args, env=env)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.output, "")


def scenario(tmp_path: Path) -> dict[str, Path]:
    """Folders for the commands, prepared before any command runs (runs move files)."""
    example = sorted(p for p in (ROOT / "inbox_example").iterdir() if p.is_file())
    folders = {name: tmp_path / name for name in ("inbox", "down", "login", "watched", "check")}
    shutil.copytree(ROOT / "inbox_example", folders["inbox"])
    for name in ("down", "login", "watched", "check"):
        folders[name].mkdir()
        shutil.copy(example[0], folders[name] / example[0].name)
    (folders["down"] / "konnect-etl.yaml").write_text("retries: 1\ntimeout_seconds: 2\n")
    (tmp_path / "orders.csv").write_text("orderId\n99999999999999999999\n")
    return folders


def test_no_command_leaks_the_token_or_password(tmp_path: Path, konnect: Any) -> None:
    folders = scenario(tmp_path)
    url, closed = konnect.url, "http://127.0.0.1:9"  # nothing listens on the discard port
    checked = next(folders["check"].iterdir())
    runs = [
        etl(["run", str(folders["inbox"]), "--settle", "0", "-v", "-v"], tmp_path, url),
        etl(["run", str(folders["down"]), "--settle", "0", "--json-logs", "-v", "-v"],
            tmp_path, closed),
        etl(["run", str(folders["login"]), "--settle", "0", "-v", "-v"], tmp_path, url,
            login=True),
        etl(["documents", str(tmp_path / "orders.csv"), "-v"], tmp_path, url),
        etl(["orders", "pull", "--status", "CREATED", "--out", str(tmp_path / "out"), "-v"],
            tmp_path, url, login=True),
        watch_briefly(folders["watched"], url),
        in_process(["validate", str(checked), "-v", "-v"]),
        in_process(["mappings", "--explain", str(checked)]),
        in_process(["status", str(folders["inbox"])]),
        in_process(["template", "stock", "--out", str(tmp_path / "template.xlsx")]),
        in_process(["version"]),
    ]  # fmt: skip
    assert list(folders["watched"].glob("done/*/*.summary.json")), runs[-6].stderr[-2000:]
    for result in runs:
        assert "Traceback" not in result.stderr, (result.args, result.stderr[-2000:])
        assert_no_secret(result.stdout + result.stderr, f"the output of {result.args}")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()]
    for name in ("konnect-etl.log", "journal.sqlite3", "stock.summary.json", "stock.result.csv"):
        assert name in {p.name for p in written}
    for path in written:
        assert_no_secret(path.read_bytes(), str(path.relative_to(tmp_path)))


@pytest.mark.parametrize("command", COMMANDS)
def test_help_never_shows_the_secrets(command: str) -> None:
    from typer.testing import CliRunner

    from etl.cli import app

    env = {"KONNECT_TOKEN": TOKEN, "KONNECT_PASSWORD": PASSWORD}
    result = CliRunner().invoke(app, [*command.split(), "--help"], env=env)
    assert result.exit_code == 0 and "Usage" in result.output
    assert_no_secret(result.output, f"{command} --help")


def test_settings_and_errors_never_show_the_secrets() -> None:
    settings = Settings(base_url="https://x", token=TOKEN, username="u", password=PASSWORD)
    assert_no_secret(repr(settings) + str(settings), "Settings")
    from etl.session import client_settings

    assert_no_secret(repr(client_settings(settings)), "ClientSettings")


def test_yaml_never_builds_python_objects(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    attack = f'!!python/object/apply:os.system ["touch {marker}"]\n'
    (tmp_path / "konnect-etl.yaml").write_text(f"base_url: {attack}")
    with pytest.raises(ConfigError):
        read_config_file(tmp_path / "konnect-etl.yaml")
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "evil.yaml").write_text(f"feed: stock\nfields:\n  sku: {attack}")
    with pytest.raises(MappingError):
        load_mappings(mappings)
    assert not marker.exists()


@pytest.mark.parametrize("escape", ["../outside.csv", "/etc/passwd", "link.csv"])
def test_lookup_files_stay_inside_the_mappings_folder(tmp_path: Path, escape: str) -> None:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (tmp_path / "outside.csv").write_text("a,b\nx,y\n")
    (mappings / "link.csv").symlink_to(tmp_path / "outside.csv")
    (mappings / "stock.yaml").write_text(
        "feed: stock\nfields:\n"
        f"  location_id: {{column: Store, transforms: [{{lookup: '{escape}', from: a, to: b}}]}}\n"
        "  sku: {column: sku}\n  quantity: {column: qty}\n"
    )
    with pytest.raises(MappingError, match="outside the mappings folder"):
        load_mappings(mappings)


def test_the_emulator_binds_loopback_by_default() -> None:
    assert SandboxSettings().host == "127.0.0.1"
    with serve_in_thread(SandboxSettings(port=0)) as running:
        assert running.url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("client", "status"), [("203.0.113.7", 403), ("10.0.0.2", 403), ("127.0.0.1", 200)]
)
def test_control_endpoints_refuse_clients_that_are_not_loopback(client: str, status: int) -> None:
    import asyncio

    async def ask() -> list[int]:
        transport = httpx.ASGITransport(create_app(SandboxSettings()), client=(client, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://konnect") as http:
            answers = [await http.get("/_sandbox/ledger"), await http.get("/_sandbox/state")]
            answers += [await http.post("/_sandbox/reset")]
            answers += [await http.post("/_sandbox/faults", json={})]
            return [answer.status_code for answer in answers]

    assert asyncio.run(ask()) == [status] * 4


def test_a_password_written_into_base_url_is_not_logged(tmp_path: Path) -> None:
    """`http://gw:PASS@host` (a gateway's basic auth in the URL): Konnect unreachable, every
    "could not reach" line names the URL; the password in it is masked."""
    (tmp_path / "stock.csv").write_text("location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,5\n")
    url = "http://gw:URLPASS99-SECRET@127.0.0.1:9"  # the discard port: nothing listens
    done = etl(["run", str(tmp_path), "--settle", "0", "-v"], tmp_path, url)
    assert done.returncode == 2, done.stdout + done.stderr
    log = (tmp_path / ".konnect-etl" / "logs" / "konnect-etl.log").read_text()
    assert "127.0.0.1:9" in log + done.stderr  # the URL is named, ...
    for where, text in (("log", log), ("stderr", done.stderr), ("stdout", done.stdout)):
        assert "URLPASS99" not in text, where  # ... not its password
