"""Pod builder and pod readers: pure, no cluster."""

from __future__ import annotations

import copy

from unit.test_controller_fakes import TEMPLATE, batch, pod

from sandhold.controller import _constants as c
from sandhold.controller import _manifests as m


def test_build_pod_copies_template_and_adds_labels_and_owner():
    owner = batch("b1")
    built = m.build_pod(TEMPLATE, owner=owner, labels={c.BATCH_LABEL: "b1"}, name="b1-0")
    assert built["metadata"]["name"] == "b1-0"
    assert built["metadata"]["namespace"] == "ns"
    assert built["metadata"]["labels"] == {
        "app": "sbx",
        c.BATCH_LABEL: "b1",
        c.MANAGED_BY: c.MANAGED_BY_VALUE,
    }
    (ref,) = built["metadata"]["ownerReferences"]
    assert ref == {
        "apiVersion": c.API_VERSION,
        "kind": c.BATCH_KIND,
        "name": "b1",
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    # The runtime class travels with the spec, untouched.
    assert built["spec"] == TEMPLATE["spec"]
    assert built["spec"]["runtimeClassName"] == "gvisor"


def test_build_pod_does_not_alias_the_template():
    template = copy.deepcopy(TEMPLATE)
    built = m.build_pod(template, owner=batch(), labels={})
    built["spec"]["containers"][0]["image"] = "changed"
    built["metadata"]["labels"]["x"] = "y"
    assert template == TEMPLATE


def test_controller_labels_win_over_template_labels():
    template = {"metadata": {"labels": {c.BATCH_LABEL: "forged"}}, "spec": {}}
    built = m.build_pod(template, owner=batch("real"), labels={c.BATCH_LABEL: "real"})
    assert built["metadata"]["labels"][c.BATCH_LABEL] == "real"


def test_generate_name_defaults_to_owner_prefix():
    built = m.build_pod(TEMPLATE, owner=batch("b9"), labels={})
    assert "name" not in built["metadata"]
    assert built["metadata"]["generateName"] == "b9-"


def test_revision_ignores_key_order_and_tracks_content():
    a = {"spec": {"x": 1, "y": 2}}
    assert m.template_revision(a) == m.template_revision({"spec": {"y": 2, "x": 1}})
    assert m.template_revision(a) != m.template_revision({"spec": {"x": 1, "y": 3}})


def test_ready_requires_running_ready_condition_and_no_deletion():
    assert m.is_ready(pod("a", ready=True))
    assert not m.is_ready(pod("a", phase="Running"))
    assert not m.is_ready(pod("a", ready=True, terminating=True))


def test_endpoints_in_replica_order_skip_pods_without_ip():
    pods = [
        pod("b1-1", labels={c.INDEX_LABEL: "1"}, ip="10.0.0.2"),
        pod("b1-0", labels={c.INDEX_LABEL: "0"}, ip="10.0.0.1"),
        pod("b1-2", labels={c.INDEX_LABEL: "2"}),
        pod("b1-3", labels={c.INDEX_LABEL: "3"}, ip="10.0.0.9", terminating=True),
    ]
    assert m.endpoints(pods) == ["10.0.0.1", "10.0.0.2"]
