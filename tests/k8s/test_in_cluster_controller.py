"""The controller as deployed: its image, RBAC and Deployment on the real cluster.

``hack/build-controller-image.sh --load`` builds ``sandhold/controller:<VERSION>``
(cached: nothing is rebuilt while its inputs are unchanged) and loads it into
the cluster's containerd. The manifests of ``deploy/controller/`` are applied
into a namespace of this test's own, with uniquely named ClusterRole and
ClusterRoleBinding, and the controller watches only that namespace. No
controller runs on the host for it: a BatchSandbox there becoming ready, and
the pod's log saying so, proves the in-cluster controller did the work
(service-account login, the ``kubernetes`` Service, RBAC, the image).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from helpers import missing
from k8s.k8s_support import REPO, pod_template, wait_for

from sandhold.controller import _constants as c

pytestmark = pytest.mark.k8s

BUILD_SCRIPT = REPO / "hack" / "build-controller-image.sh"
MANIFESTS = [REPO / "deploy" / "controller" / f for f in ("rbac.yaml", "deployment.yaml")]
IMAGE = f"sandhold/controller:{(REPO / 'VERSION').read_text().strip()}"
BUILD_TIMEOUT = 600  # s: a cold build downloads the dependencies from PyPI
READY_TIMEOUT = 90  # s: controller pod start, then a cold gVisor pod


def deploy_docs(namespace: str, suffix: str) -> list[dict[str, Any]]:
    """deploy/controller/*.yaml moved into ``namespace``, serving only it."""
    docs = [d for path in MANIFESTS for d in yaml.safe_load_all(path.read_text()) if d]
    for doc in docs:
        kind, meta = doc["kind"], doc["metadata"]
        if kind == "Namespace":
            meta["name"] = namespace
        elif kind in ("ClusterRole", "ClusterRoleBinding"):
            meta["name"] = f"{meta['name']}-{suffix}"
        else:
            meta["namespace"] = namespace
        if kind == "ClusterRoleBinding":
            doc["roleRef"]["name"] = f"{doc['roleRef']['name']}-{suffix}"
            for subject in doc["subjects"]:
                subject["namespace"] = namespace
        if kind == "Deployment":
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            assert container["image"] == IMAGE, "deployment.yaml names another image"
            assert container["imagePullPolicy"] == "Never"
            container["args"] = ["--namespace", namespace]
    return docs


def api_path(doc: dict[str, Any], name: str | None = None) -> str:
    """Collection (or object) path of a manifest's kind."""
    group, _, version = doc["apiVersion"].rpartition("/")
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    plural = {
        "Namespace": "namespaces",
        "ServiceAccount": "serviceaccounts",
        "ClusterRole": "clusterroles",
        "ClusterRoleBinding": "clusterrolebindings",
        "Deployment": "deployments",
    }[doc["kind"]]
    ns = doc["metadata"].get("namespace")
    path = f"{base}/namespaces/{ns}/{plural}" if ns else f"{base}/{plural}"
    return f"{path}/{name}" if name else path


@pytest.fixture(scope="module")
def image() -> str:
    """The controller image, built unless current and loaded into the cluster."""
    try:
        done = subprocess.run(
            ["bash", str(BUILD_SCRIPT), "--load"],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            cwd=REPO,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{BUILD_SCRIPT.name} took more than {BUILD_TIMEOUT}s")
    if done.returncode != 0:
        missing(f"{BUILD_SCRIPT.name} --load failed ({done.returncode}): {done.stderr[-2000:]}")
    return IMAGE


@pytest.fixture(scope="module")
def deployed(kube: Any, crds: None, image: str) -> Iterator[str]:
    """The Deployment running in a fresh namespace; yields the namespace."""
    suffix = uuid.uuid4().hex[:8]
    namespace = f"sandhold-incluster-{suffix}"
    docs = deploy_docs(namespace, suffix)
    try:
        for doc in docs:
            kube._request("POST", api_path(doc), body=doc)
        yield namespace
    finally:
        for doc in reversed(docs):
            if doc["kind"] in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
                kube._request("DELETE", api_path(doc, doc["metadata"]["name"]), ok_statuses=(404,))


def controller_log(kube: Any, namespace: str) -> str:
    from kubernetes import client

    core = client.CoreV1Api(kube.api)
    pods = kube.list_pods(namespace, "app.kubernetes.io/name=sandhold-controller")
    return "".join(
        core.read_namespaced_pod_log(p["metadata"]["name"], namespace)
        for p in pods
        if (p.get("status") or {}).get("phase") == "Running"
    )


def ready_batch(kube: Any, namespace: str, name: str) -> dict[str, Any] | None:
    """The BatchSandbox once its replica is Ready and its endpoint published."""
    b = kube.get(c.BATCH_PLURAL, namespace, name)
    if not b:
        return None
    eps = json.loads((b["metadata"].get("annotations") or {}).get(c.ENDPOINTS_ANNOTATION, "[]"))
    return b if (b.get("status") or {}).get("ready") == 1 and len(eps) == 1 else None


def test_in_cluster_controller_reconciles_a_batchsandbox(kube: Any, deployed: str) -> None:
    ns = deployed
    wait_for(lambda: "controller starting" in controller_log(kube, ns), READY_TIMEOUT,
             "the in-cluster controller to start", step=0.5)  # fmt: skip
    name = f"incluster-{uuid.uuid4().hex[:6]}"
    body = {"apiVersion": c.API_VERSION, "kind": c.BATCH_KIND, "metadata": {"name": name},
            "spec": {"replicas": 1, "template": pod_template()}}  # fmt: skip
    kube._request("POST", f"/apis/{c.GROUP}/{c.VERSION}/namespaces/{ns}/{c.BATCH_PLURAL}",
                  body=body)  # fmt: skip

    batch = wait_for(lambda: ready_batch(kube, ns, name), READY_TIMEOUT,
                     f"BatchSandbox {name} to become ready", step=0.5)  # fmt: skip
    (endpoint,) = json.loads(batch["metadata"]["annotations"][c.ENDPOINTS_ANNOTATION])
    (pod,) = kube.list_pods(ns, f"{c.BATCH_LABEL}={name}")
    assert pod["status"]["podIP"] == endpoint
    assert pod["spec"]["runtimeClassName"] == pod_template()["spec"]["runtimeClassName"]
    # The work was done by the pod's controller, which logs in JSON lines.
    entries = [json.loads(line) for line in controller_log(kube, ns).splitlines() if line]
    assert any(e.get("msg") == "pod created" and e.get("batchsandbox") == name for e in entries), (
        "the in-cluster controller did not create the pod"
    )
    assert any(
        e.get("msg") == "batchsandbox status" and e.get("phase") == "Succeed" for e in entries
    ), "the in-cluster controller did not report the BatchSandbox ready"


def test_manifests_name_the_built_image() -> None:
    """deployment.yaml and the build script agree on the image (VERSION)."""
    (doc,) = [
        d for d in yaml.safe_load_all(MANIFESTS[1].read_text()) if d and d["kind"] == "Deployment"
    ]
    assert doc["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
