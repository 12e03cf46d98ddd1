"""The YAML under deploy/ is well-formed and means what it says.

A slip like an unquoted comma in a flow mapping still parses as YAML but
adds a bogus field, which the API server then rejects under strict
validation (``kubectl apply``). These checks catch that without a cluster.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
FIELD = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def all_keys(node: Any) -> list[str]:
    """Every mapping key in the document: field names and schema keywords."""
    keys: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            keys.append(str(key))
            keys += all_keys(value)
    elif isinstance(node, list):
        for item in node:
            keys += all_keys(item)
    return keys


@pytest.mark.parametrize("path", sorted(DEPLOY.glob("crds/*.yaml")), ids=lambda p: p.name)
def test_crd_keys_are_names(path: Path) -> None:
    crd = yaml.safe_load(path.read_text())
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["spec"]["group"] == "sandbox.opensandbox.io"
    bad = [key for key in all_keys(crd) if not FIELD.match(key)]
    assert not bad, f"{path.name}: keys that are not names: {bad}"


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.yaml")), ids=lambda p: p.name)
def test_every_manifest_has_kind_and_name(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc is None:
            continue
        assert doc.get("apiVersion") and doc.get("kind"), path
        assert doc.get("metadata", {}).get("name"), path


def test_gvisor_runtime_class_uses_the_runsc_handler() -> None:
    (rc,) = list(yaml.safe_load_all((DEPLOY / "runtimeclasses.yaml").read_text()))
    assert rc["metadata"]["name"] == "gvisor" and rc["handler"] == "runsc"
