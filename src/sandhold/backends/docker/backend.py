"""``DockerBackend``: the ``SandboxBackend`` protocol on Docker Engine.

State lives in the engine: every sandbox is one container named
``sandhold-<id>`` whose labels (``labels.py``) hold what was set at create;
the renewed expiry and patched metadata live in host files (``overlay.py``).
Nothing is kept in memory that a restart could lose: ``start`` rebuilds the
TTL timers from the containers and reaps what expired while the server was
down. The Docker runtime is fixed at construction and written explicitly on
every container; nothing in a request reaches it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import docker
from docker.errors import APIError, NotFound

from sandhold.backends.base import (
    CreateSpec,
    Diagnostics,
    Endpoint,
    ListFilter,
    Sandbox,
    State,
)
from sandhold.backends.docker import diagnostics, labels
from sandhold.backends.docker.creating import SandboxCreator
from sandhold.backends.docker.engine import Engine, make_client
from sandhold.backends.docker.execd_volume import EXECD_IMAGE_MISSING, ensure_execd_volume
from sandhold.backends.docker.expiry import ExpiryTimers
from sandhold.backends.docker.overlay import Overlay, OverlayStore
from sandhold.backends.docker.spec import (
    EXECD_PORT,
    Identity,
    check_network_mode,
    container_name,
    public_host,
)
from sandhold.backends.docker.state import (
    effective_expiry,
    effective_metadata,
    needs_inspect,
    sandbox_from_labels,
    state_from_list_entry,
    status_from_state,
)
from sandhold.config import AppConfig
from sandhold.errors import BackendUnavailable, InvalidRequest, SandboxNotFound, StateConflict

log = logging.getLogger(__name__)

# Seconds a deleted sandbox gets to exit on SIGTERM before it is killed.
STOP_GRACE_SECONDS = 3
# pause/resume wait this long for dockerd to report the new state.
SETTLE_TIMEOUT_SECONDS = 5.0
SETTLE_POLL_SECONDS = 0.02
_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


class DockerBackend:
    """Sandboxes as Docker containers under one fixed runtime."""

    def __init__(
        self, config: AppConfig, *, runtime: str, client: docker.DockerClient | None = None
    ) -> None:
        check_network_mode(config.docker.network_mode)
        self.config = config
        self.runtime = runtime
        self._owns_client = client is None
        self._engine = Engine(client or make_client(config.docker.base_url))
        self._api = self._engine.client.api
        self.instance = config.server.name
        self._overlays = OverlayStore(config.docker.state_dir, self.instance)
        self._timers = ExpiryTimers(self._expire)
        self._creator = SandboxCreator(config, runtime, self._engine)
        self._execd_volume: str | None = None
        self._volume_lock = asyncio.Lock()
        self._overlay_lock = asyncio.Lock()

    @property
    def blocking_calls_peak(self) -> int:
        """Most engine calls that ran at once (shows creates overlap)."""
        return self._engine.peak_in_flight

    # -- lifecycle of the backend itself -------------------------------------

    async def start(self) -> None:
        """Rebuild TTL timers, reap the expired, prune stale state files."""
        await self._engine.run(self._overlays.ensure_directory)
        try:
            await self._ensure_execd_volume()
        except BackendUnavailable as exc:
            if exc.code != EXECD_IMAGE_MISSING:
                raise
            log.error("%s (creates will fail until it is fixed)", exc.message)
        now = datetime.now(UTC)
        live: set[str] = set()
        for container_labels, state in await self._list_containers():
            sandbox_id = container_labels[labels.SANDBOX_ID]
            live.add(sandbox_id)
            overlay = await self._engine.run(self._overlays.read, sandbox_id)
            expires_at = effective_expiry(container_labels, overlay)
            if expires_at is not None and expires_at <= now:
                log.info("sandbox %s expired at %s (server was down)", sandbox_id, expires_at)
                await self._engine.run(self._stop_and_remove, sandbox_id, state["Status"])
            else:
                self._timers.schedule(sandbox_id, expires_at)
        for stale in set(await self._engine.run(self._overlays.stored_ids)) - live:
            await self._engine.run(self._overlays.remove, stale)

    async def close(self) -> None:
        await self._timers.close()
        await self._creator.close()
        self._engine.close(close_client=self._owns_client)

    # -- create ---------------------------------------------------------------

    async def create(self, spec: CreateSpec) -> Sandbox:
        volume = await self._ensure_execd_volume()
        now = datetime.now(UTC)
        expires_at = None
        if spec.timeout_seconds is not None:
            expires_at = now + timedelta(seconds=spec.timeout_seconds)
        identity = Identity(
            sandbox_id=uuid.uuid4().hex,
            token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=expires_at,
        )
        await self._creator.create(spec, identity, volume)
        self._timers.schedule(identity.sandbox_id, expires_at)
        return await self.get(identity.sandbox_id)

    async def _ensure_execd_volume(self) -> str:
        """The filled execd volume's name; refilled if it was removed meanwhile.

        Checked on every create (one cheap inspect): a pruned volume would
        otherwise be re-created EMPTY by Docker on the next mount, and every
        sandbox would then fail as if its entrypoint were missing.
        """
        known = self._execd_volume
        if known is not None and await self._engine.run(self._volume_filled, known):
            return known
        async with self._volume_lock:
            if self._execd_volume is None or self._execd_volume == known:
                self._execd_volume = await self._engine.run(
                    ensure_execd_volume, self._engine.client, self.config.runtime.execd_image
                )
            return self._execd_volume

    def _volume_filled(self, name: str) -> bool:
        """Blocking: the volume exists and carries the label our fill writes."""
        try:
            volume = self._api.inspect_volume(name)
        except NotFound:
            return False
        return labels.EXECD_IMAGE_ID in (volume.get("Labels") or {})

    # -- reads ----------------------------------------------------------------

    async def get(self, sandbox_id: str) -> Sandbox:
        attrs = await self._inspect(sandbox_id)
        overlay = await self._engine.run(self._overlays.read, sandbox_id)
        return sandbox_from_labels(attrs["Config"]["Labels"], attrs["State"], overlay)

    async def list(self, flt: ListFilter) -> list[Sandbox]:
        found = await self._list_containers()
        ids = [container_labels[labels.SANDBOX_ID] for container_labels, _ in found]
        overlays = await self._engine.run(lambda: [self._overlays.read(i) for i in ids])
        sandboxes = [
            sandbox_from_labels(container_labels, state, overlay)
            for (container_labels, state), overlay in zip(found, overlays, strict=True)
        ]
        chosen = [s for s in sandboxes if _matches(s, flt)]
        return sorted(chosen, key=lambda s: (s.created_at, s.id))

    async def _list_containers(self) -> list[tuple[dict[str, str], dict[str, Any]]]:
        """(labels, inspect-style State) of every sandbox container."""
        entries = await self._engine.run(
            self._api.containers, all=True, filters=labels.managed_filter(self.instance)
        )
        found = []
        for entry in entries:
            container_labels = entry.get("Labels") or {}
            if labels.SANDBOX_ID not in container_labels:
                continue  # e.g. the execd volume's fill helper
            found.append((container_labels, state_from_list_entry(entry)))
        details = await asyncio.gather(
            *(self._full_state(lbl, st) for lbl, st in found), return_exceptions=True
        )
        return [
            (lbl, detail)
            for (lbl, _), detail in zip(found, details, strict=True)
            if not isinstance(detail, BaseException)
        ]

    async def _full_state(self, container_labels: dict[str, str], state: dict) -> dict:
        """The list's state, completed by an inspect when it cannot say why it failed."""
        if not needs_inspect(state):
            return state
        attrs = await self._inspect(container_labels[labels.SANDBOX_ID])
        return attrs["State"]

    async def _inspect(self, sandbox_id: str) -> dict[str, Any]:
        """``docker inspect`` of a sandbox container. Raises ``SandboxNotFound``."""
        if not _ID_PATTERN.match(sandbox_id):
            raise SandboxNotFound(f"sandbox {sandbox_id!r} does not exist")
        try:
            attrs = await self._engine.run(self._api.inspect_container, container_name(sandbox_id))
        except NotFound:
            raise SandboxNotFound(f"sandbox {sandbox_id!r} does not exist") from None
        found_labels = attrs["Config"].get("Labels") or {}
        if (
            found_labels.get(labels.SANDBOX_ID) != sandbox_id
            or found_labels.get(labels.INSTANCE) != self.instance
        ):
            raise SandboxNotFound(f"sandbox {sandbox_id!r} does not exist")
        return attrs

    # -- delete and expiry ----------------------------------------------------

    async def delete(self, sandbox_id: str) -> None:
        attrs = await self._inspect(sandbox_id)
        self._timers.cancel(sandbox_id)
        await self._engine.run(self._stop_and_remove, sandbox_id, attrs["State"].get("Status"))

    def _stop_and_remove(self, sandbox_id: str, docker_status: str | None) -> None:
        """Blocking: SIGTERM with a short grace, then force-remove; gone is fine.

        A paused container is thawed first: runsc cannot kill a frozen
        sandbox ("PID … is zombie and can not be killed").
        """
        name = container_name(sandbox_id)
        if docker_status == "paused":
            self._quietly(self._api.unpause, name)
        elif docker_status == "running":
            self._quietly(self._api.stop, name, timeout=STOP_GRACE_SECONDS)
        try:
            self._api.remove_container(name, force=True)
        except NotFound:
            pass
        except APIError as exc:
            if exc.status_code == 409:  # a concurrent removal is under way
                pass
            elif exc.is_server_error():  # e.g. caught mid-pause: thaw, then once more
                self._quietly(self._api.unpause, name)
                self._api.remove_container(name, force=True)
            else:
                raise
        self._overlays.remove(sandbox_id)

    @staticmethod
    def _quietly(call: Any, *args: Any, **kwargs: Any) -> None:
        try:
            call(*args, **kwargs)
        except (NotFound, APIError) as exc:  # already in the wanted state, or gone
            log.debug("%s %s: %s", getattr(call, "__name__", call), args, exc)

    async def _expire(self, sandbox_id: str) -> None:
        try:
            attrs = await self._inspect(sandbox_id)
        except SandboxNotFound:
            await self._engine.run(self._overlays.remove, sandbox_id)
            return
        overlay = await self._engine.run(self._overlays.read, sandbox_id)
        expires_at = effective_expiry(attrs["Config"]["Labels"], overlay)
        if expires_at is not None and expires_at > datetime.now(UTC):
            self._timers.schedule(sandbox_id, expires_at)  # renewed meanwhile
            return
        log.info("sandbox %s expired at %s: removing it", sandbox_id, expires_at)
        await self._engine.run(self._stop_and_remove, sandbox_id, attrs["State"].get("Status"))

    # -- pause / resume ---------------------------------------------------------

    async def pause(self, sandbox_id: str) -> None:
        await self._transition(sandbox_id, State.RUNNING, self._api.pause, "paused")
        await self._settle(sandbox_id, State.PAUSED)

    async def resume(self, sandbox_id: str) -> None:
        await self._transition(sandbox_id, State.PAUSED, self._api.unpause, "resumed")
        await self._settle(sandbox_id, State.RUNNING)

    async def _settle(self, sandbox_id: str, target: State) -> None:
        """Wait until inspect shows ``target``.

        dockerd 20.10 records pause/unpause from the runtime's events, after
        the API call returned; under runsc that lags by up to ~100 ms. A
        caller that reads the state right after must see the new one.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT_SECONDS
        while loop.time() < deadline:
            attrs = await self._inspect(sandbox_id)
            if status_from_state(attrs["State"]).state == target:
                return
            await asyncio.sleep(SETTLE_POLL_SECONDS)
        log.warning(
            "sandbox %s not yet %s after %ss", sandbox_id, target.value, SETTLE_TIMEOUT_SECONDS
        )

    async def _transition(self, sandbox_id: str, required: State, call: Any, verb: str) -> None:
        attrs = await self._inspect(sandbox_id)
        current = status_from_state(attrs["State"]).state
        if current != required:
            raise StateConflict(
                f"sandbox {sandbox_id} is {current.value}: only a {required.value} "
                f"sandbox can be {verb}"
            )
        try:
            await self._engine.run(call, container_name(sandbox_id))
        except NotFound:
            raise SandboxNotFound(f"sandbox {sandbox_id!r} does not exist") from None
        except APIError as exc:
            if exc.status_code == 409:
                raise StateConflict(
                    f"sandbox {sandbox_id} cannot be {verb}: {exc.explanation}"
                ) from None
            raise

    # -- mutable overlay ----------------------------------------------------------

    async def renew(self, sandbox_id: str, expires_at: datetime) -> datetime:
        if expires_at.tzinfo is None:
            raise InvalidRequest("expiresAt must carry a time zone (e.g. a trailing Z)")
        if expires_at <= datetime.now(UTC):
            raise InvalidRequest(f"expiresAt {expires_at.isoformat()} is not in the future")
        async with self._overlay_lock:
            attrs = await self._inspect(sandbox_id)
            overlay = await self._engine.run(self._overlays.read, sandbox_id)
            metadata = effective_metadata(attrs["Config"]["Labels"], overlay)
            await self._engine.run(self._overlays.write, sandbox_id, Overlay(expires_at, metadata))
        self._timers.schedule(sandbox_id, expires_at)
        return expires_at

    async def patch_metadata(self, sandbox_id: str, changes: dict[str, str | None]) -> Sandbox:
        async with self._overlay_lock:
            attrs = await self._inspect(sandbox_id)
            container_labels = attrs["Config"]["Labels"]
            overlay = await self._engine.run(self._overlays.read, sandbox_id)
            metadata = effective_metadata(container_labels, overlay)
            for key, value in changes.items():
                if value is None:
                    metadata.pop(key, None)
                else:
                    metadata[key] = value
            updated = Overlay(effective_expiry(container_labels, overlay), metadata)
            await self._engine.run(self._overlays.write, sandbox_id, updated)
        return sandbox_from_labels(container_labels, attrs["State"], updated)

    # -- endpoint and diagnostics ---------------------------------------------------

    async def endpoint(self, sandbox_id: str, port: int) -> Endpoint:
        if not 1 <= port <= 65535:
            raise InvalidRequest(f"port {port} is outside 1-65535")
        attrs = await self._inspect(sandbox_id)
        bindings = (attrs["NetworkSettings"].get("Ports") or {}).get(f"{EXECD_PORT}/tcp")
        if not bindings:
            state = status_from_state(attrs["State"]).state.value
            raise StateConflict(f"sandbox {sandbox_id} is {state}: it has no endpoint")
        host = public_host(self.config)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # IPv6 literal
        address = f"{host}:{bindings[0]['HostPort']}"
        if port != EXECD_PORT:
            address += f"/proxy/{port}"  # execd's /proxy reaches every sandbox port
        token = attrs["Config"]["Labels"][labels.EXECD_TOKEN]
        return Endpoint(address=address, headers={"X-EXECD-ACCESS-TOKEN": token})

    async def logs(self, sandbox_id: str, scope: str | None) -> Diagnostics:
        """The container's output (one container per sandbox: ``scope`` is unused)."""
        await self._inspect(sandbox_id)
        raw = await self._engine.run(
            self._api.logs,
            container_name(sandbox_id),
            stdout=True,
            stderr=True,
            tail=diagnostics.MAX_LOG_LINES + 1,
        )
        return diagnostics.log_tail(raw)

    async def events(self, sandbox_id: str, scope: str | None) -> Diagnostics:
        """Engine events of the container since its creation (what dockerd retains)."""
        attrs = await self._inspect(sandbox_id)
        created = labels.parse_time(attrs["Config"]["Labels"][labels.CREATED_AT])
        since = f"{created.timestamp() - 1:.9f}" if created else "0"
        # A past `until` makes the stream finite: dockerd replays and closes.
        until = f"{time.time():.9f}"

        def collect() -> list[dict]:
            stream = self._api.events(
                since=since, until=until, filters={"container": attrs["Id"]}, decode=True
            )
            return list(stream)

        # First line: what the sandbox really runs under, read from the engine.
        runtime = attrs["HostConfig"].get("Runtime") or "runc"
        return diagnostics.events_text(
            await self._engine.run(collect), preamble=f"sandbox {sandbox_id} runtime={runtime}"
        )


def _matches(sandbox: Sandbox, flt: ListFilter) -> bool:
    if flt.states and sandbox.status.state not in flt.states:
        return False
    return all(sandbox.metadata.get(k) == v for k, v in flt.metadata.items())
