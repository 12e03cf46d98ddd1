"""Pure functions between wire schemas and the domain model.

Everything here is synchronous and side-effect free so it can be unit-tested
without an app: parsing resource quantities, validating a create request into
a ``CreateSpec``, parsing list filters, paginating, and rendering a
``Sandbox`` for the wire. Failures raise ``InvalidRequest`` (400) or
``NotImplementedFeature`` (501) with a message naming the field and value.
"""

from __future__ import annotations

import math
import platform as _platform
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from sandhold.api import schemas
from sandhold.backends.base import (
    CreateSpec,
    ImageAuth,
    ListFilter,
    Resources,
    Sandbox,
    State,
)
from sandhold.errors import InvalidRequest, NotImplementedFeature

NANO = 1_000_000_000

# Binary suffixes first so "Mi" is not read as "M" followed by junk.
_MEMORY_SUFFIXES = {
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "Pi": 1024**5,
    "k": 1000,
    "K": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "P": 1000**5,
}

_RUNTIME_REFUSAL = "the runtime is chosen by the server administrator"


# --- resource quantities ----------------------------------------------------


def _decimal(field: str, number: str, original: str) -> Decimal:
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise InvalidRequest(f"{field}: {original!r} is not a quantity") from None
    if not value.is_finite() or value <= 0:
        raise InvalidRequest(f"{field}: {original!r} must be a positive quantity")
    return value


def parse_cpu(raw: str | int | float, *, field: str = "resourceLimits.cpu") -> int:
    """``"1"``, ``"0.5"``, ``"500m"`` -> nano-CPUs. Raises ``InvalidRequest``."""
    text = str(raw).strip()
    millis = text.endswith("m")
    cores = _decimal(field, text[:-1] if millis else text, text) / (1000 if millis else 1)
    nano = int(cores * NANO)
    if nano < 1_000_000:  # below 1 millicore the engines round to zero
        raise InvalidRequest(f"{field}: {text!r} is below the minimum of 1m")
    return nano


def parse_memory(raw: str | int | float, *, field: str = "resourceLimits.memory") -> int:
    """``"2Gi"``, ``"512Mi"``, ``"1G"``, ``"1024"`` -> bytes. Raises ``InvalidRequest``."""
    text = str(raw).strip()
    if text.endswith("m"):
        # Docker reads "512m" as MiB, Kubernetes as milli-bytes: refuse the ambiguity.
        raise InvalidRequest(f"{field}: {text!r} is ambiguous ('m' means milli); write e.g. 512Mi")
    number, factor = text, 1
    for suffix, multiplier in _MEMORY_SUFFIXES.items():
        if text.endswith(suffix):
            number, factor = text[: -len(suffix)], multiplier
            break
    value = _decimal(field, number, text) * factor
    if value != value.to_integral_value():
        raise InvalidRequest(f"{field}: {text!r} is not a whole number of bytes")
    return int(value)


def _gpu_requested(raw: str | int | float) -> bool:
    try:
        return Decimal(str(raw).strip()) != 0
    except InvalidOperation:
        raise InvalidRequest(f"resourceLimits.gpu: {raw!r} is not a quantity") from None


def parse_resources(limits: dict[str, Any] | None, *, field: str = "resourceLimits") -> Resources:
    """Resource limits -> ``Resources``; GPUs and unknown resources are 501."""
    limits = limits or {}
    for key, raw in limits.items():
        if key == "gpu" and not _gpu_requested(raw):
            continue
        if "gpu" in key.lower():
            raise NotImplementedFeature(f"{field}.{key}: this server has no GPUs")
        if key not in ("cpu", "memory"):
            raise NotImplementedFeature(
                f"{field}.{key}: unsupported resource (supported: cpu, memory)"
            )
    cpu, memory = limits.get("cpu"), limits.get("memory")
    return Resources(
        nano_cpus=None if cpu is None else parse_cpu(cpu, field=f"{field}.cpu"),
        memory_bytes=None if memory is None else parse_memory(memory, field=f"{field}.memory"),
    )


