"""One sandbox create, from image to a ready execd, and its undo.

The sequence: make sure the image is present (pull with the caller's
credentials when it is not), create the container with the resolved runtime,
start it, find its published execd port and poll ``GET /ping`` until execd
answers with the sandbox's token. Any failure on the way, cancellation
included, removes the container before the error propagates.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from docker.errors import APIError, ImageNotFound, NotFound
from docker.utils import parse_repository_tag

from sandhold.backends.base import CreateSpec, ImageAuth
from sandhold.backends.docker.diagnostics import last_lines
from sandhold.backends.docker.engine import Engine
from sandhold.backends.docker.spec import (
    EXECD_PORT,
    Identity,
    build_create_kwargs,
    connect_host,
    container_name,
)
from sandhold.config import AppConfig
from sandhold.errors import (
    ImageError,
    InvalidRequest,
    RuntimeUnavailable,
    SandholdError,
)

log = logging.getLogger(__name__)

# Readiness polling: execd usually answers within a few hundred ms of start;
# 50 ms keeps the added latency small without flooding the port.
PING_INTERVAL_SECONDS = 0.05
PING_TIMEOUT_SECONDS = 1.0
# How often the poll also asks dockerd whether the container died.
STATE_CHECK_SECONDS = 0.25
# Log lines quoted in a failed create's error message.
ERROR_LOG_LINES = 20
READY_TIMEOUT_CODE = "SANDBOX::READY_TIMEOUT"
START_FAILED_CODE = "SANDBOX::START_FAILED"


class SandboxCreator:
    def __init__(self, config: AppConfig, runtime: str, engine: Engine) -> None:
        self.config = config
        self.runtime = runtime
        self._engine = engine
        self._api = engine.client.api
        self._http: httpx.AsyncClient | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def create(self, spec: CreateSpec, identity: Identity, execd_volume: str) -> None:
        """Create, start and wait for execd. Leaves nothing behind on failure."""
        kwargs = build_create_kwargs(
            spec,
            config=self.config,
            runtime=self.runtime,
            execd_volume=execd_volume,
            identity=identity,
        )
        await self._ensure_image(spec.image, spec.image_auth)
        name = container_name(identity.sandbox_id)
        try:
            await self._create_container(kwargs, spec)
            await self._start(name)
            await self._wait_ready(name, spec, identity.token)
        except BaseException:
            # Shielded: a cancelled request must still clean up after itself.
            await asyncio.shield(self._engine.run(self._discard, name))
            raise

    # -- image ------------------------------------------------------------------

    async def _ensure_image(self, image: str, auth: ImageAuth | None) -> None:
        try:
            await self._engine.run(self._api.inspect_image, image)
            return
        except ImageNotFound:
            pass
        except APIError as exc:
            raise ImageError(f"image {image!r} is not a valid reference: {_why(exc)}") from None
        log.info("pulling image %s", image)
        await self._engine.run(self._pull, image, auth)

    def _pull(self, image: str, auth: ImageAuth | None) -> None:
        """Blocking pull; errors arrive as exceptions or inside the stream."""
        repository, tag = parse_repository_tag(image)
        auth_config = {"username": auth.username, "password": auth.password} if auth else None
        try:
            stream = self._api.pull(
                repository, tag=tag or "latest", stream=True, decode=True, auth_config=auth_config
            )
            for message in stream:
                if "error" in message:
                    raise ImageError(f"cannot pull image {image!r}: {message['error']}")
        except APIError as exc:
            raise ImageError(f"cannot pull image {image!r}: {_why(exc)}") from None

    # -- container ------------------------------------------------------------------

    async def _create_container(self, kwargs: dict[str, Any], spec: CreateSpec) -> None:
        try:
            await self._engine.run(self._engine.client.containers.create, **kwargs)
        except ImageNotFound:
            raise ImageError(f"image {spec.image!r} vanished before the create") from None
        except APIError as exc:
            why = _why(exc)
            if "unknown runtime" in why.lower():
                raise self._runtime_unavailable(why) from None
            if exc.is_client_error():
                raise InvalidRequest(
                    f"dockerd refused the sandbox ({_limits(spec)}): {why}"
                ) from None
            raise

    async def _start(self, name: str) -> None:
        try:
            await self._engine.run(self._api.start, name)
        except APIError as exc:
            why = _why(exc)
            lowered = why.lower()
            if "unknown runtime" in lowered or "executable file not found" in lowered:
                raise self._runtime_unavailable(why) from None
            raise SandholdError(
                f"starting the sandbox under runtime {self.runtime!r} failed: {why}",
                code=START_FAILED_CODE,
            ) from None

    def _runtime_unavailable(self, why: str) -> RuntimeUnavailable:
        return RuntimeUnavailable(
            f"the Docker runtime {self.runtime!r} is not available in dockerd ({why}); "
            f'register it under "runtimes" in /etc/docker/daemon.json and reload dockerd '
            f"(kill -HUP), or change [secure_runtime]: no sandbox runs without it"
        )

    def _discard(self, name: str) -> None:
        try:
            self._api.remove_container(name, force=True)
        except NotFound:
            pass
        except APIError as exc:
            log.error("could not remove %s after a failed create: %s", name, _why(exc))

    # -- readiness ----------------------------------------------------------------------

    async def _wait_ready(self, name: str, spec: CreateSpec, token: str) -> None:
        """Poll execd's /ping until it answers; fail fast when the container dies."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.docker.ready_timeout_seconds
        next_state_check = 0.0
        url: str | None = None
        while True:
            now = loop.time()
            if url is None or now >= next_state_check:
                try:
                    attrs = await self._engine.run(self._api.inspect_container, name)
                except NotFound:
                    raise SandholdError(
                        f"the sandbox container {name} was removed while it was starting",
                        code=START_FAILED_CODE,
                    ) from None
                await self._fail_if_exited(name, attrs, spec)
                url = url or self._ping_url(attrs)
                next_state_check = now + STATE_CHECK_SECONDS
            if loop.time() >= deadline:
                logs = await self._last_logs(name)
                raise SandholdError(
                    f"execd did not answer within {self.config.docker.ready_timeout_seconds:g}s "
                    f"(entrypoint {spec.entrypoint}); last output: {logs}",
                    code=READY_TIMEOUT_CODE,
                )
            if url is not None and await self._ping(url, token):
                return
            await asyncio.sleep(PING_INTERVAL_SECONDS)

    def _ping_url(self, attrs: dict[str, Any]) -> str | None:
        bindings = (attrs["NetworkSettings"].get("Ports") or {}).get(f"{EXECD_PORT}/tcp")
        if not bindings:
            return None
        host = connect_host(self.config.docker.host_ip)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{bindings[0]['HostPort']}/ping"

    async def _ping(self, url: str, token: str) -> bool:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=PING_TIMEOUT_SECONDS, trust_env=False)
        try:
            response = await self._http.get(url, headers={"X-EXECD-ACCESS-TOKEN": token})
        except httpx.HTTPError:
            return False
        if response.status_code in (401, 403):
            raise SandholdError(f"execd refused the sandbox's own token ({response.status_code})")
        return response.is_success

    async def _fail_if_exited(self, name: str, attrs: dict[str, Any], spec: CreateSpec) -> None:
        state = attrs["State"]
        if state.get("Status") not in ("exited", "dead"):
            return
        code = state.get("ExitCode")
        logs = await self._last_logs(name)
        if state.get("OOMKilled"):
            raise InvalidRequest(
                f"the sandbox ran out of memory while starting ({_limits(spec)}): raise the "
                f"memory limit; last output: {logs}"
            )
        if code == 127:
            raise InvalidRequest(
                f"entrypoint {spec.entrypoint} could not be started (not found or not "
                f"executable in image {spec.image!r}); last output: {logs}"
            )
        raise InvalidRequest(
            f"entrypoint {spec.entrypoint} exited with code {code} before the sandbox was "
            f"ready; it must keep running (e.g. tail -f /dev/null); last output: {logs}"
        )

    async def _last_logs(self, name: str) -> str:
        try:
            raw = await self._engine.run(
                self._api.logs, name, stdout=True, stderr=True, tail=ERROR_LOG_LINES
            )
        except APIError as exc:
            return f"(logs unavailable: {_why(exc)})"
        return last_lines(raw, ERROR_LOG_LINES)


def _why(exc: APIError) -> str:
    explanation = exc.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode(errors="replace")
    return str(explanation or exc)


def _limits(spec: CreateSpec) -> str:
    res = spec.resources
    cpu = "default" if res.nano_cpus is None else f"{res.nano_cpus / 1e9:g} CPU"
    memory = "default" if res.memory_bytes is None else f"{res.memory_bytes} bytes"
    pids = "default" if res.pids is None else str(res.pids)
    return f"cpu={cpu}, memory={memory}, pids={pids}"
