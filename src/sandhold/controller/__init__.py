"""The BatchSandbox and Pool controller (a kopf operator).

Called by ``sandhold controller`` (``run``) and by the server at startup
(``check_pool_runtime``). Layers, each importing only those below it:

- ``_constants``: API group, label/annotation keys, condition reasons.
- ``_manifests``, ``_decisions``, ``_runtime_check``: pure functions (pod
  builders, plans, status), tested without a cluster.
- ``_client``: the only code that talks to the API server.
- ``_reconcile``: read the cluster, decide, act; ``_handlers``: kopf wiring;
  ``_operator``: startup.

kopf and kubernetes are imported lazily by ``run`` so the server can use
``check_pool_runtime`` without the ``kubernetes`` extra.
"""

from __future__ import annotations

from sandhold.controller._runtime_check import check_pool_runtime


def run(*, kubeconfig: str | None = None, namespace: str | None = None) -> None:
    """Run the controller until SIGINT/SIGTERM (see ``_operator.run``)."""
    from sandhold.controller._operator import run as _run

    _run(kubeconfig=kubeconfig, namespace=namespace)


__all__ = ["check_pool_runtime", "run"]
