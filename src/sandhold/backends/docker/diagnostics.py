"""Container logs and engine events as bounded text (pure helpers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandhold.backends.base import Diagnostics

# A diagnostics answer is read by a person: the last 1000 lines, at most
# 1 MiB, are plenty and keep the response small.
MAX_LOG_LINES = 1000
MAX_LOG_BYTES = 1 << 20
MAX_EVENTS = 500

# Event attributes worth showing. Everything else is left out on purpose:
# Docker copies the container's labels into its events, execd token included.
_EVENT_ATTRIBUTES = ("name", "image", "exitCode", "signal")


def log_tail(raw: bytes, *, max_lines: int = MAX_LOG_LINES) -> Diagnostics:
    """Decode container output fetched with ``tail=max_lines + 1``.

    One extra line was asked for so we know whether the output was cut.
    """
    text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines(keepends=True)
    truncated = len(lines) > max_lines
    text = "".join(lines[-max_lines:])
    if len(text.encode()) > MAX_LOG_BYTES:
        text = text.encode()[-MAX_LOG_BYTES:].decode("utf-8", errors="ignore")
        truncated = True
    return Diagnostics(content=text, truncated=truncated)


def last_lines(raw: bytes, count: int) -> str:
    """The last ``count`` lines of output, for error messages."""
    lines = raw.decode("utf-8", errors="replace").strip().splitlines()
    return " | ".join(lines[-count:]) if lines else "(no output)"


def format_event(event: dict[str, Any]) -> str:
    """``2024-05-01T10:00:00.123456+00:00 container start name=… image=…``."""
    nanos = event.get("timeNano") or int(event.get("time", 0)) * 1_000_000_000
    moment = datetime.fromtimestamp(nanos / 1e9, tz=UTC).isoformat()
    attributes = (event.get("Actor") or {}).get("Attributes") or {}
    shown = " ".join(f"{k}={attributes[k]}" for k in _EVENT_ATTRIBUTES if k in attributes)
    action = event.get("Action") or event.get("status") or "?"
    return f"{moment} {event.get('Type', 'container')} {action} {shown}".rstrip()


def events_text(
    events: list[dict[str, Any]], *, preamble: str = "", max_events: int = MAX_EVENTS
) -> Diagnostics:
    lines = [format_event(e) for e in events]
    truncated = len(lines) > max_events
    lines = lines[-max_events:]
    if preamble:
        lines.insert(0, preamble)
    return Diagnostics(content="".join(f"{line}\n" for line in lines), truncated=truncated)
