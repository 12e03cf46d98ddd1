"""Names the controller shares with the cluster: API group, label and annotation
keys, condition types and reasons.

Labels and annotations are the controller's whole memory: everything it needs
after a restart is on the objects, found by the selectors built from these keys.
"""

from __future__ import annotations

GROUP = "sandbox.opensandbox.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
BATCH_KIND = "BatchSandbox"
BATCH_PLURAL = "batchsandboxes"
POOL_KIND = "Pool"
POOL_PLURAL = "pools"

# JSON list of the pod IPs of a BatchSandbox, in replica order; the server and
# ingress read the sandbox address from here (upstream-compatible key).
ENDPOINTS_ANNOTATION = f"{GROUP}/endpoints"

# JSON {"pool": <name>, "pods": [<pod names>]} on a pooled BatchSandbox: a
# readable copy of what the pod labels say (the labels are the truth).
ALLOCATION_ANNOTATION = "sandhold.dev/allocation"

# On every pod the controller creates; list selectors start from it, and
# nothing without it is ever touched.
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "sandhold-controller"

# Name of the BatchSandbox a pod serves. On a pool pod its presence IS the
# allocation: it is set by a resourceVersion-checked patch, so two
# reconciles can never both take the same pod.
BATCH_LABEL = "sandhold.dev/batchsandbox"

# Replica index (0..replicas-1) of a pod inside its BatchSandbox.
INDEX_LABEL = "sandhold.dev/replica-index"

# Name of the Pool a warm pod was created for (kept after allocation so the
# pool counts it as allocated).
POOL_LABEL = "sandhold.dev/pool"

# Hash of the Pool template a warm pod was built from; idle pods with an old
# hash are replaced after a template change.
REVISION_LABEL = "sandhold.dev/pool-revision"

# ISO-8601 UTC time a pool pod was handed to a BatchSandbox.
ALLOCATED_AT_ANNOTATION = "sandhold.dev/allocated-at"

# Condition types on BatchSandbox.status.conditions (upstream's enum).
COND_READY = "Ready"
COND_PROGRESSING = "Progressing"
COND_POD_FAILED = "PodFailed"

# CamelCase reasons.
REASON_ALL_READY = "AllReplicasReady"  # every desired replica is Ready
REASON_NOT_READY = "ReplicasNotReady"  # some replica is missing or not Ready
REASON_NO_REPLICAS = "NoReplicas"  # spec.replicas is 0
REASON_CREATING = "CreatingPods"  # pods exist or are being created, not all Ready
REASON_WAITING_FOR_POOL = "WaitingForPool"  # the pool has no ready idle pod now
REASON_POOL_NOT_FOUND = "PoolNotFound"  # spec.poolRef names no Pool
REASON_INVALID_SPEC = "InvalidSpec"  # neither template nor poolRef, or both
REASON_POD_REFUSED = "PodRefused"  # the API server refused the pod manifest
REASON_DONE = "ReplicasAvailable"  # nothing left to do
REASON_POD_FAILED = "PodFailed"  # a pod ended in phase Failed
REASON_NO_FAILURE = "NoFailedPods"

# BatchSandbox.status.phase values (upstream's enum; Succeed = at least one
# replica is Ready, not a terminal state).
PHASE_PENDING = "Pending"
PHASE_SUCCEED = "Succeed"
PHASE_FAILED = "Failed"
