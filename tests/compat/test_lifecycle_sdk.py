"""The lifecycle API through the official OpenSandbox Python SDK (1.1.1).

Each test starts the real ``sandhold serve`` against the real dockerd and
drives it exactly as a user's program would.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import (
    BASE_IMAGE,
    BUSYBOX_IMAGE,
    create_body,
    require_image,
    runtime_sections,
    wait_for,
)
from opensandbox.models.sandboxes import SandboxFilter
from opensandbox.sync import SandboxManagerSync, SandboxSync

pytestmark = pytest.mark.docker

MANAGED = {"label": "sandhold.dev/managed-by=sandhold"}


def sandbox_containers(docker_client: Any, sandbox_id: str | None = None) -> list[Any]:
    """Managed containers (sparse: no inspect, so concurrent removals can't fail it)."""
    filters = dict(MANAGED)
    if sandbox_id:
        filters = {
            "label": ["sandhold.dev/managed-by=sandhold", f"sandhold.dev/sandbox-id={sandbox_id}"]
        }
    return docker_client.containers.list(all=True, sparse=True, filters=filters)


def managed_volumes(docker_client: Any) -> set[str]:
    return {v.name for v in docker_client.volumes.list(filters=MANAGED)}


@pytest.fixture
def base_image(docker_client: Any) -> str:
    require_image(docker_client, BASE_IMAGE)
    return BASE_IMAGE


def test_full_lifecycle(server_factory: Any, runtime: str, base_image: str, docker_client: Any):
    server = server_factory(runtime_sections(runtime))
    conn = server.connection()
    sandbox = SandboxSync.create(
        base_image,
        connection_config=conn,
        metadata={"agent_sandbox.name": "t1", "thread_id": "42"},
        env={"GREETING": "hello"},
        timeout=timedelta(minutes=10),
    )
    try:
        (container,) = sandbox_containers(docker_client, sandbox.id)
        container.reload()
        assert container.attrs["HostConfig"]["Runtime"] == runtime

        result = sandbox.commands.run("echo $GREETING; echo oops >&2; exit 0")
        assert [m.text for m in result.logs.stdout] == ["hello"]
        assert [m.text for m in result.logs.stderr] == ["oops"]
        assert result.error is None

        failed = sandbox.commands.run("exit 3")
        assert failed.error is not None and failed.error.value == "3"

        sandbox.files.write_file("/tmp/data.txt", "payload\n")
        assert sandbox.files.read_file("/tmp/data.txt") == "payload\n"

        info = sandbox.get_info()
        assert info.id == sandbox.id
        assert info.status.state == "Running"
        assert info.metadata["agent_sandbox.name"] == "t1"
        assert info.image.image == base_image

        manager = SandboxManagerSync.create(conn)
        try:
            found = manager.list_sandbox_infos(
                SandboxFilter(states=["Running"], metadata={"thread_id": "42"})
            )
            assert [s.id for s in found.sandbox_infos] == [sandbox.id]
            none = manager.list_sandbox_infos(
                SandboxFilter(metadata={"thread_id": "42", "agent_sandbox.name": "other"})
            )
            assert none.sandbox_infos == []
            paused_only = manager.list_sandbox_infos(SandboxFilter(states=["Paused"]))
            assert sandbox.id not in [s.id for s in paused_only.sandbox_infos]
        finally:
            manager.close()

        before = info.expires_at
        renewed = sandbox.renew(timedelta(minutes=30))
        assert renewed.expires_at > before
        assert sandbox.get_info().expires_at == renewed.expires_at

        sandbox.pause()
        assert sandbox.get_info().status.state == "Paused"
        resumed = SandboxSync.resume(sandbox.id, connection_config=conn)
        assert resumed.get_info().status.state == "Running"
        assert resumed.files.read_file("/tmp/data.txt") == "payload\n"
        resumed.close()
    finally:
        sandbox.kill()
        sandbox.close()
    wait_for(lambda: not sandbox_containers(docker_client, sandbox.id), 30, "container removal")


def test_server_proxy_carries_execd(server_factory: Any, base_image: str):
    server = server_factory()
    with server.sandbox(base_image, use_server_proxy=True) as sandbox:
        endpoint = sandbox.get_endpoint(44772)
        assert f"/sandboxes/{sandbox.id}/proxy/44772" in endpoint.endpoint
        result = sandbox.commands.run("for i in 1 2 3; do echo line$i; done")
        assert [m.text for m in result.logs.stdout] == ["line1", "line2", "line3"]
        sandbox.files.write_file("/tmp/p.bin", b"\x00\x01binary\xff")
        assert sandbox.files.read_bytes("/tmp/p.bin") == b"\x00\x01binary\xff"
        assert sandbox.get_endpoint(18080).endpoint


def test_restart_keeps_sandboxes_and_ttl(server_factory: Any, docker_client: Any):
    require_image(docker_client, BUSYBOX_IMAGE)
    server = server_factory()
    sandbox = SandboxSync.create(
        BUSYBOX_IMAGE, connection_config=server.connection(), timeout=timedelta(minutes=7)
    )
    expires = sandbox.get_info().expires_at
    sandbox.close()

    server.restart()

    again = SandboxSync.connect(sandbox.id, connection_config=server.connection())
    try:
        info = again.get_info()
        assert info.status.state == "Running"
        assert info.expires_at == expires
        assert [m.text for m in again.commands.run("echo still here").logs.stdout] == ["still here"]
    finally:
        again.kill()
        again.close()


def test_expired_sandbox_disappears(server_factory: Any, docker_client: Any):
    require_image(docker_client, BUSYBOX_IMAGE)
    server = server_factory()
    sandbox = SandboxSync.create(
        BUSYBOX_IMAGE, connection_config=server.connection(), timeout=timedelta(seconds=3)
    )
    sandbox.close()
    wait_for(lambda: not sandbox_containers(docker_client, sandbox.id), 30, "expiry")
    with server.api() as api:
        assert api.get(f"/sandboxes/{sandbox.id}").status_code == 404


def test_sandbox_that_expired_while_server_was_down_is_removed_at_start(
    server_factory: Any, docker_client: Any
):
    require_image(docker_client, BUSYBOX_IMAGE)
    server = server_factory()
    sandbox = SandboxSync.create(
        BUSYBOX_IMAGE, connection_config=server.connection(), timeout=timedelta(seconds=10)
    )
    expires_at = sandbox.get_info().expires_at
    sandbox.close()
    server.stop()
    assert datetime.now(UTC) < expires_at, "the server took too long to stop for this test"
    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 1)
    assert sandbox_containers(docker_client, sandbox.id), "nothing may expire while down"
    server.start()
    wait_for(lambda: not sandbox_containers(docker_client, sandbox.id), 20, "reap at start")


