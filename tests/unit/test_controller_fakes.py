"""Canned objects and an in-memory client for the controller tests (holds no tests)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from sandhold.controller import _constants as c

Obj = dict[str, Any]
_uids = itertools.count(1)
TEMPLATE = {
    "metadata": {"labels": {"app": "sbx"}},
    "spec": {
        "runtimeClassName": "gvisor",
        "containers": [{"name": "main", "image": "sandhold/busybox:0.1.0"}],
    },
}


def batch(name: str = "b1", replicas: int = 1, **spec: Any) -> Obj:
    body = {"replicas": replicas, **spec}
    if "poolRef" not in spec and "template" not in spec:
        body["template"] = copy.deepcopy(TEMPLATE)
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.BATCH_KIND,
        "metadata": {"name": name, "namespace": "ns", "uid": f"u{next(_uids)}", "generation": 1},
        "spec": body,
    }


def pool(name: str = "p1", template: Obj | None = None, **capacity: int) -> Obj:
    cap = {"poolMin": 0, "poolMax": 10, "bufferMin": 2, "bufferMax": 3, **capacity}
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.POOL_KIND,
        "metadata": {"name": name, "namespace": "ns", "uid": f"u{next(_uids)}", "generation": 1},
        "spec": {"template": template or copy.deepcopy(TEMPLATE), "capacitySpec": cap},
    }


def pod(
    name: str,
    *,
    labels: dict[str, str] | None = None,
    ready: bool = False,
    phase: str = "Pending",
    ip: str | None = None,
    created: str = "2025-01-01T00:00:00Z",
    owner_uid: str = "",
    terminating: bool = False,
    node: str | None = None,
) -> Obj:
    status: Obj = {"phase": "Running" if ready else phase}
    if ready:
        status["conditions"] = [{"type": "Ready", "status": "True"}]
    if ip:
        status["podIP"] = ip
    meta: Obj = {
        "name": name,
        "namespace": "ns",
        "labels": {c.MANAGED_BY: c.MANAGED_BY_VALUE, **(labels or {})},
        "creationTimestamp": created,
        "resourceVersion": "1",
        "ownerReferences": [{"uid": owner_uid}] if owner_uid else [],
    }
    if terminating:
        meta["deletionTimestamp"] = "2025-01-01T00:00:01Z"
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}, "status": status}


class FakeKube:
    """Objects in dicts; label selectors of the form ``k=v,k2=v2`` only."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.pods: dict[str, Obj] = {}
        self.calls: list[tuple[str, ...]] = []
        self._names = itertools.count()

    def add(self, plural: str, obj: Obj) -> Obj:
        self.objects[(plural, obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj
        return obj

    def get(self, plural: str, namespace: str, name: str) -> Obj | None:
        found = self.objects.get((plural, namespace, name))
        return copy.deepcopy(found) if found else None

    def list(self, plural: str, namespace: str | None) -> list[Obj]:
        return [copy.deepcopy(o) for (p, ns, _), o in self.objects.items() if p == plural]

    def patch_status(self, plural: str, namespace: str, name: str, status: Obj) -> None:
        self.calls.append(("patch_status", plural, name))
        self.objects[(plural, namespace, name)]["status"] = copy.deepcopy(status)

    def patch_annotations(self, plural: str, ns: str, name: str, ann: dict[str, str]) -> None:
        self.calls.append(("patch_annotations", plural, name))
        meta = self.objects[(plural, ns, name)]["metadata"]
        meta.setdefault("annotations", {}).update(ann)

    def delete(self, plural: str, namespace: str, name: str, uid: str) -> None:
        self.calls.append(("delete", plural, name))
        self.objects.pop((plural, namespace, name), None)

    def list_pods(self, namespace: str, selector: str) -> list[Obj]:
        want = dict(part.split("=", 1) for part in selector.split(","))
        return [
            copy.deepcopy(p)
            for p in self.pods.values()
            if all(p["metadata"]["labels"].get(k) == v for k, v in want.items())
        ]

    def create_pod(self, namespace: str, body: Obj) -> Obj | None:
        body = copy.deepcopy(body)
        meta = body["metadata"]
        name = meta.get("name") or f"{meta['generateName']}{next(self._names)}"
        if name in self.pods:
            return None
        meta.update(name=name, resourceVersion="1", creationTimestamp="2025-01-01T00:00:00Z")
        body["status"] = {"phase": "Pending"}
        self.pods[name] = body
        self.calls.append(("create_pod", name))
        return body

    def delete_pod(self, namespace: str, name: str) -> None:
        self.calls.append(("delete_pod", name))
        self.pods.pop(name, None)

    def claim_pod(self, namespace: str, name: str, patch: Obj) -> bool:
        pod = self.pods.get(name)
        meta = patch["metadata"]
        if pod is None or pod["metadata"]["resourceVersion"] != meta["resourceVersion"]:
            return False
        pod["metadata"]["labels"].update(meta["labels"])
        pod["metadata"].setdefault("annotations", {}).update(meta["annotations"])
        pod["metadata"]["ownerReferences"] = meta["ownerReferences"]
        pod["metadata"]["resourceVersion"] = str(int(meta["resourceVersion"]) + 1)
        self.calls.append(("claim_pod", name))
        return True

    def make_ready(self, name: str, ip: str) -> None:
        status = self.pods[name]["status"]
        status.update(phase="Running", podIP=ip, conditions=[{"type": "Ready", "status": "True"}])
        self.pods[name]["metadata"]["resourceVersion"] += "1"
