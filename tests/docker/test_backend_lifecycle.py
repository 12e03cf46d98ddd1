"""DockerBackend on the real dockerd: the lifecycle verbs, under runc and runsc."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from helpers import BASE_IMAGE, require_image

from sandhold.backends.base import ListFilter, Resources, State
from sandhold.errors import InvalidRequest, SandboxNotFound, StateConflict

pytestmark = pytest.mark.docker


async def test_create_runs_under_the_resolved_runtime_and_execd_answers(
    runtime, make_backend, new_spec, docker_client
):
    backend = await make_backend(runtime)
    assert backend.runtime == runtime
    spec = new_spec(
        metadata={"agent_sandbox.name": "a", "thread_id": "t"},
        env={"GREETING": "hi"},
        timeout_seconds=600,
        resources=Resources(nano_cpus=500_000_000, memory_bytes=128 << 20, pids=64),
    )
    sandbox = await backend.create(spec)
    assert sandbox.status.state == State.RUNNING
    assert sandbox.runtime == runtime
    assert sandbox.metadata["agent_sandbox.name"] == "a"
    assert sandbox.metadata["thread_id"] == "t"
    assert sandbox.entrypoint == ["tail", "-f", "/dev/null"]
    assert sandbox.expires_at - sandbox.created_at == timedelta(seconds=600)

    container = docker_client.containers.get(f"sandhold-{sandbox.id}")
    host = container.attrs["HostConfig"]
    assert host["Runtime"] == runtime
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == host["MemorySwap"] == 128 << 20
    assert host["PidsLimit"] == 64
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert container.attrs["Config"]["Hostname"] == sandbox.id[:12]
    mounts = container.attrs["Mounts"]
    assert [(m["Destination"], m["RW"]) for m in mounts] == [("/opt/sandhold", False)]
    if runtime == "runsc":  # the isolation is real: gVisor's kernel answers
        assert "Starting gVisor" in container.exec_run(["dmesg"]).output.decode()

    endpoint = await backend.endpoint(sandbox.id, 44772)
    ping = httpx.get(f"http://{endpoint.address}/ping", headers=endpoint.headers, timeout=5)
    assert ping.is_success
    refused = httpx.get(f"http://{endpoint.address}/ping", headers={"X-EXECD-ACCESS-TOKEN": "x"})
    assert refused.status_code == 401
    other = await backend.endpoint(sandbox.id, 8080)
    assert other.address == f"{endpoint.address}/proxy/8080"
    assert other.headers == endpoint.headers

    assert (await backend.get(sandbox.id)).id == sandbox.id
    await backend.delete(sandbox.id)
    with pytest.raises(SandboxNotFound):
        await backend.get(sandbox.id)
    with pytest.raises(SandboxNotFound):
        await backend.delete(sandbox.id)


async def test_tokens_are_per_sandbox(make_backend, new_spec):
    backend = await make_backend()
    first, second = [await backend.create(new_spec()) for _ in range(2)]
    one = await backend.endpoint(first.id, 44772)
    two = await backend.endpoint(second.id, 44772)
    assert one.headers != two.headers
    assert httpx.get(f"http://{one.address}/ping", headers=two.headers).status_code == 401


async def test_pause_and_resume(runtime, make_backend, new_spec):
    backend = await make_backend(runtime)
    sandbox = await backend.create(new_spec())
    with pytest.raises(StateConflict):
        await backend.resume(sandbox.id)
    await backend.pause(sandbox.id)
    assert (await backend.get(sandbox.id)).status.state == State.PAUSED
    with pytest.raises(StateConflict):
        await backend.pause(sandbox.id)
    await backend.resume(sandbox.id)
    assert (await backend.get(sandbox.id)).status.state == State.RUNNING
    endpoint = await backend.endpoint(sandbox.id, 44772)
    assert httpx.get(f"http://{endpoint.address}/ping", headers=endpoint.headers).is_success
    await backend.pause(sandbox.id)
    await backend.delete(sandbox.id)  # a paused sandbox can be deleted
    with pytest.raises(SandboxNotFound):
        await backend.get(sandbox.id)


async def test_list_filters_states_or_metadata_and_oldest_first(make_backend, new_spec):
    backend = await make_backend()
    group = {"group": datetime.now(UTC).isoformat()}
    a = await backend.create(new_spec(metadata={**group, "agent_sandbox.name": "a"}))
    b = await backend.create(new_spec(metadata={**group, "agent_sandbox.name": "b"}))
    c = await backend.create(new_spec(metadata={**group, "agent_sandbox.name": "a", "x": "1"}))
    await backend.pause(b.id)

    async def ids(**flt) -> list[str]:
        return [s.id for s in await backend.list(ListFilter(**flt))]

    assert await ids(metadata=group) == [a.id, b.id, c.id]
    assert await ids(metadata={**group, "agent_sandbox.name": "a"}) == [a.id, c.id]
    assert await ids(metadata={**group, "agent_sandbox.name": "a", "x": "1"}) == [c.id]
    assert await ids(metadata=group, states=frozenset({State.PAUSED})) == [b.id]
    both = frozenset({State.PAUSED, State.RUNNING})
    assert await ids(metadata=group, states=both) == [a.id, b.id, c.id]
    assert await ids(metadata=group, states=frozenset({State.FAILED})) == []


async def test_renew_and_patch_metadata_outside_the_container(make_backend, new_spec):
    backend = await make_backend()
    spec = new_spec(metadata={"keep": "1", "drop": "2"}, timeout_seconds=60)
    sandbox = await backend.create(spec)
    later = datetime.now(UTC) + timedelta(hours=2)
    assert await backend.renew(sandbox.id, later) == later
    patched = await backend.patch_metadata(sandbox.id, {"drop": None, "agent_sandbox.x": "y"})
    assert patched.metadata["keep"] == "1"
    assert patched.metadata["agent_sandbox.x"] == "y"
    assert "drop" not in patched.metadata
    again = await backend.get(sandbox.id)
    assert again.expires_at == later and again.metadata == patched.metadata
    listed = await backend.list(ListFilter(metadata={"agent_sandbox.x": "y", "keep": "1"}))
    assert [s.id for s in listed] == [sandbox.id]
    with pytest.raises(InvalidRequest):
        await backend.renew(sandbox.id, datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(SandboxNotFound):
        await backend.renew("0" * 32, later)


async def test_logs_and_events(make_backend, new_spec):
    backend = await make_backend()
    sandbox = await backend.create(
        new_spec(entrypoint=["sh", "-c", "echo hello-from-sandbox; exec tail -f /dev/null"])
    )
    logs = await backend.logs(sandbox.id, None)
    assert "hello-from-sandbox" in logs.content and not logs.truncated
    await backend.pause(sandbox.id)
    events = (await backend.events(sandbox.id, None)).content
    for action in ("create", "start", "pause"):
        assert f" {action} " in events or events.endswith(f" {action}")
    assert "execd-token" not in events


async def test_exited_sandbox_states(make_backend, new_spec, docker_client):
    backend = await make_backend()
    sandbox = await backend.create(new_spec(entrypoint=["sh", "-c", "sleep 1; exit 3"]))
    docker_client.containers.get(f"sandhold-{sandbox.id}").wait(timeout=30)
    failed = await backend.get(sandbox.id)
    assert failed.status.state == State.FAILED and "3" in failed.status.message
    listed = await backend.list(ListFilter(states=frozenset({State.FAILED})))
    assert sandbox.id in [s.id for s in listed]
    with pytest.raises(StateConflict):
        await backend.endpoint(sandbox.id, 44772)


async def test_execd_volume_is_refilled_after_a_prune(
    tmp_path, docker_client, execd_image, new_spec
):
    from sandhold.backends.docker import DockerBackend
    from sandhold.backends.docker.execd_volume import volume_name
    from sandhold.config import parse_config

    own_image = f"sandhold-test/execd:vol-{tmp_path.name[-8:]}"
    docker_client.images.get(execd_image).tag(own_image)
    config = parse_config(
        {"runtime": {"execd_image": own_image}, "docker": {"state_dir": str(tmp_path)}}
    )
    backend = DockerBackend(config, runtime="runc", client=docker_client)
    try:
        await backend.delete((await backend.create(new_spec())).id)
        docker_client.volumes.get(volume_name(own_image)).remove()  # an admin's prune
        sandbox = await backend.create(new_spec())
        assert (await backend.get(sandbox.id)).status.state == State.RUNNING
        await backend.delete(sandbox.id)
    finally:
        await backend.close()
        with contextlib.suppress(Exception):
            docker_client.volumes.get(volume_name(own_image)).remove()
        docker_client.images.remove(own_image)


async def test_base_image(runtime, make_backend, new_spec, docker_client):
    require_image(docker_client, BASE_IMAGE)
    backend = await make_backend(runtime)
    sandbox = await backend.create(new_spec(image=BASE_IMAGE, entrypoint=["sleep", "infinity"]))
    container = docker_client.containers.get(f"sandhold-{sandbox.id}")
    result = container.exec_run(["bash", "-c", "python3 -c 'print(6*7)'"])
    assert result.output.decode().strip() == "42"
