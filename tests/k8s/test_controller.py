"""The controller on the real cluster: cold and pooled BatchSandboxes, expiry,
pool refill, and restarts that must lose no allocation.

Time-to-Running (create call -> status.ready == replicas with the endpoints
annotation set) is measured for cold and pooled sandboxes and printed; only
structure is asserted (a pooled sandbox got a pod that existed before it).
Run with ``pytest -m k8s tests/k8s -s`` to see the numbers.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from k8s.k8s_support import pod_template, wait_for

from sandhold.controller import _constants as c

pytestmark = pytest.mark.k8s

READY_TIMEOUT = 120  # s: a cold gVisor pod on a busy 2-core node


def _path(ns: str, plural: str, name: str | None = None) -> str:
    base = f"/apis/{c.GROUP}/{c.VERSION}/namespaces/{ns}/{plural}"
    return f"{base}/{name}" if name else base


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def create_batch(kube: Any, ns: str, name: str, **spec: Any) -> dict:
    body = {"apiVersion": c.API_VERSION, "kind": c.BATCH_KIND,
            "metadata": {"name": name}, "spec": {"replicas": 1, **spec}}  # fmt: skip
    return kube._request("POST", _path(ns, c.BATCH_PLURAL), body=body)


def create_pool(kube: Any, ns: str, name: str, **capacity: int) -> dict:
    cap = {"poolMin": 0, "poolMax": 6, "bufferMin": 2, "bufferMax": 2, **capacity}
    body = {"apiVersion": c.API_VERSION, "kind": c.POOL_KIND, "metadata": {"name": name},
            "spec": {"template": pod_template(), "capacitySpec": cap}}  # fmt: skip
    return kube._request("POST", _path(ns, c.POOL_PLURAL), body=body)


def delete(kube: Any, ns: str, plural: str, name: str) -> None:
    kube._request("DELETE", _path(ns, plural, name), ok_statuses=(404,))


def get(kube: Any, ns: str, plural: str, name: str) -> dict | None:
    return kube._request("GET", _path(ns, plural, name), ok_statuses=(404,))


def running_batch(kube: Any, ns: str, name: str) -> dict | None:
    """The BatchSandbox once every replica is Ready and its endpoints are published."""
    b = get(kube, ns, c.BATCH_PLURAL, name)
    if not b:
        return None
    want = b["spec"]["replicas"]
    eps = json.loads((b["metadata"].get("annotations") or {}).get(c.ENDPOINTS_ANNOTATION, "[]"))
    ready = (b.get("status") or {}).get("ready", 0)
    return b if ready == want and len(eps) == want else None


def pool_pods(kube: Any, ns: str, pool: str) -> list[dict]:
    pods = kube.list_pods(ns, f"{c.POOL_LABEL}={pool}")
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def idle_ready(kube: Any, ns: str, pool: str) -> set[str]:
    from sandhold.controller._manifests import is_ready

    return {
        p["metadata"]["name"]
        for p in pool_pods(kube, ns, pool)
        if is_ready(p) and c.BATCH_LABEL not in p["metadata"]["labels"]
    }


def pool_settled(kube: Any, ns: str, pool: str, available: int, total: int) -> bool:
    status = (get(kube, ns, c.POOL_PLURAL, pool) or {}).get("status") or {}
    return status.get("available") == available and status.get("total") == total


def test_batch_becomes_running_with_endpoint_annotation(kube, namespace, running):
    name = _name("cold")
    create_batch(kube, namespace, name, template=pod_template())
    b = wait_for(lambda: running_batch(kube, namespace, name), READY_TIMEOUT, f"{name} running")
    (pod,) = kube.list_pods(namespace, f"{c.BATCH_LABEL}={name}")
    endpoints = json.loads(b["metadata"]["annotations"][c.ENDPOINTS_ANNOTATION])
    assert endpoints == [pod["status"]["podIP"]]
    assert b["status"]["phase"] == c.PHASE_SUCCEED
    conds = {x["type"]: x["status"] for x in b["status"]["conditions"]}
    assert conds[c.COND_READY] == "True"
    assert pod["spec"]["runtimeClassName"] == pod_template()["spec"]["runtimeClassName"]
    assert pod["metadata"]["ownerReferences"][0]["uid"] == b["metadata"]["uid"]
    delete(kube, namespace, c.BATCH_PLURAL, name)


def test_expire_time_deletes_the_batch_and_its_pods(kube, namespace, running):
    name = _name("expiring")
    expire = (datetime.now(UTC) + timedelta(seconds=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    create_batch(kube, namespace, name, template=pod_template(), expireTime=expire)
    wait_for(lambda: get(kube, namespace, c.BATCH_PLURAL, name) is None, 60, f"{name} deleted")
    wait_for(
        lambda: not [
            p for p in kube.list_pods(namespace, f"{c.BATCH_LABEL}={name}")
            if not p["metadata"].get("deletionTimestamp")
        ],
        60, f"pods of {name} to go",
    )  # fmt: skip


def test_expiry_is_enforced_after_a_controller_restart(kube, namespace, running):
    name = _name("expired-while-down")
    running.kill()
    past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    create_batch(kube, namespace, name, template=pod_template(), expireTime=past)
    time.sleep(1)
    assert get(kube, namespace, c.BATCH_PLURAL, name) is not None  # nobody acted yet
    running.start()
    wait_for(lambda: get(kube, namespace, c.BATCH_PLURAL, name) is None, 60, f"{name} deleted")


def test_pool_fills_pooled_batch_takes_a_warm_pod_and_pool_refills(kube, namespace, running):
    pool = _name("pool")
    create_pool(kube, namespace, pool, bufferMin=2, bufferMax=2)
    wait_for(lambda: pool_settled(kube, namespace, pool, 2, 2), READY_TIMEOUT, "pool buffer")
    warm = idle_ready(kube, namespace, pool)
    assert len(warm) == 2

    name = _name("pooled")
    create_batch(kube, namespace, name, poolRef=pool)
    b = wait_for(lambda: running_batch(kube, namespace, name), 30, f"{name} running")
    allocation = json.loads(b["metadata"]["annotations"][c.ALLOCATION_ANNOTATION])
    assert allocation["pool"] == pool and len(allocation["pods"]) == 1
    assert allocation["pods"][0] in warm  # an existing warm pod, not a new one

    wait_for(lambda: pool_settled(kube, namespace, pool, 2, 3), READY_TIMEOUT, "pool refill")
    status = get(kube, namespace, c.POOL_PLURAL, pool)["status"]
    assert status["allocated"] == 1

    # Deleting the BatchSandbox recycles (deletes) its pooled pod.
    delete(kube, namespace, c.BATCH_PLURAL, name)
    taken = allocation["pods"][0]
    wait_for(
        lambda: taken not in {p["metadata"]["name"] for p in pool_pods(kube, namespace, pool)},
        60, "the allocated pod to be deleted",
    )  # fmt: skip
    delete(kube, namespace, c.POOL_PLURAL, pool)


def _time_to_running(kube: Any, ns: str, **spec: Any) -> tuple[float, dict]:
    name = _name("timed")
    start = time.monotonic()
    create_batch(kube, ns, name, **spec)
    b = wait_for(lambda: running_batch(kube, ns, name), READY_TIMEOUT, f"{name} running", 0.02)
    return time.monotonic() - start, b


def test_pooled_batch_is_running_sooner_than_a_cold_one(kube, namespace, running):
    runs = 3
    pool = _name("speed")
    create_pool(kube, namespace, pool, bufferMin=runs, bufferMax=runs, poolMax=2 * runs)
    cold, pooled = [], []
    for _ in range(runs):
        seconds, b = _time_to_running(kube, namespace, template=pod_template())
        cold.append(seconds)
        delete(kube, namespace, c.BATCH_PLURAL, b["metadata"]["name"])
    wait_for(lambda: len(idle_ready(kube, namespace, pool)) >= runs, READY_TIMEOUT, "warm pool")
    for _ in range(runs):
        warm = idle_ready(kube, namespace, pool)
        seconds, b = _time_to_running(kube, namespace, poolRef=pool)
        pooled.append(seconds)
        taken = json.loads(b["metadata"]["annotations"][c.ALLOCATION_ANNOTATION])["pods"]
        assert set(taken) <= warm, "a pooled BatchSandbox must get an already-warm pod"
        delete(kube, namespace, c.BATCH_PLURAL, b["metadata"]["name"])
    print(  # noqa: T201 - the measurement is the point of this test
        f"\ntime-to-Running over {runs} runs, seconds: "
        f"cold median {statistics.median(cold):.2f} {[round(x, 2) for x in cold]}; "
        f"pooled median {statistics.median(pooled):.2f} {[round(x, 2) for x in pooled]}"
    )
    delete(kube, namespace, c.POOL_PLURAL, pool)


def _allocations(kube: Any, ns: str, pool: str) -> dict[str, str]:
    """pod name -> BatchSandbox name, as the pod labels say."""
    return {
        p["metadata"]["name"]: p["metadata"]["labels"][c.BATCH_LABEL]
        for p in pool_pods(kube, ns, pool)
        if c.BATCH_LABEL in p["metadata"]["labels"]
    }


def test_restarts_mid_allocation_lose_and_duplicate_nothing(kube, namespace, running):
    pool = _name("restart")
    create_pool(kube, namespace, pool, bufferMin=3, bufferMax=3, poolMax=8)
    wait_for(lambda: pool_settled(kube, namespace, pool, 3, 3), READY_TIMEOUT, "pool buffer")

    running.kill()
    names = [_name("survivor") for _ in range(3)]
    for name in names:
        create_batch(kube, namespace, name, poolRef=pool)
    running.start()
    # Kill again as soon as the first claim lands, mid-way through the batch.
    wait_for(lambda: _allocations(kube, namespace, pool), 30, "a first allocation", 0.01)
    running.restart()

    for name in names:
        wait_for(lambda n=name: running_batch(kube, namespace, n), READY_TIMEOUT, f"{name} running")
    owners = _allocations(kube, namespace, pool)
    assert sorted(owners.values()) == sorted(names)  # one pod each, none shared
    for name in names:
        b = get(kube, namespace, c.BATCH_PLURAL, name)
        recorded = json.loads(b["metadata"]["annotations"][c.ALLOCATION_ANNOTATION])["pods"]
        assert recorded == [pod for pod, owner in owners.items() if owner == name]
    running.restart()  # a settled state survives another restart untouched
    time.sleep(3)
    assert _allocations(kube, namespace, pool) == owners
    for name in names:
        delete(kube, namespace, c.BATCH_PLURAL, name)
    delete(kube, namespace, c.POOL_PLURAL, pool)
