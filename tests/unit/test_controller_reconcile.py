"""Reconcilers over an in-memory client: idempotency, allocation, expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from unit.test_controller_fakes import FakeKube, batch, pool

from sandhold.controller import _constants as c
from sandhold.controller._reconcile import Reconciler

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def kube() -> FakeKube:
    return FakeKube()


@pytest.fixture
def rec(kube: FakeKube) -> Reconciler:
    return Reconciler(kube, "ns", clock=lambda: NOW)  # type: ignore[arg-type]


def _batch(kube: FakeKube, name: str) -> dict:
    return kube.objects[(c.BATCH_PLURAL, "ns", name)]


def test_template_batch_creates_pods_then_publishes_endpoints(kube, rec):
    kube.add(c.BATCH_PLURAL, batch("b1", replicas=2))
    rec.batch("ns", "b1")
    assert sorted(kube.pods) == ["b1-0", "b1-1"]
    assert _batch(kube, "b1")["status"]["phase"] == c.PHASE_PENDING
    kube.make_ready("b1-1", "10.0.0.2")
    kube.make_ready("b1-0", "10.0.0.1")
    rec.batch("ns", "b1")
    b = _batch(kube, "b1")
    assert json.loads(b["metadata"]["annotations"][c.ENDPOINTS_ANNOTATION]) == [
        "10.0.0.1",
        "10.0.0.2",
    ]
    assert (b["status"]["ready"], b["status"]["phase"]) == (2, c.PHASE_SUCCEED)


def test_rerunning_a_settled_reconcile_writes_nothing(kube, rec):
    kube.add(c.BATCH_PLURAL, batch("b1"))
    rec.batch("ns", "b1")
    kube.make_ready("b1-0", "10.0.0.1")
    rec.batch("ns", "b1")
    kube.calls.clear()
    rec.batch("ns", "b1")
    assert kube.calls == []


def test_expired_batch_is_deleted_and_gets_no_pods(kube, rec):
    kube.add(c.BATCH_PLURAL, batch("b1", expireTime="2024-12-31T23:00:00Z"))
    rec.batch("ns", "b1")
    assert (c.BATCH_PLURAL, "ns", "b1") not in kube.objects
    assert kube.pods == {}


def test_pool_fills_to_buffer_and_is_then_stable(kube, rec):
    kube.add(c.POOL_PLURAL, pool("p1", bufferMin=2, bufferMax=3))
    rec.pool("ns", "p1")
    assert len(kube.pods) == 2
    assert all(p["metadata"]["labels"][c.POOL_LABEL] == "p1" for p in kube.pods.values())
    kube.calls.clear()
    rec.pool("ns", "p1")
    assert kube.calls == []


def _ready_pool(kube: FakeKube, rec: Reconciler, **capacity: int) -> list[str]:
    kube.add(c.POOL_PLURAL, pool("p1", **capacity))
    rec.pool("ns", "p1")
    names = sorted(kube.pods)
    for i, name in enumerate(names):
        kube.make_ready(name, f"10.1.0.{i}")
    rec.pool("ns", "p1")
    return names


def test_pooled_batch_takes_a_ready_pod_and_the_pool_refills(kube, rec):
    warm = _ready_pool(kube, rec, bufferMin=2, bufferMax=2)
    kube.add(c.BATCH_PLURAL, batch("b1", poolRef="p1"))
    rec.batch("ns", "b1")
    mine = [n for n, p in kube.pods.items() if p["metadata"]["labels"].get(c.BATCH_LABEL) == "b1"]
    assert len(mine) == 1 and mine[0] in warm
    claimed = kube.pods[mine[0]]["metadata"]
    assert claimed["ownerReferences"][0]["uid"] == _batch(kube, "b1")["metadata"]["uid"]
    b = _batch(kube, "b1")
    assert json.loads(b["metadata"]["annotations"][c.ALLOCATION_ANNOTATION]) == {
        "pool": "p1",
        "pods": mine,
    }
    assert b["status"]["ready"] == 1
    # The pool refilled its buffer: 2 idle again plus the allocated one.
    pool_status = kube.objects[(c.POOL_PLURAL, "ns", "p1")]["status"]
    assert (pool_status["total"], pool_status["allocated"]) == (3, 1)


def test_two_batches_never_share_a_pod(kube, rec):
    _ready_pool(kube, rec, bufferMin=1, bufferMax=1, poolMax=1)
    kube.add(c.BATCH_PLURAL, batch("b1", poolRef="p1"))
    kube.add(c.BATCH_PLURAL, batch("b2", poolRef="p1"))
    rec.batch("ns", "b1")
    rec.batch("ns", "b2")
    owners = [p["metadata"]["labels"].get(c.BATCH_LABEL) for p in kube.pods.values()]
    assert owners == ["b1"]
    b2 = _batch(kube, "b2")
    progressing = {x["type"]: x for x in b2["status"]["conditions"]}[c.COND_PROGRESSING]
    assert progressing["reason"] == c.REASON_WAITING_FOR_POOL


def test_a_stale_claim_loses(kube, rec):
    (name,) = _ready_pool(kube, rec, bufferMin=1, bufferMax=1, poolMax=1)
    stale = {"metadata": {"resourceVersion": "1", "labels": {}, "annotations": {},
                          "ownerReferences": []}}  # fmt: skip
    assert not kube.claim_pod("ns", name, stale)


def test_restart_recovers_allocation_from_labels(kube, rec):
    _ready_pool(kube, rec, bufferMin=1, bufferMax=1, poolMax=2)
    kube.add(c.BATCH_PLURAL, batch("b1", poolRef="p1"))
    rec.batch("ns", "b1")
    before = {n: dict(p["metadata"]["labels"]) for n, p in kube.pods.items()}
    # A new process with no memory reconciles everything again.
    fresh = Reconciler(kube, "ns", clock=lambda: NOW)  # type: ignore[arg-type]
    fresh.resync()
    fresh.resync()
    after = {n: dict(p["metadata"]["labels"]) for n, p in kube.pods.items()}
    owner_before = {name: labels.get(c.BATCH_LABEL) for name, labels in before.items()}
    owner_after = {name: labels.get(c.BATCH_LABEL) for name, labels in after.items()}
    assert {name: owner_after[name] for name in before} == owner_before
    assert list(owner_after.values()).count("b1") == 1


def test_missing_pool_is_reported(kube, rec):
    kube.add(c.BATCH_PLURAL, batch("b1", poolRef="nope"))
    rec.batch("ns", "b1")
    conds = {x["type"]: x for x in _batch(kube, "b1")["status"]["conditions"]}
    assert conds[c.COND_PROGRESSING]["reason"] == c.REASON_POOL_NOT_FOUND


def test_waiting_batch_is_served_when_the_pool_has_a_ready_pod(kube, rec):
    kube.add(c.POOL_PLURAL, pool("p1", bufferMin=1, bufferMax=1))
    kube.add(c.BATCH_PLURAL, batch("b1", poolRef="p1"))
    rec.pool("ns", "p1")
    rec.batch("ns", "b1")
    assert _batch(kube, "b1")["status"]["replicas"] == 0
    (name,) = kube.pods
    kube.make_ready(name, "10.1.0.1")
    rec.pool("ns", "p1")  # what the pod's Ready event triggers
    assert kube.pods[name]["metadata"]["labels"].get(c.BATCH_LABEL) == "b1"


def test_refused_pod_is_reported_in_conditions(kube, rec, monkeypatch):
    from kubernetes.client.rest import ApiException

    def refuse(namespace, body):
        exc = ApiException(status=403, reason="Forbidden")
        exc.body = '{"message": "pod rejected: RuntimeClass \\"nope\\" not found"}'
        raise exc

    monkeypatch.setattr(kube, "create_pod", refuse)
    kube.add(c.BATCH_PLURAL, batch("b1"))
    rec.batch("ns", "b1")
    progressing = {x["type"]: x for x in _batch(kube, "b1")["status"]["conditions"]}[
        c.COND_PROGRESSING
    ]
    assert progressing["reason"] == c.REASON_POD_REFUSED
    assert 'RuntimeClass "nope" not found' in progressing["message"]
