"""Every error leaves the server as top-level ``{"code", "message"}``.

The official SDKs read exactly these two keys; FastAPI's default
``{"detail": ...}`` bodies and its 422 status break them. Unexpected
exceptions are turned into a 500 by ``middleware.RequestContextMiddleware``
(which also stamps the request id), not here.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandhold.errors import SandholdError

INVALID_REQUEST = "SANDBOX::INVALID_REQUEST"

_HTTP_CODES = {
    400: INVALID_REQUEST,
    401: "INVALID_API_KEY",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def describe_validation(errors: list[Any]) -> str:
    """``image.uri: Field required; page: ... (got '0')``: field first, then why."""
    parts = []
    for err in errors:
        if err.get("type") == "json_invalid":
            parts.append(f"request body is not valid JSON: {err.get('ctx', {}).get('error', '')}")
            continue
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        text = f"{'.'.join(loc) or 'body'}: {err.get('msg', 'invalid')}"
        value = err.get("input")
        if err.get("type") != "missing" and not isinstance(value, dict | list):
            text += f" (got {value!r})"
        parts.append(text)
    return "; ".join(parts) or "invalid request"


async def _sandhold_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SandholdError)
    return error_response(exc.status, exc.code, exc.message)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, INVALID_REQUEST, describe_validation(list(exc.errors())))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
    if exc.status_code == 404:
        message = f"no such route: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, code, message, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SandholdError, _sandhold_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
