"""Pool/server runtime consistency (OSEP-0004, "Pooled Sandbox Consistency").

Warm pods are built from the Pool's template, not from the server's config,
so a pool whose ``runtimeClassName`` differs from the server's would hand out
sandboxes in another runtime: a silent downgrade. The server calls this at
startup and refuses any pool it returns a message for.
"""

from __future__ import annotations

from typing import Any


def check_pool_runtime(pool: dict[str, Any], expected_runtime_class: str | None) -> str | None:
    """Compare a Pool's pod runtime class with the server's resolved one.

    Args:
        pool: the Pool object as read from the API server.
        expected_runtime_class: the RuntimeClass the server resolved from
            ``[secure_runtime]``; None means runc (no runtimeClassName).

    Returns:
        None when they agree, else a one-line warning naming the pool, both
        values and the fix.
    """
    meta = pool.get("metadata") or {}
    name = f"{meta.get('namespace', '?')}/{meta.get('name', '?')}"
    template = (pool.get("spec") or {}).get("template") or {}
    actual = (template.get("spec") or {}).get("runtimeClassName") or None
    expected = expected_runtime_class or None
    if actual == expected:
        return None
    want = f"runtimeClassName: {expected}" if expected else "no runtimeClassName (runc)"
    return (
        f"pool {name} runs pods with runtimeClassName={actual or '<unset>'} but the server's "
        f"[secure_runtime] resolves to {expected or '<unset> (runc)'}: refusing the pool; "
        f"set spec.template.spec {want} in the Pool or change [secure_runtime]"
    )
