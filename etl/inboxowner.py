"""One machine per inbox: `INBOX/.konnect-etl/owner.json`, the lease of the machine at work.

Per-file locks (`etl.locks`) and SQLite's WAL keep the processes of ONE machine apart. Across
machines neither holds: a share may not pass locks on (sshfs, NFS with `local_lock=`, CIFS
with `nobrl`), so a second machine resumes a file the first is still uploading, and SQLite's
WAL needs every process on one host. So a command that changes an inbox (`run`, `watch`,
`release`; `orders pull` and `watch --pull-out` for their outbox) holds a lease: host name,
pid, start and heartbeat, rewritten every `BEAT_SECONDS` by a daemon thread and once more at
the end. The processes of one host share it (any of them refreshes it); a command on another
host refuses to start while its heartbeat is fresh, and takes a stale one over with a warning.

It is a guard against a second machine left running (a forgotten failover box, a PC beside
the server), not a lock: it trusts the machines' clocks (NTP), and a shared cache that hides
another host's write for longer than `SETTLE_SECONDS` (sshfs's) lets two machines that take
one stale lease in the same moment both start. A heartbeat that finds the lease taken over
by another machine stops refreshing it and calls `on_lost` (`run` and `watch` finish the
file in progress and stop).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from etl import __version__
from etl.atomic import atomic_write_bytes
from etl.config import STATE_DIR
from etl.errors import ConfigError
from etl.pullhealth import stamp
from etl.wording import duration

log = logging.getLogger(__name__)

OWNER_NAME = "owner.json"
BEAT_SECONDS = 30.0
# Fresh for 10 minutes: 20 missed heartbeats of a watcher (a share's hiccup of a minute or two
# hands nothing over), and twice the 5-minute cron of the README, whose runs beat at their end:
# between two such runs the lease stays fresh, so a second machine's cron never finds it stale.
FRESH_SECONDS = 600.0
# After taking over a stale lease: another machine taking it in the same moment (two crons at
# */15) wrote too; the later write wins, and the other one sees it after this pause.
SETTLE_SECONDS = 2.0
# The stop request of a `run` or `watch` whose lease another machine took over.
TAKEN_OVER = "another machine took this inbox over"


class InboxTaken(ConfigError):
    """Another machine works the folder: the command does not start (exit 2)."""


def this_host() -> str:
    return socket.gethostname()


def owner_path(folder: Path) -> Path:
    return folder / STATE_DIR / OWNER_NAME


@dataclass(frozen=True)
class Owner:
    """A lease as read from owner.json."""

    host: str
    pid: int
    started: float
    heartbeat: float

    def age(self, now: float) -> float:
        """Seconds since the last heartbeat; a heartbeat far in the future (a clock set wrong)
        is not believed, so it cannot keep the folder for good."""
        if self.heartbeat > now + FRESH_SECONDS:
            return float("inf")
        return max(0.0, now - self.heartbeat)

    def fresh(self, now: float) -> bool:
        return self.age(now) < FRESH_SECONDS

    def of_host(self, host: str) -> bool:
        return self.host.casefold() == host.casefold()


def read_owner(folder: Path) -> Owner | None:
    """The lease of `folder`; None when there is none or it cannot be read (torn, edited)."""
    try:
        data = orjson.loads(owner_path(folder).read_bytes())
        return Owner(str(data["host"]), int(data["pid"]), float(data["started_epoch"]),
                     float(data["heartbeat_epoch"]))  # fmt: skip
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def worked_elsewhere(folder: Path) -> bool:
    """Another machine holds `folder`'s lease now (it took it over while this one ran)."""
    held = read_owner(folder)
    return held is not None and not held.of_host(this_host()) and held.fresh(time.time())


def shown_host(host: str) -> str:
    return host or "a machine without a host name"


def last_seen(heartbeat: float, now: float) -> str:
    """'last seen 40 s ago', as `status` and the log lines say it."""
    if heartbeat > now + FRESH_SECONDS:
        return f"its last heartbeat, {stamp(heartbeat)}, is ahead of this machine's clock"
    return f"last seen {duration(max(0.0, now - heartbeat))} ago"


def refusal(folder: Path, kind: str, owner: Owner, now: float) -> str:
    """The line a command on another machine stops with, on its stderr and in the folder's
    log (which both machines write: the line names the one refused)."""
    host = shown_host(owner.host)
    return (
        f"not started on {shown_host(this_host())}: {folder} is worked by konnect-etl on {host}"
        f" (pid {owner.pid},"
        f" {last_seen(owner.heartbeat, now)}): one machine per {kind} — stop konnect-etl there"
        f" first (or, if {host} is gone for good, wait {FRESH_SECONDS / 60:.0f} minutes or delete"
        f" {owner_path(folder)})"
    )


