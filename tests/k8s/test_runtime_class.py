"""The local cluster really isolates: a pod with RuntimeClass gvisor runs on
gVisor's kernel, a pod without it on the host's."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from k8s.k8s_support import IMAGE, RUNTIME_CLASS, wait_for

pytestmark = pytest.mark.k8s


def run_pod(kube: Any, namespace: str, runtime_class: str | None) -> str:
    """Run ``dmesg; uname -r`` in a pod to completion; return its log."""
    from kubernetes import client

    name = f"kernel-{uuid.uuid4().hex[:8]}"
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 0,
        "containers": [
            {
                "name": "probe",
                "image": IMAGE,
                "imagePullPolicy": "Never",
                "command": ["sh", "-c", "dmesg | head -n 3; echo kernel=$(uname -r)"],
            }
        ],
    }
    if runtime_class:
        spec["runtimeClassName"] = runtime_class
    path = f"/api/v1/namespaces/{namespace}/pods"
    kube._request("POST", path, body={"metadata": {"name": name}, "spec": spec})

    def finished() -> bool:
        phase = kube._request("GET", f"{path}/{name}")["status"].get("phase")
        assert phase != "Failed", f"pod {name} failed"
        return phase == "Succeeded"

    wait_for(finished, 120, f"pod {name} to complete", step=0.5)
    log = client.CoreV1Api(kube.api).read_namespaced_pod_log(name, namespace)
    kube._request("DELETE", f"{path}/{name}", ok_statuses=(404,))
    return log


def test_gvisor_runtime_class_runs_gvisor(kube: Any, namespace: str):
    log = run_pod(kube, namespace, RUNTIME_CLASS)
    assert "Starting gVisor" in log, log
    assert f"kernel={os.uname().release}" not in log


def test_default_runtime_runs_the_host_kernel(kube: Any, namespace: str):
    log = run_pod(kube, namespace, None)
    assert "Starting gVisor" not in log
    assert f"kernel={os.uname().release}" in log, log
