"""An in-memory ``SandboxBackend`` for testing the API layer's own logic."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sandhold.backends.base import (
    CreateSpec,
    Diagnostics,
    Endpoint,
    ListFilter,
    Sandbox,
    State,
    Status,
)
from sandhold.errors import SandboxNotFound, StateConflict

EXECD_PORT = 44772


class FakeBackend:
    """Keeps sandboxes in a dict; every port resolves to ``endpoint_address``.

    ``endpoint_address`` may contain ``{port}``; tests point it at a local
    server to exercise the proxy.
    """

    runtime = "runc"

    def __init__(self, endpoint_address: str = "127.0.0.1:{port}") -> None:
        self.endpoint_address = endpoint_address
        self.sandboxes: dict[str, Sandbox] = {}
        self.tokens: dict[str, str] = {}
        self.specs: dict[str, CreateSpec] = {}
        self.started = False
        self.closed = False
        self._ids = itertools.count(1)
        self._clock = datetime(2030, 1, 1, tzinfo=UTC)

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    def _now(self) -> datetime:
        # Strictly increasing creation times keep "oldest first" unambiguous.
        self._clock += timedelta(seconds=1)
        return self._clock

    def _get(self, sandbox_id: str) -> Sandbox:
        try:
            return self.sandboxes[sandbox_id]
        except KeyError:
            raise SandboxNotFound(f"sandbox {sandbox_id} not found") from None

    def _set_state(self, sandbox_id: str, state: State) -> None:
        sandbox = self._get(sandbox_id)
        status = Status(state=state, last_transition_at=self._now())
        self.sandboxes[sandbox_id] = replace(sandbox, status=status)

    async def create(self, spec: CreateSpec) -> Sandbox:
        sandbox_id = f"sbx-{next(self._ids):04d}"
        created = self._now()
        expires = None
        if spec.timeout_seconds is not None:
            expires = created + timedelta(seconds=spec.timeout_seconds)
        sandbox = Sandbox(
            id=sandbox_id,
            image=spec.image,
            entrypoint=list(spec.entrypoint),
            status=Status(State.RUNNING, reason="Ready", last_transition_at=created),
            created_at=created,
            expires_at=expires,
            metadata=dict(spec.metadata),
            runtime=self.runtime,
        )
        self.sandboxes[sandbox_id] = sandbox
        self.specs[sandbox_id] = spec
        self.tokens[sandbox_id] = secrets.token_hex(16)
        return sandbox

    async def get(self, sandbox_id: str) -> Sandbox:
        return self._get(sandbox_id)

    async def list(self, flt: ListFilter) -> list[Sandbox]:
        found = [
            s
            for s in self.sandboxes.values()
            if (not flt.states or s.status.state in flt.states)
            and all(s.metadata.get(k) == v for k, v in flt.metadata.items())
        ]
        return sorted(found, key=lambda s: s.created_at)

    async def delete(self, sandbox_id: str) -> None:
        self._get(sandbox_id)
        del self.sandboxes[sandbox_id]

    async def pause(self, sandbox_id: str) -> None:
        if self._get(sandbox_id).status.state is not State.RUNNING:
            raise StateConflict(f"sandbox {sandbox_id} is not running")
        self._set_state(sandbox_id, State.PAUSED)

    async def resume(self, sandbox_id: str) -> None:
        if self._get(sandbox_id).status.state is not State.PAUSED:
            raise StateConflict(f"sandbox {sandbox_id} is not paused")
        self._set_state(sandbox_id, State.RUNNING)

    async def renew(self, sandbox_id: str, expires_at: datetime) -> datetime:
        self.sandboxes[sandbox_id] = replace(self._get(sandbox_id), expires_at=expires_at)
        return expires_at

    async def patch_metadata(self, sandbox_id: str, changes: dict[str, str | None]) -> Sandbox:
        sandbox = self._get(sandbox_id)
        metadata = dict(sandbox.metadata)
        for key, value in changes.items():
            if value is None:
                metadata.pop(key, None)
            else:
                metadata[key] = value
        self.sandboxes[sandbox_id] = replace(sandbox, metadata=metadata)
        return self.sandboxes[sandbox_id]

    async def endpoint(self, sandbox_id: str, port: int) -> Endpoint:
        self._get(sandbox_id)
        return Endpoint(
            address=self.endpoint_address.format(port=port),
            headers={"X-EXECD-ACCESS-TOKEN": self.tokens[sandbox_id]},
        )

    async def logs(self, sandbox_id: str, scope: str | None) -> Diagnostics:
        self._get(sandbox_id)
        return Diagnostics(content=f"logs of {sandbox_id} scope={scope}\n")

    async def events(self, sandbox_id: str, scope: str | None) -> Diagnostics:
        self._get(sandbox_id)
        return Diagnostics(content=f"events of {sandbox_id}\n", truncated=True)
