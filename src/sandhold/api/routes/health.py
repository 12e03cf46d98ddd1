"""Liveness and the SDK's fire-and-forget metrics events."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response, status

from sandhold.api import schemas
from sandhold.api.deps import require_api_key

health_router = APIRouter(tags=["health"])
metrics_router = APIRouter(
    prefix="/metrics", tags=["metrics"], dependencies=[Depends(require_api_key)]
)


@health_router.get("/health", response_model=schemas.Health)
async def health() -> schemas.Health:
    """No auth: load balancers and `sandhold doctor` probe it."""
    return schemas.Health()


@metrics_router.post("/events", status_code=status.HTTP_204_NO_CONTENT)
async def report_event(request: Request) -> Response:
    # The SDK reports create latency here and ignores the answer; we keep
    # nothing, but drain the body so the connection stays reusable.
    await request.body()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
