"""Request id, access log and the last-resort 500, as one pure ASGI middleware.

Pure ASGI rather than ``BaseHTTPMiddleware`` so streamed proxy bodies (SSE,
downloads) pass through chunk by chunk. It sits outside the routes, so the
``X-Request-ID`` header lands on every response, errors included.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandhold.api.error_handlers import error_response

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is echoed only if it is short and printable: it goes into logs.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

access_log = logging.getLogger("sandhold.access")
error_log = logging.getLogger("sandhold.api")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _SAFE_ID.match(candidate):
                return candidate
    return str(uuid.uuid4())


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        outcome: dict[str, Any] = {"status": None}

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                outcome["status"] = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            elif message["type"] == "websocket.accept":
                outcome["status"] = 101
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception("unhandled error request_id=%s", request_id)
            if outcome["status"] is None and scope["type"] == "http":
                response = error_response(
                    500,
                    "SANDHOLD::INTERNAL",
                    f"internal error (request id {request_id})",
                    headers={REQUEST_ID_HEADER: request_id},
                )
                outcome["status"] = 500
                await response(scope, receive, send)
        finally:
            self._log(scope, outcome["status"], started, request_id)

    @staticmethod
    def _log(scope: Scope, status: int | None, started: float, request_id: str) -> None:
        method = scope.get("method", "WS")
        access_log.info(
            "method=%s path=%s status=%s duration_ms=%.1f request_id=%s",
            method,
            scope.get("path", ""),
            status if status is not None else "-",
            (time.perf_counter() - started) * 1000,
            request_id,
        )
