"""``sandhold serve | doctor | init-config | controller``: the administrator's entry points.

Every failure an administrator can fix is one line on stderr that names what
is wrong and how to fix it, and a non-zero exit (2 for configuration and
environment problems).
"""

from __future__ import annotations

import logging
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from sandhold import __version__
from sandhold.config import AppConfig, load_config
from sandhold.errors import ConfigError

log = logging.getLogger("sandhold")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Sandhold: a self-hosted sandbox server behind a secure container runtime.",
)

EXAMPLES = ("default", "docker-gvisor", "k8s-gvisor", "k8s-kata", "k8s-firecracker")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML config file (default: $SANDBOX_CONFIG_PATH, else ~/.sandbox.toml).",
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"sandhold: error: {message}", err=True)
    raise typer.Exit(code)


def _load(path: Path | None) -> AppConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc))


def docker_client(config: AppConfig):  # noqa: ANN201 - docker is imported lazily
    """A docker client that has answered a ping; ConfigError otherwise."""
    import docker

    where = config.docker.base_url or "the default socket (DOCKER_HOST)"
    try:
        client = (
            docker.DockerClient(base_url=config.docker.base_url, max_pool_size=64)
            if config.docker.base_url
            else docker.from_env(max_pool_size=64)
        )
        client.ping()
    except Exception as exc:  # the SDK raises several unrelated types here
        raise ConfigError(
            f"cannot reach the Docker daemon at {where}: {exc}. Start dockerd "
            f"(hack/dockerd.sh start) or set [docker] base_url"
        ) from exc
    return client


def build_backend(config: AppConfig):  # noqa: ANN201 - returns a SandboxBackend
    """Resolve and validate the runtime, then build the configured backend."""
    from sandhold.secure_runtime import resolve, validate_docker

    runtime = resolve(config)
    if config.runtime.type != "docker":
        raise ConfigError(
            "[runtime] type = 'kubernetes' is not available in this version: use type = 'docker'"
        )
    client = docker_client(config)
    validate_docker(runtime, client, config.runtime.execd_image)
    from sandhold.backends.docker import DockerBackend

    log.info(
        "resolved runtime",
        extra={"fields": {"mode": runtime.mode, "runtime": runtime.describe()}},
    )
    return DockerBackend(config, runtime=runtime.name, client=client)


@app.command()
def serve(config: ConfigOption = None) -> None:
    """Run the lifecycle API server."""
    import uvicorn

    from sandhold.api import create_app
    from sandhold.logs import setup_logging

    cfg = _load(config)
    setup_logging(cfg.server.log_level)
    if not cfg.server.api_key:
        log.warning("no [server] api_key set: the API is open to anyone who can reach it")
    try:
        backend = build_backend(cfg)
    except ConfigError as exc:
        fail(str(exc))
    uvicorn.run(
        create_app(cfg, backend),
        host=cfg.server.host,
        port=cfg.server.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Check the configuration, the engine and the secure runtime; exit 1 on a problem."""
    from sandhold.doctor import run_doctor

    raise typer.Exit(run_doctor(_load(config)))


@app.command("init-config")
def init_config(
    example: Annotated[
        str, typer.Option(help=f"Which example: {', '.join(EXAMPLES)}.")
    ] = "default",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing --output file.")] = False,
) -> None:
    """Print (or write) a working configuration file."""
    if example not in EXAMPLES:
        fail(f"unknown example {example!r}: pick one of {', '.join(EXAMPLES)}")
    text = resources.files("sandhold.examples").joinpath(f"{example}.toml").read_text()
    if output is None:
        sys.stdout.write(text)
        return
    if output.exists() and not force:
        fail(f"{output} exists: pass --force to overwrite it")
    output.write_text(text)
    typer.echo(f"wrote {output}", err=True)


@app.command()
def controller(
    kubeconfig: Annotated[
        Path | None, typer.Option(help="kubeconfig file (default: in-cluster, else $KUBECONFIG).")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option(help="Watch only this namespace (default: all).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the BatchSandbox/Pool controller (needs the `kubernetes` extra)."""
    from sandhold.controller import run
    from sandhold.logs import setup_logging

    try:
        import kopf  # noqa: F401
        import kubernetes  # noqa: F401
    except ImportError as exc:
        fail(f"the controller needs kopf and kubernetes ({exc}): pip install sandhold[kubernetes]")
    setup_logging(log_level)
    run(kubeconfig=str(kubeconfig) if kubeconfig else None, namespace=namespace)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