@pytest.mark.parametrize(
    ("body_changes", "status"),
    [
        ({"image": {"uri": "sandhold/no-such-image:1"}}, 400),
        ({"entrypoint": ["/no/such/binary"]}, 400),
        ({"resourceLimits": {"cpu": "1", "memory": "4Mi"}}, 400),
        ({"resourceLimits": {"cpu": "-1", "memory": "64Mi"}}, 400),
        ({"networkPolicy": {"defaultAction": "deny", "egress": []}}, 501),
    ],
)
def test_bad_creates_fail_cleanly(
    server_factory: Any, docker_client: Any, body_changes: dict, status: int
):
    require_image(docker_client, BUSYBOX_IMAGE)
    server = server_factory()
    before = {c.id for c in sandbox_containers(docker_client)}
    volumes_before = managed_volumes(docker_client)
    body = create_body(BUSYBOX_IMAGE, **body_changes)
    with server.api() as api:
        response = api.post("/sandboxes", json=body)
    assert response.status_code == status, response.text
    error = response.json()
    assert set(error) >= {"code", "message"} and error["message"]
    assert {c.id for c in sandbox_containers(docker_client)} == before
    assert managed_volumes(docker_client) == volumes_before


def test_renew_and_metadata_survive_restart(server_factory: Any, docker_client: Any):
    require_image(docker_client, BUSYBOX_IMAGE)
    server = server_factory()
    with server.sandbox(
        BUSYBOX_IMAGE, timeout=timedelta(minutes=5), metadata={"a": "1", "gone": "x"}
    ) as sandbox:
        target = datetime.now(UTC) + timedelta(minutes=45)
        with server.api() as api:
            r = api.post(
                f"/sandboxes/{sandbox.id}/renew-expiration",
                json={"expiresAt": target.isoformat()},
            )
            assert r.status_code == 200, r.text
            r = api.patch(f"/sandboxes/{sandbox.id}/metadata", json={"b": "2", "gone": None})
            assert r.status_code == 200, r.text
        server.restart()
        info = SandboxManagerSync.create(server.connection()).get_sandbox_info(sandbox.id)
        assert info.metadata == {"a": "1", "b": "2"}
        assert abs((info.expires_at - target).total_seconds()) < 2


def test_servers_sharing_a_daemon_stay_apart(server_factory: Any, docker_client: Any):
    require_image(docker_client, BUSYBOX_IMAGE)
    first, second = server_factory(), server_factory()
    with first.sandbox(BUSYBOX_IMAGE) as sandbox:
        with second.api() as api:
            assert api.get(f"/sandboxes/{sandbox.id}").status_code == 404
            assert sandbox.id not in api.get("/sandboxes").text
            assert api.delete(f"/sandboxes/{sandbox.id}").status_code == 404
        assert sandbox.get_info().status.state == "Running"
