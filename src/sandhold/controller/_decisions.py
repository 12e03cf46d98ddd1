"""Pure decisions: what to create, delete or allocate, and what status to write.

Every function takes the observed objects (plain dicts as the API returns
them) and returns a plan; nothing here talks to the API server, so each rule
is unit-tested with canned pods.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandhold.controller import _constants as c
from sandhold.controller import _manifests as m

Obj = dict[str, Any]

_POOL_BOUNDS = ("poolMin", "poolMax", "bufferMin", "bufferMax")


# --- BatchSandbox -----------------------------------------------------------


def desired_replicas(batch: Obj) -> int:
    return max(0, int(batch.get("spec", {}).get("replicas", 1) or 0))


def spec_problem(batch: Obj) -> str | None:
    """Why a BatchSandbox spec cannot be acted on, or None."""
    spec = batch.get("spec", {})
    has_template, has_pool = bool(spec.get("template")), bool(spec.get("poolRef"))
    if has_template and has_pool:
        return "spec.template and spec.poolRef are mutually exclusive: set only one"
    if not has_template and not has_pool:
        return "set spec.template (cold pods) or spec.poolRef (pooled pods)"
    return None


def live_pods(pods: list[Obj]) -> list[Obj]:
    return [p for p in pods if not m.is_terminating(p)]


@dataclass(frozen=True)
class ReplicaPlan:
    """Template mode: replica indexes to create and surplus pods to delete."""

    create_indexes: tuple[int, ...]
    delete_names: tuple[str, ...]


def plan_replicas(replicas: int, pods: list[Obj]) -> ReplicaPlan:
    """Replica ``i`` is the pod labelled with index ``i``; a failed pod stays
    (its failure is reported, not hidden by a silent replacement)."""
    present = {m.replica_index(p) for p in live_pods(pods)}
    create = tuple(i for i in range(replicas) if i not in present)
    surplus = [p for p in live_pods(pods) if m.replica_index(p) >= replicas]
    return ReplicaPlan(create, tuple(p["metadata"]["name"] for p in surplus))


def free_indexes(replicas: int, pods: list[Obj]) -> list[int]:
    """Pooled mode: replica indexes not yet held by an allocated pod."""
    taken = {m.replica_index(p) for p in live_pods(pods)}
    return [i for i in range(replicas) if i not in taken]


def surplus_allocated(replicas: int, pods: list[Obj]) -> list[str]:
    """Pooled mode: allocated pods beyond ``replicas`` (highest index first)."""
    alive = sorted(live_pods(pods), key=lambda p: (m.replica_index(p), m.creation_key(p)))
    return [p["metadata"]["name"] for p in alive[replicas:]][::-1]


def seconds_until_expiry(batch: Obj, now: datetime) -> float | None:
    """Seconds left before ``spec.expireTime`` (<= 0: expired); None = never."""
    raw = batch.get("spec", {}).get("expireTime")
    if not raw:
        return None
    expire = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    if expire.tzinfo is None:
        expire = expire.replace(tzinfo=UTC)
    return (expire - now).total_seconds()


def _condition(ctype: str, ok: bool, reason: str, message: str) -> Obj:
    status = "True" if ok else "False"
    return {"type": ctype, "status": status, "reason": reason, "message": message}


def _keep_transition_times(new: list[Obj], old: list[Obj], now: str) -> list[Obj]:
    """lastTransitionTime changes only when a condition's status changes, so an
    unchanged status compares equal and is not rewritten."""
    previous = {x.get("type"): x for x in old or []}
    for cond in new:
        prior = previous.get(cond["type"])
        same = prior is not None and prior.get("status") == cond["status"]
        cond["lastTransitionTime"] = prior.get("lastTransitionTime", now) if same else now
    return new


def batch_status(
    batch: Obj,
    pods: list[Obj],
    *,
    now: str,
    waiting: tuple[str, str] | None = None,
) -> Obj:
    """The status a BatchSandbox should have given its observed pods.

    Args:
        batch: the BatchSandbox as read (its current status is the baseline
            for condition transition times).
        pods: the pods that serve it (template replicas or allocated pool pods).
        now: RFC 3339 time for conditions that change now.
        waiting: (reason, message) when progress is blocked (no pool, no
            ready pool pod, invalid spec).
    """
    desired = desired_replicas(batch)
    alive = live_pods(pods)
    ready = sum(1 for p in alive if m.is_ready(p))
    failed = [p["metadata"]["name"] for p in alive if m.is_failed(p)]
    all_ready = ready >= desired
    ready_reason = c.REASON_NO_REPLICAS if desired == 0 else c.REASON_ALL_READY
    conditions = [
        _condition(
            c.COND_READY,
            all_ready,
            ready_reason if all_ready else c.REASON_NOT_READY,
            f"{ready}/{desired} replicas ready",
        ),
        _progressing(all_ready, len(alive), desired, waiting),
        _condition(
            c.COND_POD_FAILED,
            bool(failed),
            c.REASON_POD_FAILED if failed else c.REASON_NO_FAILURE,
            f"failed pods: {', '.join(sorted(failed))}" if failed else "",
        ),
    ]
    old = batch.get("status") or {}
    phase = c.PHASE_SUCCEED if ready > 0 else c.PHASE_FAILED if failed else c.PHASE_PENDING
    return {
        "observedGeneration": batch.get("metadata", {}).get("generation", 0),
        "replicas": len(alive),
        "allocated": sum(1 for p in alive if m.is_scheduled(p)),
        "ready": ready,
        "phase": phase,
        "conditions": _keep_transition_times(conditions, old.get("conditions") or [], now),
        # Tasks are not supported; upstream requires the counters.
        "taskRunning": 0,
        "taskSucceed": 0,
        "taskFailed": 0,
        "taskUnknown": 0,
        "taskPending": 0,
    }


def _progressing(all_ready: bool, alive: int, desired: int, waiting: tuple[str, str] | None) -> Obj:
    if waiting is not None:
        return _condition(c.COND_PROGRESSING, not all_ready, waiting[0], waiting[1])
    if all_ready:
        return _condition(c.COND_PROGRESSING, False, c.REASON_DONE, "all replicas ready")
    return _condition(
        c.COND_PROGRESSING, True, c.REASON_CREATING, f"{alive}/{desired} pods exist, not all ready"
    )


# --- Pool -------------------------------------------------------------------


def capacity_problem(capacity: Obj) -> str | None:
    """Why a capacitySpec cannot be honoured, or None."""
    missing = [k for k in _POOL_BOUNDS if not isinstance(capacity.get(k), int)]
    if missing:
        return f"spec.capacitySpec is missing {', '.join(missing)}"
    if capacity["poolMin"] > capacity["poolMax"]:
        return "spec.capacitySpec.poolMin must be <= poolMax"
    if capacity["bufferMin"] > capacity["bufferMax"]:
        return "spec.capacitySpec.bufferMin must be <= bufferMax"
    return None


def is_allocated(pod: Obj) -> bool:
    return bool(m.labels_of(pod).get(c.BATCH_LABEL))


@dataclass(frozen=True)
class PoolView:
    """A Pool's pods sorted into the groups every rule talks about."""

    allocated: tuple[Obj, ...]
    idle: tuple[Obj, ...]  # unallocated, current template, starting or ready
    broken: tuple[Obj, ...]  # unallocated and finished, or from an old template

    @property
    def total(self) -> int:
        return len(self.allocated) + len(self.idle)


