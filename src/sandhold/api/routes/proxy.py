"""Server proxy: ``/sandboxes/{id}/proxy/{port}/{path}`` -> the sandbox's ``port``.

For clients that cannot reach sandbox ports directly (``use_server_proxy``).
HTTP bodies stream both ways without buffering (multipart uploads, SSE
command output, ``Range`` downloads); WebSockets are relayed frame by frame.
The caller authenticates with the API key or with the sandbox's own execd
token (SDKs copy the endpoint ``headers`` onto proxied calls); the API key is
never forwarded into the sandbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Path, Request, WebSocket
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import StreamingResponse
from starlette.websockets import WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from sandhold.api.deps import (
    API_KEY_HEADER,
    EXECD_TOKEN_HEADER,
    BackendDep,
    ConfigDep,
    check_api_key,
    same_secret,
)
from sandhold.backends.base import Endpoint, SandboxBackend
from sandhold.config import AppConfig
from sandhold.errors import SandboxNotFound, SandholdError, Unauthorized

log = logging.getLogger("sandhold.proxy")

router = APIRouter(prefix="/sandboxes/{sandbox_id}/proxy/{port}", tags=["proxy"])

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Never forwarded upstream: the host, and credentials. The execd token is
# replaced by the one the backend issued; the API key and every other
# OPEN-SANDBOX-* header stay out of the untrusted sandbox.
_NOT_FORWARDED = HOP_BY_HOP | {"host", API_KEY_HEADER.lower(), EXECD_TOKEN_HEADER.lower()}
_PRIVATE_PREFIXES = ("open-sandbox-", "opensandbox-")
_WS_HANDSHAKE_PREFIX = "sec-websocket-"

SandboxId = Annotated[str, Path(min_length=1)]
Port = Annotated[int, Path(ge=1, le=65535)]


class UpstreamUnavailable(SandholdError):
    """The sandbox port did not answer (502): not started, or nothing listens."""

    status = 502
    code = "PROXY::UPSTREAM_UNAVAILABLE"


def new_upstream_client() -> httpx.AsyncClient:
    # No read/write timeout: SSE command streams and big downloads are long.
    # trust_env=False: sandbox traffic must not detour through HTTP(S)_PROXY.
    return httpx.AsyncClient(
        timeout=httpx.Timeout(connect=10.0, read=None, write=None, pool=None),
        trust_env=False,
        follow_redirects=False,
    )


# --- auth -------------------------------------------------------------------


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


async def authorize(
    conn: HTTPConnection,
    *,
    config: AppConfig,
    backend: SandboxBackend,
    sandbox_id: str,
    port: int,
) -> Endpoint:
    """The upstream endpoint, once the caller proved the API key or the execd token."""
    api_key = conn.headers.get(API_KEY_HEADER)
    token = conn.headers.get(EXECD_TOKEN_HEADER)
    key_ok = not config.server.api_key or (
        api_key is not None and same_secret(api_key, config.server.api_key)
    )
    if key_ok:
        return await backend.endpoint(sandbox_id, port)
    if not token:
        check_api_key(config, api_key)  # raises MISSING_/INVALID_API_KEY
    try:
        endpoint = await backend.endpoint(sandbox_id, port)
    except SandboxNotFound:
        # Same answer as a wrong token: do not reveal which ids exist.
        raise Unauthorized(f"invalid {EXECD_TOKEN_HEADER}") from None
    expected = _header(endpoint.headers, EXECD_TOKEN_HEADER)
    if token and expected and same_secret(token, expected):
        return endpoint
    raise Unauthorized(f"invalid {API_KEY_HEADER} or {EXECD_TOKEN_HEADER}")


# --- HTTP -------------------------------------------------------------------


def _raw_tail(conn: HTTPConnection, port: int, fallback: str) -> str:
    """The path after ``/proxy/{port}``, still percent-encoded as the caller sent it."""
    raw = conn.scope.get("raw_path")
    if raw:
        text = raw.decode("latin-1")
        marker = f"/proxy/{port}"
        index = text.find(marker + "/")
        if index >= 0:
            return text[index + len(marker) + 1 :]
        if text.endswith(marker):
            return ""
    return quote(fallback, safe="/:@!$&'()*+,;=-._~%")


def upstream_url(scheme: str, address: str, tail: str, query: str) -> str:
    url = f"{scheme}://{address.rstrip('/')}/{tail}"
    return f"{url}?{query}" if query else url


def forward_headers(incoming: Headers, endpoint_headers: dict[str, str]) -> list[tuple[str, str]]:
    named_hops = {
        name.strip().lower() for name in incoming.get("connection", "").split(",") if name.strip()
    }
    kept = [
        (name, value)
        for name, value in incoming.items()
        if name not in _NOT_FORWARDED
        and name not in named_hops
        and not name.startswith(_PRIVATE_PREFIXES)
    ]
    return kept + list(endpoint_headers.items())


def _response_headers(upstream: httpx.Response) -> list[tuple[bytes, bytes]]:
    named_hops = {
        n.strip().lower() for n in upstream.headers.get("connection", "").split(",") if n.strip()
    }
    return [
        (name, value)
        for name, value in upstream.headers.raw
        if name.lower().decode("latin-1") not in HOP_BY_HOP | named_hops
    ]


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return bool(length and length != "0") or "transfer-encoding" in request.headers


async def _relay_body(upstream: httpx.Response) -> AsyncIterator[bytes]:
    # Raw bytes: a gzip body stays gzip, and Content-Length stays true.
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        log.warning("upstream stream broke: %s", exc)
    finally:
        await upstream.aclose()


async def _proxy_http(
    request: Request,
    backend: SandboxBackend,
    config: AppConfig,
    sandbox_id: str,
    port: int,
    path: str,
) -> StreamingResponse:
    endpoint = await authorize(
        request, config=config, backend=backend, sandbox_id=sandbox_id, port=port
    )
    client: httpx.AsyncClient = request.app.state.proxy_client
    url = upstream_url("http", endpoint.address, _raw_tail(request, port, path), request.url.query)
    outgoing = client.build_request(
        request.method,
        url,
        headers=forward_headers(request.headers, endpoint.headers),
        content=request.stream() if _has_body(request) else None,
    )
    try:
        upstream = await client.send(outgoing, stream=True)
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(
            f"sandbox {sandbox_id} port {port} did not answer: {type(exc).__name__}: {exc}"
        ) from exc
    response = StreamingResponse(_relay_body(upstream), status_code=upstream.status_code)
    response.raw_headers = _response_headers(upstream)
    return response


@router.api_route("/{path:path}", methods=METHODS, include_in_schema=False)
async def proxy_http(
    sandbox_id: SandboxId,
    port: Port,
    path: str,
    request: Request,
    backend: BackendDep,
    config: ConfigDep,
) -> StreamingResponse:
    return await _proxy_http(request, backend, config, sandbox_id, port, path)


@router.api_route("", methods=METHODS, include_in_schema=False)
async def proxy_http_root(
    sandbox_id: SandboxId, port: Port, request: Request, backend: BackendDep, config: ConfigDep
) -> StreamingResponse:
    return await _proxy_http(request, backend, config, sandbox_id, port, "")


# --- WebSocket ----------------------------------------------------------------

# Close codes that exist only locally and may not be sent in a close frame.
_UNSENDABLE = {1005, 1006, 1015}


def _sendable(code: int | None, default: int = 1000) -> int:
    return default if code is None or code in _UNSENDABLE else code


async def _client_to_upstream(websocket: WebSocket, upstream: ClientConnection) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            await upstream.close(code=_sendable(message.get("code")))
            return
        if message.get("text") is not None:
            await upstream.send(message["text"])
        elif message.get("bytes") is not None:
            await upstream.send(message["bytes"])


async def _upstream_to_client(websocket: WebSocket, upstream: ClientConnection) -> None:
    try:
        async for data in upstream:
            if isinstance(data, str):
                await websocket.send_text(data)
            else:
                await websocket.send_bytes(data)
    except ConnectionClosed:
        pass
    code = _sendable(upstream.close_code, default=1011 if upstream.close_code == 1006 else 1000)
    await websocket.close(code=code, reason=upstream.close_reason or "")


async def _relay(websocket: WebSocket, upstream: ClientConnection) -> None:
    tasks = [
        asyncio.create_task(_client_to_upstream(websocket, upstream)),
        asyncio.create_task(_upstream_to_client(websocket, upstream)),
    ]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            exc = task.exception()
            if exc and not isinstance(exc, ConnectionClosed | WebSocketDisconnect | RuntimeError):
                log.warning("websocket relay ended: %r", exc)
    finally:
        await upstream.close()


def _ws_headers(websocket: WebSocket, endpoint: Endpoint) -> list[tuple[str, str]]:
    kept = forward_headers(websocket.headers, endpoint.headers)
    return [
        (name, value)
        for name, value in kept
        if not name.lower().startswith(_WS_HANDSHAKE_PREFIX) and name.lower() != "content-length"
    ]


async def _open_upstream(websocket: WebSocket, endpoint: Endpoint, url: str) -> ClientConnection:
    return await connect(
        url,
        additional_headers=_ws_headers(websocket, endpoint),
        subprotocols=websocket.scope.get("subprotocols") or None,
        proxy=None,
        compression=None,
        max_size=None,
        open_timeout=10,
    )


@router.websocket("/{path:path}")
async def proxy_websocket(
    websocket: WebSocket,
    sandbox_id: SandboxId,
    port: Port,
    path: str,
    backend: BackendDep,
    config: ConfigDep,
) -> None:
    try:
        endpoint = await authorize(
            websocket, config=config, backend=backend, sandbox_id=sandbox_id, port=port
        )
    except SandholdError as exc:
        await websocket.close(code=1008, reason=exc.message[:120])
        return
    query = websocket.url.query
    url = upstream_url("ws", endpoint.address, _raw_tail(websocket, port, path), query)
    try:
        upstream = await _open_upstream(websocket, endpoint, url)
    except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
        log.warning("websocket upstream %s unavailable: %s", url, exc)
        await websocket.close(code=1014, reason="sandbox port did not answer")
        return
    await websocket.accept(subprotocol=upstream.subprotocol)
    await _relay(websocket, upstream)
