"""Fixtures for the controller tests on the REAL local cluster (no mocks).

Session flow: reuse the running cluster, else bring it up once with
``hack/cluster/up.sh``; install the CRDs; make a throwaway namespace; run
``python -m sandhold.cli controller`` as a subprocess the tests can kill and
restart. A cluster that cannot be reached skips locally and fails under
``CI=true``. ``SANDHOLD_KUBECONFIG`` points elsewhere than the local
cluster's admin kubeconfig.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from helpers import missing
from k8s.k8s_support import (
    CRD_DIR,
    KUBECONFIG,
    UP_SCRIPT,
    Controller,
    new_kube,
    node_ready,
    wait_for,
)


def _wait_ready(seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not node_ready(new_kube()):
        if time.monotonic() > deadline:
            return False
        time.sleep(2)
    return True


@pytest.fixture(scope="session")
def kube() -> Any:
    """The controller's own client layer, pointed at the test cluster."""
    try:
        import kopf  # noqa: F401
        import kubernetes  # noqa: F401
    except ImportError as exc:
        missing(f"the kubernetes extra is not installed ({exc}): pip install -e '.[kubernetes]'")
    # A kubeconfig means a cluster exists (maybe still starting, or being
    # restarted by someone else): wait for it rather than start a second one.
    if not (KUBECONFIG.is_file() and _wait_ready(120)):
        if not UP_SCRIPT.is_file():
            missing(f"no Ready cluster at {KUBECONFIG} and no {UP_SCRIPT} to start one")
        done = subprocess.run(["bash", str(UP_SCRIPT)], capture_output=True, text=True)
        if done.returncode != 0 or not KUBECONFIG.is_file():
            missing(f"hack/cluster/up.sh failed ({done.returncode}): {done.stderr[-2000:]}")
        if not _wait_ready(120):
            missing(f"the cluster at {KUBECONFIG} has no Ready node")
    client = new_kube()
    return client


@pytest.fixture(scope="session")
def crds(kube: Any) -> None:
    """Install (or update) the two CRDs and wait until they are served."""
    base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        name = crd["metadata"]["name"]
        current = kube._request("GET", f"{base}/{name}", ok_statuses=(404,))
        if current is None:
            kube._request("POST", base, body=crd)
        else:
            crd["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            kube._request("PUT", f"{base}/{name}", body=crd)

        def established(name: str = name) -> bool:
            got = kube._request("GET", f"{base}/{name}")
            conds = (got.get("status") or {}).get("conditions") or []
            return any(c["type"] == "Established" and c["status"] == "True" for c in conds)

        wait_for(established, 30, f"CRD {name} to be established", step=0.2)


@pytest.fixture(scope="session")
def namespace(kube: Any, crds: None) -> Iterator[str]:
    name = f"sandhold-test-{uuid.uuid4().hex[:8]}"
    kube._request("POST", "/api/v1/namespaces", body={"metadata": {"name": name}})
    yield name
    kube._request("DELETE", f"/api/v1/namespaces/{name}", ok_statuses=(404,))


@pytest.fixture(scope="session")
def controller(namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    ctl = Controller(namespace, tmp_path_factory.mktemp("controller") / "controller.log")
    ctl.start()
    yield ctl
    ctl.stop()
    sys.stderr.write(f"\ncontroller log: {ctl.log_path}\n")


@pytest.fixture
def running(controller: Controller) -> Controller:
    """The controller, started again if a previous test left it stopped."""
    if controller.proc is None or controller.proc.poll() is not None:
        controller.start()
    return controller
