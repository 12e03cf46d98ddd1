"""``sandhold doctor``: what this server would run sandboxes under, and why.

It prints the resolved runtime in both modes, what the Docker daemon has
registered (with each runtime's path and flags), which runsc build and
network mode are in force, and the canary result. It returns 1 when anything
would stop ``sandhold serve`` (or weaken isolation), 0 otherwise.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from sandhold.config import AppConfig
from sandhold.errors import ConfigError
from sandhold.secure_runtime import (
    RUNC,
    ResolvedRuntime,
    check_registered,
    daemon_runtimes,
    resolve,
    run_canary,
)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def runsc_network_mode(runtime_args: list[str]) -> str:
    """The network mode a runsc entry runs with, from its daemon.json args."""
    for arg in runtime_args:
        if arg.startswith("--network="):
            value = arg.split("=", 1)[1]
            return "host (network syscalls served by the host kernel)" if value == "host" else value
    return "sandbox (gVisor netstack, the strongest)"


def runsc_version(path: str) -> str:
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError as exc:
        return f"unknown ({exc.strerror}: {path})"
    return out.stdout.splitlines()[0] if out.stdout else f"unknown ({path})"


def _resolution_checks(config: AppConfig) -> tuple[list[Check], ResolvedRuntime | None]:
    checks: list[Check] = []
    chosen = None
    for mode in ("docker", "kubernetes"):
        active = mode == config.runtime.type
        label = f"runtime ({mode} mode{', active' if active else ''})"
        try:
            resolved = resolve(config, mode)
        except ConfigError as exc:
            # Only the active mode's failure stops the server.
            checks.append(Check(label, not active, str(exc)))
            continue
        checks.append(Check(label, True, resolved.describe()))
        if active:
            chosen = resolved
    return checks, chosen


def _docker_checks(config: AppConfig, resolved: ResolvedRuntime) -> list[Check]:
    from sandhold.cli import docker_client

    try:
        client = docker_client(config)
    except ConfigError as exc:
        return [Check("docker daemon", False, str(exc))]
    info = client.info()
    runtimes = daemon_runtimes(client)
    listed = ", ".join(
        f"{name} ({' '.join([spec.get('path', name), *(spec.get('runtimeArgs') or [])])})"
        for name, spec in sorted(runtimes.items())
    )
    checks = [
        Check("docker daemon", True, f"{info.get('ServerVersion')} on {info.get('KernelVersion')}"),
        Check("daemon runtimes", True, listed or "none"),
    ]
    checks += _runsc_checks(runtimes)
    return (
        checks
        + _step("runtime registered", lambda: check_registered(resolved, client), "yes")
        + _step(
            "canary",
            lambda: run_canary(resolved, client, config.runtime.execd_image).summary(),
        )
    )


def _runsc_checks(runtimes: dict[str, dict]) -> list[Check]:
    checks = []
    for name, spec in sorted(runtimes.items()):
        path = spec.get("path", "")
        if not path.endswith("runsc"):
            continue
        args = spec.get("runtimeArgs") or []
        checks.append(
            Check(
                f"gVisor build {name!r}",
                True,
                f"{runsc_version(path)}; network: {runsc_network_mode(args)}",
            )
        )
    return checks


def _step(name: str, fn: Callable[[], object], ok_text: str | None = None) -> list[Check]:
    try:
        value = fn()
    except ConfigError as exc:
        return [Check(name, False, str(exc))]
    return [Check(name, True, ok_text or str(value))]


def run_doctor(config: AppConfig, console: Console | None = None) -> int:
    console = console or Console()
    checks = [Check("config", True, config.source)]
    resolution, resolved = _resolution_checks(config)
    checks += resolution
    if resolved is not None and config.runtime.type == "docker":
        checks += _docker_checks(config, resolved)
    elif resolved is not None:
        checks.append(Check("kubernetes", False, "Kubernetes mode is not available yet"))
    table = Table("check", "ok", "detail", show_lines=False)
    for check in checks:
        table.add_row(check.name, "[green]ok[/]" if check.ok else "[red]FAIL[/]", check.detail)
    console.print(table)
    failed = [c for c in checks if not c.ok]
    if resolved is not None and resolved.mode == "docker":
        name = resolved.docker_runtime or RUNC
        console.print(f"sandboxes run under: [bold]{name}[/] ({resolved.type or 'runc'})")
    return 1 if failed else 0