class Lease:
    """This process's share of one folder's lease."""

    def __init__(self, folder: Path, kind: str, started: float) -> None:
        self.folder, self.kind, self.started = folder, kind, started
        self.host = this_host()
        self.lost = False
        self._write_failed = False

    def take(self, now: float) -> bool:
        """Write our lease; InboxTaken while another host's is fresh. True when another host's
        stale lease was taken (it, or a third machine, may be taking it at this moment too);
        this host's own, however old, is simply renewed."""
        held = read_owner(self.folder)
        if held is None or held.of_host(self.host):
            self.write(now)
            return False
        if held.fresh(now):
            raise InboxTaken(refusal(self.folder, self.kind, held, now))
        log.warning("taking over %s from konnect-etl on %s (pid %d, %s): one machine per %s;"
                    " the %s is worked from %s now", self.folder, shown_host(held.host),
                    held.pid, last_seen(held.heartbeat, now), self.kind, self.kind,
                    shown_host(self.host))  # fmt: skip
        self.write(now)
        return True

    def check(self, now: float) -> None:
        """After a stale lease was taken: a later write from another host wins."""
        held = read_owner(self.folder)
        if held is not None and not held.of_host(self.host) and held.fresh(now):
            raise InboxTaken(refusal(self.folder, self.kind, held, now))

    def beat(self, now: float) -> bool:
        """Refresh the lease; False (once logged) when another machine has taken it over."""
        held = read_owner(self.folder)
        if held is not None and not held.of_host(self.host) and held.fresh(now):
            if not self.lost:
                log.error("%s was taken over by konnect-etl on %s (pid %d): one machine per %s"
                          " - this process stops refreshing its lease and stops after the file in"
                          " progress",
                          self.folder, shown_host(held.host), held.pid, self.kind)  # fmt: skip
            self.lost = True
            return False
        self.write(now)
        return True

    def write(self, now: float) -> None:
        """Never raises: a share that hiccups must not stop the work (said once)."""
        document = {"host": self.host, "pid": os.getpid(), "started_at": stamp(self.started),
                    "started_epoch": self.started, "heartbeat_at": stamp(now),
                    "heartbeat_epoch": now, "version": __version__}  # fmt: skip
        try:
            owner_path(self.folder).parent.mkdir(exist_ok=True)
            atomic_write_bytes(owner_path(self.folder), orjson.dumps(document))
        except OSError as exc:
            level = logging.DEBUG if self._write_failed else logging.WARNING
            log.log(level, "could not write %s (the lease that keeps other machines off this"
                    " %s): %s; carrying on", owner_path(self.folder), self.kind, exc)  # fmt: skip
            self._write_failed = True


@contextmanager
def one_machine(
    inbox: Path | None,
    outbox: Path | None = None,
    on_lost: Callable[[], None] | None = None,
    beat_seconds: float | None = None,
) -> Iterator[None]:
    """Hold the lease of `inbox` (and of `outbox`, for pulls) while the block runs; raises
    InboxTaken when another machine works either. `on_lost`: called once, from the heartbeat
    thread, if another machine takes a lease over meanwhile."""
    now = time.time()
    pairs = ((inbox, "inbox"), (outbox, "outbox"))
    leases = [Lease(folder, kind, now) for folder, kind in pairs if folder is not None]
    if not leases:  # `--dry-run`: nothing changed, nothing held
        yield
        return
    taken_stale = [lease.take(now) for lease in leases]  # every one taken, then the pause
    if any(taken_stale):
        time.sleep(SETTLE_SECONDS)
        for lease in leases:
            lease.check(time.time())
    beat = _Heartbeat(leases, on_lost, beat_seconds or BEAT_SECONDS)
    beat.start()
    try:
        yield
    finally:
        beat.stop()


class _Heartbeat(threading.Thread):
    def __init__(
        self, leases: list[Lease], on_lost: Callable[[], None] | None, seconds: float
    ) -> None:
        super().__init__(name="konnect-etl lease", daemon=True)
        self.leases, self.on_lost, self.seconds = leases, on_lost, seconds
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.seconds):
            self.beat()

    def beat(self) -> None:
        try:
            held = [lease.beat(time.time()) for lease in self.leases if not lease.lost]
        except Exception:  # a bug here must not stop the run it guards
            log.warning("the lease heartbeat failed; carrying on", exc_info=True)
            return
        if not all(held) and self.on_lost is not None:
            on_lost, self.on_lost = self.on_lost, None
            on_lost()

    def stop(self) -> None:
        """Stop, and beat once more: the lease stays fresh for `FRESH_SECONDS` after the end,
        so the next scheduled run of this machine finds it still ours."""
        self.stopping.set()
        self.join(timeout=10.0)  # a write hung on a share that went away: not waited for
        if not self.is_alive():
            self.on_lost = None  # the command ends anyway
            self.beat()


def owner_document(folder: Path, now: float) -> dict[str, Any] | None:
    """The `owner` key of `status --json`; None when no konnect-etl ever held the lease."""
    owner = read_owner(folder)
    if owner is None:
        return None
    here = owner.of_host(this_host())
    return {
        "host": owner.host,
        "pid": owner.pid,
        "started_at": stamp(owner.started),
        "heartbeat_at": stamp(owner.heartbeat),
        "heartbeat_age_seconds": round(now - owner.heartbeat, 1),
        "fresh": owner.fresh(now),
        "this_host": here,
        "other_machine_working": owner.fresh(now) and not here,
    }


def owner_line(owner: dict[str, Any], now: float) -> str:
    """`status`'s line for the lease (`owner_document`)."""
    seen = last_seen(now - float(owner["heartbeat_age_seconds"]), now)
    said = f"owner: {shown_host(owner['host'])} (pid {owner['pid']}), {seen}"
    if owner["other_machine_working"]:
        return f"{said} — another machine works this inbox: run/watch here are refused"
    return said if owner["fresh"] else f"{said} (stale: any machine may take it)"
