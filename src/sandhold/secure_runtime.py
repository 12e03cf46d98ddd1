"""The one place that decides which runtime sandboxes run under.

``[secure_runtime]`` names a type (``""`` = runc, ``gvisor``, ``kata``,
``firecracker`` or a custom name) and optionally the Docker runtime and the
Kubernetes RuntimeClass it maps to. ``resolve`` turns that into a
``ResolvedRuntime`` once, at startup; the backend receives the result and
nothing else (no request field) can change it.

Resolving is pure. Validation talks to the engine: the runtime must be
registered in the daemon, and a canary container must really start under it
(and, for gVisor, really run gVisor's kernel) before the server takes
traffic. A broken runtime is a startup error, never a warning: the server
must not quietly run sandboxes under weaker isolation than configured.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sandhold.config import AppConfig, SecureRuntimeConfig
from sandhold.errors import ConfigError

if TYPE_CHECKING:
    import docker
    import docker.models.containers

log = logging.getLogger(__name__)

Mode = Literal["docker", "kubernetes"]

RUNC = "runc"
DAEMON_JSON = "/etc/docker/daemon.json"
# A canary prints two lines and exits; a runtime that needs longer than this
# to run it is not fit to serve sandboxes.
CANARY_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class RuntimeDefaults:
    docker_runtime: str  # "" = not available in Docker mode
    k8s_runtime_class: str
    description: str


# Defaults per known type; explicit values in the config win.
KNOWN_TYPES: dict[str, RuntimeDefaults] = {
    "gvisor": RuntimeDefaults("runsc", "gvisor", "gVisor (runsc), user-space kernel"),
    "kata": RuntimeDefaults("kata-runtime", "kata-qemu", "Kata Containers (QEMU VM)"),
    "firecracker": RuntimeDefaults("", "kata-fc", "Kata Containers with Firecracker"),
}


@dataclass(frozen=True)
class ResolvedRuntime:
    """What every sandbox of this server runs under, in the configured mode.

    ``docker_runtime`` is always a concrete name in Docker mode (``runc`` when
    no secure runtime is configured): containers name it explicitly instead
    of trusting the daemon's default-runtime. ``k8s_runtime_class`` is None
    for the cluster default.
    """

    type: str
    mode: Mode
    docker_runtime: str | None
    k8s_runtime_class: str | None

    @property
    def secure(self) -> bool:
        return bool(self.type)

    @property
    def name(self) -> str:
        """The engine-level name sandboxes report (diagnostics, logs)."""
        if self.mode == "docker":
            return self.docker_runtime or RUNC
        return self.k8s_runtime_class or "<cluster default>"

    def describe(self) -> str:
        kind = self.type or "runc (no secure runtime)"
        where = (
            f"docker runtime {self.docker_runtime!r}"
            if self.mode == "docker"
            else f"RuntimeClass {self.k8s_runtime_class or '<cluster default>'!r}"
        )
        return f"{kind} via {where}"


class SecureRuntimeResolver:
    """Maps ``[secure_runtime]`` to backend identifiers (pure)."""

    def __init__(self, section: SecureRuntimeConfig) -> None:
        self.section = section
        self.type = section.type.strip().lower()

    def _defaults(self) -> RuntimeDefaults | None:
        return KNOWN_TYPES.get(self.type)

    def get_docker_runtime(self) -> str | None:
        """The Docker ``--runtime`` value, or None for runc.

        Raises ConfigError when the type has no Docker runtime (Firecracker,
        or a custom type without ``docker_runtime``).
        """
        if not self.type:
            return None
        value = self.section.docker_runtime
        if value is None and (defaults := self._defaults()) is not None:
            value = defaults.docker_runtime
        if not value:
            if self.type == "firecracker":
                raise ConfigError(
                    "secure_runtime.type = 'firecracker' is not supported in Docker mode: "
                    "Firecracker is only available through Kata's 'kata-fc' RuntimeClass on "
                    "Kubernetes (set [runtime] type = 'kubernetes', or pick type = 'gvisor' "
                    "or 'kata' for Docker)"
                )
            raise ConfigError(
                f"secure_runtime.type = {self.type!r} has no Docker runtime "
                f"(docker_runtime is empty): set [secure_runtime] docker_runtime to a runtime "
                f"registered in {DAEMON_JSON}, or run in Kubernetes mode"
            )
        return value

    def get_k8s_runtime_class(self) -> str | None:
        """The pod ``runtimeClassName``, or None for the cluster default."""
        if not self.type:
            return None
        value = self.section.k8s_runtime_class
        if value is None and (defaults := self._defaults()) is not None:
            value = defaults.k8s_runtime_class
        if not value:
            raise ConfigError(
                f"secure_runtime.type = {self.type!r} has no RuntimeClass "
                f"(k8s_runtime_class is empty): set [secure_runtime] k8s_runtime_class to "
                f"a RuntimeClass that exists in the cluster, or run in Docker mode"
            )
        return value


def resolve(config: AppConfig, mode: Mode | None = None) -> ResolvedRuntime:
    """Resolve the runtime for ``mode`` (default: the configured one).

    Raises ConfigError when the configuration cannot work in that mode.
    """
    mode = mode or config.runtime.type
    resolver = SecureRuntimeResolver(config.secure_runtime)
    if mode == "docker":
        return ResolvedRuntime(
            type=resolver.type,
            mode=mode,
            docker_runtime=resolver.get_docker_runtime() or RUNC,
            k8s_runtime_class=None,
        )
    return ResolvedRuntime(
        type=resolver.type,
        mode=mode,
        docker_runtime=None,
        k8s_runtime_class=resolver.get_k8s_runtime_class(),
    )


# --- validation against a real Docker daemon ---------------------------------


@dataclass(frozen=True)
class CanaryResult:
    """What a throwaway container under the runtime reported about itself."""

    runtime: str
    kernel_release: str
    dmesg_head: str

    @property
    def is_gvisor(self) -> bool:
        return "gvisor" in self.dmesg_head.lower()

    def summary(self) -> str:
        kernel = "gVisor" if self.is_gvisor else f"kernel {self.kernel_release}"
        return f"canary under {self.runtime!r} ran: {kernel}"


def daemon_runtimes(client: docker.DockerClient) -> dict[str, dict]:
    """The runtimes the daemon has registered (``docker info`` Runtimes)."""
    return client.info().get("Runtimes") or {}


def check_registered(resolved: ResolvedRuntime, client: docker.DockerClient) -> dict:
    """Raise ConfigError unless the daemon knows the resolved runtime."""
    runtimes = daemon_runtimes(client)
    name = resolved.docker_runtime or RUNC
    if name not in runtimes:
        raise ConfigError(
            f"Docker runtime {name!r} ({resolved.type or 'runc'}) is not registered in the "
            f"daemon; it has: {', '.join(sorted(runtimes)) or 'none'}. Add it under "
            f'"runtimes" in {DAEMON_JSON} (e.g. "{name}": {{"path": "/usr/bin/{name}"}}) '
            f"and reload dockerd (kill -HUP $(pidof dockerd))"
        )
    return runtimes[name]


def run_canary(resolved: ResolvedRuntime, client: docker.DockerClient, image: str) -> CanaryResult:
    """Start one throwaway container under the runtime and ask it what it runs on.

    The payload is execd's ``probe`` subcommand from the execd image (static,
    needs nothing else in the image). Raises ConfigError when the container
    cannot start, or when a gVisor runtime does not report gVisor's kernel.
    """
    import docker.errors
    import requests

    name = resolved.docker_runtime or RUNC
    container = None
    try:
        # create + start rather than containers.run: run(remove=True) leaves
        # the container behind when the start itself fails, and a broken
        # runtime is exactly when that happens.
        container = client.containers.create(
            image,
            entrypoint=["/opt/sandhold/bin/execd", "probe"],
            runtime=name,
            network_mode="none",
            labels={"sandhold.dev/role": "canary"},
        )
        container.start()
        status = container.wait(timeout=CANARY_TIMEOUT_SECONDS)["StatusCode"]
        output = container.logs(stdout=True, stderr=False)
        if status != 0:
            errors = container.logs(stdout=False, stderr=True)
            raise ConfigError(
                f"Docker runtime {name!r} started the canary but it failed "
                f"(exit {status}): {errors.decode(errors='replace').strip()[-300:]!r}"
            )
    except docker.errors.ImageNotFound as exc:
        raise ConfigError(
            f"execd image {image!r} is missing: build it with `make images` "
            f"(or set [runtime] execd_image)"
        ) from exc
    except docker.errors.APIError as exc:
        raise ConfigError(
            f"Docker runtime {name!r} is registered but cannot start a container: "
            f"{exc.explanation or exc}. Check the runtime's path and flags in {DAEMON_JSON}"
        ) from exc
    except requests.exceptions.ConnectionError as exc:  # includes read timeouts
        raise ConfigError(
            f"Docker runtime {name!r}: the canary did not finish within "
            f"{CANARY_TIMEOUT_SECONDS} s. Check the runtime's flags in {DAEMON_JSON}"
        ) from exc
    finally:
        if container is not None:
            _remove_quietly(container)
    result = _parse_probe(name, output)
    if resolved.type == "gvisor" and not result.is_gvisor:
        raise ConfigError(
            f"Docker runtime {name!r} is configured as gVisor but the canary did not run "
            f"gVisor's kernel (kernel {result.kernel_release}): point {name!r} in "
            f"{DAEMON_JSON} at a runsc binary"
        )
    return result


def _remove_quietly(container: docker.models.containers.Container) -> None:
    import docker.errors

    try:
        container.remove(force=True)
    except docker.errors.APIError as exc:
        log.warning("could not remove canary container %s: %s", container.id[:12], exc)


def _parse_probe(runtime: str, output: bytes) -> CanaryResult:
    try:
        data = json.loads(output.decode(errors="replace").strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise ConfigError(
            f"Docker runtime {runtime!r}: the canary printed no probe result ({output[:200]!r})"
        ) from exc
    return CanaryResult(
        runtime=runtime,
        kernel_release=str(data.get("kernel_release", "")),
        dmesg_head=str(data.get("dmesg_head", "")),
    )


def validate_docker(
    resolved: ResolvedRuntime, client: docker.DockerClient, execd_image: str
) -> CanaryResult:
    """Startup validation for Docker mode: registered, then a working canary."""
    check_registered(resolved, client)
    result = run_canary(resolved, client, execd_image)
    log.info("secure runtime validated: %s; %s", resolved.describe(), result.summary())
    return result
