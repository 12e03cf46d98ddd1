"""The resolver: the proposal's unit test plan, in both modes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from sandhold.config import parse_config
from sandhold.errors import ConfigError
from sandhold.secure_runtime import SecureRuntimeResolver, resolve

PROPOSAL = (
    Path(__file__).resolve().parents[3] / "shared/reference/OSEP-0004-secure-container-runtime.md"
)


def cfg(mode: str = "docker", **secure: str):
    return parse_config({"runtime": {"type": mode}, "secure_runtime": secure})


@pytest.mark.parametrize(
    ("secure", "docker", "k8s"),
    [
        ({"type": "gvisor"}, "runsc", "gvisor"),
        ({"type": "kata"}, "kata-runtime", "kata-qemu"),
        ({"type": "gvisor", "docker_runtime": "runsc-strict"}, "runsc-strict", "gvisor"),
        ({"type": "gvisor", "k8s_runtime_class": "gv2"}, "runsc", "gv2"),
        ({"type": "GVisor"}, "runsc", "gvisor"),
        (
            {"type": "mine", "docker_runtime": "my-rt", "k8s_runtime_class": "my-rc"},
            "my-rt",
            "my-rc",
        ),
    ],
)
def test_resolver_defaults_and_overrides(secure: dict, docker: str, k8s: str) -> None:
    resolver = SecureRuntimeResolver(cfg(**secure).secure_runtime)
    assert resolver.get_docker_runtime() == docker
    assert resolver.get_k8s_runtime_class() == k8s
    assert resolve(cfg("docker", **secure)).docker_runtime == docker
    assert resolve(cfg("kubernetes", **secure)).k8s_runtime_class == k8s


def test_empty_type_means_runc_in_both_modes() -> None:
    # The commented template: type empty, runtimes filled in -> still runc.
    c = cfg(type="", docker_runtime="runsc", k8s_runtime_class="gvisor")
    resolver = SecureRuntimeResolver(c.secure_runtime)
    assert resolver.get_docker_runtime() is None
    assert resolver.get_k8s_runtime_class() is None
    docker = resolve(c, "docker")
    assert docker.docker_runtime == "runc" and not docker.secure and docker.name == "runc"
    assert resolve(c, "kubernetes").k8s_runtime_class is None


def test_missing_section_means_runc() -> None:
    assert resolve(parse_config({})).docker_runtime == "runc"


def test_firecracker_in_docker_mode_is_an_error() -> None:
    with pytest.raises(ConfigError, match="kata-fc.*Kubernetes"):
        resolve(cfg("docker", type="firecracker"))


def test_firecracker_in_kubernetes_mode_is_kata_fc() -> None:
    assert resolve(cfg("kubernetes", type="firecracker")).k8s_runtime_class == "kata-fc"


def test_explicit_empty_docker_runtime_is_an_error_in_docker_mode() -> None:
    with pytest.raises(ConfigError, match="docker_runtime is empty"):
        resolve(cfg("docker", type="gvisor", docker_runtime=""))


def test_custom_type_needs_explicit_names() -> None:
    with pytest.raises(ConfigError, match="docker_runtime"):
        resolve(cfg("docker", type="mine"))
    with pytest.raises(ConfigError, match="k8s_runtime_class"):
        resolve(cfg("kubernetes", type="mine"))


def _proposal_examples() -> list[str]:
    if not PROPOSAL.is_file():
        pytest.skip(f"the proposal text is not beside the checkout ({PROPOSAL})")
    blocks = re.findall(r"```toml\n(.*?)```", PROPOSAL.read_text(), re.S)
    # Skip the containerd snippet: only Sandhold server configs.
    return [b for b in blocks if "[secure_runtime]" in b]


def test_every_example_in_the_proposal_loads_as_written() -> None:
    examples = _proposal_examples()
    assert len(examples) >= 4
    resolved = []
    for text in examples:
        c = parse_config(tomllib.loads(text))
        resolved.append(resolve(c))
    by_type = {r.type: r for r in resolved}
    assert by_type["gvisor"].docker_runtime == "runsc"
    assert by_type["kata"].k8s_runtime_class == "kata-qemu"
    assert by_type["firecracker"].k8s_runtime_class == "kata-fc"
    assert by_type[""].docker_runtime == "runc"
