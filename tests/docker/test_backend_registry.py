"""Pulling a missing image with the caller's credentials from a real registry.

A local registry (Debian's ``docker-registry``, htpasswd auth) listens on
127.0.0.1, which dockerd trusts over plain HTTP; it lives as long as the
module's tests and its storage is a temporary directory.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import BUSYBOX_IMAGE, free_port, missing

from sandhold.backends.base import ImageAuth, State
from sandhold.errors import ImageError

pytestmark = pytest.mark.docker

USER = "sandhold-test"
PASSWORD = "s3cret-pass"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``127.0.0.1:<port>`` of a registry that wants USER / PASSWORD."""
    for tool in ("docker-registry", "htpasswd"):
        if shutil.which(tool) is None:
            missing(f"{tool} is not installed (apt-get install docker-registry apache2-utils)")
    root: Path = tmp_path_factory.mktemp("registry")
    htpasswd = subprocess.run(
        ["htpasswd", "-Bbn", USER, PASSWORD], check=True, capture_output=True, text=True
    ).stdout
    (root / "htpasswd").write_text(htpasswd)
    address = f"127.0.0.1:{free_port()}"
    (root / "config.yml").write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}}}\n"
        f"http: {{addr: '{address}'}}\n"
        f"auth: {{htpasswd: {{realm: sandhold-test, path: {root / 'htpasswd'}}}}}\n"
    )
    log = (root / "registry.log").open("wb")
    proc = subprocess.Popen(
        ["docker-registry", "serve", str(root / "config.yml")], stdout=log, stderr=log
    )
    try:
        _wait_answering(f"http://{address}/v2/", proc)
        yield address
    finally:
        proc.terminate()
        proc.wait(10)


def _wait_answering(url: str, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "docker-registry exited"
        try:
            if httpx.get(url, timeout=1).status_code == 401:  # up, and wants auth
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"registry at {url} did not answer in {timeout}s")


@pytest.fixture
def private_image(registry: str, docker_client: Any) -> Iterator[str]:
    """busybox pushed to the registry, then absent from dockerd's image store."""
    repository = f"{registry}/sandhold-test/busybox"
    tag = f"auth-{int(time.time() * 1000)}"
    reference = f"{repository}:{tag}"
    docker_client.images.get(BUSYBOX_IMAGE).tag(repository, tag)
    auth = {"username": USER, "password": PASSWORD}
    for line in docker_client.images.push(
        repository, tag, auth_config=auth, stream=True, decode=True
    ):
        assert "error" not in line, line
    docker_client.images.remove(reference)
    yield reference
    if docker_client.images.list(name=repository):
        docker_client.images.remove(reference, force=True)


async def test_pull_needs_the_right_credentials(make_backend, new_spec, private_image):
    backend = await make_backend()
    with pytest.raises(ImageError, match="sandhold-test/busybox"):
        await backend.create(new_spec(image=private_image))
    with pytest.raises(ImageError, match="sandhold-test/busybox") as caught:
        await backend.create(new_spec(image=private_image, image_auth=ImageAuth(USER, "wrong")))
    assert "wrong" not in caught.value.message
    sandbox = await backend.create(
        new_spec(image=private_image, image_auth=ImageAuth(USER, PASSWORD))
    )
    assert sandbox.status.state == State.RUNNING
    assert sandbox.image == private_image
