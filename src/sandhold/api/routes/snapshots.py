"""Snapshots are part of the upstream API but not built here: every route is 501."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from sandhold.api.deps import require_api_key
from sandhold.errors import NotImplementedFeature

router = APIRouter(tags=["snapshots"], dependencies=[Depends(require_api_key)])


def _not_built() -> None:
    raise NotImplementedFeature("snapshots are not supported by this server yet")


for path, methods in (
    ("/snapshots", ["GET", "POST"]),
    ("/snapshots/{snapshot_id}", ["GET", "DELETE"]),
    ("/sandboxes/{sandbox_id}/snapshots", ["GET", "POST"]),
):
    router.add_api_route(path, _not_built, methods=methods, include_in_schema=False)
