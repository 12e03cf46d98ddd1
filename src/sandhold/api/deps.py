"""Dependencies shared by the routers, as ``Annotated`` aliases.

Routes take ``BackendDep``/``ConfigDep`` and never reach into ``app.state``
themselves; authentication is a router-level dependency (``require_api_key``)
except on the server proxy, which also accepts the sandbox's own execd token.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.requests import HTTPConnection

from sandhold.backends.base import SandboxBackend
from sandhold.config import AppConfig
from sandhold.errors import Unauthorized

API_KEY_HEADER = "OPEN-SANDBOX-API-KEY"
EXECD_TOKEN_HEADER = "X-EXECD-ACCESS-TOKEN"


def get_backend(conn: HTTPConnection) -> SandboxBackend:
    return conn.app.state.backend


def get_config(conn: HTTPConnection) -> AppConfig:
    return conn.app.state.config


BackendDep = Annotated[SandboxBackend, Depends(get_backend)]
ConfigDep = Annotated[AppConfig, Depends(get_config)]


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison, so timing does not leak the secret."""
    return hmac.compare_digest(given.encode(), expected.encode())


def check_api_key(config: AppConfig, given: str | None) -> None:
    """Raise ``Unauthorized`` unless no key is configured or ``given`` matches."""
    expected = config.server.api_key
    if not expected:
        return
    if not given:
        raise Unauthorized(f"missing {API_KEY_HEADER} header", code="MISSING_API_KEY")
    if not same_secret(given, expected):
        raise Unauthorized(f"invalid {API_KEY_HEADER}")


def require_api_key(
    config: ConfigDep,
    api_key: Annotated[str | None, Header(alias=API_KEY_HEADER)] = None,
) -> None:
    check_api_key(config, api_key)


def request_host(request: Request) -> str:
    """The host[:port] the caller used to reach us (no scheme)."""
    return request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
