"""Tell someone when a file needs attention: a webhook POST and/or an e-mail.

A file needs attention when it has rejected, failed or unknown rows, or failed as a whole
(or was set aside as a duplicate). The webhook gets the summary JSON as the body; the e-mail
says in plain words what happened and carries the summary as an attachment. A notification
that cannot be delivered is logged and never stops the processing of files.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
import orjson

from etl.config import Settings
from etl.job import FileResult

log = logging.getLogger(__name__)

QUIET_OUTCOMES = ("uploaded", "validated")


def needs_attention(summary: dict[str, Any]) -> bool:
    rows = summary.get("rows", {})
    troubled = any(rows.get(k, 0) for k in ("rejected", "failed", "unknown"))
    return troubled or summary.get("outcome") not in QUIET_OUTCOMES


@dataclass(frozen=True)
class Notifier:
    """Callable with each finished file (`RunOptions.on_file`)."""

    settings: Settings
    timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.settings.notify_webhook or self.settings.notify_email)

    def __call__(self, file: FileResult) -> None:
        if not needs_attention(file.summary):
            return
        if self.settings.notify_webhook:
            self._guarded("webhook", lambda: self.post(file.summary))
        if self.settings.notify_email:
            self._guarded("e-mail", lambda: self.mail(file.summary))

    def _guarded(self, what: str, send: Any) -> None:
        try:
            send()
        except httpx.HTTPStatusError as exc:  # its text holds the URL: a webhook's secret
            log.warning("could not send the %s notification: it answered HTTP %d", what,
                        exc.response.status_code)  # fmt: skip
        except (OSError, httpx.HTTPError, smtplib.SMTPException) as exc:
            log.warning("could not send the %s notification: %s", what, exc)

    def post(self, summary: dict[str, Any]) -> None:
        assert self.settings.notify_webhook is not None
        response = httpx.post(
            self.settings.notify_webhook,
            content=orjson.dumps(summary),
            headers={"Content-Type": "application/json"},
            timeout=self.timeout,
        )
        response.raise_for_status()

    def mail(self, summary: dict[str, Any]) -> None:
        s = self.settings
        if not s.smtp_host:
            log.warning("notify_email is set but smtp_host is not: no e-mail sent")
            return
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username and s.smtp_password:
                smtp.login(s.smtp_username, s.smtp_password)
            smtp.send_message(email_for(summary, s))


def email_for(summary: dict[str, Any], settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"konnect-etl: {summary.get('input')} - {summary.get('outcome')}"
    message["From"] = settings.smtp_from or "konnect-etl@localhost"
    message["To"] = settings.notify_email or ""
    message.set_content(email_text(summary))
    message.add_attachment(
        orjson.dumps(summary, option=orjson.OPT_INDENT_2),
        maintype="application",
        subtype="json",
        filename="summary.json",
    )
    return message


def email_text(summary: dict[str, Any]) -> str:
    rows = summary.get("rows", {})
    lines = [
        f"File: {summary.get('input')}",
        f"Outcome: {summary.get('outcome')}",
        f"Rows: {rows.get('total', 0)} in the file, {rows.get('ok', 0)} ok, "
        f"{rows.get('rejected', 0)} rejected by our checks, {rows.get('failed', 0)} refused "
        f"by Konnect, {rows.get('unknown', 0)} unknown.",
        *(f"Problem with the whole file: {e}" for e in summary.get("file_errors", [])),
        "",
        "Open the errors file next to the input (done/ or failed/ in the inbox), fix the "
        "cells it points to, and drop the errors file into the inbox again.",
    ]
    return "\n".join(lines)
