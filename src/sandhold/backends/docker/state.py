"""Docker container state -> the lifecycle ``Status`` (pure).

Docker states: created, running, paused, restarting, removing, exited, dead.
The exit code decides between Terminated (0) and Failed (anything else).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from sandhold.backends.base import Sandbox, State, Status
from sandhold.backends.docker import labels
from sandhold.backends.docker.overlay import Overlay

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


def sandbox_from_labels(
    container_labels: dict[str, str], state: dict[str, Any], overlay: Overlay | None
) -> Sandbox:
    """A ``Sandbox`` from its labels, its Docker state and the mutable overlay.

    The overlay (renewed expiry, patched metadata) wins when present; labels
    hold everything else and are the fallback for both.
    """
    return Sandbox(
        id=container_labels[labels.SANDBOX_ID],
        image=container_labels.get(labels.IMAGE, ""),
        entrypoint=json.loads(container_labels.get(labels.ENTRYPOINT) or "[]"),
        status=status_from_state(state),
        created_at=labels.parse_time(container_labels[labels.CREATED_AT]),
        expires_at=effective_expiry(container_labels, overlay),
        metadata=effective_metadata(container_labels, overlay),
        runtime=container_labels.get(labels.RUNTIME, ""),
    )


def effective_expiry(container_labels: dict[str, str], overlay: Overlay | None) -> datetime | None:
    if overlay is not None:
        return overlay.expires_at
    return labels.parse_time(container_labels.get(labels.EXPIRES_AT))


def effective_metadata(container_labels: dict[str, str], overlay: Overlay | None) -> dict[str, str]:
    if overlay is not None:
        return dict(overlay.metadata)
    return labels.metadata_from_labels(container_labels)


_EXIT_CODE = re.compile(r"^Exited \((-?\d+)\)")


def state_from_list_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """The ``inspect``-style State that a ``GET /containers/json`` entry allows.

    The list gives the state word and, for exited containers, the exit code
    inside the human ``Status`` text ("Exited (137) 3 seconds ago"); OOM and
    error details need an inspect (see ``needs_inspect``).
    """
    match = _EXIT_CODE.match(entry.get("Status", ""))
    return {"Status": entry.get("State", ""), "ExitCode": int(match.group(1)) if match else 0}


def needs_inspect(state: dict[str, Any]) -> bool:
    """True when a list entry cannot tell why the container failed."""
    return state["Status"] == "dead" or (state["Status"] == "exited" and state["ExitCode"] != 0)