# --- create request ---------------------------------------------------------


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _host_arch() -> str:
    machine = _platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _harmless(field: str, value: Any) -> bool:
    """Non-empty values that ask for exactly what every sandbox already gets."""
    if not isinstance(value, dict):
        return False
    if field == "credentialProxy":
        return value.get("enabled") is False
    if field == "networkPolicy":
        # Allow-all with no rules is the default bridge network; anything else
        # (deny by default, any rule) would be a promise we cannot keep.
        return value.get("defaultAction", "allow") == "allow" and not value.get("egress")
    if field == "platform":
        arch = value.get("arch", _host_arch())
        return value.get("os", "linux") == "linux" and arch == _host_arch()
    return False


def refuse_unsupported(req: schemas.SandboxCreate) -> None:
    """501 for every documented field we do not build, when it asks for something."""
    unsupported = {
        "networkPolicy": req.network_policy,
        "snapshotId": req.snapshot_id,
        "templateId": req.template_id,
        "platform": req.platform,
        "credentialProxy": req.credential_proxy,
        "volumes": req.volumes,
        "lifecycle": req.lifecycle,
    }
    for field, value in unsupported.items():
        if not _is_empty(value) and not _harmless(field, value):
            raise NotImplementedFeature(f"{field} is not supported by this server yet")


def check_extensions(extensions: dict[str, Any] | None) -> None:
    for key in extensions or {}:
        if "runtime" in key.lower():
            raise InvalidRequest(f"extensions.{key}: {_RUNTIME_REFUSAL}")


def check_metadata_keys(keys: Any, *, field: str = "metadata") -> None:
    """Keys must survive the list filter syntax ``k=v&k2=v2``."""
    for key in keys:
        if not key or "=" in key or "&" in key:
            raise InvalidRequest(f"{field}: key {key!r} must be non-empty without '=' or '&'")


def _check_env(env: dict[str, str]) -> None:
    for key in env:
        if not key or "=" in key or "\x00" in key:
            raise InvalidRequest(f"env: name {key!r} must be non-empty without '=' or NUL")


def _check_entrypoint(entrypoint: list[str] | None) -> list[str]:
    if not entrypoint:
        raise InvalidRequest("entrypoint: must be a non-empty list of strings")
    if not entrypoint[0]:
        raise InvalidRequest("entrypoint[0]: the program must not be an empty string")
    return list(entrypoint)


def _check_timeout(timeout: int | None, max_timeout: int | None) -> int | None:
    if timeout is None:
        if max_timeout is not None:
            raise InvalidRequest(
                f"timeout: a sandbox without expiry is not allowed here "
                f"(max_sandbox_timeout_seconds is {max_timeout})"
            )
        return None
    if timeout < 1:
        raise InvalidRequest(f"timeout: {timeout} must be at least 1 second")
    if max_timeout is not None and timeout > max_timeout:
        raise InvalidRequest(
            f"timeout: {timeout} exceeds max_sandbox_timeout_seconds ({max_timeout})"
        )
    return timeout


def to_create_spec(req: schemas.SandboxCreate, *, max_timeout: int | None) -> CreateSpec:
    """Validate a create request. Raises ``InvalidRequest``/``NotImplementedFeature``."""
    refuse_unsupported(req)
    check_extensions(req.extensions)
    if req.image is None or not req.image.uri.strip():
        raise InvalidRequest("image.uri: is required and must not be empty")
    env = req.env or {}
    metadata = req.metadata or {}
    _check_env(env)
    check_metadata_keys(metadata)
    # Requests are scheduling hints with no Docker equivalent; parsing them
    # still refuses nonsense and GPUs, so nothing wrong is silently accepted.
    parse_resources(req.resource_requests, field="resourceRequests")
    auth = req.image.auth
    return CreateSpec(
        image=req.image.uri.strip(),
        entrypoint=_check_entrypoint(req.entrypoint),
        image_auth=ImageAuth(auth.username, auth.password) if auth else None,
        env=dict(env),
        metadata=dict(metadata),
        timeout_seconds=_check_timeout(req.timeout, max_timeout),
        resources=parse_resources(req.resource_limits),
    )


