"""Failed creates on the real dockerd: the right error, and nothing left behind."""

from __future__ import annotations

import pytest

from sandhold.backends.base import Resources
from sandhold.backends.docker import labels
from sandhold.errors import (
    BackendUnavailable,
    ConfigError,
    ImageError,
    InvalidRequest,
    RuntimeUnavailable,
)

pytestmark = pytest.mark.docker


@pytest.fixture
def nothing_left_behind(docker_client, session_filter):
    """Asserts a test left no sandbox container and no Sandhold volume behind.

    Only Sandhold-labelled objects count (every container a create makes
    carries the labels from the start): other users of the daemon may come
    and go meanwhile.
    """
    managed = {"label": [f"{labels.MANAGED_BY}={labels.MANAGED_BY_VALUE}"]}

    def volumes() -> set[str]:
        found = {v.name for v in docker_client.volumes.list(filters=managed)}
        return {v for v in found if not v.startswith("sandhold-execd-")}

    before = volumes()
    yield
    assert not docker_client.containers.list(all=True, filters=session_filter), (
        "a failed create left a container"
    )
    assert volumes() <= before, "a failed create left a volume"


async def test_missing_image(runtime, make_backend, new_spec, nothing_left_behind):
    backend = await make_backend(runtime)
    with pytest.raises(ImageError, match="sandhold-test/does-not-exist"):
        await backend.create(new_spec(image="127.0.0.1:9/sandhold-test/does-not-exist:1"))


async def test_invalid_image_reference(make_backend, new_spec, nothing_left_behind):
    backend = await make_backend()
    with pytest.raises(ImageError, match="UPPER"):
        await backend.create(new_spec(image="UPPER::bad"))


async def test_entrypoint_that_cannot_start(runtime, make_backend, new_spec, nothing_left_behind):
    backend = await make_backend(runtime)
    with pytest.raises(InvalidRequest, match="no-such-binary") as caught:
        await backend.create(new_spec(entrypoint=["/no-such-binary", "x"]))
    assert caught.value.status == 400


async def test_entrypoint_that_exits_before_ready(make_backend, new_spec, nothing_left_behind):
    backend = await make_backend()
    with pytest.raises(InvalidRequest, match="code 4.*bye-now"):
        await backend.create(new_spec(entrypoint=["sh", "-c", "echo bye-now; exit 4"]))


@pytest.mark.parametrize(
    ("resources", "named"),
    [
        (Resources(memory_bytes=4 << 20), "memory"),
        (Resources(nano_cpus=1000 * 1_000_000_000), "CPU"),
    ],
)
async def test_limits_the_daemon_rejects(
    make_backend, new_spec, nothing_left_behind, resources, named
):
    backend = await make_backend()
    with pytest.raises(InvalidRequest, match=named):
        await backend.create(new_spec(resources=resources))


async def test_unknown_runtime(make_backend, new_spec, nothing_left_behind):
    backend = await make_backend("sandhold-test-absent")
    with pytest.raises(RuntimeUnavailable, match="sandhold-test-absent.*daemon.json") as caught:
        await backend.create(new_spec())
    assert caught.value.status == 503
    assert caught.value.code == "SECURE_RUNTIME::UNAVAILABLE"


async def test_ready_timeout_names_the_output(make_backend, new_spec, nothing_left_behind):
    # execd answers within the timeout only if it is fast: 1 ms never is.
    backend = await make_backend(ready_timeout_seconds=0.001)
    with pytest.raises(Exception, match="execd did not answer"):
        await backend.create(new_spec())


async def test_unreachable_daemon(tmp_path, execd_image, new_spec):
    from sandhold.backends.docker import DockerBackend
    from sandhold.config import parse_config

    config = parse_config(
        {
            "runtime": {"execd_image": execd_image},
            "docker": {"base_url": f"unix://{tmp_path}/no.sock", "state_dir": str(tmp_path)},
        }
    )
    backend = DockerBackend(config, runtime="runc")
    try:
        with pytest.raises(BackendUnavailable) as caught:
            await backend.create(new_spec())
        assert caught.value.status == 503
        with pytest.raises(BackendUnavailable):
            await backend.start()
    finally:
        await backend.close()


def test_host_network_is_refused(tmp_path):
    from sandhold.backends.docker import DockerBackend
    from sandhold.config import parse_config

    config = parse_config({"docker": {"network_mode": "host", "state_dir": str(tmp_path)}})
    with pytest.raises(ConfigError, match="host"):
        DockerBackend(config, runtime="runc")


async def test_missing_execd_image_names_the_fix(tmp_path, docker_client, new_spec):
    from sandhold.backends.docker import DockerBackend
    from sandhold.config import parse_config

    config = parse_config(
        {
            "runtime": {"execd_image": "sandhold-test/execd:absent"},
            "docker": {"state_dir": str(tmp_path)},
        }
    )
    backend = DockerBackend(config, runtime="runc", client=docker_client)
    try:
        await backend.start()  # logs the problem, does not crash
        with pytest.raises(BackendUnavailable, match="sandhold-test/execd:absent.*make images"):
            await backend.create(new_spec())
    finally:
        await backend.close()
    assert not docker_client.volumes.list(filters={"name": "sandhold-execd-absent"})
