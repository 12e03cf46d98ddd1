"""Start the operator: API client, reconciler, kopf in standalone mode."""

from __future__ import annotations

import logging
import os

import kopf

from sandhold.controller._client import Kube, load_config
from sandhold.controller._handlers import build_registry
from sandhold.controller._reconcile import Reconciler

log = logging.getLogger("sandhold.controller")


def run(*, kubeconfig: str | None = None, namespace: str | None = None) -> None:
    """Run the controller until SIGINT/SIGTERM.

    Args:
        kubeconfig: kubeconfig file; None = in-cluster service account, else
            $KUBECONFIG / ~/.kube/config.
        namespace: watch only this namespace; None = every namespace.
    """
    if kubeconfig:
        # kopf's own login reads $KUBECONFIG; both clients must see one cluster.
        os.environ["KUBECONFIG"] = kubeconfig
    reconciler = Reconciler(Kube(load_config(kubeconfig)), namespace)
    log.info(
        "controller starting",
        extra={"fields": {"namespace": namespace or "<all>", "kubeconfig": kubeconfig}},
    )
    # standalone: one controller, no peering CRDs needed (two replicas would
    # still be safe for allocation, only wasteful).
    kopf.run(
        registry=build_registry(reconciler),
        standalone=True,
        clusterwide=namespace is None,
        namespaces=[namespace] if namespace else (),
    )
