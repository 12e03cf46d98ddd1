"""Docker container state -> the lifecycle ``Status`` (pure).

Docker states: created, running, paused, restarting, removing, exited, dead.
The exit code decides between Terminated (0) and Failed (anything else).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandhold.backends.base import State, Status

# Reasons (CamelCase, stable: clients may match on them).
REASON_COMPLETED = "Completed"  # entrypoint exited 0
REASON_ERROR = "Error"  # entrypoint exited non-zero
REASON_OOM_KILLED = "OOMKilled"  # the kernel killed it at the memory limit
REASON_DEAD = "Dead"  # Docker failed to stop or remove it cleanly
REASON_REMOVING = "Removing"

# Docker reports "0001-01-01T00:00:00Z" for times that never happened.
_ZERO_TIME_PREFIX = "0001-01-01"


def parse_docker_time(text: str | None) -> datetime | None:
    """Docker's RFC 3339 with nanoseconds -> aware datetime (None when unset)."""
    if not text or text.startswith(_ZERO_TIME_PREFIX):
        return None
    head, _, frac = text.rstrip("Z").partition(".")
    # fromisoformat takes at most microseconds; Docker writes nanoseconds.
    micros = (frac[:6]).ljust(6, "0") if frac else "000000"
    offset = "+00:00" if text.endswith("Z") else ""
    return datetime.fromisoformat(f"{head}.{micros}{offset}")


def status_from_state(state: dict[str, Any]) -> Status:
    """Map the ``State`` object of ``docker inspect`` to a ``Status``."""
    docker_status = state.get("Status", "")
    started = parse_docker_time(state.get("StartedAt"))
    finished = parse_docker_time(state.get("FinishedAt"))
    if docker_status in ("created", "restarting"):
        return Status(State.PENDING, last_transition_at=started)
    if docker_status == "running":
        return Status(State.RUNNING, last_transition_at=started)
    if docker_status == "paused":
        return Status(State.PAUSED, last_transition_at=started)
    if docker_status == "removing":
        return Status(State.STOPPING, reason=REASON_REMOVING, last_transition_at=finished)
    if docker_status == "dead":
        message = state.get("Error") or "the container is dead (Docker could not stop it)"
        return Status(State.FAILED, REASON_DEAD, message, finished)
    return _exited(state, finished)


def _exited(state: dict[str, Any], finished: datetime | None) -> Status:
    code = int(state.get("ExitCode", 0) or 0)
    if state.get("OOMKilled"):
        message = f"killed at the memory limit (exit code {code})"
        return Status(State.FAILED, REASON_OOM_KILLED, message, finished)
    if state.get("Error"):
        return Status(State.FAILED, REASON_ERROR, state["Error"], finished)
    if code == 0:
        return Status(State.TERMINATED, REASON_COMPLETED, "entrypoint exited 0", finished)
    message = f"entrypoint exited with code {code}"
    if code > 128:
        message += f" (signal {code - 128})"
    return Status(State.FAILED, REASON_ERROR, message, finished)
