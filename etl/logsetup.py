"""Logging: plain or JSON lines on stderr, a rotating file in the inbox (or the outbox, for
`orders pull`), secrets masked."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import orjson

MASK = "***"
_secrets: set[str] = set()
# `log.info(..., extra=FILE_ONLY)`: a line the command also prints on stdout/stderr itself
# (`orders pull`'s "wrote ..." and its failure line), so it goes to the log file, not twice
# to the terminal
FILE_ONLY = {"konnect_etl_file_only": True}


class NotFileOnly(logging.Filter):
    """The console's filter: leaves out the lines logged with `extra=FILE_ONLY`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "konnect_etl_file_only", False)


class RedactSecrets(logging.Filter):
    """Replace any known secret (token, password) in a log line, whoever logged it; and
    write a line break or other control character in it as an escape: a file named
    `x\n2026-11-28 ... ERROR ...` (anyone may drop files on the share) must not forge a
    line of the log, nor an escape sequence recolour the terminal of whoever reads it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _secrets or _CONTROL.search(message):
            record.msg, record.args = _CONTROL.sub(_escaped, masked(message)), None
        return True


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")  # tab aside


def _escaped(found: re.Match[str]) -> str:
    return repr(found.group(0))[1:-1]


def masked(text: str) -> str:
    """`text` with every known secret replaced (for what is printed without logging)."""
    for secret in _secrets:
        text = text.replace(secret, MASK)
    return text


class JsonLines(logging.Formatter):
    """One JSON object per line, for log shippers: the time to the millisecond, the process
    (a `watch` and a cron `run` may write one log), and an exception's traceback."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        zone = self.formatTime(record, "%z")
        entry = {
            "time": f"{stamp}.{int(record.msecs):03d}{zone}",
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


class FollowingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that follows its path: when the file there is no longer the one
    open (the inbox folder swapped for another, a share mounted again over a stand-in), the
    next line goes to the file at the path, if its folder is there. Looked at every
    `CHECK_SECONDS` at most."""

    CHECK_SECONDS = 10.0

    def handleError(self, record: logging.LogRecord) -> None:
        """A line that cannot be written (the disk full) is lost from the file; logging's
        own report would spill a traceback of dozens of lines onto stderr (a cron mail). A
        line that cannot be formatted (a mistake of ours) is reported as logging does."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handleError(record)

    def emit(self, record: logging.LogRecord) -> None:
        now = time.monotonic()
        if now - getattr(self, "_checked", 0.0) >= self.CHECK_SECONDS:
            self._checked = now
            self._follow()
        super().emit(record)

    def _follow(self) -> None:
        if self.stream is None:
            return
        path = Path(self.baseFilename)
        try:
            same = os.path.samestat(path.stat(), os.fstat(self.stream.fileno()))
        except FileNotFoundError:  # its folder is still there: start the file again
            same = not path.parent.is_dir()
        except OSError:
            return  # the share is away: keep writing where we were
        if not same:
            self.stream.close()
            self.stream = self._open()


class ConsoleHandler(logging.StreamHandler[TextIO]):
    """stderr. A console that went away (a closed terminal or pipe, a test runner's captured
    stream) costs its lines, never the work that logged them: logging reports its own error
    to that same dead stderr, which raised out of the caller's `log.error` (a watcher's pull
    round then "failed unexpectedly" and waited a minute). The log file keeps the line."""

    def handleError(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            super().handleError(record)


def add_secrets(values: Iterable[str | None]) -> None:
    _secrets.update(v for v in values if v and len(v) >= 4)


def setup_logging(verbosity: int = 0, json_logs: bool = False, log_dir: Path | None = None) -> None:
    """Configure the root logger once per process (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_konnect_etl", False):
            root.removeHandler(handler)
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    root.setLevel(logging.DEBUG)
    plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    # the file: which process wrote a line (a `watch` and a cron `run` may share it)
    with_pid = logging.Formatter("%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s")
    console = ConsoleHandler()
    console.setLevel(level)
    console.addFilter(NotFileOnly())
    _attach(root, console, JsonLines() if json_logs else plain)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        file = FollowingFileHandler(
            log_dir / "konnect-etl.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
        )
        file.setLevel(logging.INFO)
        _attach(root, file, JsonLines() if json_logs else with_pid)
    # httpx logs every request URL at INFO; the token endpoint carries credentials in it.
    for noisy in ("httpx", "httpcore", "uvicorn", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("asyncio").setLevel(logging.INFO)  # -v: not "Using selector: ..."


def _attach(root: logging.Logger, handler: logging.Handler, formatter: logging.Formatter) -> None:
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets())
    handler._konnect_etl = True  # type: ignore[attr-defined]
    root.addHandler(handler)
