"""Plans and status: pure decisions over canned pods."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from unit.test_controller_fakes import batch, pod

from sandhold.controller import _constants as c
from sandhold.controller import _decisions as d

NOW = "2025-01-01T00:00:10Z"
REV = "rev1"


def idle(name: str, *, ready: bool = True, created: str = "2025-01-01T00:00:00Z", **kw) -> dict:
    labels = {c.POOL_LABEL: "p1", c.REVISION_LABEL: kw.pop("rev", REV)}
    return pod(name, labels=labels, ready=ready, created=created, **kw)


def taken(name: str) -> dict:
    return pod(name, labels={c.POOL_LABEL: "p1", c.REVISION_LABEL: REV, c.BATCH_LABEL: "b"})


def cap(pool_min=0, pool_max=10, buffer_min=2, buffer_max=3) -> dict:
    return {"poolMin": pool_min, "poolMax": pool_max, "bufferMin": buffer_min,
            "bufferMax": buffer_max}  # fmt: skip


# --- BatchSandbox -----------------------------------------------------------


def test_spec_needs_exactly_one_of_template_and_pool_ref():
    assert d.spec_problem(batch()) is None
    assert d.spec_problem(batch(poolRef="p1")) is None
    assert "mutually exclusive" in d.spec_problem(batch(poolRef="p", template={"spec": {}}))
    both_missing = batch()
    del both_missing["spec"]["template"]
    assert "spec.template" in d.spec_problem(both_missing)


def test_plan_replicas_fills_missing_indexes_and_trims_surplus():
    pods = [pod("b-1", labels={c.INDEX_LABEL: "1"}), pod("b-5", labels={c.INDEX_LABEL: "5"})]
    plan = d.plan_replicas(3, pods)
    assert plan.create_indexes == (0, 2)
    assert plan.delete_names == ("b-5",)


def test_plan_replicas_is_idempotent_once_satisfied():
    pods = [pod(f"b-{i}", labels={c.INDEX_LABEL: str(i)}) for i in range(2)]
    assert d.plan_replicas(2, pods) == d.ReplicaPlan((), ())


def test_terminating_pod_does_not_hold_its_index():
    pods = [pod("b-0", labels={c.INDEX_LABEL: "0"}, terminating=True)]
    assert d.plan_replicas(1, pods).create_indexes == (0,)


def test_failed_pod_is_kept_not_replaced():
    pods = [pod("b-0", labels={c.INDEX_LABEL: "0"}, phase="Failed")]
    assert d.plan_replicas(1, pods) == d.ReplicaPlan((), ())


def test_free_indexes_and_surplus_for_pooled_batches():
    pods = [pod("x", labels={c.INDEX_LABEL: "0"}), pod("y", labels={c.INDEX_LABEL: "2"})]
    assert d.free_indexes(3, pods) == [1]
    assert d.surplus_allocated(1, pods) == ["y"]


@pytest.mark.parametrize(
    ("expire", "left"),
    [(None, None), ("2025-01-01T00:01:00Z", 60.0), ("2024-12-31T23:59:00Z", -60.0)],
)
def test_seconds_until_expiry(expire, left):
    b = batch(**({"expireTime": expire} if expire else {}))
    assert d.seconds_until_expiry(b, datetime(2025, 1, 1, tzinfo=UTC)) == left


def test_status_ready_when_all_replicas_ready():
    pods = [pod("b-0", labels={c.INDEX_LABEL: "0"}, ready=True, ip="10.0.0.1", node="n1")]
    status = d.batch_status(batch(), pods, now=NOW)
    assert (status["replicas"], status["allocated"], status["ready"]) == (1, 1, 1)
    assert status["phase"] == c.PHASE_SUCCEED
    conds = {x["type"]: x for x in status["conditions"]}
    assert conds[c.COND_READY]["status"] == "True"
    assert conds[c.COND_PROGRESSING]["status"] == "False"
    assert conds[c.COND_POD_FAILED]["status"] == "False"
    assert all(x["lastTransitionTime"] == NOW for x in status["conditions"])


def test_status_pending_while_pods_start_and_waiting_reason_shown():
    status = d.batch_status(batch(replicas=2), [pod("b-0")], now=NOW,
                            waiting=(c.REASON_WAITING_FOR_POOL, "empty"))  # fmt: skip
    assert status["phase"] == c.PHASE_PENDING
    conds = {x["type"]: x for x in status["conditions"]}
    assert conds[c.COND_READY]["status"] == "False"
    assert conds[c.COND_PROGRESSING]["reason"] == c.REASON_WAITING_FOR_POOL


def test_status_failed_pod_is_reported():
    status = d.batch_status(batch(), [pod("b-0", phase="Failed")], now=NOW)
    assert status["phase"] == c.PHASE_FAILED
    conds = {x["type"]: x for x in status["conditions"]}
    assert conds[c.COND_POD_FAILED]["status"] == "True"
    assert "b-0" in conds[c.COND_POD_FAILED]["message"]


def test_unchanged_status_keeps_transition_times_and_compares_equal():
    b = batch()
    pods = [pod("b-0", ready=True)]
    b["status"] = d.batch_status(b, pods, now=NOW)
    again = d.batch_status(b, pods, now="2025-01-01T01:00:00Z")
    assert not d.status_changed(b["status"], again)
    flipped = d.batch_status(b, [pod("b-0")], now="2025-01-01T01:00:00Z")
    ready = {x["type"]: x for x in flipped["conditions"]}[c.COND_READY]
    assert ready["lastTransitionTime"] == "2025-01-01T01:00:00Z"
    assert d.status_changed(b["status"], flipped)


# --- Pool -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capacity", "problem"),
    [
        (cap(), None),
        ({"poolMin": 1}, "missing"),
        (cap(pool_min=5, pool_max=2), "poolMin"),
        (cap(buffer_min=4, buffer_max=3), "bufferMin"),
    ],
)
def test_capacity_problem(capacity, problem):
    found = d.capacity_problem(capacity)
    assert found is None if problem is None else problem in found


def test_view_sorts_pods_into_allocated_idle_and_broken():
    pods = [
        idle("a"),
        idle("b", ready=False),
        idle("old", rev="rev0"),
        idle("dead", ready=False, phase="Failed"),
        idle("gone", terminating=True),
        taken("t"),
    ]
    view = d.view_pool(pods, REV)
    assert [p["metadata"]["name"] for p in view.idle] == ["a", "b"]
    assert [p["metadata"]["name"] for p in view.allocated] == ["t"]
    assert {p["metadata"]["name"] for p in view.broken} == {"old", "dead"}
    assert view.total == 3


@pytest.mark.parametrize(
    ("capacity", "idle_n", "taken_n", "create", "delete_n"),
    [
        (cap(buffer_min=2, buffer_max=3), 0, 0, 2, 0),  # empty: fill to bufferMin
        (cap(buffer_min=2, buffer_max=3), 2, 5, 0, 0),  # in range: nothing
        (cap(buffer_min=2, buffer_max=3), 5, 0, 0, 2),  # above bufferMax: trim
        (cap(pool_min=4, buffer_min=1, buffer_max=5), 1, 0, 3, 0),  # poolMin wins
        (cap(pool_max=3, buffer_min=2, buffer_max=3), 0, 2, 1, 0),  # poolMax caps
        (cap(pool_max=3, buffer_min=2, buffer_max=3), 0, 3, 0, 0),  # full
        (cap(pool_min=3, buffer_min=0, buffer_max=0), 3, 0, 0, 0),  # poolMin keeps idle
        (cap(pool_max=2, buffer_min=0, buffer_max=5), 3, 1, 0, 2),  # poolMax lowered
    ],
)
def test_plan_pool(capacity, idle_n, taken_n, create, delete_n):
    pods = [idle(f"i{i}") for i in range(idle_n)] + [taken(f"t{i}") for i in range(taken_n)]
    plan = d.plan_pool(capacity, d.view_pool(pods, REV))
    assert (plan.create, len(plan.delete_names)) == (create, delete_n)


def test_plan_pool_trims_not_ready_then_newest_and_drops_broken():
    pods = [
        idle("old-ready", created="2025-01-01T00:00:00Z"),
        idle("new-ready", created="2025-01-01T00:00:05Z"),
        idle("starting", ready=False, created="2025-01-01T00:00:01Z"),
        idle("stale", rev="rev0"),
    ]
    plan = d.plan_pool(cap(buffer_min=0, buffer_max=1), d.view_pool(pods, REV))
    assert plan.delete_names == ("starting", "new-ready", "stale")


def test_pool_plan_is_idempotent_once_satisfied():
    pods = [idle("a"), idle("b", ready=False)]
    assert d.plan_pool(cap(), d.view_pool(pods, REV)) == d.PoolPlan(0, ())


def test_allocation_takes_ready_idle_pods_oldest_first():
    pods = [
        idle("young", created="2025-01-01T00:00:09Z"),
        idle("old", created="2025-01-01T00:00:01Z"),
        idle("starting", ready=False),
        taken("t"),
    ]
    names = [p["metadata"]["name"] for p in d.allocation_candidates(d.view_pool(pods, REV))]
    assert names == ["old", "young"]


def test_pool_status_counts():
    pods = [idle("a"), idle("b", ready=False), taken("t"), idle("old", rev="rev0")]
    p = {"metadata": {"generation": 4}}
    status = d.pool_status(p, d.view_pool(pods, REV), REV)
    assert status == {"observedGeneration": 4, "total": 3, "allocated": 1, "available": 1,
                      "revision": REV, "updated": 3}  # fmt: skip
