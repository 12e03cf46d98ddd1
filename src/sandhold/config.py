"""``~/.sandbox.toml`` -> a typed, validated ``AppConfig``.

Where the file is found: ``--config``, else ``$SANDBOX_CONFIG_PATH``, else
``~/.sandbox.toml``; with none of them present the embedded defaults apply
(Docker mode, runc). Unknown keys and wrong types are startup errors that name
the file, the key and the reason (``ConfigError``). What the secure runtime
*resolves to* is decided in ``sandhold.secure_runtime``, not here.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandhold import __version__
from sandhold.errors import ConfigError

DEFAULT_PATH = Path("~/.sandbox.toml")
ENV_PATH = "SANDBOX_CONFIG_PATH"
DEFAULT_EXECD_IMAGE = f"sandhold/execd:{__version__}"


class _Section(BaseModel):
    # Unknown keys are typos until proven otherwise: refuse them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Section):
    # Servers sharing one engine each see only the sandboxes labelled with
    # their own name (list, TTL timers, reaping at start).
    name: str = Field("default", pattern=r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    api_key: str | None = None  # None = no auth (say so loudly at startup)
    # Address callers use to reach sandbox ports; None = the docker host_ip,
    # or the server's own host when that is a wildcard.
    eip: str | None = None
    max_sandbox_timeout_seconds: int | None = Field(None, ge=1)
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class RuntimeConfig(_Section):
    type: Literal["docker", "kubernetes"] = "docker"
    execd_image: str = DEFAULT_EXECD_IMAGE


class DockerConfig(_Section):
    # Network mode for sandbox containers: "bridge" (default) or a named
    # user network. "host" would share the host's network and is refused.
    network_mode: str = "bridge"
    # Host address sandbox ports are published on.
    host_ip: str = "127.0.0.1"
    drop_capabilities: list[str] = Field(
        default_factory=lambda: [
            "AUDIT_WRITE",
            "MKNOD",
            "NET_RAW",
            "SYS_CHROOT",
            "SETFCAP",
        ]
    )
    no_new_privileges: bool = True
    pids_limit: int | None = Field(512, ge=1)
    # Socket of the engine; None = DOCKER_HOST or the default socket.
    base_url: str | None = None
    # How long a create waits for execd to answer /ping.
    ready_timeout_seconds: float = Field(60.0, gt=0)
    # Host directory for what labels cannot hold (renewed expiry, patched
    # metadata): one small JSON file per sandbox, never inside the sandbox.
    state_dir: str = "/var/lib/sandhold"


class SecureRuntimeConfig(_Section):
    """``[secure_runtime]`` as written; resolution lives in secure_runtime.py.

    ``None`` means "not given" (take the type's default); ``""`` is an
    explicit empty value (e.g. Firecracker has no Docker runtime).
    """

    type: str = ""
    docker_runtime: str | None = None
    k8s_runtime_class: str | None = None


class KubernetesConfig(_Section):
    kubeconfig_path: str | None = None
    namespace: str = "default"
    workload_provider: Literal["batchsandbox", "agent-sandbox"] = "batchsandbox"
    # Pool whose warm pods serve creates; None = cold pods only.
    pool_ref: str | None = None
    informer_enabled: bool = True


class AppConfig(_Section):
    server: ServerConfig = ServerConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    docker: DockerConfig = DockerConfig()
    secure_runtime: SecureRuntimeConfig = SecureRuntimeConfig()
    kubernetes: KubernetesConfig = KubernetesConfig()

    source: str = Field("<defaults>", exclude=True)


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The file to read: explicit, else $SANDBOX_CONFIG_PATH, else ~/.sandbox.toml.

    Returns None when the default file does not exist (embedded defaults).
    An explicit or env path that does not exist is an error.
    """
    chosen = explicit or os.environ.get(ENV_PATH)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"config file {path} does not exist: create it "
                f"(`sandhold init-config > {path}`) or point --config elsewhere"
            )
        return path
    default = DEFAULT_PATH.expanduser()
    return default if default.is_file() else None


def load_config(explicit: str | os.PathLike[str] | None = None) -> AppConfig:
    """Find, read and validate the configuration. Raises ``ConfigError``."""
    path = config_path(explicit)
    if path is None:
        return AppConfig()
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_config(data, source=str(path))


def parse_config(data: dict, *, source: str = "<string>") -> AppConfig:
    """Validate already-parsed TOML data. Raises ``ConfigError``."""
    try:
        return AppConfig.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from exc


def _describe(exc: ValidationError, source: str) -> str:
    """One line per problem: ``file: [section] key: reason``."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        where = f"[{loc[0]}] {'.'.join(loc[1:])}".strip() if len(loc) > 1 else loc[0]
        if err["type"] == "extra_forbidden":
            reason = "unknown key (check its spelling and section)"
        else:
            reason = err["msg"]
            if "input" in err and not isinstance(err["input"], dict):
                reason += f" (got {err['input']!r})"
        lines.append(f"{source}: {where}: {reason}")
    return "; ".join(lines)
