"""Sandbox lifecycle: create, read, list, delete, pause/resume, renew, endpoints, metadata."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response, status

from sandhold.api import convert, schemas
from sandhold.api.deps import BackendDep, ConfigDep, request_host, require_api_key
from sandhold.errors import NotImplementedFeature

router = APIRouter(prefix="/sandboxes", tags=["sandboxes"], dependencies=[Depends(require_api_key)])

SandboxId = Annotated[str, Path(min_length=1)]
Port = Annotated[int, Path(ge=1, le=65535)]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=schemas.SandboxCreated,
    response_model_exclude_none=True,
)
async def create_sandbox(
    body: schemas.SandboxCreate, backend: BackendDep, config: ConfigDep, response: Response
) -> schemas.SandboxCreated:
    """Create a sandbox; answers once it is ready (execd answers /ping)."""
    spec = convert.to_create_spec(body, max_timeout=config.server.max_sandbox_timeout_seconds)
    sandbox = await backend.create(spec)
    response.headers["Location"] = f"/v1/sandboxes/{sandbox.id}"
    return convert.to_created(sandbox)


@router.get("", response_model=schemas.SandboxList, response_model_exclude_none=True)
async def list_sandboxes(
    backend: BackendDep,
    state: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    metadata: Annotated[str | None, Query()] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=1000)] = 20,
) -> schemas.SandboxList:
    """Sandboxes matching any of ``state`` and all of ``metadata``, oldest first."""
    flt = convert.to_list_filter(state, metadata)
    found = convert.oldest_first(await backend.list(flt))
    items, pagination = convert.paginate(found, page=page, page_size=page_size)
    return schemas.SandboxList(items=[convert.to_public(s) for s in items], pagination=pagination)


@router.get("/{sandbox_id}", response_model=schemas.SandboxPublic, response_model_exclude_none=True)
async def get_sandbox(sandbox_id: SandboxId, backend: BackendDep) -> schemas.SandboxPublic:
    return convert.to_public(await backend.get(sandbox_id))


@router.delete("/{sandbox_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_sandbox(sandbox_id: SandboxId, backend: BackendDep) -> Response:
    await backend.delete(sandbox_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{sandbox_id}/pause", status_code=status.HTTP_202_ACCEPTED)
async def pause_sandbox(sandbox_id: SandboxId, backend: BackendDep) -> Response:
    await backend.pause(sandbox_id)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post("/{sandbox_id}/resume", status_code=status.HTTP_202_ACCEPTED)
async def resume_sandbox(sandbox_id: SandboxId, backend: BackendDep) -> Response:
    await backend.resume(sandbox_id)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post("/{sandbox_id}/renew-expiration", response_model=schemas.Renewed)
async def renew_expiration(
    sandbox_id: SandboxId, body: schemas.RenewExpiration, backend: BackendDep, config: ConfigDep
) -> schemas.Renewed:
    """Move the expiry to ``expiresAt`` (future, within the configured maximum)."""
    expires_at = convert.check_renewal(
        body.expires_at, max_timeout=config.server.max_sandbox_timeout_seconds
    )
    return schemas.Renewed(expires_at=await backend.renew(sandbox_id, expires_at))


@router.get("/{sandbox_id}/endpoints/{port}", response_model=schemas.EndpointPublic)
async def get_endpoint(
    sandbox_id: SandboxId,
    port: Port,
    request: Request,
    backend: BackendDep,
    use_server_proxy: bool = False,
    expires: Annotated[str | None, Query()] = None,
) -> schemas.EndpointPublic:
    """Where to reach ``port``: directly, or through this server's proxy.

    Either way ``headers`` carry the sandbox's execd token: clients copy them
    onto every call, which lets proxied calls authenticate without the API key.
    """
    if expires:
        raise NotImplementedFeature("expires (signed endpoints) is not supported by this server")
    endpoint = await backend.endpoint(sandbox_id, port)
    if not use_server_proxy:
        return schemas.EndpointPublic(endpoint=endpoint.address, headers=endpoint.headers)
    address = f"{request_host(request)}/v1/sandboxes/{sandbox_id}/proxy/{port}"
    return schemas.EndpointPublic(endpoint=address, headers=endpoint.headers)


@router.patch(
    "/{sandbox_id}/metadata",
    response_model=schemas.SandboxPublic,
    response_model_exclude_none=True,
)
async def patch_metadata(
    sandbox_id: SandboxId,
    changes: Annotated[dict[str, str | None], Body()],
    backend: BackendDep,
) -> schemas.SandboxPublic:
    """JSON merge patch: a value sets the key, ``null`` removes it."""
    convert.check_metadata_keys(changes)
    return convert.to_public(await backend.patch_metadata(sandbox_id, changes))
