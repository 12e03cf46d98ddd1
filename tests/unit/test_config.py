"""Config parsing: defaults, sections, and the errors administrators see."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sandhold.config import AppConfig, load_config, parse_config
from sandhold.errors import ConfigError


def test_defaults_are_docker_and_runc() -> None:
    cfg = AppConfig()
    assert cfg.runtime.type == "docker"
    assert cfg.secure_runtime.type == ""
    assert cfg.server.port == 8080
    assert cfg.docker.no_new_privileges is True


def test_full_file_parses(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        """
[server]
host = "0.0.0.0"
port = 9090
api_key = "k"
eip = "10.0.0.5"
max_sandbox_timeout_seconds = 3600

[runtime]
type = "docker"
execd_image = "sandhold/execd:test"

[docker]
network_mode = "bridge"
host_ip = "0.0.0.0"
drop_capabilities = ["NET_RAW"]
no_new_privileges = false
pids_limit = 64

[secure_runtime]
type = "gvisor"
docker_runtime = "runsc"
k8s_runtime_class = "gvisor"
"""
    )
    cfg = load_config(path)
    assert cfg.server.port == 9090
    assert cfg.server.max_sandbox_timeout_seconds == 3600
    assert cfg.docker.drop_capabilities == ["NET_RAW"]
    assert cfg.secure_runtime.docker_runtime == "runsc"
    assert cfg.source == str(path)


def test_unknown_key_names_file_section_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[secure_runtime]\ntype = "gvisor"\ndocker_runtme = "runsc"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg and "[secure_runtime] docker_runtme" in msg and "unknown key" in msg


def test_unknown_section_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config({"secure_runtimes": {"type": "gvisor"}})


def test_wrong_type_names_the_value() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"server": {"port": "eighty"}})
    assert "[server] port" in str(err.value) and "'eighty'" in str(err.value)


def test_bad_runtime_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"\[runtime\] type"):
        parse_config({"runtime": {"type": "podman"}})


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[server\nport = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_env_path_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.toml"
    path.write_text("[server]\nport = 7000\n")
    monkeypatch.setenv("SANDBOX_CONFIG_PATH", str(path))
    assert load_config().server.port == 7000


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_no_file_means_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANDBOX_CONFIG_PATH", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_config() == AppConfig()


@pytest.mark.parametrize(
    "name", ["default", "docker-gvisor", "k8s-gvisor", "k8s-kata", "k8s-firecracker"]
)
def test_shipped_examples_parse(name: str) -> None:
    from importlib import resources

    text = resources.files("sandhold.examples").joinpath(f"{name}.toml").read_text()
    parse_config(tomllib.loads(text))


def test_version_file_matches_package() -> None:
    from sandhold import __version__

    root = Path(__file__).resolve().parents[2]
    assert (root / "VERSION").read_text().strip() == __version__


@pytest.mark.parametrize("name", ["default", "team-a", "a.b_c", "x1"])
def test_server_name_accepts_label_values(name: str) -> None:
    assert parse_config({"server": {"name": name}}).server.name == name


@pytest.mark.parametrize("name", ["", "Team A", "-x", "a/b", "x" * 64])
def test_server_name_must_be_a_label_value(name: str) -> None:
    with pytest.raises(ConfigError, match=r"\[server\] name"):
        parse_config({"server": {"name": name}})
