"""Assembling a run from settings: mappings, connection (real, sandbox or none), journal."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from etl.clientsettings import ClientSettings
from etl.config import SANDBOX_STATE, STATE_DIR, Settings, builtin_mappings_dir
from etl.errors import ConfigError, CredentialsError
from etl.mapping import Mapping, load_mappings

log = logging.getLogger(__name__)

INBOX_CONFIG = "INBOX/konnect-etl.yaml"


def no_credentials(config_file: str = INBOX_CONFIG, dry_run: bool = True) -> str:
    """What to set, and where (`config_file`); --dry-run only for commands that have it."""
    return (
        "No Konnect connection is configured. Set KONNECT_BASE_URL (a URL or fyndkonnect-uat, "
        "ginesys-uat, unicommerce-uat) and KONNECT_TOKEN - or KONNECT_USERNAME and "
        f"KONNECT_PASSWORD - in the environment or in {config_file}. "
        "To try the tool without Konnect, add --sandbox"
        + ("; to check files only, add --dry-run." if dry_run else ".")
    )


def _missing(url: str | None, token: str | None, settings: Settings) -> str:
    """What exactly is missing, when something is half set (never the values themselves)."""
    if settings.username and not settings.password:
        return "A username is set but no password (KONNECT_PASSWORD / password:). "
    if settings.password and not settings.username:
        return "A password is set but no username (KONNECT_USERNAME / username:). "
    if (token or settings.username) and not url:
        return "Credentials are set but no Konnect address (KONNECT_BASE_URL / base_url:). "
    return ""


def all_mappings(settings: Settings) -> list[Mapping]:
    """The built-in mappings plus the configured folder's; a configured one wins on a name."""
    builtin = builtin_mappings_dir()
    found = {m.name: m for m in load_mappings(builtin)}
    custom = settings.mappings_dir
    if custom is not None:
        if not custom.is_dir():
            raise ConfigError(f"mappings folder {custom} does not exist")
        if custom.resolve() != builtin.resolve():
            own = load_mappings(custom)
            if not own:
                log.warning("mappings folder %s has no mapping (.yaml) files", custom)
            found.update({m.name: m for m in own})
    return list(found.values())


def client_settings(
    settings: Settings,
    base_url: str | None = None,
    token: str | None = None,
    missing: str = no_credentials(),
) -> ClientSettings:
    """Connection settings for the client; CredentialsError naming what to set.

    A token and a username/password may both be set: the client starts with the token and
    logs in once when Konnect answers 401 (SPEC §6), so an expired token does not stop a run.
    """
    url = base_url or settings.resolved_base_url()
    token = token or settings.token
    has_login = bool(settings.username and settings.password)
    if not url or not (token or has_login):
        raise CredentialsError(_missing(url, token, settings) + missing)
    return ClientSettings(
        base_url=url,
        token=token,
        username=settings.username if has_login else None,
        password=settings.password if has_login else None,
        timeout=settings.timeout_seconds,
        retries=settings.retries,
        retry_failed_minutes=settings.retry_failed_minutes,
        concurrency=settings.concurrency,
        token_ttl=settings.token_ttl_seconds,
        lookup_locations=settings.locations if settings.token_scope == "company" else (),
    )


@contextmanager
def connection(
    settings: Settings, *, sandbox: bool, dry_run: bool, missing: str = no_credentials()
) -> Iterator[ClientSettings | None]:
    """None for a dry run; an in-process emulator for --sandbox; else the configured API
    (`missing`: what to say when none is configured)."""
    if dry_run:
        yield None
        return
    if not sandbox:
        yield client_settings(settings, missing=missing)
        return
    from etl.sandbox import SandboxSettings, serve_in_thread

    with serve_in_thread(SandboxSettings(port=0)) as running:
        # the emulator's own login: a configured Konnect password never goes to the emulator
        own = replace(
            settings, username=running.settings.username, password=running.settings.password
        )
        yield client_settings(own, base_url=running.url, token=running.token)


def journal_path(inbox: Path, sandbox: bool = False) -> Path:
    """The journal of `inbox` (or outbox), with the protection records beside it; a
    `--sandbox` command's are kept apart (`SANDBOX_STATE`), so that nothing it sent to the
    emulator counts for live runs (an export taken for newer, an order action for done)."""
    from etl.config import state_dir

    folder = state_dir(inbox) / SANDBOX_STATE if sandbox else state_dir(inbox)
    return folder / "journal.sqlite3"


def check_sandbox_folder(folder: Path, outbox: bool = False) -> None:
    """ConfigError when `--sandbox` would work in a folder live runs use: an inbox whose own
    journal lists files (its exports would be filed in done/ without reaching Konnect) or an
    outbox whose journal records pulls (the ERP would import the emulator's demo orders)."""
    from etl.outbox import journal_tables

    live = journal_tables(journal_path(folder))  # not a --sandbox command's own
    if outbox and "pulled_orders" in live and "files" not in live:
        raise ConfigError(
            f"{folder} is an outbox live pulls write in: with --sandbox the emulator's demo"
            " orders would be written there for the ERP to import. Give --out a test folder"
        )
    if not outbox and "files" in live:
        raise ConfigError(
            f"{folder} is an inbox live runs use (its journal lists processed files: of live"
            " runs, or of --sandbox runs of a version before 28 Nov 2026, which kept them with"
            " the live ones): with --sandbox its exports would be filed in done/ without"
            " reaching Konnect. Copy the files to a test folder and use --sandbox there, or"
            " check a file with konnect-etl validate --preview FILE. A test folder only such an"
            f" older --sandbox used starts afresh once {STATE_DIR}/ in it is deleted"
        )
