"""JSON helpers shared by the decoders: strict parsing and one-line error summaries."""

from __future__ import annotations

import json
from typing import Any

from exporter.errors import ProbeError

_MAX_SUMMARY = 200


def parse_object(text: str | bytes, what: str) -> dict[str, Any]:
    """Parse one JSON object or raise ProbeError('protocol') naming ``what``."""
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise ProbeError("protocol", f"{what} is not valid JSON: {err}") from None
    except RecursionError:  # "[[[[...": the parser recursed past Python's limit
        raise ProbeError("protocol", f"{what} is JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise ProbeError("protocol", f"{what} is not a JSON object")
    return value


def loads_or_none(body: bytes | bytearray | str) -> Any:
    """The JSON value of an error body, or None when it is not JSON (error pages often aren't)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested past Python's limit
        return None


def error_summary(body: bytes) -> str:
    """The ``error.message`` of a JSON error body, else the body's first line, shortened."""
    text = body.decode("utf-8", errors="replace").strip()
    value = loads_or_none(text)
    if isinstance(value, dict):
        error = value.get("error", value)
        if isinstance(error, dict):
            message = error.get("message") or error.get("type") or error.get("code")
            if message:
                text = str(message)
        elif isinstance(error, str):
            text = error
        elif isinstance(value.get("message"), str):
            text = value["message"]
    line = " ".join(text.split())
    return line if len(line) <= _MAX_SUMMARY else line[: _MAX_SUMMARY - 1] + "…"


def as_int(value: object) -> int | None:
    """A token count from JSON: ints only (bool is not a count)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
