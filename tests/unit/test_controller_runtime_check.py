"""Pool runtimeClassName vs the server's resolved RuntimeClass (OSEP-0004)."""

from __future__ import annotations

import pytest
from unit.test_controller_fakes import pool

from sandhold.controller import check_pool_runtime


def _with_runtime(runtime: str | None) -> dict:
    p = pool("warm")
    if runtime is None:
        del p["spec"]["template"]["spec"]["runtimeClassName"]
    else:
        p["spec"]["template"]["spec"]["runtimeClassName"] = runtime
    return p


@pytest.mark.parametrize(("pool_rc", "server_rc"), [("gvisor", "gvisor"), (None, None)])
def test_matching_runtime_is_accepted(pool_rc, server_rc):
    assert check_pool_runtime(_with_runtime(pool_rc), server_rc) is None


def test_empty_string_means_unset_on_both_sides():
    assert check_pool_runtime(_with_runtime(""), None) is None
    assert check_pool_runtime(_with_runtime(None), "") is None


@pytest.mark.parametrize(
    ("pool_rc", "server_rc"),
    [("runc", "gvisor"), (None, "gvisor"), ("gvisor", None), ("kata", "kata-fc")],
)
def test_mismatch_is_refused_with_both_values_named(pool_rc, server_rc):
    message = check_pool_runtime(_with_runtime(pool_rc), server_rc)
    assert message is not None
    assert "ns/warm" in message
    assert str(pool_rc or "<unset>") in message
    assert str(server_rc or "<unset>") in message
    assert "refusing" in message


def test_pool_without_template_counts_as_unset():
    bare = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"capacitySpec": {}}}
    assert check_pool_runtime(bare, None) is None
    assert check_pool_runtime(bare, "gvisor") is not None
