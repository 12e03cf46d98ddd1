"""Fixtures shared by the suites that hit real engines.

``tests/unit`` needs none of this. ``tests/docker`` and ``tests/compat``
talk to the real dockerd; when it does not answer they skip locally, but
under CI (``CI=true``) a missing engine is a failure: a suite that silently
skips its engine tests proves nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import EXECD_IMAGE, ServerProcess, missing, require_image, require_runtime


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    try:
        import docker

        client = docker.from_env(max_pool_size=64)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine"
        missing(f"no Docker daemon answers ({exc}); run `make setup`")
    yield client
    client.close()


@pytest.fixture
def server_factory(tmp_path: Path, docker_client: Any) -> Iterator[Any]:
    """Start ``sandhold serve`` processes with given config sections.

    Everything a test's servers created is removed afterwards.
    """
    started: list[ServerProcess] = []
    require_image(docker_client, EXECD_IMAGE)

    def start(sections: dict[str, dict[str, Any]] | None = None, **kw: Any) -> ServerProcess:
        workdir = tmp_path / f"server{len(started)}"
        workdir.mkdir()
        proc = ServerProcess(workdir=workdir, sections=sections or {})
        started.append(proc)
        proc.start(**kw)
        return proc

    yield start
    for proc in started:
        try:
            proc.delete_all_sandboxes()
        finally:
            proc.stop()


@pytest.fixture(params=["runc", "runsc"])
def runtime(request: pytest.FixtureRequest, docker_client: Any) -> str:
    require_runtime(docker_client, request.param)
    return request.param
