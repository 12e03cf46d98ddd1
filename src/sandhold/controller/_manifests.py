"""Pure builders and readers for pod manifests: no API calls here.

A pod is built from a template exactly as written (the runtime class and
every other field are copied whole, never special-cased); the controller only
adds its labels, a name and the owner reference.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from sandhold.controller import _constants as c

Obj = dict[str, Any]


def owner_reference(owner: Obj) -> Obj:
    """A controller owner reference to ``owner`` (a BatchSandbox or a Pool).

    The garbage collector deletes the pod when the owner goes, even while
    the controller is down.
    """
    meta = owner["metadata"]
    return {
        "apiVersion": owner.get("apiVersion", c.API_VERSION),
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def template_revision(template: Obj | None) -> str:
    """A short stable hash of a pod template (key order does not matter)."""
    text = json.dumps(template or {}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def build_pod(
    template: Obj,
    *,
    owner: Obj,
    labels: dict[str, str],
    name: str | None = None,
    generate_name: str | None = None,
) -> Obj:
    """A Pod manifest from a pod template (``{metadata, spec}``).

    Args:
        template: the ``spec.template`` of a BatchSandbox or Pool.
        owner: the object the pod belongs to (becomes its controller owner).
        labels: the controller's labels; they win over template labels.
        name: a fixed pod name (template-mode replicas: makes create idempotent).
        generate_name: a name prefix for the API server to complete (pool pods).

    Returns:
        A new dict; the template is not modified.
    """
    tmeta = template.get("metadata") or {}
    metadata: Obj = {
        "namespace": owner["metadata"]["namespace"],
        "labels": {**(tmeta.get("labels") or {}), **labels, c.MANAGED_BY: c.MANAGED_BY_VALUE},
        "ownerReferences": [owner_reference(owner)],
    }
    if tmeta.get("annotations"):
        metadata["annotations"] = dict(tmeta["annotations"])
    if name:
        metadata["name"] = name
    else:
        metadata["generateName"] = generate_name or f"{owner['metadata']['name']}-"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def replica_pod_name(batch_name: str, index: int) -> str:
    return f"{batch_name}-{index}"


# --- reading observed pods -------------------------------------------------


def labels_of(pod: Obj) -> dict[str, str]:
    return pod.get("metadata", {}).get("labels") or {}


def is_terminating(pod: Obj) -> bool:
    return bool(pod.get("metadata", {}).get("deletionTimestamp"))


def is_finished(pod: Obj) -> bool:
    """The pod's containers have stopped for good (it will never be Ready again)."""
    return pod.get("status", {}).get("phase") in ("Succeeded", "Failed")


def is_failed(pod: Obj) -> bool:
    return pod.get("status", {}).get("phase") == "Failed"


def is_ready(pod: Obj) -> bool:
    """Running, Ready condition True, not being deleted."""
    if is_terminating(pod) or pod.get("status", {}).get("phase") != "Running":
        return False
    conditions = pod.get("status", {}).get("conditions") or []
    return any(x.get("type") == "Ready" and x.get("status") == "True" for x in conditions)


def pod_ip(pod: Obj) -> str | None:
    return pod.get("status", {}).get("podIP") or None


def is_scheduled(pod: Obj) -> bool:
    return bool(pod.get("spec", {}).get("nodeName"))


def replica_index(pod: Obj) -> int:
    """The replica index label, or a large number so unlabelled pods sort last."""
    try:
        return int(labels_of(pod).get(c.INDEX_LABEL, ""))
    except ValueError:
        return 1 << 30


def owned_by(pod: Obj, owner_uid: str) -> bool:
    refs = pod.get("metadata", {}).get("ownerReferences") or []
    return any(ref.get("uid") == owner_uid for ref in refs)


def creation_key(pod: Obj) -> tuple[str, str]:
    """Sort key: oldest first, then by name (RFC 3339 UTC strings sort as times)."""
    meta = pod.get("metadata", {})
    return (meta.get("creationTimestamp") or "", meta.get("name") or "")


def endpoints(pods: list[Obj]) -> list[str]:
    """Pod IPs in replica order; pods without an IP yet are left out."""
    live = [p for p in pods if not is_terminating(p) and pod_ip(p)]
    live.sort(key=lambda p: (replica_index(p), p["metadata"]["name"]))
    return [ip for p in live if (ip := pod_ip(p))]
