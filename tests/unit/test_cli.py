"""The administrator's commands: one-line errors, non-zero exits, example configs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandhold.cli import EXAMPLES, app
from sandhold.config import parse_config
from sandhold.secure_runtime import resolve

runner = CliRunner()


def test_serve_with_an_unknown_key_exits_2_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[server]\nprot = 1\n")
    result = runner.invoke(app, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("sandhold: error:") and "[server] prot" in lines[0]


def test_serve_with_firecracker_in_docker_mode_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[secure_runtime]\ntype = "firecracker"\n')
    result = runner.invoke(app, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "kata-fc" in result.output


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    result = runner.invoke(app, ["doctor", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "nope.toml does not exist" in result.output


@pytest.mark.parametrize("name", EXAMPLES)
def test_init_config_examples_are_valid(name: str, tmp_path: Path) -> None:
    target = tmp_path / f"{name}.toml"
    result = runner.invoke(app, ["init-config", "--example", name, "--output", str(target)])
    assert result.exit_code == 0, result.output
    config = parse_config(tomllib.loads(target.read_text()))
    resolved = resolve(config)
    expected = {
        "default": "runc",
        "docker-gvisor": "runsc",
        "k8s-gvisor": "gvisor",
        "k8s-kata": "kata-qemu",
        "k8s-firecracker": "kata-fc",
    }[name]
    assert resolved.name == expected


def test_init_config_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "c.toml"
    target.write_text("keep me")
    result = runner.invoke(app, ["init-config", "--output", str(target)])
    assert result.exit_code == 2 and target.read_text() == "keep me"


def test_init_config_unknown_example() -> None:
    result = runner.invoke(app, ["init-config", "--example", "docker-kata-fc"])
    assert result.exit_code == 2 and "unknown example" in result.output
