"""Helpers shared by the real-cluster controller tests (no fixtures here)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
KUBECONFIG = Path(
    os.environ.get("SANDHOLD_KUBECONFIG", "/var/lib/sandhold-cluster/admin.kubeconfig")
)
CRD_DIR = REPO / "deploy" / "crds"
UP_SCRIPT = REPO / "hack" / "cluster" / "up.sh"
IMAGE = "sandhold/busybox:0.1.0"
RUNTIME_CLASS = os.environ.get("SANDHOLD_TEST_RUNTIME_CLASS", "gvisor")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(step)


def new_kube() -> Any:
    from kubernetes import config

    from sandhold.controller._client import Kube

    return Kube(config.new_client_from_config(config_file=str(KUBECONFIG)))


def node_ready(kube: Any) -> bool:
    try:
        nodes = kube._request("GET", "/api/v1/nodes")["items"]
    except Exception:  # noqa: BLE001 - any failure means "not up"
        return False
    return any(
        x.get("type") == "Ready" and x.get("status") == "True"
        for n in nodes
        for x in n.get("status", {}).get("conditions", [])
    )


class Controller:
    """``sandhold controller`` as a child process, killable at any point."""

    def __init__(self, namespace: str, log_path: Path) -> None:
        self.namespace = namespace
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "sandhold.cli", "controller",
               "--kubeconfig", str(KUBECONFIG), "--namespace", self.namespace]  # fmt: skip
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=REPO)
        log.close()
        wait_for(lambda: "controller starting" in self.log_path.read_text(), 30,
                 "the controller to start", step=0.1)  # fmt: skip

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything, like a crashed pod."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()


def pod_template(command: str = "sleep 3600") -> dict[str, Any]:
    return {
        "metadata": {"labels": {"sandhold-test": "yes"}},
        "spec": {
            "runtimeClassName": RUNTIME_CLASS,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "sandbox",
                    "image": IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["sh", "-c", command],
                }
            ],
        },
    }
