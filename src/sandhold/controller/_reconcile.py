"""Reconcilers: read the cluster, ask ``_decisions`` what to do, do it.

Every call starts from a fresh read of the object and its pods, so running
one twice changes nothing the second time and a restarted controller picks up
exactly where the cluster is. The per-object locks only serialise work inside
this process; the guarantees that matter (one pod, one BatchSandbox) come from
resourceVersion-checked patches on the API server.

Lock order is always BatchSandbox before Pool, never the reverse.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.rest import ApiException

from sandhold.controller import _constants as c
from sandhold.controller import _decisions as d
from sandhold.controller import _manifests as m
from sandhold.controller._client import Kube, api_message

Obj = dict[str, Any]
log = logging.getLogger("sandhold.controller")


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _info(msg: str, **fields: Any) -> None:
    log.info(msg, extra={"fields": fields})


class _KeyedLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str, str], threading.Lock] = {}

    def __call__(self, *key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())  # type: ignore[arg-type]


class Reconciler:
    """Reconciles BatchSandboxes and Pools in ``namespace`` (None = all)."""

    def __init__(
        self, kube: Kube, namespace: str | None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.clock = clock
        self._lock = _KeyedLocks()

    # -- BatchSandbox ------------------------------------------------------------

    def batch(self, namespace: str, name: str) -> None:
        """Bring one BatchSandbox to its spec; delete it if it has expired."""
        refill: str | None = None
        with self._lock("batch", namespace, name):
            batch = self.kube.get(c.BATCH_PLURAL, namespace, name)
            if batch is None or batch["metadata"].get("deletionTimestamp"):
                return
            if self._expire_if_due(batch):
                return
            problem = d.spec_problem(batch)
            if problem:
                self._publish(batch, self._pods_of(batch), (c.REASON_INVALID_SPEC, problem))
                return
            if batch["spec"].get("poolRef"):
                pods, waiting, took = self._reconcile_pooled(batch)
                refill = batch["spec"]["poolRef"] if took else None
            else:
                pods, waiting = self._reconcile_template(batch)
            self._publish(batch, pods, waiting)
        if refill:
            self.pool(namespace, refill)

    def _expire_if_due(self, batch: Obj) -> bool:
        left = d.seconds_until_expiry(batch, self.clock())
        if left is None or left > 0:
            return False
        meta = batch["metadata"]
        self.kube.delete(c.BATCH_PLURAL, meta["namespace"], meta["name"], meta["uid"])
        _info(
            "batchsandbox expired: deleted",
            namespace=meta["namespace"],
            batchsandbox=meta["name"],
            expire_time=batch["spec"].get("expireTime"),
        )
        return True

    def _pods_of(self, batch: Obj) -> list[Obj]:
        meta = batch["metadata"]
        selector = f"{c.BATCH_LABEL}={meta['name']},{c.MANAGED_BY}={c.MANAGED_BY_VALUE}"
        pods = self.kube.list_pods(meta["namespace"], selector)
        return [p for p in pods if m.owned_by(p, meta["uid"])]

    def _reconcile_template(self, batch: Obj) -> tuple[list[Obj], tuple[str, str] | None]:
        meta, pods = batch["metadata"], self._pods_of(batch)
        plan = d.plan_replicas(d.desired_replicas(batch), pods)
        refused = None
        for index in plan.create_indexes:
            pod = m.build_pod(
                batch["spec"]["template"],
                owner=batch,
                labels={c.BATCH_LABEL: meta["name"], c.INDEX_LABEL: str(index)},
                name=m.replica_pod_name(meta["name"], index),
            )
            refused = self._create_pod(meta["namespace"], pod, batchsandbox=meta["name"])
            if refused:
                break
        self._delete_pods(meta["namespace"], plan.delete_names, batchsandbox=meta["name"])
        if plan.create_indexes or plan.delete_names:
            pods = self._pods_of(batch)
        return pods, ((c.REASON_POD_REFUSED, refused) if refused else None)

    def _create_pod(self, namespace: str, pod: Obj, **why: str) -> str | None:
        """Create a pod; the API server's message when it refuses the manifest."""
        try:
            made = self.kube.create_pod(namespace, pod)
        except ApiException as exc:
            if exc.status not in (400, 403, 404, 422):
                raise  # temporary: the next event or resync retries
            message = f"pod creation refused ({exc.status}): {api_message(exc)}"
            log.warning(
                "pod refused", extra={"fields": {"namespace": namespace, **why, "reason": message}}
            )
            return message
        name = (made or pod)["metadata"].get("name")
        _info("pod created", namespace=namespace, pod=name, **why)
        return None

    def _reconcile_pooled(self, batch: Obj) -> tuple[list[Obj], tuple[str, str] | None, int]:
        meta, pool_name = batch["metadata"], batch["spec"]["poolRef"]
        desired, pods = d.desired_replicas(batch), self._pods_of(batch)
        surplus = d.surplus_allocated(desired, pods)
        self._delete_pods(meta["namespace"], surplus, batchsandbox=meta["name"])
        free = d.free_indexes(desired, pods)
        if not free:
            return (self._pods_of(batch) if surplus else pods), None, 0
        pool = self.kube.get(c.POOL_PLURAL, meta["namespace"], pool_name)
        if pool is None or pool["metadata"].get("deletionTimestamp"):
            return pods, (c.REASON_POOL_NOT_FOUND, f"no Pool {pool_name!r} in this namespace"), 0
        took = self._claim(batch, pool, free)
        pods = self._pods_of(batch) if took or surplus else pods
        if took == len(free):
            return pods, None, took
        short = f"pool {pool_name!r} has no ready idle pod: {desired - len(free) + took}/{desired}"
        return pods, (c.REASON_WAITING_FOR_POOL, short + " replicas allocated"), took

    def _claim(self, batch: Obj, pool: Obj, free: list[int]) -> int:
        """Take ready idle pool pods for the ``free`` replica indexes.

        The claim is one merge patch carrying the pod's resourceVersion: the
        BatchSandbox label, its replica index and the owner reference move in
        one step, and a pod someone else changed meanwhile is simply skipped.
        """
        meta, pmeta = batch["metadata"], pool["metadata"]
        revision = m.template_revision(pool["spec"].get("template"))
        view = d.view_pool(self._pool_pods(pool), revision)
        took = 0
        for pod in d.allocation_candidates(view):
            if took == len(free):
                break
            patch = {
                "metadata": {
                    "resourceVersion": pod["metadata"]["resourceVersion"],
                    "labels": {c.BATCH_LABEL: meta["name"], c.INDEX_LABEL: str(free[took])},
                    "annotations": {c.ALLOCATED_AT_ANNOTATION: rfc3339(self.clock())},
                    "ownerReferences": [m.owner_reference(batch)],
                }
            }
            if self.kube.claim_pod(meta["namespace"], pod["metadata"]["name"], patch):
                took += 1
                _info(
                    "pool pod allocated",
                    namespace=meta["namespace"],
                    batchsandbox=meta["name"],
                    pool=pmeta["name"],
                    pod=pod["metadata"]["name"],
                )
        return took

    def _publish(self, batch: Obj, pods: list[Obj], waiting: tuple[str, str] | None) -> None:
        """Write the endpoints/allocation annotations and the status, each only on change."""
        meta = batch["metadata"]
        current = meta.get("annotations") or {}
        wanted: dict[str, str] = {}
        ips = m.endpoints(pods)
        if ips or c.ENDPOINTS_ANNOTATION in current:
            wanted[c.ENDPOINTS_ANNOTATION] = json.dumps(ips)
        if batch["spec"].get("poolRef"):
            names = sorted(p["metadata"]["name"] for p in d.live_pods(pods))
            wanted[c.ALLOCATION_ANNOTATION] = json.dumps(
                {"pool": batch["spec"]["poolRef"], "pods": names}
            )
        changed = {k: v for k, v in wanted.items() if current.get(k) != v}
        if changed:
            self.kube.patch_annotations(c.BATCH_PLURAL, meta["namespace"], meta["name"], changed)
        status = d.batch_status(batch, pods, now=rfc3339(self.clock()), waiting=waiting)
        if d.status_changed(batch.get("status"), status):
            self.kube.patch_status(c.BATCH_PLURAL, meta["namespace"], meta["name"], status)
            _info(
                "batchsandbox status",
                namespace=meta["namespace"],
                batchsandbox=meta["name"],
                phase=status["phase"],
                ready=status["ready"],
                replicas=status["replicas"],
                endpoints=ips,
            )

    def _delete_pods(self, namespace: str, names: tuple[str, ...] | list[str], **why: str) -> None:
        for name in names:
            self.kube.delete_pod(namespace, name)
            _info("pod deleted", namespace=namespace, pod=name, **why)

    # -- Pool ----------------------------------------------------------------------

    def pool(self, namespace: str, name: str) -> None:
        """Keep a Pool's warm pods within its capacity; then serve waiting BatchSandboxes."""
        with self._lock("pool", namespace, name):
            available = self._reconcile_pool(namespace, name)
        if available:
            for batch in self._waiting_for(namespace, name):
                self.batch(namespace, batch["metadata"]["name"])

    def _pool_pods(self, pool: Obj) -> list[Obj]:
        """Idle pods this Pool owns plus pods allocated from it."""
        meta = pool["metadata"]
        selector = f"{c.POOL_LABEL}={meta['name']},{c.MANAGED_BY}={c.MANAGED_BY_VALUE}"
        pods = self.kube.list_pods(meta["namespace"], selector)
        return [p for p in pods if m.owned_by(p, meta["uid"]) or d.is_allocated(p)]

    def _reconcile_pool(self, namespace: str, name: str) -> int:
        pool = self.kube.get(c.POOL_PLURAL, namespace, name)
        if pool is None or pool["metadata"].get("deletionTimestamp"):
            return 0
        capacity = pool["spec"].get("capacitySpec") or {}
        problem = d.capacity_problem(capacity)
        if problem:
            fields = {"namespace": namespace, "pool": name, "reason": problem}
            log.warning("pool not reconciled", extra={"fields": fields})
            return 0
        template = pool["spec"].get("template") or {}
        revision = m.template_revision(template)
        view = d.view_pool(self._pool_pods(pool), revision)
        plan = d.plan_pool(capacity, view)
        labels = {c.POOL_LABEL: name, c.REVISION_LABEL: revision}
        for _ in range(plan.create):
            pod = m.build_pod(template, owner=pool, labels=labels, generate_name=f"{name}-")
            if self._create_pod(namespace, pod, pool=name):
                break
        self._delete_pods(namespace, plan.delete_names, pool=name)
        if plan.create or plan.delete_names:
            view = d.view_pool(self._pool_pods(pool), revision)
        status = d.pool_status(pool, view, revision)
        if d.status_changed(pool.get("status"), status):
            self.kube.patch_status(c.POOL_PLURAL, namespace, name, status)
            _info("pool status", namespace=namespace, pool=name, **status)
        return status["available"]

    def _waiting_for(self, namespace: str, pool_name: str) -> list[Obj]:
        """BatchSandboxes on this pool that hold fewer pods than they want."""
        return [
            b
            for b in self.kube.list(c.BATCH_PLURAL, namespace)
            if b.get("spec", {}).get("poolRef") == pool_name
            and not b["metadata"].get("deletionTimestamp")
            and (b.get("status") or {}).get("replicas", 0) < d.desired_replicas(b)
        ]

    # -- everything ------------------------------------------------------------------

    def resync(self) -> None:
        """Reconcile every Pool, then every BatchSandbox in scope (the safety net)."""
        for pool in self.kube.list(c.POOL_PLURAL, self.namespace):
            self._guarded(self.pool, pool)
        for batch in self.kube.list(c.BATCH_PLURAL, self.namespace):
            self._guarded(self.batch, batch)

    def _guarded(self, fn: Callable[[str, str], None], obj: Obj) -> None:
        meta = obj["metadata"]
        try:
            fn(meta["namespace"], meta["name"])
        except Exception:  # one broken object must not stop the others
            fields = {"kind": obj.get("kind"), "namespace": meta["namespace"], "name": meta["name"]}
            log.exception("reconcile failed", extra={"fields": fields})
