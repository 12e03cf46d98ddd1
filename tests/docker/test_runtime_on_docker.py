"""The secure runtime on a real dockerd: chosen by config, proven, never downgraded.

These tests register and remove extra runtimes in daemon.json (SIGHUP, no
restart); the entries they add carry a ``sandhold-test-`` prefix and are
removed again even when a test fails.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from helpers import (
    BUSYBOX_IMAGE,
    ROOT,
    ServerProcess,
    create_body,
    require_image,
    require_runtime,
    wait_for,
)

pytestmark = pytest.mark.docker


def runsc_entry(docker_client: Any) -> dict:
    require_runtime(docker_client, "runsc")
    return docker_client.info()["Runtimes"]["runsc"]


def _runtimes(docker_client: Any) -> dict:
    return docker_client.info().get("Runtimes") or {}


@contextmanager
def daemon_runtime(docker_client: Any, name: str, path: str, args: list[str]) -> Iterator[None]:
    """Register ``name`` in daemon.json for the duration (SIGHUP, no restart)."""
    assert name.startswith("sandhold-test-")
    edit = [sys.executable, str(ROOT / "hack/daemon_json.py")]
    subprocess.run([*edit, "set", name, path, *args], check=True, capture_output=True)
    reload_dockerd()
    wait_for(lambda: name in _runtimes(docker_client), 20, f"{name} registered")
    try:
        yield
    finally:
        remove_daemon_runtime(docker_client, name)


def remove_daemon_runtime(docker_client: Any, name: str) -> None:
    edit = [sys.executable, str(ROOT / "hack/daemon_json.py")]
    subprocess.run([*edit, "remove", name], check=True, capture_output=True)
    reload_dockerd()
    wait_for(lambda: name not in _runtimes(docker_client), 20, f"{name} removed")


def reload_dockerd() -> None:
    subprocess.run([str(ROOT / "hack/dockerd.sh"), "reload"], check=True, capture_output=True)


def canary_containers(docker_client: Any) -> list[Any]:
    filters = {"label": "sandhold.dev/role=canary"}
    return docker_client.containers.list(all=True, sparse=True, filters=filters)


def start_failing(server_factory: Any, sections: dict) -> ServerProcess:
    """Start a server that must refuse to start; return it after it exited."""
    server = server_factory(sections, expect_ready=False)
    code = server.wait_exit(60)
    assert code != 0, server.logs()
    return server


def last_error_line(server: ServerProcess) -> str:
    lines = [line for line in server.logs().splitlines() if "sandhold: error:" in line]
    assert lines, server.logs()
    return lines[-1]


def containers_of(docker_client: Any, sandbox_id: str) -> list[Any]:
    return docker_client.containers.list(
        all=True, filters={"label": f"sandhold.dev/sandbox-id={sandbox_id}"}
    )


def managed_ids(docker_client: Any) -> set[str]:
    # sparse: no per-container inspect, so containers other suites remove
    # meanwhile cannot make the listing itself fail.
    filters = {"label": "sandhold.dev/managed-by=sandhold"}
    return {c.id for c in docker_client.containers.list(all=True, sparse=True, filters=filters)}


def test_gvisor_sandbox_runs_under_runsc_and_execd_works(server_factory: Any, docker_client: Any):
    require_runtime(docker_client, "runsc")
    require_image(docker_client, BUSYBOX_IMAGE)
    server = server_factory({"secure_runtime": {"type": "gvisor"}})
    with server.sandbox(BUSYBOX_IMAGE) as sandbox:
        (container,) = containers_of(docker_client, sandbox.id)
        assert container.attrs["HostConfig"]["Runtime"] == "runsc"
        dmesg = sandbox.commands.run("dmesg")
        assert any("gVisor" in m.text for m in dmesg.logs.stdout), dmesg.logs.stdout
        uname = sandbox.commands.run("uname -r")
        (release,) = [m.text for m in uname.logs.stdout]
        assert release != docker_client.info()["KernelVersion"]  # not the host's kernel
        sandbox.files.write_file("/tmp/x", "under gvisor")
        assert sandbox.files.read_file("/tmp/x") == "under gvisor"
        with server.api() as api:
            events = api.get(f"/sandboxes/{sandbox.id}/diagnostics/events").json()
        assert "runsc" in events["content"]


def test_without_section_sandboxes_run_under_runc(server_factory: Any, docker_client: Any):
    require_image(docker_client, BUSYBOX_IMAGE)
    server = server_factory()
    with server.sandbox(BUSYBOX_IMAGE) as sandbox:
        (container,) = containers_of(docker_client, sandbox.id)
        assert container.attrs["HostConfig"]["Runtime"] == "runc"
        uname = sandbox.commands.run("uname -r")
        host_kernel = docker_client.info()["KernelVersion"]
        assert [m.text for m in uname.logs.stdout] == [host_kernel]


def test_request_fields_cannot_change_the_runtime(server_factory: Any, docker_client: Any):
    require_runtime(docker_client, "runsc")
    require_image(docker_client, BUSYBOX_IMAGE)
    server = server_factory({"secure_runtime": {"type": "gvisor"}})
    with server.api() as api:
        body = create_body(BUSYBOX_IMAGE)
        refused = api.post("/sandboxes", json={**body, "extensions": {"runtime": "runc"}})
        assert refused.status_code == 400, refused.text
        created = api.post(
            "/sandboxes",
            json={
                **body,
                "metadata": {"runtime": "runc", "runtimeClassName": "runc"},
                "env": {"DOCKER_RUNTIME": "runc"},
            },
        )
        assert created.status_code == 202, created.text
        (container,) = containers_of(docker_client, created.json()["id"])
        assert container.attrs["HostConfig"]["Runtime"] == "runsc"


def test_missing_runtime_refuses_to_start(server_factory: Any, docker_client: Any):
    server = start_failing(
        server_factory,
        {"secure_runtime": {"type": "gvisor", "docker_runtime": "sandhold-test-absent"}},
    )
    line = last_error_line(server)
    assert "sandhold-test-absent" in line
    assert "runc" in line  # what the daemon has
    assert "/etc/docker/daemon.json" in line
    assert len(line.splitlines()) == 1


def test_kata_without_kata_installed_refuses_to_start(server_factory: Any, docker_client: Any):
    server = start_failing(server_factory, {"secure_runtime": {"type": "kata"}})
    assert "kata-runtime" in last_error_line(server)


def test_firecracker_in_docker_mode_refuses_to_start(server_factory: Any, docker_client: Any):
    server = start_failing(server_factory, {"secure_runtime": {"type": "firecracker"}})
    line = last_error_line(server)
    assert "kata-fc" in line and "Kubernetes" in line


def test_registered_but_broken_runtime_refuses_to_start(server_factory: Any, docker_client: Any):
    with daemon_runtime(docker_client, "sandhold-test-broken", "/nonexistent/runsc", []):
        server = start_failing(
            server_factory,
            {"secure_runtime": {"type": "gvisor", "docker_runtime": "sandhold-test-broken"}},
        )
    line = last_error_line(server)
    assert "sandhold-test-broken" in line and "cannot start" in line
    assert not canary_containers(docker_client), "a failed canary must leave nothing behind"


def test_runc_posing_as_gvisor_refuses_to_start(server_factory: Any, docker_client: Any):
    # A daemon.json entry named like gVisor but pointing at runc must not pass.
    with daemon_runtime(docker_client, "sandhold-test-fake-gvisor", "runc", []):
        server = start_failing(
            server_factory,
            {"secure_runtime": {"type": "gvisor", "docker_runtime": "sandhold-test-fake-gvisor"}},
        )
    assert "did not run gVisor" in last_error_line(server)
    assert not canary_containers(docker_client)


def test_custom_runtime_name_works(server_factory: Any, docker_client: Any):
    require_image(docker_client, BUSYBOX_IMAGE)
    entry = runsc_entry(docker_client)
    args = [*(entry.get("runtimeArgs") or []), "--watchdog-action=log"]
    with daemon_runtime(docker_client, "sandhold-test-custom", entry["path"], args):
        server = server_factory(
            {"secure_runtime": {"type": "gvisor", "docker_runtime": "sandhold-test-custom"}}
        )
        with server.sandbox(BUSYBOX_IMAGE) as sandbox:
            (container,) = containers_of(docker_client, sandbox.id)
            assert container.attrs["HostConfig"]["Runtime"] == "sandhold-test-custom"
            dmesg = sandbox.commands.run("dmesg")
            assert any("gVisor" in m.text for m in dmesg.logs.stdout)


def test_runtime_removed_after_startup_gives_503_and_leaves_nothing(
    server_factory: Any, docker_client: Any
):
    require_image(docker_client, BUSYBOX_IMAGE)
    entry = runsc_entry(docker_client)
    name = "sandhold-test-vanishing"
    with daemon_runtime(docker_client, name, entry["path"], entry.get("runtimeArgs") or []):
        server = server_factory({"secure_runtime": {"type": "gvisor", "docker_runtime": name}})
        remove_daemon_runtime(docker_client, name)
        before = managed_ids(docker_client)
        with server.api() as api:
            response = api.post("/sandboxes", json=create_body(BUSYBOX_IMAGE))
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "SECURE_RUNTIME::UNAVAILABLE"
        assert name in response.json()["message"]
        assert managed_ids(docker_client) == before


def run_doctor(config: Any) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sandhold.cli", "doctor", "--config", str(config)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )


def test_doctor_reports_runtime_and_canary(tmp_path: Any, docker_client: Any):
    require_runtime(docker_client, "runsc")
    good = tmp_path / "good.toml"
    good.write_text('[secure_runtime]\ntype = "gvisor"\n')
    result = run_doctor(good)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "runsc" in result.stdout and "gVisor" in result.stdout
    assert "network" in result.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text('[secure_runtime]\ntype = "gvisor"\ndocker_runtime = "sandhold-test-absent"\n')
    result = run_doctor(bad)
    assert result.returncode == 1
    assert "sandhold-test-absent" in result.stdout


def test_unreachable_daemon_refuses_to_start(server_factory: Any, tmp_path: Any):
    socket = f"unix://{tmp_path}/no-docker.sock"
    server = start_failing(server_factory, {"docker": {"base_url": socket}})
    line = last_error_line(server)
    assert "cannot reach the Docker daemon" in line and "no-docker.sock" in line
