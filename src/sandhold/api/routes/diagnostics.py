"""Diagnostics: a sandbox's logs and events, delivered inline as JSON."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from sandhold.api import schemas
from sandhold.api.deps import BackendDep, require_api_key
from sandhold.backends.base import Diagnostics

router = APIRouter(
    prefix="/sandboxes/{sandbox_id}/diagnostics",
    tags=["diagnostics"],
    dependencies=[Depends(require_api_key)],
)

SandboxId = Annotated[str, Path(min_length=1)]
Scope = Annotated[str | None, Query()]


def _inline(
    sandbox_id: str, kind: Literal["logs", "events"], scope: str | None, found: Diagnostics
) -> schemas.DiagnosticContent:
    return schemas.DiagnosticContent(
        sandbox_id=sandbox_id,
        kind=kind,
        scope=scope or "all",
        content_type=found.content_type,
        truncated=found.truncated,
        content=found.content,
    )


@router.get("/logs", response_model=schemas.DiagnosticContent)
async def get_logs(
    sandbox_id: SandboxId, backend: BackendDep, scope: Scope = None
) -> schemas.DiagnosticContent:
    return _inline(sandbox_id, "logs", scope, await backend.logs(sandbox_id, scope))


@router.get("/events", response_model=schemas.DiagnosticContent)
async def get_events(
    sandbox_id: SandboxId, backend: BackendDep, scope: Scope = None
) -> schemas.DiagnosticContent:
    return _inline(sandbox_id, "events", scope, await backend.events(sandbox_id, scope))
