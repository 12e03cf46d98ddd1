"""Domain model and the backend protocol every engine implements.

Data flows one way: the API layer turns wire schemas into a ``CreateSpec``,
hands it to a ``SandboxBackend`` and turns the returned ``Sandbox`` back into
wire schemas. Backends never see HTTP and the API never sees an engine.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class State(enum.StrEnum):
    """Lifecycle states, spelled as on the wire."""

    PENDING = "Pending"
    RUNNING = "Running"
    PAUSING = "Pausing"
    PAUSED = "Paused"
    RESUMING = "Resuming"
    STOPPING = "Stopping"
    TERMINATED = "Terminated"
    FAILED = "Failed"


@dataclass(frozen=True)
class Status:
    state: State
    reason: str | None = None
    message: str | None = None
    last_transition_at: datetime | None = None


@dataclass(frozen=True)
class ImageAuth:
    username: str
    password: str


@dataclass(frozen=True)
class Resources:
    """Resource limits, already parsed into engine units.

    ``nano_cpus``: CPU in 1e-9 cores (``"0.5"`` -> 500_000_000).
    ``memory_bytes``: hard memory limit.
    ``pids``: max processes, None = the server default.
    """

    nano_cpus: int | None = None
    memory_bytes: int | None = None
    pids: int | None = None


@dataclass(frozen=True)
class CreateSpec:
    """A validated create request, free of wire details."""

    image: str
    entrypoint: list[str]
    image_auth: ImageAuth | None = None
    env: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    timeout_seconds: int | None = None  # None = never expires
    resources: Resources = field(default_factory=Resources)


@dataclass(frozen=True)
class Sandbox:
    """A sandbox as the engine reports it (labels are the source of truth)."""

    id: str
    image: str
    entrypoint: list[str]
    status: Status
    created_at: datetime
    expires_at: datetime | None
    metadata: dict[str, str]
    runtime: str  # what it really runs under: "runc", "runsc", a RuntimeClass …


@dataclass(frozen=True)
class Endpoint:
    """How to reach a port of a sandbox directly.

    ``address`` is ``host:port[/path]`` with no scheme, as the SDKs expect.
    ``headers`` must be sent with every request (the per-sandbox execd token).
    """

    address: str
    headers: dict[str, str]


@dataclass(frozen=True)
class ListFilter:
    states: frozenset[State] = frozenset()  # OR; empty = all
    metadata: dict[str, str] = field(default_factory=dict)  # AND


@dataclass(frozen=True)
class Diagnostics:
    content: str
    truncated: bool = False
    content_type: str = "text/plain"


class SandboxBackend(Protocol):
    """What an engine must do. Every method is async and never blocks the loop.

    Errors are raised as ``sandhold.errors.SandholdError`` subclasses:
    ``SandboxNotFound`` for an unknown id, ``StateConflict`` for a move the
    current state forbids, ``InvalidRequest``/``ImageError`` for a create the
    engine refused, ``RuntimeUnavailable`` when the secure runtime vanished.
    """

    runtime: str  # the resolved runtime every sandbox gets ("runc" = none)

    async def start(self) -> None:
        """Called once before serving: rebuild TTL timers, reap the expired."""

    async def close(self) -> None:
        """Called once at shutdown: cancel timers, close clients."""

    async def create(self, spec: CreateSpec) -> Sandbox:
        """Create and start a sandbox; returns once execd answers /ping.

        A failure removes everything the create made.
        """

    async def get(self, sandbox_id: str) -> Sandbox: ...

    async def list(self, flt: ListFilter) -> list[Sandbox]:
        """All matching sandboxes, oldest first (stable for pagination)."""

    async def delete(self, sandbox_id: str) -> None: ...

    async def pause(self, sandbox_id: str) -> None: ...

    async def resume(self, sandbox_id: str) -> None: ...

    async def renew(self, sandbox_id: str, expires_at: datetime) -> datetime: ...

    async def patch_metadata(self, sandbox_id: str, changes: dict[str, str | None]) -> Sandbox:
        """Set keys with a value, remove keys whose value is None."""

    async def endpoint(self, sandbox_id: str, port: int) -> Endpoint:
        """Direct address of ``port`` (other ports go through execd's /proxy)."""

    async def logs(self, sandbox_id: str, scope: str | None) -> Diagnostics: ...

    async def events(self, sandbox_id: str, scope: str | None) -> Diagnostics: ...
