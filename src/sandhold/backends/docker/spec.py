"""CreateSpec -> keyword arguments of ``containers.create`` (pure, no engine).

Everything that decides what a sandbox container looks like is here, so it
can be read and unit-tested in one place. The runtime is an argument the
backend resolved at startup; nothing in the ``CreateSpec`` reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from docker.types import LogConfig, Mount

from sandhold.backends.base import CreateSpec
from sandhold.backends.docker import labels
from sandhold.config import AppConfig
from sandhold.errors import ConfigError, InvalidRequest

EXECD_PORT = 44772
EXECD_MOUNT = "/opt/sandhold"
EXECD_BIN = f"{EXECD_MOUNT}/bin/execd"
TOKEN_ENV = "EXECD_ACCESS_TOKEN"

# Bound what untrusted stdout/stderr can write to the host disk: 2 x 10 MB.
LOG_MAX_SIZE = "10m"
LOG_MAX_FILES = "2"

# Network modes that would defeat isolation or the one published port.
_REFUSED_NETWORKS = {
    "host": "shares the host's network stack with untrusted code",
    "none": "leaves no network to publish execd's port on",
}
_WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


@dataclass(frozen=True)
class Identity:
    """What the backend decided for one sandbox before building its spec."""

    sandbox_id: str
    token: str
    created_at: datetime
    expires_at: datetime | None


def container_name(sandbox_id: str) -> str:
    return f"sandhold-{sandbox_id}"


def short_id(sandbox_id: str) -> str:
    return sandbox_id[:12]


def check_network_mode(network_mode: str) -> None:
    """Refuse network modes that break isolation. Raises ``ConfigError``."""
    reason = _REFUSED_NETWORKS.get(network_mode)
    if reason is None and network_mode.startswith("container:"):
        reason = "joins another container's network namespace"
    if reason is not None:
        raise ConfigError(
            f"[docker] network_mode = {network_mode!r} is refused: it {reason}; "
            'use "bridge" or a named user network'
        )


def connect_host(host_ip: str) -> str:
    """Address the server itself uses to reach a published port."""
    return "127.0.0.1" if host_ip in _WILDCARDS else host_ip


def public_host(config: AppConfig) -> str:
    """Address callers are told to use: eip, else host_ip unless a wildcard."""
    return config.server.eip or connect_host(config.docker.host_ip)


def build_create_kwargs(
    spec: CreateSpec,
    *,
    config: AppConfig,
    runtime: str,
    execd_volume: str,
    identity: Identity,
) -> dict:
    """The full ``client.containers.create(**kwargs)`` for one sandbox.

    Raises:
        InvalidRequest: the spec has no entrypoint.
        ConfigError: the configured network mode is refused.
    """
    if not spec.entrypoint or not spec.entrypoint[0]:
        raise InvalidRequest("entrypoint must name a command to run")
    docker_cfg = config.docker
    check_network_mode(docker_cfg.network_mode)
    memory = spec.resources.memory_bytes
    kwargs: dict = {
        "image": spec.image,
        "name": container_name(identity.sandbox_id),
        "hostname": short_id(identity.sandbox_id),
        # ENTRYPOINT is execd itself, so the image's own ENTRYPOINT cannot
        # wrap it; the caller's entrypoint runs as execd's child.
        "entrypoint": [EXECD_BIN],
        "command": ["init", "--", *spec.entrypoint],
        # The token is the server's, never the caller's: it goes last.
        "environment": {**spec.env, TOKEN_ENV: identity.token},
        "labels": labels.sandbox_labels(
            instance=config.server.name,
            sandbox_id=identity.sandbox_id,
            image=spec.image,
            entrypoint=list(spec.entrypoint),
            runtime=runtime,
            token=identity.token,
            created_at=identity.created_at,
            expires_at=identity.expires_at,
            metadata=spec.metadata,
        ),
        "runtime": runtime,
        "mounts": [
            # no_copy: an image shipping its own /opt/sandhold must never be
            # able to fill the shared volume.
            Mount(EXECD_MOUNT, execd_volume, type="volume", read_only=True, no_copy=True)
        ],
        "ports": {f"{EXECD_PORT}/tcp": (docker_cfg.host_ip,)},  # random host port
        "network_mode": docker_cfg.network_mode,
        "cap_drop": list(docker_cfg.drop_capabilities),
        "pids_limit": spec.resources.pids or docker_cfg.pids_limit,
        "log_config": LogConfig(
            type="json-file", config={"max-size": LOG_MAX_SIZE, "max-file": LOG_MAX_FILES}
        ),
    }
    if docker_cfg.no_new_privileges:
        kwargs["security_opt"] = ["no-new-privileges"]
    if spec.resources.nano_cpus is not None:
        kwargs["nano_cpus"] = spec.resources.nano_cpus
    if memory is not None:
        # memswap = mem: no swap on top of the limit.
        kwargs["mem_limit"] = memory
        kwargs["memswap_limit"] = memory
    return {k: v for k, v in kwargs.items() if v is not None}
