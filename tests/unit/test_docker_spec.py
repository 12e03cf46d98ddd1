"""The pure container-spec builder: what every sandbox container looks like."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandhold.backends.base import CreateSpec, Resources
from sandhold.backends.docker import labels
from sandhold.backends.docker.spec import (
    EXECD_BIN,
    Identity,
    build_create_kwargs,
    check_network_mode,
    public_host,
)
from sandhold.config import parse_config
from sandhold.errors import ConfigError, InvalidRequest

SANDBOX_ID = "0123456789abcdef0123456789abcdef"
IDENTITY = Identity(
    sandbox_id=SANDBOX_ID,
    token="tok-en",
    created_at=datetime(2025, 1, 1, tzinfo=UTC),
    expires_at=datetime(2025, 1, 1, 0, 10, tzinfo=UTC),
)


def build(spec: CreateSpec, *, runtime: str = "runsc", **sections: dict) -> dict:
    return build_create_kwargs(
        spec,
        config=parse_config(sections),
        runtime=runtime,
        execd_volume="sandhold-execd-0.1.0",
        identity=IDENTITY,
    )


def make_spec(**kw) -> CreateSpec:
    return CreateSpec(**{"image": "img:1", "entrypoint": ["python3", "-m", "http.server"], **kw})


def test_runtime_is_always_explicit_and_spec_cannot_change_it():
    kwargs = build(make_spec(env={"runtime": "runc"}, metadata={"runtime": "runc"}))
    assert kwargs["runtime"] == "runsc"
    assert kwargs["labels"][labels.RUNTIME] == "runsc"


def test_execd_wraps_the_entrypoint_and_overrides_image_entrypoint():
    kwargs = build(make_spec())
    assert kwargs["entrypoint"] == [EXECD_BIN]
    assert kwargs["command"] == ["init", "--", "python3", "-m", "http.server"]


def test_execd_volume_is_read_only_and_never_filled_from_the_sandbox_image():
    (mount,) = build(make_spec())["mounts"]
    assert mount["Target"] == "/opt/sandhold"
    assert mount["Source"] == "sandhold-execd-0.1.0"
    assert mount["ReadOnly"] is True
    assert mount["VolumeOptions"]["NoCopy"] is True


def test_token_env_cannot_be_overridden_by_the_caller():
    env = build(make_spec(env={"EXECD_ACCESS_TOKEN": "mine", "A": "1"}))["environment"]
    assert env == {"EXECD_ACCESS_TOKEN": "tok-en", "A": "1"}


def test_limits_and_hardening():
    spec = make_spec(resources=Resources(nano_cpus=500_000_000, memory_bytes=64 << 20, pids=77))
    kwargs = build(spec)
    assert kwargs["nano_cpus"] == 500_000_000
    assert kwargs["mem_limit"] == kwargs["memswap_limit"] == 64 << 20
    assert kwargs["pids_limit"] == 77
    assert kwargs["security_opt"] == ["no-new-privileges"]
    assert "NET_RAW" in kwargs["cap_drop"]


def test_defaults_from_config():
    kwargs = build(make_spec(), docker={"pids_limit": 99, "no_new_privileges": False})
    assert kwargs["pids_limit"] == 99
    assert "security_opt" not in kwargs
    assert "mem_limit" not in kwargs and "nano_cpus" not in kwargs


def test_one_published_port_on_host_ip_with_random_host_port():
    kwargs = build(make_spec(), docker={"host_ip": "10.0.0.5"})
    assert kwargs["ports"] == {"44772/tcp": ("10.0.0.5",)}
    assert kwargs["network_mode"] == "bridge"


def test_name_hostname_and_labels():
    kwargs = build(make_spec(metadata={"agent_sandbox.name": "x"}))
    assert kwargs["name"] == f"sandhold-{SANDBOX_ID}"
    assert kwargs["hostname"] == SANDBOX_ID[:12]
    assert kwargs["labels"][labels.SANDBOX_ID] == SANDBOX_ID
    assert kwargs["labels"][labels.EXECD_TOKEN] == "tok-en"
    assert kwargs["labels"]["meta.sandhold.dev/agent_sandbox.name"] == "x"
    assert kwargs["labels"][labels.EXPIRES_AT] == "2025-01-01T00:10:00+00:00"


@pytest.mark.parametrize("mode", ["host", "none", "container:abc"])
def test_dangerous_network_modes_are_refused(mode):
    with pytest.raises(ConfigError, match="network_mode"):
        check_network_mode(mode)
    with pytest.raises(ConfigError):
        build(make_spec(), docker={"network_mode": mode})


def test_empty_entrypoint_is_refused():
    with pytest.raises(InvalidRequest, match="entrypoint"):
        build(make_spec(entrypoint=[]))


@pytest.mark.parametrize(
    ("eip", "host_ip", "expected"),
    [
        (None, "127.0.0.1", "127.0.0.1"),
        (None, "0.0.0.0", "127.0.0.1"),
        (None, "192.168.1.9", "192.168.1.9"),
        ("sandbox.example.org", "0.0.0.0", "sandbox.example.org"),
    ],
)
def test_public_host(eip, host_ip, expected):
    config = parse_config({"server": {"eip": eip} if eip else {}, "docker": {"host_ip": host_ip}})
    assert public_host(config) == expected