# --- renew ------------------------------------------------------------------


def check_renewal(
    expires_at: datetime, *, max_timeout: int | None, now: datetime | None = None
) -> datetime:
    """Refuse a time in the past or beyond the configured maximum lifetime."""
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    if expires_at <= now:
        raise InvalidRequest(f"expiresAt: {expires_at.isoformat()} is not in the future")
    if max_timeout is not None and expires_at > now + timedelta(seconds=max_timeout):
        raise InvalidRequest(
            f"expiresAt: {expires_at.isoformat()} is more than "
            f"max_sandbox_timeout_seconds ({max_timeout}) from now"
        )
    return expires_at


# --- list -------------------------------------------------------------------


def parse_states(raw: list[str]) -> frozenset[State]:
    by_name = {state.value.lower(): state for state in State}
    states = set()
    for value in raw:
        for part in value.split(","):  # some clients join states with commas
            part = part.strip()
            if not part:
                continue
            if part.lower() not in by_name:
                known = ", ".join(s.value for s in State)
                raise InvalidRequest(f"state: {part!r} is not one of {known}")
            states.add(by_name[part.lower()])
    return frozenset(states)


def parse_metadata_filter(raw: str | None) -> dict[str, str]:
    """``k=v&k2=v2`` (each part percent-encoded once more) -> dict."""
    if not raw:
        return {}
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InvalidRequest(f"metadata: {raw!r} is not of the form k=v&k2=v2") from None
    check_metadata_keys((key for key, _ in pairs), field="metadata filter")
    return dict(pairs)


def to_list_filter(states: list[str], metadata: str | None) -> ListFilter:
    return ListFilter(states=parse_states(states), metadata=parse_metadata_filter(metadata))


def oldest_first(sandboxes: list[Sandbox]) -> list[Sandbox]:
    """A total order, so page N never repeats or skips what page N-1 showed."""
    return sorted(sandboxes, key=lambda s: (_aware(s.created_at), s.id))


def paginate(
    items: list[Sandbox], *, page: int, page_size: int
) -> tuple[list[Sandbox], schemas.Pagination]:
    total = len(items)
    start = (page - 1) * page_size
    return items[start : start + page_size], schemas.Pagination(
        page=page,
        page_size=page_size,
        total_items=total,
        total_pages=math.ceil(total / page_size),
        has_next_page=start + page_size < total,
    )


# --- domain -> wire ---------------------------------------------------------


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _status(sandbox: Sandbox) -> schemas.StatusPublic:
    status = sandbox.status
    return schemas.StatusPublic(
        state=status.state.value,
        reason=status.reason,
        message=status.message,
        last_transition_at=_aware(status.last_transition_at),
    )


def to_public(sandbox: Sandbox) -> schemas.SandboxPublic:
    return schemas.SandboxPublic(
        id=sandbox.id,
        image=schemas.ImageSpecPublic(uri=sandbox.image),
        status=_status(sandbox),
        metadata=dict(sandbox.metadata),
        entrypoint=list(sandbox.entrypoint),
        created_at=_aware(sandbox.created_at),
        expires_at=_aware(sandbox.expires_at),
    )


def to_created(sandbox: Sandbox) -> schemas.SandboxCreated:
    return schemas.SandboxCreated(
        id=sandbox.id,
        status=_status(sandbox),
        metadata=dict(sandbox.metadata),
        entrypoint=list(sandbox.entrypoint),
        created_at=_aware(sandbox.created_at),
        expires_at=_aware(sandbox.expires_at),
    )
