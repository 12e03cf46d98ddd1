"""Fixtures for the execd suite: a connected SDK sandbox per runtime.

``execd_sandbox`` is the only fixture the execd tests use. It asks a real
``sandhold serve`` (one per runtime, shared by the session) for a fresh
sandbox, so the execd binary is injected exactly as in production (the
execd volume, ``execd init`` as PID 1, a per-sandbox token). Tests that need
a different image override ``sandbox_image`` with ``pytest.mark.parametrize``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import BASE_IMAGE, EXECD_IMAGE, ServerProcess, require_image, runtime_sections


@pytest.fixture(scope="session")
def execd_servers(
    tmp_path_factory: pytest.TempPathFactory, docker_client: Any
) -> Iterator[dict[str, ServerProcess]]:
    """Lazily started servers keyed by runtime; stopped (and emptied) at the end."""
    require_image(docker_client, EXECD_IMAGE)
    servers: dict[str, ServerProcess] = {}
    yield servers
    for server in servers.values():
        try:
            server.delete_all_sandboxes()
        finally:
            server.stop()


def _server_for(servers: dict[str, ServerProcess], runtime: str, workdir: Path) -> ServerProcess:
    if runtime not in servers:
        server = ServerProcess(workdir=workdir, sections=runtime_sections(runtime))
        server.start()
        servers[runtime] = server
    return servers[runtime]


@pytest.fixture
def sandbox_image(docker_client: Any) -> str:
    """The Debian base image (bash, python3); skipped when not built yet."""
    require_image(docker_client, BASE_IMAGE)
    return BASE_IMAGE


@pytest.fixture
def execd_sandbox(
    runtime: str,
    sandbox_image: str,
    execd_servers: dict[str, ServerProcess],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """A ready ``SandboxSync`` under ``runtime``; killed after the test."""
    from opensandbox.sync import SandboxSync

    server = _server_for(execd_servers, runtime, tmp_path_factory.mktemp(f"execd-{runtime}"))
    sandbox = SandboxSync.create(
        sandbox_image,
        connection_config=server.connection(),
        timeout=timedelta(minutes=10),
        ready_timeout=timedelta(seconds=60),
    )
    try:
        yield sandbox
    finally:
        try:
            sandbox.kill()
        finally:
            sandbox.close()