def view_pool(pods: list[Obj], revision: str) -> PoolView:
    allocated, idle, broken = [], [], []
    for pod in live_pods(pods):
        if is_allocated(pod):
            allocated.append(pod)
        elif m.is_finished(pod) or m.labels_of(pod).get(c.REVISION_LABEL) != revision:
            broken.append(pod)
        else:
            idle.append(pod)
    return PoolView(tuple(allocated), tuple(idle), tuple(broken))


@dataclass(frozen=True)
class PoolPlan:
    create: int
    delete_names: tuple[str, ...]


def plan_pool(capacity: Obj, view: PoolView) -> PoolPlan:
    """How many warm pods to add, and which to remove.

    Rules: idle pods stay in [bufferMin, bufferMax]; the total (allocated +
    idle) stays in [poolMin, poolMax]; poolMax wins over bufferMin. Broken
    idle pods are always removed. Idle pods removed first are those not yet
    ready, newest first (the ready ones are what allocation wants).
    """
    idle, total = len(view.idle), view.total
    want = max(capacity["bufferMin"] - idle, capacity["poolMin"] - total, 0)
    create = max(0, min(want, capacity["poolMax"] - total))
    over_buffer = min(idle - capacity["bufferMax"], total - capacity["poolMin"])
    excess = max(0, min(idle, max(over_buffer, total - capacity["poolMax"])))
    order = sorted(view.idle, key=m.creation_key, reverse=True)
    order.sort(key=m.is_ready)  # stable: not-ready first, newest first within
    doomed = [p["metadata"]["name"] for p in order[:excess]]
    doomed += [p["metadata"]["name"] for p in view.broken]
    return PoolPlan(create, tuple(doomed))


def allocation_candidates(view: PoolView) -> list[Obj]:
    """Idle ready pods, oldest first: the order a BatchSandbox takes them in."""
    return sorted((p for p in view.idle if m.is_ready(p)), key=m.creation_key)


def pool_status(pool: Obj, view: PoolView, revision: str) -> Obj:
    pods = [*view.allocated, *view.idle]
    return {
        "observedGeneration": pool.get("metadata", {}).get("generation", 0),
        "total": view.total,
        "allocated": len(view.allocated),
        "available": len(allocation_candidates(view)),
        "revision": revision,
        "updated": sum(1 for p in pods if m.labels_of(p).get(c.REVISION_LABEL) == revision),
    }


def status_changed(current: Obj | None, wanted: Obj) -> bool:
    """True when any field we own differs (fields we do not write are ignored)."""
    current = current or {}
    return any(current.get(key) != value for key, value in wanted.items())
