"""Container label keys: the state of a Docker sandbox lives here.

Labels are written once at create and are immutable afterwards, which is what
makes them trustworthy: the sandbox cannot change them. Everything the server
needs to rebuild its view after a restart is here (see ``overlay.py`` for the
two values that can change later: expiry and metadata).
"""

from __future__ import annotations

import json
from datetime import datetime

# Marks every object Sandhold creates (containers, the execd volume); list
# and teardown select on it and never touch anything without it.
MANAGED_BY = "sandhold.dev/managed-by"
MANAGED_BY_VALUE = "sandhold"

# The name of the server that owns the sandbox (`[server] name`): several
# servers can share one daemon without seeing or expiring each other's.
INSTANCE = "sandhold.dev/instance"

# The sandbox id (uuid4 hex); also in the container name `sandhold-<id>`.
SANDBOX_ID = "sandhold.dev/sandbox-id"

# ISO-8601 UTC creation time; the order `list` returns sandboxes in.
CREATED_AT = "sandhold.dev/created-at"

# ISO-8601 UTC expiry as set at create; "" = never expires. A renew writes
# the new value to the overlay, which then wins over this label.
EXPIRES_AT = "sandhold.dev/expires-at"

# The caller's entrypoint as a JSON list (the container's real command is
# `execd init -- <entrypoint…>`, so it cannot be read back from Cmd).
ENTRYPOINT = "sandhold.dev/entrypoint"

# The image reference exactly as the caller wrote it.
IMAGE = "sandhold.dev/image"

# The Docker runtime the container was created with ("runc", "runsc" …).
RUNTIME = "sandhold.dev/runtime"

# Per-sandbox execd access token: returned by `endpoint` as a header. Only
# readers of the Docker API see it; the sandbox itself gets it via env.
EXECD_TOKEN = "sandhold.dev/execd-token"

# On the execd volume: the id of the image it was filled from, so a rebuilt
# execd image of the same version is noticed.
EXECD_IMAGE_ID = "sandhold.dev/execd-image-id"

# User metadata: one label per key, `meta.sandhold.dev/<key>` = value. The
# key is kept verbatim after the prefix, so `.`, `_` and `/` round-trip.
METADATA_PREFIX = "meta.sandhold.dev/"


def managed_filter(instance: str | None = None) -> dict[str, list[str]]:
    """Docker `filters` selecting what Sandhold manages (of one server, if named)."""
    selected = [f"{MANAGED_BY}={MANAGED_BY_VALUE}"]
    if instance is not None:
        selected.append(f"{INSTANCE}={instance}")
    return {"label": selected}


def metadata_to_labels(metadata: dict[str, str]) -> dict[str, str]:
    return {f"{METADATA_PREFIX}{key}": value for key, value in metadata.items()}


def metadata_from_labels(labels: dict[str, str]) -> dict[str, str]:
    cut = len(METADATA_PREFIX)
    return {k[cut:]: v for k, v in labels.items() if k.startswith(METADATA_PREFIX)}


def format_time(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def sandbox_labels(
    *,
    instance: str,
    sandbox_id: str,
    image: str,
    entrypoint: list[str],
    runtime: str,
    token: str,
    created_at: datetime,
    expires_at: datetime | None,
    metadata: dict[str, str],
) -> dict[str, str]:
    """All labels of a sandbox container."""
    return {
        MANAGED_BY: MANAGED_BY_VALUE,
        INSTANCE: instance,
        SANDBOX_ID: sandbox_id,
        CREATED_AT: format_time(created_at),
        EXPIRES_AT: format_time(expires_at),
        ENTRYPOINT: json.dumps(entrypoint),
        IMAGE: image,
        RUNTIME: runtime,
        EXECD_TOKEN: token,
        **metadata_to_labels(metadata),
    }
