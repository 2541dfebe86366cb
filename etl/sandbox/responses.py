"""Answers the emulator gives: JSON through orjson, Konnect's whole-request errors."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONAnswer(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def refusal(status: int, code: str, message: str, **headers: str) -> JSONAnswer:
    """A request refused as a whole: `{"code", "message"}` [ours]; nothing was applied."""
    return JSONAnswer({"code": code, "message": message}, status_code=status, headers=headers)
