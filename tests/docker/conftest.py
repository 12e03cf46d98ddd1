"""Fixtures for the Docker backend tests: real dockerd, no mocks.

Every sandbox a test creates carries the metadata label
``meta.sandhold.dev/sandhold-test-session=<random>``; teardown removes what
carries this session's value, so parallel users of the same daemon are
never touched. ``SANDHOLD_TEST_EXECD_IMAGE`` names another execd image for
local trials (default: the project's own ``sandhold/execd:<VERSION>``).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from docker import errors as docker_errors
from helpers import BUSYBOX_IMAGE, EXECD_IMAGE, require_image

from sandhold.backends.base import CreateSpec
from sandhold.backends.docker import DockerBackend
from sandhold.backends.docker.execd_volume import volume_name
from sandhold.config import parse_config

SESSION_KEY = "sandhold-test-session"
SESSION = uuid.uuid4().hex[:12]
SESSION_FILTER = {"label": [f"meta.sandhold.dev/{SESSION_KEY}={SESSION}"]}


@pytest.fixture(scope="session")
def execd_image(docker_client: Any) -> Iterator[str]:
    image = os.environ.get("SANDHOLD_TEST_EXECD_IMAGE", EXECD_IMAGE)
    require_image(docker_client, image)
    require_image(docker_client, BUSYBOX_IMAGE)
    name = volume_name(image)
    existed = bool(docker_client.volumes.list(filters={"name": f"^{name}$"}))
    yield image
    if not existed:  # ours: remove it unless someone else's sandbox uses it now
        # In use by someone else's sandbox, or already gone: leave it.
        with contextlib.suppress(Exception):
            docker_client.volumes.get(name).remove()


def session_containers(docker_client: Any) -> list[Any]:
    return docker_client.containers.list(all=True, filters=SESSION_FILTER)


@pytest.fixture
def new_spec() -> Callable[..., CreateSpec]:
    """A CreateSpec for busybox that this session's teardown will find."""

    def make(**kw: Any) -> CreateSpec:
        metadata = {SESSION_KEY: SESSION, **kw.pop("metadata", {})}
        kw.setdefault("image", BUSYBOX_IMAGE)
        kw.setdefault("entrypoint", ["tail", "-f", "/dev/null"])
        return CreateSpec(metadata=metadata, **kw)

    return make


@pytest.fixture
async def make_backend(
    tmp_path: Path, docker_client: Any, execd_image: str
) -> AsyncIterator[Callable[..., Any]]:
    """Build (and start) DockerBackends sharing one state dir; all closed after."""
    made: list[DockerBackend] = []

    async def make(runtime: str = "runc", *, start: bool = True, **docker: Any) -> DockerBackend:
        config = parse_config(
            {
                "runtime": {"execd_image": execd_image},
                "docker": {"state_dir": str(tmp_path / "state"), **docker},
            }
        )
        backend = DockerBackend(config, runtime=runtime)
        made.append(backend)
        if start:
            await backend.start()
        return backend

    yield make
    for backend in made:
        await backend.close()
    for container in session_containers(docker_client):
        with contextlib.suppress(docker_errors.NotFound):  # a timer got it first
            container.remove(force=True)


@pytest.fixture
def session_filter() -> dict[str, list[str]]:
    return SESSION_FILTER
